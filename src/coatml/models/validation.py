"""Honest validation: grouped cross-validation against baselines on the same folds.

Records from one paper (``source``) share a lab, a synthesis route and a test protocol, and
records of one electrode + electrolyte ``system`` share most of their features; a random split
would put near-copies on both sides and flatter the model. Every split here is grouped
(:class:`sklearn.model_selection.LeaveOneGroupOut`, or :class:`~sklearn.model_selection.GroupKFold`
for ``n_splits=k``), so no group ever appears in training and test of the same fold.

:func:`cross_validate_model` returns a :class:`CVReport` with out-of-fold MAE and RMSE, the mean
Spearman rank correlation within systems (what ranking coatings needs), the coverage of the
68 % and 95 % intervals on held-out folds, and the same metrics for three baselines fitted on
the same training folds: the training mean, the mean of the same coating elsewhere, and a
median-imputed random forest. The report says plainly when the model does not beat a baseline.

All metrics are in the space of ``y`` (model space: log10 for resistance; see
:mod:`coatml.models.targets`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from coatml.exceptions import InsufficientDataError
from coatml.models.targets import MIN_RECORDS, Z68

BASELINES = ("global_mean", "coating_mean", "random_forest")
_BARE = "(bare)"


# ---------------------------------------------------------------------------- groups and folds
def make_groups(records: pd.DataFrame, by: Literal["source", "system"] = "source") -> pd.Series:
    """Group labels for grouped CV: the record's ``source`` or its ``electrode | electrolyte``
    system. Missing values raise, since an unlabelled record cannot be kept out of a fold."""
    if by == "source":
        cols = ["source"]
    elif by == "system":
        cols = ["electrode", "electrolyte"]
    else:
        raise ValueError(f"groups must be 'source' or 'system', got {by!r}")
    missing = [c for c in cols if c not in records.columns]
    if missing:
        raise ValueError(f"grouping by {by} needs column(s) {missing}")
    parts = [records[c].astype("string").str.strip() for c in cols]
    empty = pd.concat([p.isna() | p.eq("") for p in parts], axis=1).any(axis=1)
    if empty.any():
        raise ValueError(
            f"{int(empty.sum())} record(s) have no {'/'.join(cols)}; every record needs a group "
            f"label for grouped CV (first at position {int(np.flatnonzero(empty.to_numpy())[0])})"
        )
    label = parts[0] if len(parts) == 1 else parts[0] + " | " + parts[1]
    return pd.Series(label.to_numpy(dtype=object), index=records.index, name=f"group_{by}")


def system_labels(records: pd.DataFrame) -> np.ndarray:
    """``electrode | electrolyte`` per record (empty string where unknown)."""
    if not {"electrode", "electrolyte"} <= set(records.columns):
        return np.array([""] * len(records), dtype=object)
    e = records["electrode"].astype("string").str.strip().fillna("")
    s = records["electrolyte"].astype("string").str.strip().fillna("")
    return (e + " | " + s).to_numpy(dtype=object)


def coating_labels(records: pd.DataFrame) -> np.ndarray:
    """Normalised coating name per record; bare controls get ``"(bare)"``."""
    if "coating" not in records.columns:
        return np.array([_BARE] * len(records), dtype=object)
    c = records["coating"].astype("string").str.strip().fillna("")
    return c.mask(c.eq(""), _BARE).to_numpy(dtype=object)


def group_splits(
    groups: Sequence[Any] | np.ndarray | pd.Series, n_splits: int | None = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Grouped train/test index pairs: leave one group out (``n_splits`` None or 0), else
    ``GroupKFold(n_splits)``. No group is ever on both sides of a split."""
    from sklearn.model_selection import GroupKFold, LeaveOneGroupOut

    g = np.asarray(groups, dtype=object)
    n_groups = len(pd.unique(g))
    if n_groups < 2:
        raise InsufficientDataError(
            f"grouped cross-validation needs at least 2 groups, got {n_groups}"
        )
    dummy = np.zeros((len(g), 1))
    if not n_splits:
        splitter: Any = LeaveOneGroupOut()
    else:
        if n_splits > n_groups:
            raise ValueError(f"n_splits={n_splits} exceeds the {n_groups} groups")
        splitter = GroupKFold(n_splits=n_splits)
    return [(tr, te) for tr, te in splitter.split(dummy, groups=g)]


