"""`coatml data sources`: the sources with their record counts and outcome types."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from coatml.cli.main import app
from coatml.data.literature import doi_sources, literature_version, load_literature
from coatml.data.summary import sources_table

runner = CliRunner()


def test_sources_of_the_bundled_dataset() -> None:
    result = runner.invoke(app, ["data", "sources", "--bundled"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    version = literature_version()
    assert f"version {version.version}" in result.output
    assert version.content_hash[:16] in result.output
    table = sources_table(load_literature().records)
    assert f"{len(table)} sources, {int(table['records'].sum())} records" in result.output
    for doi in doi_sources()["doi"]:
        assert f"doi:{doi}" in result.output
    assert "capacity_retention_pct" in result.output


def test_sources_of_a_workspace(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    result = runner.invoke(app, ["data", "sources", "--workspace", str(ws), "--limit", "3"],
                           env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    n = len(load_literature().records)
    assert f"records (workspace {ws}" in result.output and f", {n} records" in result.output
    assert "; first 3" in result.output


def test_sources_of_an_empty_workspace(tmp_path: Path) -> None:
    ws = tmp_path / "empty"
    assert runner.invoke(app, ["init", str(ws), "--no-literature"]).exit_code == 0
    result = runner.invoke(app, ["data", "sources", "--workspace", str(ws)])
    assert result.exit_code == 0, result.output
    assert "No records" in result.output
