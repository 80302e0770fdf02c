"""Figures of a ranking (matplotlib, object API, no global pyplot state).

:func:`rank_plot` draws

* ``objective="both"``: predicted capacity retention against predicted interface resistance
  (log axis), one point per candidate at its chosen recipe, 68 % intervals as error bars, the
  Pareto front (rank 1) highlighted and connected, tested and untested coatings in different
  markers, the top rows labelled;
* a single objective: a horizontal interval plot of the top ``top_n`` candidates (68 % interval
  as a thick bar, 95 % as a thin line, the point estimate as a dot).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["rank_plot"]

_RET = "retention_pct"
_RES = "resistance_ohm_cm2"
_LABELS = {
    "retention": ("Predicted capacity retention (%)", _RET, "mean"),
    "resistance": ("Predicted interface resistance (ohm cm$^2$)", _RES, "median"),
}


def _style(fig: Any) -> None:
    for ax in fig.axes:
        ax.tick_params(labelsize=10)
        ax.grid(True, which="major", alpha=0.3, linewidth=0.6)


def _log_ticks(axis: Any) -> None:
    from matplotlib.ticker import FuncFormatter

    def minor(value: float, _pos: int) -> str:
        lead = value / 10 ** np.floor(np.log10(value)) if value > 0 else 0.0
        return f"{value:g}" if round(lead) in (2, 5) and abs(lead - round(lead)) < 1e-6 else ""

    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    axis.set_minor_formatter(FuncFormatter(minor))


def _scatter(table: pd.DataFrame, ax: Any, n_labels: int, top_n: int) -> None:
    x = table[f"{_RES}_median"].to_numpy(dtype=float)
    y = table[f"{_RET}_mean"].to_numpy(dtype=float)
    tested = table["tested"].to_numpy(dtype=bool) if "tested" in table else np.zeros(len(x), bool)
    pareto = (table["pareto_rank"].fillna(0).to_numpy(dtype=int) == 1
              if "pareto_rank" in table else np.zeros(len(x), bool))
    # error bars for the top rows, the front and the tested coatings (thousands of bars would
    # hide the points)
    bars = pareto | tested
    bars[:top_n] = True
    xerr = np.vstack([x - table[f"{_RES}_lo68"].to_numpy(dtype=float),
                      table[f"{_RES}_hi68"].to_numpy(dtype=float) - x])
    yerr = np.vstack([y - table[f"{_RET}_lo68"].to_numpy(dtype=float),
                      table[f"{_RET}_hi68"].to_numpy(dtype=float) - y])
    ax.errorbar(x[bars], y[bars], xerr=xerr[:, bars], yerr=yerr[:, bars], fmt="none",
                ecolor="0.65", elinewidth=0.7, capsize=0, zorder=1,
                label=f"68 % intervals (top {top_n}, front, tested)")
    for mask, marker, face, label in ((~tested, "o", "white", "untested"),
                                      (tested, "s", "0.35", "tested")):
        if mask.any():
            ax.scatter(x[mask], y[mask], marker=marker, facecolors=face, edgecolors="0.25",
                       s=20, linewidths=0.7, zorder=2, label=f"{label} ({int(mask.sum())})")
    if pareto.any():
        order = np.argsort(x[pareto])
        ax.plot(x[pareto][order], y[pareto][order], "-", color="tab:red", linewidth=1.4,
                zorder=3)
        ax.scatter(x[pareto], y[pareto], marker="D", color="tab:red", s=28, zorder=4,
                   label=f"Pareto front ({int(pareto.sum())})")
    # labels of the top rows in a column in the upper right (the corner a retention /
    # resistance trade-off leaves empty), with leader lines, so clustered points stay legible
    for k in range(min(n_labels, len(table))):
        ax.annotate(f"{k + 1}. {table['coating'].iloc[k]}", (x[k], y[k]),
                    xytext=(0.62, 0.95 - 0.045 * k), textcoords="axes fraction", fontsize=8,
                    va="center", arrowprops={"arrowstyle": "-", "color": "0.6",
                                             "linewidth": 0.4}, zorder=5)
    ax.set_xscale("log")
    _log_ticks(ax.xaxis)
    ax.set_xlabel("Predicted interface resistance (ohm cm$^2$; median, 68 % interval)",
                  fontsize=11)
    ax.set_ylabel("Predicted capacity retention (%; mean, 68 % interval)", fontsize=11)
    ax.legend(fontsize=9, frameon=False, loc="lower left")


def _intervals(table: pd.DataFrame, ax: Any, objective: str, top_n: int) -> None:
    label, prefix, centre = _LABELS[objective]
    part = table.head(top_n)
    n = len(part)
    ypos = np.arange(n)[::-1]
    c = part[f"{prefix}_{centre}"].to_numpy(dtype=float)
    tested = part["tested"].to_numpy(dtype=bool) if "tested" in part else np.zeros(n, bool)
    ax.hlines(ypos, part[f"{prefix}_lo95"], part[f"{prefix}_hi95"], color="0.6", linewidth=1.0)
    ax.hlines(ypos, part[f"{prefix}_lo68"], part[f"{prefix}_hi68"], color="tab:blue",
              linewidth=4.0, alpha=0.6)
    ax.scatter(c[~tested], ypos[~tested], color="white", edgecolors="k", zorder=3, s=24,
               label="untested")
    if tested.any():
        ax.scatter(c[tested], ypos[tested], color="k", zorder=3, s=24, label="tested")
    names = [f"{r.coating}  ({r.thickness_nm:.3g} nm, "
             + ("T n/a" if pd.isna(r.temperature_c) else f"{r.temperature_c:.0f} °C") + ")"
             for r in part.itertuples()]
    ax.set_yticks(ypos, names, fontsize=8)
    if objective == "resistance":
        ax.set_xscale("log")
        _log_ticks(ax.xaxis)
    ax.set_xlabel(f"{label}\n{centre}; 68 % (bar) and 95 % (line) intervals", fontsize=11)
    ax.legend(fontsize=9, frameon=False, loc="lower right")


def rank_plot(table: pd.DataFrame, path: str | Path, *, objective: str = "both",
              top_n: int = 30, n_labels: int = 10, dpi: int = 200,
              title: str | None = None) -> Path:
    """Write the ranking figure of ``table`` (a :class:`~coatml.recommend.rank.RankResult`
    table) as a PNG at ``dpi`` (>= 150) to ``path`` and return the path."""
    from matplotlib.figure import Figure

    if dpi < 150:
        raise ValueError("dpi must be >= 150 for a publication-readable figure")
    path = Path(path)
    if objective == "both":
        fig = Figure(figsize=(7.5, 5.5), layout="constrained")
        ax = fig.add_subplot()
        _scatter(table, ax, n_labels, top_n)
    elif objective in _LABELS:
        height = max(3.0, 0.28 * min(top_n, len(table)) + 1.2)
        fig = Figure(figsize=(7.5, height), layout="constrained")
        ax = fig.add_subplot()
        _intervals(table, ax, objective, top_n)
    else:
        raise ValueError(f"objective must be retention, resistance or both, not {objective!r}")
    if title:
        ax.set_title(title, fontsize=11)
    _style(fig)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path
