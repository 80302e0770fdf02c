"""Diagnostic figures: real PNGs of the promised size and resolution, what the figures show
(their axes' data), calibration maths."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from coatml.tracking import plots


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) in pixels from the PNG IHDR chunk."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def png_dpi(path: Path) -> float:
    """Pixels per inch from the pHYs chunk (matplotlib writes it)."""
    data = path.read_bytes()
    i = data.index(b"pHYs")
    ppm_x = struct.unpack(">I", data[i + 4:i + 8])[0]
    return ppm_x * 0.0254


def test_parity_plot_is_a_150dpi_png(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    y = rng.uniform(50, 100, 30)
    out = plots.parity_plot(y, y + rng.normal(0, 2, 30), np.full(30, 2.0), tmp_path / "p.png",
                            quantity="Capacity retention", unit="%")
    w, h = png_size(out)
    assert png_dpi(out) == pytest.approx(plots.DPI, abs=1)
    # 5 x 5 inch figure at 150 dpi; tight_layout keeps the canvas size.
    assert (w, h) == (5 * plots.DPI, 5 * plots.DPI)


def test_parity_plot_log_scale_accepts_decades(tmp_path: Path) -> None:
    y = np.logspace(0, 3, 20)
    out = plots.parity_plot(y, y * 1.2, y * 0.1, tmp_path / "p.png",
                            quantity="Interface resistance", unit="Ω·cm²", log_scale=True)
    assert png_size(out) == (5 * plots.DPI, 5 * plots.DPI)
    fig = plots.parity_figure(y, y * 1.2, y * 0.1, quantity="Interface resistance",
                              unit="Ω·cm²", log_scale=True)
    ax = fig.axes[0]
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
    points = ax.containers[0].lines[0].get_xydata()
    np.testing.assert_allclose(points, np.column_stack([y, 1.2 * y]))
    lo, hi = ax.get_xlim()
    assert lo < 1.0 and hi > 1.2e3 and hi / lo < 1e4  # every point shown, by about a decade


def test_parity_figure_shows_the_finite_points_bars_and_the_one_to_one_line() -> None:
    y = np.array([50.0, 60.0, 70.0, np.nan, 80.0])
    mean = np.array([52.0, 58.0, 75.0, 60.0, np.nan])
    std = np.array([1.0, np.nan, 3.0, 1.0, 1.0])
    fig = plots.parity_figure(y, mean, std, quantity="Capacity retention", unit="%")
    ax = fig.axes[0]
    data_line, _, (bars,) = ax.containers[0].lines
    np.testing.assert_allclose(data_line.get_xydata(), [[50, 52], [60, 58], [70, 75]])
    # error bars: one std each, a missing std drawn with zero length
    segments = [np.asarray(seg) for seg in bars.get_segments()]
    np.testing.assert_allclose([seg[:, 1] for seg in segments],
                               [[51, 53], [58, 58], [72, 78]])
    diagonal = [line for line in ax.lines if line.get_label() == "1:1"]
    assert len(diagonal) == 1
    xs, ys = diagonal[0].get_data()
    np.testing.assert_allclose(xs, ys)
    assert xs[0] <= 50 and xs[-1] >= 78 and ax.get_xlim() == ax.get_ylim()
    text = ax.texts[0].get_text()
    assert text == f"n = 3\nRMSE = {np.sqrt((4 + 4 + 25) / 3):.3g} %"
    assert ax.get_xlabel() == "Measured capacity retention (%)"


def test_importance_plot_shows_at_most_top_n(tmp_path: Path) -> None:
    imp = {f"feature {i}": float(i) for i in range(50)}
    out = plots.importance_plot(imp, tmp_path / "imp.png", top_n=20)
    w, h = png_size(out)
    assert w == 7 * plots.DPI
    # Height grows with the number of bars: 20 bars, not 50.
    assert h == round((0.32 * 20 + 1.2) * plots.DPI)
    imp["not a number"] = float("nan")
    ax = plots.importance_figure(imp, top_n=20).axes[0]
    widths = [bar.get_width() for bar in ax.patches]
    assert widths == [float(i) for i in range(30, 50)]  # the top 20, largest on top
    assert [t.get_text() for t in ax.get_yticklabels()] == [f"feature {i}" for i in range(30, 50)]


def test_coverage_curve_of_gaussian_errors_matches_levels() -> None:
    rng = np.random.default_rng(3)
    n = 40_000
    std = rng.uniform(0.5, 2.0, n)
    mean = rng.normal(0, 5, n)
    y = mean + std * rng.standard_normal(n)
    levels, observed = plots.coverage_curve(y, mean, std)
    np.testing.assert_allclose(observed, levels, atol=0.01)


def test_coverage_curve_detects_overconfidence() -> None:
    rng = np.random.default_rng(4)
    n = 20_000
    y = rng.standard_normal(n)
    # Reported std half the true one: 68 % intervals cover only ~38 %.
    _, observed = plots.coverage_curve(y, np.zeros(n), np.full(n, 0.5), [0.68])
    assert observed[0] == pytest.approx(0.383, abs=0.015)


def test_calibration_plot_writes_png(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    y = rng.standard_normal(200)
    out = plots.calibration_plot(y, np.zeros(200), np.ones(200), tmp_path / "c.png",
                                 interval_points={0.68: 0.7, 0.95: 0.94})
    assert png_size(out) == (5 * plots.DPI, 5 * plots.DPI)


def test_calibration_figure_plots_the_coverage_curve_and_the_reported_points() -> None:
    rng = np.random.default_rng(6)
    y = rng.standard_normal(300)
    std = np.full(300, 0.5)  # overconfident: the curve must lie under the diagonal
    fig = plots.calibration_figure(y, np.zeros(300), std, interval_points={0.95: 0.9,
                                                                           0.68: 0.4})
    lines = {line.get_label(): line for line in fig.axes[0].lines}
    levels, observed = plots.coverage_curve(y, np.zeros(300), std)
    curve = lines["Gaussian intervals (mean ± z·std)"].get_xydata()
    np.testing.assert_allclose(curve, np.column_stack([100 * levels, 100 * observed]))
    assert np.all(curve[:, 1] < curve[:, 0])
    np.testing.assert_allclose(lines["ideal"].get_xydata(), [[0, 0], [100, 100]])
    np.testing.assert_allclose(lines["reported intervals (CV report)"].get_xydata(),
                               [[68, 40], [95, 90]])
