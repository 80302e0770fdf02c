"""The README's main job, end to end on the bundled data with embedded defaults."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from coatml.cli.main import app
from coatml.workspace import Workspace


def test_quickstart_runs_the_whole_main_job(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from matplotlib.figure import Figure

    saved: list = []
    original = Figure.savefig

    def keep(fig: Figure, *args, **kwargs):
        saved.append((fig, str(args[0]) if args else ""))
        return original(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    ws_dir = tmp_path / "coatml-workspace"
    result = CliRunner().invoke(app, ["quickstart", str(ws_dir), "--trials", "0"])
    assert result.exit_code == 0, result.output
    ws = Workspace.load(ws_dir)
    with ws.store() as store:
        records = store.to_frame()
    assert (records["data_kind"] == "literature").all() and len(records) >= 69
    outputs = ws_dir / "outputs"
    ranked = pd.read_csv(outputs / "rank_LiNi0.8Mn0.1Co0.1O2_Li6PS5Cl_both.csv")
    assert len(ranked) == 15 and ranked["coating"].notna().all()
    png = outputs / "rank_LiNi0.8Mn0.1Co0.1O2_Li6PS5Cl_both.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # what the rank figure shows: one point per ranked coating, at the table's numbers
    (fig, _) = [(f, p) for f, p in saved if p.endswith(png.name)][-1]
    ax = fig.axes[0]
    shown = np.vstack([c.get_offsets() for c in ax.collections
                       if not str(c.get_label()).startswith(("Pareto", "_"))])
    # every candidate is plotted; the 15 written to the CSV are among the points, where the
    # table puts them
    assert len(shown) >= len(ranked)
    top = ranked[["resistance_ohm_cm2_median", "retention_pct_mean"]].to_numpy(float)
    for x, y in top:
        assert np.isclose(shown[:, 0], x, rtol=1e-9).__and__(
            np.isclose(shown[:, 1], y, rtol=1e-9)).any(), (x, y)
    batch = pd.read_csv(outputs / "next-batch.csv")
    assert len(batch) == 4
    assert batch["temperature_c"].nunique() == 1  # one reactor run
    assert batch["capacity_retention_pct"].isna().all()  # for the lab to fill
    assert "coatml-capacity_retention_pct" in result.output
    assert "mlflow" in result.output and "ui --backend-store-uri" in result.output
    # only coatml's own lines about the registration (the model did not exist before)
    assert "already exists" not in result.output and "Created version" not in result.output
    assert "v1 is the first model for capacity_retention_pct" in result.output
    # the output says what the quickstart's shorter search ran and how long each stage took
    assert "Quickstart search: 0 Optuna trial(s) per target" in result.output
    assert re.search(r"Quickstart took \d+ s \(data \d+ s, train \d+ s, rank \d+ s, "
                     r"propose \d+ s\)", result.output), result.output
