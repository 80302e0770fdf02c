"""Target definitions: which record column a model learns, and in which space.

Two targets exist (see :data:`coatml.data.schema.TARGETS`):

``capacity_retention_pct``
    Modelled as is (percent). It depends strongly on how the cell was tested (cycle number,
    C-rate, test temperature), so those test conditions are features, not part of the target.
``interface_resistance_ohm_cm2``
    Modelled in log10 space: reported values span orders of magnitude and errors are
    multiplicative. Model-space means, intervals and member draws are mapped back with
    ``10 ** x``; quantiles map exactly (the map is monotone), the mean is the log-normal mean.

Relative-to-bare-control ("delta") modelling
--------------------------------------------
Records that share a ``pair_id`` link a coated cell to its bare control. :func:`paired_delta`
gives, for each coated record whose pair has a bare value, ``forward(coated) - forward(bare)``:
percentage points for retention, and ``log10(R_coated / R_bare)`` for resistance (a difference in
log space is the log of the ratio, so "minus" and "over" are the same thing there).

Predicting a *new* recipe in delta mode needs a bare baseline for the same electrode,
electrolyte and test conditions: either a measured bare value the user gives (the usual case in a
lab that runs its own control), or a prediction of a model trained on bare records only. The
absolute prediction is ``baseline + delta``; :func:`add_baseline` adds the two in model space and
combines their uncertainties (independent, Gaussian in model space).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from coatml.exceptions import InsufficientDataError

#: Fewest records with a target value for which a model is trained or validated.
MIN_RECORDS = 8

#: z-values of the central 68.27 % (one sigma) and 95 % Gaussian intervals.
Z68 = 1.0
Z95 = 1.959963984540054

#: Columns of a predictive distribution frame (model space), as produced by
#: :meth:`coatml.models.estimators.EnsembleRegressor.predict_dist`.
INTERVAL_COLUMNS = ("lo95", "lo68", "hi68", "hi95")


@dataclass(frozen=True)
class TargetSpec:
    """One modelled target: record column, unit and the transform into model space."""

    name: str
    unit: str
    transform: Literal["identity", "log10"]
    higher_is_better: bool
    description: str
    #: physical range in model space, where there is one (retention lies in 0-100 %)
    bounds: tuple[float, float] | None = None

    def forward(self, values: Iterable[float] | pd.Series | np.ndarray) -> np.ndarray:
        """Map values in record units into model space (NaN stays NaN)."""
        arr = np.asarray(values, dtype=float)
        if self.transform == "identity":
            return arr.copy()
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.log10(arr)
        if np.any(arr[np.isfinite(arr)] <= 0):
            raise ValueError(
                f"{self.name} is modelled in log10 space and must be > 0; "
                f"got {arr[np.isfinite(arr) & (arr <= 0)][:5].tolist()}"
            )
        return out

    def inverse(self, values: Iterable[float] | pd.Series | np.ndarray) -> np.ndarray:
        """Map model-space values (means, quantiles, member draws) back to record units."""
        arr = np.asarray(values, dtype=float)
        if self.transform == "identity":
            return arr.copy()
        return np.power(10.0, arr)

    def inverse_dist(self, dist: pd.DataFrame) -> pd.DataFrame:
        """Map a model-space predictive distribution back to record units.

        Input columns: ``mean`` and ``std`` (Gaussian in model space) and any of
        :data:`INTERVAL_COLUMNS`. Output: ``median`` and interval bounds by the monotone inverse
        (exact for quantiles), ``mean`` and ``std`` of the back-transformed distribution
        (log-normal moments for log10 targets; unchanged for identity targets). For a target
        with physical ``bounds`` (retention: 0-100 %) the median and the interval bounds are
        those of the distribution censored at the bounds (clipped): no interval promises
        100.3 % retention.
        """
        mu = dist["mean"].to_numpy(dtype=float)
        sd = dist["std"].to_numpy(dtype=float)
        out = pd.DataFrame(index=dist.index)
        if self.transform == "identity":
            out["mean"] = mu
            out["median"] = mu
            out["std"] = sd
        else:
            s_ln = sd * np.log(10.0)  # sigma of the natural log
            median = np.power(10.0, mu)
            out["mean"] = median * np.exp(0.5 * s_ln**2)
            out["median"] = median
            out["std"] = out["mean"].to_numpy() * np.sqrt(np.expm1(s_ln**2))
        for col in INTERVAL_COLUMNS:
            if col in dist.columns:
                out[col] = self.inverse(dist[col].to_numpy(dtype=float))
        if self.bounds is not None and self.transform == "identity":
            lo, hi = self.bounds
            for col in ("median", *INTERVAL_COLUMNS):
                if col in out.columns:
                    out[col] = np.clip(out[col].to_numpy(dtype=float), lo, hi)
        return out


TARGET_SPECS: dict[str, TargetSpec] = {
    "capacity_retention_pct": TargetSpec(
        name="capacity_retention_pct",
        unit="%",
        transform="identity",
        higher_is_better=True,
        description="Discharge capacity retained at cycle_number; test conditions are features.",
        bounds=(0.0, 100.0),
    ),
    "interface_resistance_ohm_cm2": TargetSpec(
        name="interface_resistance_ohm_cm2",
        unit="ohm cm2",
        transform="log10",
        higher_is_better=False,
        description="Interfacial area-specific resistance, modelled as log10(ohm cm2).",
    ),
}


def get_target(name: str | TargetSpec) -> TargetSpec:
    """Return the :class:`TargetSpec` for ``name``; a ``ValueError`` lists the known targets."""
    if isinstance(name, TargetSpec):
        return name
    try:
        return TARGET_SPECS[name]
    except KeyError:
        raise ValueError(
            f"unknown target {name!r}; choose one of {sorted(TARGET_SPECS)}"
        ) from None


def check_enough_data(
    records: pd.DataFrame,
    target: str | TargetSpec,
    *,
    needed_columns: Iterable[str] = (),
    min_records: int = MIN_RECORDS,
) -> int:
    """Raise :class:`InsufficientDataError` unless at least ``min_records`` records carry
    ``target``; return how many do.

    The message says how many records carry the target and which needed columns are absent
    from the table, so the user knows what to add.
    """
    spec = get_target(target)
    wanted = [spec.name, *needed_columns]
    missing = [c for c in wanted if c not in records.columns]
    n_with = 0
    if spec.name in records.columns:
        n_with = int(pd.to_numeric(records[spec.name], errors="coerce").notna().sum())
    if n_with < min_records or missing:
        miss = f"; missing column(s): {', '.join(missing)}" if missing else ""
        by_kind = ""
        if "data_kind" in records.columns and spec.name in records.columns:
            counts = records.groupby("data_kind")[spec.name].count().to_dict()
            by_kind = f" (by data_kind: {counts})"
        raise InsufficientDataError(
            f"{spec.name}: {n_with} of {len(records)} record(s) carry a value{by_kind}, at least "
            f"{min_records} are needed to train or validate a model{miss}. Add measured "
            f"records with {spec.name} (coatml data add) before training."
        )
    return n_with


def target_values(records: pd.DataFrame, target: str | TargetSpec) -> pd.Series:
    """Model-space target values of ``records`` (NaN where the record has no value)."""
    spec = get_target(target)
    if spec.name not in records.columns:
        raise InsufficientDataError(
            f"{spec.name}: the records have no column {spec.name!r}; 0 of {len(records)} "
            "record(s) carry the target"
        )
    raw = pd.to_numeric(records[spec.name], errors="coerce")
    return pd.Series(spec.forward(raw.to_numpy()), index=records.index, name=spec.name)


def is_bare(records: pd.DataFrame) -> pd.Series:
    """True for bare controls: no coating named, or method/coated_component ``"none"``."""
    bare = pd.Series(False, index=records.index)
    if "coating" in records.columns:
        coating = records["coating"].astype("string").str.strip().fillna("")
        bare |= coating.eq("")
    for col in ("method", "coated_component"):
        if col in records.columns:
            bare |= records[col].astype("string").str.strip().str.lower().eq("none").fillna(False)
    return bare


def paired_delta(records: pd.DataFrame, target: str | TargetSpec) -> pd.DataFrame:
    """Delta target of coated records relative to their bare control (model space).

    Returns a frame indexed like ``records`` holding only the coated records whose ``pair_id``
    has at least one bare record with a target value, with columns ``delta``
    (``forward(coated) - forward(bare)``), ``bare`` (model-space bare value; the mean when a
    pair holds several bare records), ``coated`` (model-space coated value) and ``pair_id``.
    Add ``bare`` back to a predicted ``delta`` to get the absolute model-space value.
    """
    spec = get_target(target)
    missing = [c for c in ("pair_id", spec.name) if c not in records.columns]
    if missing:
        raise InsufficientDataError(
            f"paired delta of {spec.name} needs column(s) {', '.join(missing)}; the records "
            "lack them"
        )
    values = target_values(records, spec)
    pair = records["pair_id"].astype("string").str.strip()
    has_pair = pair.notna() & pair.ne("")
    bare = is_bare(records)
    bare_rows = has_pair & bare & values.notna()
    bare_mean = values[bare_rows].groupby(pair[bare_rows]).mean()
    coated_rows = has_pair & ~bare & values.notna() & pair.isin(bare_mean.index)
    base = pair[coated_rows].map(bare_mean).astype(float)
    out = pd.DataFrame(
        {
            "delta": values[coated_rows] - base,
            "bare": base,
            "coated": values[coated_rows],
            "pair_id": pair[coated_rows],
        },
        index=records.index[coated_rows],
    )
    return out


def add_baseline(
    delta_dist: pd.DataFrame,
    baseline: float | np.ndarray | pd.Series,
    baseline_std: float | np.ndarray | pd.Series = 0.0,
) -> pd.DataFrame:
    """Turn a model-space delta prediction into an absolute model-space prediction.

    ``baseline`` is the bare value in model space (use ``spec.forward`` on a measured value, or
    the ``mean`` of a bare-value model); ``baseline_std`` its model-space standard deviation
    (0 for a measured control taken as exact). Variances add (independence assumed) and the
    Gaussian intervals are recomputed from the combined std.
    """
    base = np.broadcast_to(np.asarray(baseline, dtype=float), (len(delta_dist),))
    base_sd = np.broadcast_to(np.asarray(baseline_std, dtype=float), (len(delta_dist),))
    mean = delta_dist["mean"].to_numpy(dtype=float) + base
    std = np.sqrt(delta_dist["std"].to_numpy(dtype=float) ** 2 + base_sd**2)
    return gaussian_frame(mean, std, index=delta_dist.index)


def gaussian_frame(
    mean: np.ndarray, std: np.ndarray, index: pd.Index | None = None
) -> pd.DataFrame:
    """A predictive-distribution frame (mean, std, 68 % and 95 % bounds) from Gaussian moments."""
    mean = np.asarray(mean, dtype=float)
    std = np.asarray(std, dtype=float)
    return pd.DataFrame(
        {
            "mean": mean,
            "std": std,
            "lo95": mean - Z95 * std,
            "lo68": mean - Z68 * std,
            "hi68": mean + Z68 * std,
            "hi95": mean + Z95 * std,
        },
        index=index,
    )



def require_records(records: pd.DataFrame, target: str, min_records: int = MIN_RECORDS
                    ) -> pd.DataFrame:
    """The rows of ``records`` that carry a value of ``target``, after
    :func:`check_enough_data` (the one "too few records" check of every model trained on
    records)."""
    check_enough_data(records, target, min_records=min_records)
    values = pd.to_numeric(records[get_target(target).name], errors="coerce")
    return records.loc[values.notna()]
