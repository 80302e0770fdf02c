"""Physics screening of candidate coatings for one electrode / electrolyte pair.

The chemistry criteria (windows, anion exchange, redox, transport) are computed in
:mod:`coatml.features.screening`, shared with the models' physics prior; this module adds the
deposition criteria (precursors, process window) and the per-candidate table and summary.

:func:`screen_candidates` returns one row per candidate and criterion with a value, its
uncertainty, a status (``pass`` / ``warn`` / ``fail`` / ``unknown``), a reason a person can read,
the method and the source of the numbers. Criteria:

* the chemistry criteria ``oxidation_limit``, ``reduction_limit``, ``anion_exchange``,
  ``cathode_redox``, ``electrolyte_redox``, ``li_ion_resistance`` and ``electronic``, as
  :mod:`coatml.features.screening` defines them (thresholds and sources there);
* ``precursors``: every element has a precursor in ``precursors.csv`` (or, with an inventory,
  on hand); ``process_window``: the candidate's deposition window exists, overlaps and starts at
  or below what the coated substrate tolerates.

:func:`screening_summary` gives one verdict per candidate (fail > warn/unknown > pass) with the
failing reasons.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import lru_cache

import numpy as np
import pandas as pd

from coatml.features.screening import (
    CRITERIA,
    ENTHALPY_UNC_EV,
    HIGH_VOLTAGE_V,
    KINETIC_MARGIN_V,
    SCREEN_COLUMNS,
    PairContext,
    Row,
    chemistry_rows,
    pair_context,
)
from coatml.recommend.candidates import _short
from coatml.recommend.library import _precursors_cached

__all__ = [
    "CRITERIA",
    "ENTHALPY_UNC_EV",
    "HIGH_VOLTAGE_V",
    "KINETIC_MARGIN_V",
    "SCREEN_COLUMNS",
    "PairContext",
    "pair_context",
    "screen_candidates",
    "screening_summary",
]


@lru_cache(maxsize=1)
def _precursor_elements() -> dict[str, tuple[str, ...]]:
    table = _precursors_cached()
    out: dict[str, list[str]] = {}
    for el, pre in zip(table["element"], table["precursor"], strict=True):
        out.setdefault(str(el), []).append(_short(str(pre)))
    return {k: tuple(v) for k, v in out.items()}


def _deposition_rows(elements: list[str], tmin: float, tmax: float, depositable: bool,
                     inventory: frozenset[str] | None, ctx: PairContext) -> tuple[Row, Row]:
    table = _precursor_elements()
    lacking = [el for el in elements if el not in table]
    src = "precursors.csv"
    if inventory is not None:
        off = [el for el in elements if el in table
               and not any(p.casefold() in inventory for p in table[el])]
        src += " + workspace inventory"
    else:
        off = []
    if lacking or off:
        why = []
        if lacking:
            why.append(f"no known precursor for {', '.join(lacking)}")
        if off:
            why.append(f"no precursor on hand for {', '.join(off)}")
        pre: Row = (float(len(lacking) + len(off)), 0.0, "count", "fail", "; ".join(why),
                    "lookup", src)
    else:
        pre = (0.0, 0.0, "count", "pass", "every element has a precursor"
               + (" on hand" if inventory is not None else ""), "lookup", src)
    src_w = "precursors.csv / coating_library.csv deposition windows"
    limit = ctx.substrate_limit_c
    if not depositable:
        win: Row = (math.nan, math.nan, "degC", "fail",
                    "precursor deposition windows do not overlap", "lookup", src_w)
    elif math.isnan(tmin) and math.isnan(tmax):
        win = (math.nan, math.nan, "degC", "unknown", "no sourced deposition window",
               "lookup", src_w)
    elif limit == limit and tmin == tmin and tmin > limit:
        win = (tmax - tmin, 0.0, "degC", "fail",
               f"window starts at {tmin:g} degC, above the {limit:g} degC the coated "
               f"{ctx.coated_component} tolerates", "lookup", src_w)
    else:
        width = (tmax - tmin) if (tmin == tmin and tmax == tmax) else math.nan
        lo = "?" if tmin != tmin else f"{tmin:g}"
        hi = "?" if tmax != tmax else f"{tmax:g}"
        win = (width, 0.0, "degC", "pass", f"deposition window {lo}-{hi} degC", "lookup",
               src_w)
    return pre, win


# --------------------------------------------------------------------------- public API


def screen_candidates(
    candidates: pd.DataFrame,
    electrode: str,
    electrolyte: str,
    coated_component: str = "auto",
    *,
    thickness_nm: float = 2.5,
    inventory: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Screen every row of a candidate table (:func:`~coatml.recommend.candidates.
    enumerate_candidates` columns) for the pair; long format, :data:`SCREEN_COLUMNS`.

    ``thickness_nm``: film thickness of the resistance criterion (nm; default 2.5, the minimum
    effective LiNbO thickness on NMC811 in coating-physics.md). ``inventory``: precursor short
    names on hand (``None``: any precursor of ``precursors.csv``).
    """
    if not (thickness_nm > 0 and math.isfinite(thickness_nm)):
        raise ValueError(f"thickness_nm must be a positive number, not {thickness_nm!r}")
    ctx = pair_context(electrode, electrolyte, coated_component)
    inv = None if inventory is None else frozenset(p.casefold() for p in inventory)
    out: list[tuple] = []
    cols = ["coating", "reduced_formula", "in_library", "elements", "li_fraction",
            "temperature_min_c", "temperature_max_c", "depositable"]
    for coating, reduced, lib, elements, li_frac, tmin, tmax, dep in \
            candidates[cols].itertuples(index=False, name=None):
        els = str(elements).split()
        rows = (*chemistry_rows(str(reduced), str(coating), els, float(li_frac), ctx,
                                thickness_nm),
                *_deposition_rows(els, float(tmin), float(tmax), bool(dep), inv, ctx))
        for crit, row in zip(CRITERIA, rows, strict=True):
            out.append((coating, reduced, bool(lib), crit, *row))
    return pd.DataFrame(out, columns=list(SCREEN_COLUMNS))


