"""Diagnostic figures logged with every training run (PNG, matplotlib Agg backend).

Three figures (``*_figure`` returns the matplotlib ``Figure``, ``*_plot`` writes it as a PNG),
each readable in a paper or a lab meeting without the code next to it:

* :func:`parity_plot` -- out-of-fold mean prediction against the measured value, with the
  ensemble standard deviation as error bars and the 1:1 line.
* :func:`importance_plot` -- the top features by XGBoost gain.
* :func:`calibration_plot` -- expected against observed coverage of the predictive intervals
  at several levels; a calibrated model lies on the diagonal.

matplotlib is imported inside the functions (``import coatml.tracking`` stays cheap) and the
figures are drawn through the object-oriented API on a :class:`~matplotlib.figure.Figure`
created without pyplot, so no global figure state or GUI backend is involved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

#: Interval levels (central, two-sided) at which calibration is checked.
CALIBRATION_LEVELS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.68, 0.7, 0.8, 0.9, 0.95)

DPI = 150
_FONT: Any = {"font.size": 11, "axes.labelsize": 12, "axes.titlesize": 12, "legend.fontsize": 10,
         "xtick.labelsize": 10, "ytick.labelsize": 10}


def _figure(width_in: float, height_in: float):
    """A pyplot-free Figure with an Agg canvas (no display needed, thread-safe enough)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI, format="png")
    return path


def _label(name: str, unit: str) -> str:
    return f"{name} ({unit})" if unit else name


def parity_plot(
    y_true: Sequence[float],
    mean: Sequence[float],
    std: Sequence[float],
    path: Path,
    *,
    quantity: str,
    unit: str,
    log_scale: bool = False,
    title: str | None = None,
) -> Path:
    """Write :func:`parity_figure` as a PNG to ``path``; returns ``path``."""
    import matplotlib

    with matplotlib.rc_context(_FONT):
        return _save(parity_figure(y_true, mean, std, quantity=quantity, unit=unit,
                                   log_scale=log_scale, title=title), path)


def parity_figure(
    y_true: Sequence[float],
    mean: Sequence[float],
    std: Sequence[float],
    *,
    quantity: str,
    unit: str,
    log_scale: bool = False,
    title: str | None = None,
) -> Any:
    """Out-of-fold prediction against measurement, error bars = one ensemble std (a
    matplotlib ``Figure``).

    ``quantity``/``unit`` label the axes (e.g. ``"Capacity retention"``, ``"%"``). With
    ``log_scale`` both axes are logarithmic (interface resistance spans decades); the error
    bars are then drawn as given, so pass them in the same (natural) units as ``mean``.
    """
    import matplotlib

    y = np.asarray(y_true, dtype=float)
    m = np.asarray(mean, dtype=float)
    s = np.asarray(std, dtype=float)
    ok = np.isfinite(y) & np.isfinite(m)
    y, m, s = y[ok], m[ok], np.where(np.isfinite(s[ok]), s[ok], 0.0)
    with matplotlib.rc_context(_FONT):
        fig = _figure(5.0, 5.0)
        ax = fig.add_subplot(1, 1, 1)
        ax.errorbar(y, m, yerr=s, fmt="o", ms=4, alpha=0.75, elinewidth=0.8, capsize=2,
                    color="tab:blue", ecolor="tab:gray", label="out-of-fold mean ± 1 std")
        if y.size:
            lo = float(min(y.min(), (m - s).min()))
            hi = float(max(y.max(), (m + s).max()))
            if log_scale:
                lo = float(min(y[y > 0].min(initial=np.inf), m[m > 0].min(initial=np.inf)))
            pad = 0.05 * (hi - lo if hi > lo else 1.0)
            lims = (lo / 1.5, hi * 1.5) if log_scale else (lo - pad, hi + pad)
            ax.plot(lims, lims, "k--", lw=1, label="1:1")
            ax.set_xlim(lims)
            ax.set_ylim(lims)
            rmse = float(np.sqrt(np.mean((m - y) ** 2)))
            ax.text(0.04, 0.96, f"n = {y.size}\nRMSE = {rmse:.3g} {unit}", transform=ax.transAxes,
                    va="top", ha="left", fontsize=10)
        if log_scale:
            ax.set_xscale("log")
            ax.set_yscale("log")
        ax.set_aspect("equal", adjustable="box")
        ax.set_xlabel(_label(f"Measured {quantity.lower()}", unit))
        ax.set_ylabel(_label(f"Predicted {quantity.lower()}", unit))
        ax.set_title(title or f"{quantity}: grouped-CV parity")
        ax.legend(loc="lower right")
        ax.grid(True, alpha=0.3)
        return fig


def importance_plot(
    importance: Mapping[str, float],
    path: Path,
    *,
    top_n: int = 20,
    importance_type: str = "gain",
    title: str | None = None,
) -> Path:
    """Write :func:`importance_figure` as a PNG to ``path``; returns ``path``."""
    import matplotlib

    with matplotlib.rc_context(_FONT):
        return _save(importance_figure(importance, top_n=top_n,
                                       importance_type=importance_type, title=title), path)


