"""Diagnostic figures: real PNGs of the promised size and resolution; calibration maths."""

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
    assert out.stat().st_size > 10_000


def test_importance_plot_shows_at_most_top_n(tmp_path: Path) -> None:
    imp = {f"feature {i}": float(i) for i in range(50)}
    out = plots.importance_plot(imp, tmp_path / "imp.png", top_n=20)
    w, h = png_size(out)
    assert w == 7 * plots.DPI
    # Height grows with the number of bars: 20 bars, not 50.
    assert h == round((0.32 * 20 + 1.2) * plots.DPI)


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