# ---------------------------------------------------------------------------- metrics
def spearman_within_systems(
    y: np.ndarray, pred: np.ndarray, systems: np.ndarray, min_records: int = 3
) -> tuple[float, int, str]:
    """Mean Spearman rank correlation of ``pred`` vs ``y`` within systems that hold at least
    ``min_records`` records. A system whose predictions are all equal scores 0 (the model
    cannot rank it); a system whose true values are all equal is skipped (nothing to rank).

    Returns ``(mean_rho, n_systems_used, note)``; ``mean_rho`` is NaN when none qualify.
    """
    from scipy.stats import spearmanr

    rhos = []
    for system in pd.unique(systems):
        mask = (systems == system) & np.isfinite(y) & np.isfinite(pred)
        if mask.sum() < min_records:
            continue
        ys, ps = y[mask], pred[mask]
        if np.ptp(ys) == 0:
            continue
        rhos.append(0.0 if np.ptp(ps) == 0 else float(spearmanr(ys, ps).statistic))
    if not rhos:
        return float("nan"), 0, (
            f"no system holds >= {min_records} records with distinct target values; "
            "within-system rank correlation not computed"
        )
    return float(np.mean(rhos)), len(rhos), f"mean over {len(rhos)} system(s)"


def _metrics(y: np.ndarray, pred: np.ndarray, systems: np.ndarray,
             lo68=None, hi68=None, lo95=None, hi95=None) -> dict[str, float]:
    err = pred - y
    rho, n_sys, _ = spearman_within_systems(y, pred, systems)
    out = {
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "spearman_within_system": rho,
        "n_systems_ranked": float(n_sys),
        "coverage68": float("nan"),
        "coverage95": float("nan"),
    }
    if lo68 is not None:
        out["coverage68"] = float(np.mean((y >= lo68) & (y <= hi68)))
        out["coverage95"] = float(np.mean((y >= lo95) & (y <= hi95)))
    return out


def _random_forest(random_state: int) -> Any:
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        SimpleImputer(strategy="median", keep_empty_features=True),
        RandomForestRegressor(n_estimators=200, min_samples_leaf=2, random_state=random_state,
                              n_jobs=1),
    )