def importance_figure(
    importance: Mapping[str, float],
    *,
    top_n: int = 20,
    importance_type: str = "gain",
    title: str | None = None,
) -> Any:
    """Horizontal bar chart of the ``top_n`` most important features (largest on top).

    XGBoost's ``gain`` is the average loss reduction of the splits that use a feature, in units
    of the training objective, so the axis is labelled "(objective units)" rather than a
    physical unit.
    """
    import matplotlib

    items = sorted(((str(k), float(v)) for k, v in importance.items() if np.isfinite(v)),
                   key=lambda kv: kv[1], reverse=True)[:top_n]
    names = [k for k, _ in items][::-1]
    values = [v for _, v in items][::-1]
    height_in = max(2.5, 0.32 * len(names) + 1.2)
    with matplotlib.rc_context(_FONT):
        fig = _figure(7.0, height_in)
        ax = fig.add_subplot(1, 1, 1)
        if names:
            ax.barh(range(len(names)), values, color="tab:blue")
            ax.set_yticks(range(len(names)))
            ax.set_yticklabels(names, fontsize=9)
        else:
            ax.text(0.5, 0.5, "no split used any feature", ha="center", va="center",
                    transform=ax.transAxes)
        ax.set_xlabel(f"Importance: mean {importance_type} per split (objective units)")
        ax.set_title(title or f"Top {len(names)} features by {importance_type}")
        ax.grid(True, axis="x", alpha=0.3)
        return fig


def coverage_curve(
    y_true: Sequence[float],
    mean: Sequence[float],
    std: Sequence[float],
    levels: Sequence[float] = CALIBRATION_LEVELS,
) -> tuple[np.ndarray, np.ndarray]:
    """Observed coverage of Gaussian central intervals ``mean ± z(level)·std`` per level.

    The ensemble reports a mean and a standard deviation per prediction; assuming a normal
    predictive distribution (the same assumption behind its 68 %/95 % intervals) the central
    interval at level ``p`` is ``mean ± Φ⁻¹((1 + p) / 2)·std``. Returns ``(levels, observed)``.
    """
    from scipy.stats import norm

    y = np.asarray(y_true, dtype=float)
    m = np.asarray(mean, dtype=float)
    s = np.asarray(std, dtype=float)
    ok = np.isfinite(y) & np.isfinite(m) & np.isfinite(s)
    y, m, s = y[ok], m[ok], s[ok]
    lv = np.asarray(levels, dtype=float)
    if y.size == 0:
        return lv, np.full(lv.shape, np.nan)
    z = norm.ppf((1.0 + lv) / 2.0)
    err = np.abs(y - m)
    observed = np.array([float(np.mean(err <= zi * s)) for zi in z])
    return lv, observed


def calibration_plot(
    y_true: Sequence[float],
    mean: Sequence[float],
    std: Sequence[float],
    path: Path,
    *,
    levels: Sequence[float] = CALIBRATION_LEVELS,
    interval_points: Mapping[float, float] | None = None,
    title: str | None = None,
) -> Path:
    """Write :func:`calibration_figure` as a PNG to ``path``; returns ``path``."""
    import matplotlib

    with matplotlib.rc_context(_FONT):
        return _save(calibration_figure(y_true, mean, std, levels=levels,
                                        interval_points=interval_points, title=title), path)


def calibration_figure(
    y_true: Sequence[float],
    mean: Sequence[float],
    std: Sequence[float],
    *,
    levels: Sequence[float] = CALIBRATION_LEVELS,
    interval_points: Mapping[float, float] | None = None,
    title: str | None = None,
) -> Any:
    """Expected vs observed interval coverage (both in %), with the ideal diagonal.

    ``y_true``/``mean``/``std`` must be in the space the model predicts in (log10 for
    resistance), where the normal assumption of :func:`coverage_curve` is made.
    ``interval_points`` optionally adds the coverage of the model's own reported intervals,
    e.g. ``{0.68: 0.71, 0.95: 0.93}`` from the CV report, as separate markers.
    """
    import matplotlib

    lv, observed = coverage_curve(y_true, mean, std, levels)
    with matplotlib.rc_context(_FONT):
        fig = _figure(5.0, 5.0)
        ax = fig.add_subplot(1, 1, 1)
        ax.plot([0, 100], [0, 100], "k--", lw=1, label="ideal")
        ax.plot(100 * lv, 100 * observed, "o-", color="tab:blue",
                label="Gaussian intervals (mean ± z·std)")
        if interval_points:
            xs = sorted(interval_points)
            ax.plot([100 * x for x in xs], [100 * interval_points[x] for x in xs], "s",
                    ms=8, color="tab:orange", label="reported intervals (CV report)")
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 100)
        ax.set_aspect("equal", adjustable="box")
        ax.set_xlabel("Expected coverage (%)")
        ax.set_ylabel("Observed out-of-fold coverage (%)")
        ax.set_title(title or "Interval calibration")
        ax.legend(loc="upper left")
        ax.grid(True, alpha=0.3)
        return fig
