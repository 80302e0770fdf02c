"""`coatml rank` end to end in a temporary workspace with registered champion models.

The champions are trained on SYNTHETIC simulated-lab records (labelled synthetic), validated
by the real grouped CV, logged with ``log_training`` and registered/promoted exactly as
``coatml train`` does.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from coatml.cli.main import app
from coatml.workspace import Workspace
from tests.data.test_validation import GOOD_ROW, HEADER
from tests.recommend.test_rank import simulated_records

runner = CliRunner()
TARGETS = ("capacity_retention_pct", "interface_resistance_ohm_cm2")
PAIR = ("--electrode", "LiNi0.8Mn0.1Co0.1O2", "--electrolyte", "Li6PS5Cl")


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def register_champions(ws: Workspace, records: pd.DataFrame) -> None:
    from coatml.features.pipeline import RecordFeaturizer
    from coatml.models.estimators import EnsembleRegressor
    from coatml.models.targets import target_values
    from coatml.models.validation import cross_validate_model
    from coatml.tracking.registry import register_and_maybe_promote
    from coatml.tracking.runs import log_training
    from coatml.tracking.training import tracker_for

    tracker = tracker_for(ws)
    params = {"n_members": 5, "n_estimators": 100, "random_state": 0}
    for target in TARGETS:
        rows = records[records[target].notna()].reset_index(drop=True)
        rows = rows.assign(source=[f"synthetic: simulated lab batch {i % 5}"
                                   for i in range(len(rows))])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # unknown-precursor notes of the featurizer
            featurizer = RecordFeaturizer().fit(rows)
            X = featurizer.transform(rows)
            y = target_values(rows, target)
            report = cross_validate_model(lambda: EnsembleRegressor(**params), X, y,
                                          rows["source"], rows, n_splits=3, target=target)
            model = EnsembleRegressor(**params).fit(X, y)
            run = log_training(tracker, target=target, model=model, featurizer=featurizer,
                               report=report, dataset_hash=str(len(rows)), n_rows=len(rows),
                               input_example=rows.head(3))
        assert register_and_maybe_promote(tracker, run).promoted


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("rank") / "ws"
    code, out = invoke("init", str(root), "--no-literature")
    assert code == 0, out
    csv = root.parent / "lab.csv"
    csv.write_text(f"{HEADER}\n{GOOD_ROW}\n", encoding="utf-8")  # LiNbO3 on NMC811|Li6PS5Cl
    code, out = invoke("data", "add", str(csv), "-w", str(root))
    assert code == 0, out
    register_champions(Workspace.load(root), simulated_records())
    return root


@pytest.fixture
def empty_workspace(tmp_path: Path) -> Path:
    root = tmp_path / "empty"
    code, out = invoke("init", str(root), "--no-literature")
    assert code == 0, out
    return root


def test_rank_both_writes_csv_and_png(workspace: Path, tmp_path: Path) -> None:
    csv, png = tmp_path / "ranked.csv", tmp_path / "ranked.png"
    code, out = invoke("rank", *PAIR, "--objective", "both", "--library-only", "--top", "50",
                       "--out", str(csv), "--plot", str(png), "-w", str(workspace))
    assert code == 0, out
    assert "Candidates:" in out and "library 43" in out and "after anion_compatible" in out
    assert "Recipes scored:" in out and "Ranked coatings" in out
    table = pd.read_csv(csv)
    assert len(table) == table["candidate_index"].nunique() > 10
    assert table["pareto_rank"].min() == 1
    assert bool(table.loc[table["reduced_formula"] == "LiNbO3", "tested"].iloc[0])
    assert table["tested"].sum() == 1
    assert table["top_features"].str.count(";").eq(2).all()
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_rank_default_outputs_in_the_workspace(workspace: Path) -> None:
    code, out = invoke("rank", *PAIR, "--library-only", "--top", "5",
                       "--objective", "resistance", "-w", str(workspace))
    assert code == 0, out
    written = sorted((workspace / "outputs").glob("rank_*resistance.*"))
    assert [p.suffix for p in written] == [".csv", ".png"]
    table = pd.read_csv(written[0])
    assert len(table) == 5
    assert table["resistance_ohm_cm2_median"].is_monotonic_increasing


@pytest.mark.slow
def test_rank_on_dask_matches_single_process(workspace: Path, tmp_path: Path) -> None:
    paths = {}
    for mode in ("single", "dask"):
        paths[mode] = tmp_path / f"{mode}.csv"
        extra = ["--dask"] if mode == "dask" else []
        code, out = invoke("rank", *PAIR, "--library-only", "--objective", "retention",
                           "--out", str(paths[mode]), "--plot", str(tmp_path / f"{mode}.png"),
                           *extra, "-w", str(workspace))
        assert code == 0, out
    pd.testing.assert_frame_equal(pd.read_csv(paths["dask"]), pd.read_csv(paths["single"]))


def test_unparsable_formula_is_a_clear_error(workspace: Path) -> None:
    code, out = invoke("rank", "--electrode", "LiXq9O2", "--electrolyte", "Li6PS5Cl",
                       "-w", str(workspace))
    assert code == 2
    assert "--electrode 'LiXq9O2'" in out and "Traceback" not in out


def test_filters_that_leave_nothing_name_the_steps(workspace: Path) -> None:
    code, out = invoke("rank", *PAIR, "--library-only", "--max-thickness", "0.01",
                       "-w", str(workspace))
    assert code == 2
    assert "no candidate coating is left" in out and "max_thickness removed" in out


def test_objective_without_champion_says_train(empty_workspace: Path) -> None:
    code, out = invoke("rank", *PAIR, "--objective", "both", "-w", str(empty_workspace))
    assert code == 2
    assert "coatml train" in out and "Traceback" not in out


def test_unknown_objective_is_rejected(empty_workspace: Path) -> None:
    code, out = invoke("rank", *PAIR, "--objective", "cost", "-w", str(empty_workspace))
    assert code == 2 and "cost" in out and "retention" in out and "both" in out


def test_prior_only_ranks_a_new_pair_without_any_model(empty_workspace: Path,
                                                       tmp_path: Path) -> None:
    from coatml.features.prior import prior_for

    out_csv = tmp_path / "prior.csv"
    code, out = invoke("rank", *PAIR, "--objective", "retention", "--prior-only",
                       "--library-only", "--out", str(out_csv), "-w", str(empty_workspace))
    assert code == 0, out
    assert "physics prior alone" in out
    table = pd.read_csv(out_csv)
    # no ties in file order: the ranking is the prior's, with the prior's uncertainty
    assert table["retention_pct_mean"].is_monotonic_decreasing
    assert table["retention_pct_mean"].round(6).nunique() > len(table) // 2
    top = table.iloc[0]
    expected = prior_for(PAIR[1], PAIR[3], [top["coating"]],
                         thickness_nm=float(top["thickness_nm"]))
    assert top["retention_pct_mean"] == pytest.approx(
        expected["prior_capacity_retention_pct"].iloc[0], rel=1e-6)
    assert top["retention_pct_std"] == pytest.approx(
        expected["prior_capacity_retention_pct_std"].iloc[0], rel=1e-6)
    code, out = invoke("rank", *PAIR, "--prior-only", "--dask", "-w", str(empty_workspace))
    assert code == 2 and "--prior-only" in out