# ---------------------------------------------------------------------------- report
@dataclass(frozen=True, eq=False)
class CVReport:
    """Result of :func:`cross_validate_model`.

    ``metrics`` maps ``"model"`` and each baseline name to its metrics (``mae``, ``rmse``,
    ``spearman_within_system``, ``n_systems_ranked``, ``coverage68``, ``coverage95``; coverage
    is NaN for baselines without intervals). ``oof`` holds the out-of-fold predictions.
    ``interval_scale_factor`` is the factor by which the model's std should be multiplied so
    that 68.27 % of held-out |z| fall inside one std (NaN when the model has no
    ``predict_dist``).
    """

    target: str | None
    scheme: str
    n_records: int
    n_groups: int
    n_folds: int
    metrics: Mapping[str, Mapping[str, float]]
    oof: pd.DataFrame
    spearman_note: str
    interval_scale_factor: float
    notes: tuple[str, ...] = field(default=())

    @property
    def beats_baselines(self) -> dict[str, bool]:
        """Per baseline: does the model have a lower out-of-fold RMSE?"""
        model = self.metrics["model"]["rmse"]
        return {b: bool(model < m["rmse"]) for b, m in self.metrics.items() if b != "model"}

    def summary(self) -> str:
        """One plain sentence per baseline saying whether the model beats it."""
        model = self.metrics["model"]["rmse"]
        lines = []
        for name, beats in self.beats_baselines.items():
            other = self.metrics[name]["rmse"]
            if beats:
                lines.append(f"The model beats the {name} baseline (RMSE {model:.4g} vs "
                             f"{other:.4g}).")
            else:
                lines.append(f"The model does NOT beat the {name} baseline (RMSE {model:.4g} vs "
                             f"{other:.4g}); prefer the baseline or gather more data.")
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        """One row per predictor (model, baselines), one column per metric."""
        return pd.DataFrame(self.metrics).T

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary (without the out-of-fold table); NaN becomes ``None``."""
        def clean(v: float) -> float | None:
            return None if v is None or not np.isfinite(v) else float(v)

        return {
            "target": self.target,
            "scheme": self.scheme,
            "n_records": self.n_records,
            "n_groups": self.n_groups,
            "n_folds": self.n_folds,
            "metrics": {k: {m: clean(v) for m, v in d.items()} for k, d in self.metrics.items()},
            "beats_baselines": self.beats_baselines,
            "spearman_note": self.spearman_note,
            "interval_scale_factor": clean(self.interval_scale_factor),
            "notes": list(self.notes),
            "summary": self.summary(),
        }

    def to_markdown(self) -> str:
        """Markdown table of the metrics followed by the plain-words summary."""
        cols = ["mae", "rmse", "spearman_within_system", "coverage68", "coverage95"]
        head = "| predictor | " + " | ".join(cols) + " |"
        rows = [head, "|---" * (len(cols) + 1) + "|"]
        for name, m in self.metrics.items():
            cells = ["-" if not np.isfinite(m[c]) else f"{m[c]:.3f}" for c in cols]
            rows.append(f"| {name} | " + " | ".join(cells) + " |")
        title = (f"Grouped CV ({self.scheme}) of {self.target or 'target'}: "
                 f"{self.n_records} records, {self.n_groups} groups, {self.n_folds} folds.")
        extra = [f"Spearman within systems: {self.spearman_note}."]
        if np.isfinite(self.interval_scale_factor):
            extra.append(f"Interval scale factor from held-out folds: "
                         f"{self.interval_scale_factor:.3f}.")
        extra.extend(self.notes)
        return "\n".join([title, "", *rows, "", self.summary(), *extra])


# ---------------------------------------------------------------------------- CV
def _prepare(X: Any, y: Any, groups: Any, records: pd.DataFrame | None,
             offset: Any) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, pd.DataFrame,
                                   np.ndarray, str]:
    X = X.reset_index(drop=True) if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X))
    n = len(X)
    y_arr = np.asarray(y, dtype=float).reshape(-1)
    recs = (records.reset_index(drop=True) if records is not None
            else pd.DataFrame(index=range(n)))
    scheme = "custom groups"
    if isinstance(groups, str):
        if records is None:
            raise ValueError(f"groups={groups!r} needs the records table")
        scheme = f"leave-{groups}-out"
        g = make_groups(recs, groups).to_numpy(dtype=object)  # type: ignore[arg-type]
    else:
        g = np.asarray(groups, dtype=object)
    off = np.zeros(n) if offset is None else np.asarray(offset, dtype=float).reshape(-1)
    for name, arr in (("y", y_arr), ("groups", g), ("records", recs), ("offset", off)):
        if len(arr) != n:
            raise ValueError(f"X has {n} rows but {name} has {len(arr)}")
    return X, y_arr, g, recs, off, scheme


def cross_validate_model(
    make_model: Callable[[], Any],
    X: pd.DataFrame,
    y: Any,
    groups: Any,
    records: pd.DataFrame | None = None,
    *,
    offset: Any = None,
    n_splits: int | None = None,
    target: str | None = None,
    baselines: bool = True,
    random_state: int = 0,
) -> CVReport:
    """Grouped cross-validation of ``make_model()`` with baselines on the same folds.

    ``groups``: one label per row, or ``"source"`` / ``"system"`` to derive them from
    ``records`` (which must align row by row with ``X``; it also supplies ``coating`` for the
    same-coating baseline and ``electrode``/``electrolyte`` for within-system ranking).
    ``offset``: per-row model-space value added back to the model's predictions (delta mode:
    the model learns ``y - offset``; pass the bare-control value); metrics are always on ``y``.
    Rows with NaN ``y`` (or NaN offset) are left out. ``n_splits``: None/0 leave one group out,
    else GroupKFold. Raises :class:`InsufficientDataError` below
    :data:`~coatml.models.targets.MIN_RECORDS` usable rows.
    """
    X, y_arr, g, recs, off, scheme = _prepare(X, y, groups, records, offset)
    keep = np.isfinite(y_arr) & np.isfinite(off)
    n_use = int(keep.sum())
    if n_use < MIN_RECORDS:
        raise InsufficientDataError(
            f"{target or 'target'}: {n_use} of {len(y_arr)} record(s) carry a value"
            f"{' and an offset' if offset is not None else ''}; at least {MIN_RECORDS} are "
            "needed for cross-validation"
        )
    X, y_arr, g, off = X.loc[keep].reset_index(drop=True), y_arr[keep], g[keep], off[keep]
    recs = recs.loc[keep].reset_index(drop=True)
    systems = system_labels(recs)
    coatings = coating_labels(recs)
    splits = group_splits(g, n_splits)

    n = len(y_arr)
    cols = {k: np.full(n, np.nan) for k in
            ("model", "model_std", "lo68", "hi68", "lo95", "hi95", *BASELINES)}
    fold_id = np.full(n, -1)
    has_dist = True
    for k, (tr, te) in enumerate(splits):
        fold_id[te] = k
        model = make_model()
        try:
            model.fit(X.iloc[tr], y_arr[tr] - off[tr])
        except InsufficientDataError as exc:
            raise InsufficientDataError(
                f"fold {k} (holding out {sorted(set(g[te]))[:3]}): {exc}"
            ) from exc
        if has_dist and hasattr(model, "predict_dist"):
            dist = model.predict_dist(X.iloc[te])
            cols["model"][te] = dist["mean"].to_numpy() + off[te]
            cols["model_std"][te] = dist["std"].to_numpy()
            for c in ("lo68", "hi68", "lo95", "hi95"):
                cols[c][te] = dist[c].to_numpy() + off[te]
        else:
            has_dist = False
            cols["model"][te] = np.asarray(model.predict(X.iloc[te]), dtype=float) + off[te]
        if baselines:
            y_tr = y_arr[tr]
            cols["global_mean"][te] = y_tr.mean()
            by_coating = pd.Series(y_tr).groupby(coatings[tr]).mean()
            cols["coating_mean"][te] = (
                pd.Series(coatings[te]).map(by_coating).fillna(y_tr.mean()).to_numpy(dtype=float)
            )
            rf = _random_forest(random_state).fit(X.iloc[tr].to_numpy(dtype=float), y_tr)
            cols["random_forest"][te] = rf.predict(X.iloc[te].to_numpy(dtype=float))

    notes: list[str] = []
    metrics: dict[str, dict[str, float]] = {}
    if has_dist:
        metrics["model"] = _metrics(y_arr, cols["model"], systems, cols["lo68"], cols["hi68"],
                                    cols["lo95"], cols["hi95"])
        z = np.abs(y_arr - cols["model"]) / np.maximum(cols["model_std"], 1e-12)
        scale = float(np.quantile(z, 0.6827) / Z68)
    else:
        metrics["model"] = _metrics(y_arr, cols["model"], systems)
        scale = float("nan")
        notes.append("The model has no predict_dist; interval coverage not computed.")
    if baselines:
        for b in BASELINES:
            metrics[b] = _metrics(y_arr, cols[b], systems)
    _, _, sp_note = spearman_within_systems(y_arr, cols["model"], systems)
    oof = pd.DataFrame({"y": y_arr, "group": g, "fold": fold_id, "system": systems,
                        "coating": coatings, "offset": off, **cols})
    if not baselines:
        oof = oof.drop(columns=list(BASELINES))
    return CVReport(
        target=target, scheme=scheme, n_records=n, n_groups=len(pd.unique(g)),
        n_folds=len(splits), metrics=metrics, oof=oof, spearman_note=sp_note,
        interval_scale_factor=scale, notes=tuple(notes),
    )


def learning_curve(
    make_model: Callable[[], Any],
    X: pd.DataFrame,
    y: Any,
    groups: Any,
    records: pd.DataFrame | None = None,
    *,
    fractions: Sequence[float] = (0.25, 0.5, 0.75, 1.0),
    n_splits: int | None = None,
    offset: Any = None,
    random_state: int = 0,
) -> pd.DataFrame:
    """Out-of-fold error against the number of training records.

    Each grouped training fold is subsampled (without replacement, seeded) to each fraction;
    the test folds stay whole. Folds whose subsample holds fewer than
    :data:`~coatml.models.targets.MIN_RECORDS` records are skipped and counted. Columns:
    ``fraction``, ``n_train_mean``, ``rmse``, ``mae``, ``baseline_rmse`` (training-mean
    baseline on the same subsamples), ``n_test``, ``folds_skipped``.
    """
    X, y_arr, g, _, off, _ = _prepare(X, y, groups, records, offset)
    keep = np.isfinite(y_arr) & np.isfinite(off)
    X, y_arr, g, off = X.loc[keep].reset_index(drop=True), y_arr[keep], g[keep], off[keep]
    splits = group_splits(g, n_splits)
    rows = []
    for fi, frac in enumerate(fractions):
        if not 0 < frac <= 1:
            raise ValueError(f"fractions must be in (0, 1], got {frac}")
        rng = np.random.default_rng([random_state, fi])
        errs, base_errs, n_train, skipped = [], [], [], 0
        for tr, te in splits:
            size = int(round(frac * len(tr)))
            if size < MIN_RECORDS:
                skipped += 1
                continue
            sub = np.sort(rng.choice(tr, size=size, replace=False))
            model = make_model().fit(X.iloc[sub], y_arr[sub] - off[sub])
            pred = np.asarray(model.predict(X.iloc[te]), dtype=float) + off[te]
            errs.append(pred - y_arr[te])
            base_errs.append(y_arr[sub].mean() - y_arr[te])
            n_train.append(size)
        if errs:
            e, b = np.concatenate(errs), np.concatenate(base_errs)
            rows.append({"fraction": frac, "n_train_mean": float(np.mean(n_train)),
                         "rmse": float(np.sqrt(np.mean(e**2))), "mae": float(np.mean(np.abs(e))),
                         "baseline_rmse": float(np.sqrt(np.mean(b**2))), "n_test": len(e),
                         "folds_skipped": skipped})
        else:
            rows.append({"fraction": frac, "n_train_mean": float("nan"), "rmse": float("nan"),
                         "mae": float("nan"), "baseline_rmse": float("nan"), "n_test": 0,
                         "folds_skipped": skipped})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- variant choice
@dataclass(frozen=True)
class Variant:
    """One modelling variant to compare: a model factory, optionally its own feature matrix
    (same rows as the shared one) and a model-space offset (delta mode: the bare value)."""

    name: str
    make_model: Callable[[], Any]
    X: pd.DataFrame | None = None
    offset: Any = None


@dataclass(frozen=True, eq=False)
class VariantChoice:
    """Outcome of :func:`compare_variants`: the chosen variant's name, why, a table of the
    grouped-CV metrics of every variant and the reports themselves."""

    choice: str
    reason: str
    table: pd.DataFrame
    reports: Mapping[str, CVReport]


def compare_variants(
    variants: Sequence[Variant],
    X: pd.DataFrame,
    y: Any,
    groups: Any,
    records: pd.DataFrame | None = None,
    *,
    n_splits: int | None = None,
    min_relative_improvement: float = 0.02,
    target: str | None = None,
) -> VariantChoice:
    """Choose between modelling variants by grouped-CV RMSE on identical rows and folds.

    Typical variants: absolute vs paired delta (``offset`` = bare value from
    :func:`coatml.models.targets.paired_delta`), with vs without a physics prior, with vs
    without monotone constraints. All variants are scored on the rows every variant can
    predict (finite ``y`` and finite offsets). The first variant is the reference (the
    simplest): another is chosen only if its RMSE is lower by more than
    ``min_relative_improvement`` (relative), so noise-level differences keep the simpler one.
    """
    if not variants:
        raise ValueError("compare_variants needs at least one variant")
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise ValueError(f"variant names must be unique: {names}")
    X0 = X.reset_index(drop=True)
    y_arr = np.asarray(y, dtype=float).reshape(-1)
    g_all = (make_groups(records.reset_index(drop=True), groups).to_numpy(dtype=object)  # type: ignore[arg-type]
             if isinstance(groups, str) and records is not None else np.asarray(groups,
                                                                                dtype=object))
    keep = np.isfinite(y_arr)
    for v in variants:
        if v.offset is not None:
            keep &= np.isfinite(np.asarray(v.offset, dtype=float).reshape(-1))
    recs = None if records is None else records.reset_index(drop=True).loc[keep]
    reports: dict[str, CVReport] = {}
    for v in variants:
        Xv = X0 if v.X is None else v.X.reset_index(drop=True)
        off = None if v.offset is None else np.asarray(v.offset, dtype=float).reshape(-1)[keep]
        reports[v.name] = cross_validate_model(
            v.make_model, Xv.loc[keep], y_arr[keep], g_all[keep], recs, offset=off,
            n_splits=n_splits, target=target, baselines=False,
        )
    table = pd.DataFrame({k: r.metrics["model"] for k, r in reports.items()}).T
    ref = names[0]
    ref_rmse = float(table.loc[ref, "rmse"])
    best = str(table["rmse"].astype(float).idxmin())
    best_rmse = float(table.loc[best, "rmse"])
    n_rows = int(keep.sum())
    if best == ref:
        reason = (f"{ref} has the lowest grouped-CV RMSE ({ref_rmse:.4g}) over {n_rows} records.")
        return VariantChoice(ref, reason, table, reports)
    gain = (ref_rmse - best_rmse) / ref_rmse if ref_rmse > 0 else 0.0
    if gain > min_relative_improvement:
        reason = (f"{best} lowers grouped-CV RMSE from {ref_rmse:.4g} ({ref}) to {best_rmse:.4g} "
                  f"({gain:.1%}, above the {min_relative_improvement:.0%} threshold) over "
                  f"{n_rows} records.")
        return VariantChoice(best, reason, table, reports)
    reason = (f"{best} lowers RMSE only {gain:.1%} vs {ref} ({best_rmse:.4g} vs {ref_rmse:.4g}; "
              f"threshold {min_relative_improvement:.0%}) over {n_rows} records; keeping the "
              f"simpler reference {ref}.")
    return VariantChoice(ref, reason, table, reports)