def screening_summary(table: pd.DataFrame) -> pd.DataFrame:
    """One row per coating: ``screen_verdict`` (fail if any criterion fails, else warn if any
    warns or is unknown, else pass), ``n_fail`` / ``n_warn`` / ``n_unknown`` and
    ``screen_reasons`` (the failing reasons, '; '-joined; when nothing fails, the warnings and
    the unknowns, these prefixed ``unknown:``)."""
    if table.empty:
        return pd.DataFrame(columns=["coating", "screen_verdict", "n_fail", "n_warn",
                                     "n_unknown", "screen_reasons"])
    status = table["status"].to_numpy()
    t = table.assign(_f=status == "fail", _w=status == "warn", _u=status == "unknown")
    grp = t.groupby("coating", sort=False)
    out = grp[["_f", "_w", "_u"]].sum().astype(int)
    out.columns = ["n_fail", "n_warn", "n_unknown"]
    fails = t[t["_f"]].groupby("coating", sort=False)["reason"].agg("; ".join)
    soft = t[t["_w"] | t["_u"]]
    soft = soft.assign(reason=np.where(soft["_u"], "unknown: " + soft["reason"], soft["reason"]))
    warns = soft.groupby("coating", sort=False)["reason"].agg("; ".join)
    verdict = np.where(out["n_fail"] > 0, "fail",
                       np.where((out["n_warn"] + out["n_unknown"]) > 0, "warn", "pass"))
    out.insert(0, "screen_verdict", verdict)
    reasons = fails.reindex(out.index).fillna(warns.reindex(out.index)).fillna("")
    out["screen_reasons"] = reasons.to_numpy()
    return out.reset_index()
