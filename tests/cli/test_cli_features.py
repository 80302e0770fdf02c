"""`coatml features build` writes the workspace's feature table with its set name and hash."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from typer.testing import CliRunner

from coatml.cli.main import app
from coatml.features.pipeline import RecordFeaturizer
from coatml.workspace import Workspace


def test_features_build_matches_the_python_api(tmp_path: Path) -> None:
    runner = CliRunner()
    ws_dir = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws_dir)]).exit_code == 0
    out = tmp_path / "features.parquet"
    result = runner.invoke(app, ["features", "build", "--out", str(out), "-w", str(ws_dir)])
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    meta = table.schema.metadata
    frame = table.to_pandas().set_index("record_id")
    records = Workspace.load(ws_dir).store().to_frame()
    fz = RecordFeaturizer().fit(records)
    expected = fz.transform(records)
    assert meta[b"coatml.feature_set_hash"].decode() == str(fz.feature_set_hash_)
    assert list(frame.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(frame, expected, check_names=False)
    bare = records["coating"].isna()
    assert (frame.loc[bare.to_numpy(), "is_coated"] == 0).all()
    coating_cols = [c for c in frame.columns if c.startswith("coating__")]
    assert frame.loc[bare.to_numpy(), coating_cols].isna().all().all()
