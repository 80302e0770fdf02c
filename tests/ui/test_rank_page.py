"""The Rank page under AppTest: the form, the ranked table (intervals, tested / untested,
Pareto rank, explanation), the plot and the CSV download, against ``rank_coatings``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa

from tests.ui._harness import open_page, submit, texts


def test_form_widgets(trained_workspace: Path) -> None:
    at = open_page("Rank")
    assert at.text_input(key="rank_electrode").value == "LiNi0.8Mn0.1Co0.1O2"
    assert at.text_input(key="rank_electrolyte").value == "Li6PS5Cl"
    assert at.selectbox(key="rank_component").options == ["auto", "electrode", "electrolyte"]
    assert at.selectbox(key="rank_objective").options == ["both", "retention", "resistance"]
    for key in ("rank_anion", "rank_reducible", "rank_library"):
        assert at.checkbox(key=key) is not None
    assert [b.label for b in at.button] == ["Rank"]


def test_unknown_material_is_named(trained_workspace: Path) -> None:
    at = open_page("Rank")
    at.text_input(key="rank_electrode").set_value("LiXx2O3")
    submit(at, "Rank")
    assert any("electrode 'LiXx2O3'" in e and "Xx" in e for e in texts(at.error))
    assert not at.dataframe


def test_rank_both_objectives_library(trained_workspace: Path) -> None:
    from coatml.recommend.candidates import CandidateFilters
    from coatml.recommend.rank import rank_coatings
    from coatml.recommend.space import SpaceSpec
    from coatml.tracking.registry import load_champions
    from coatml.tracking.training import tracker_for
    from coatml.workspace import Workspace

    at = open_page("Rank")
    at.checkbox(key="rank_library").check()
    submit(at, "Rank")
    assert not at.error, texts(at.error)
    table = at.dataframe[0].value
    assert at.subheader[0].value == f"{len(table)} ranked coatings (of {len(table)})"
    assert len(table) > 20
    for col in ("rank", "coating", "tested", "Pareto rank", "retention 68 %",
                "resistance 68 %", "prior vs learned",
                "why (top-3 SHAP features, model space)"):
        assert col in table.columns
    assert table["rank"].tolist() == list(range(1, len(table) + 1))
    assert set(table["tested"]) == {"tested", "untested"}
    assert table.loc[table["tested"] == "tested", "coating"].tolist() == ["LiNbO3"]
    assert table["Pareto rank"].min() == 1
    assert table["Pareto rank"].is_monotonic_increasing  # objective both: sorted by front
    assert table["why (top-3 SHAP features, model space)"].head(5).str.len().gt(0).all()
    # intervals read "mean [lo, hi]" with lo <= mean <= hi
    lo_hi = table["retention 68 %"].str.extract(r"^([\d.]+) \[([\d.]+), ([\d.]+)\]$")
    values = lo_hi.astype(float)
    assert (values[1] <= values[0]).all() and (values[0] <= values[2]).all()
    # the page shows what the library function returns for the same request
    ws = Workspace.load(trained_workspace)
    models, _ = load_champions(tracker_for(ws), ["capacity_retention_pct",
                                                 "interface_resistance_ohm_cm2"])
    with ws.store() as store:
        records = store.to_frame()
    direct = rank_coatings(SpaceSpec("LiNi0.8Mn0.1Co0.1O2", "Li6PS5Cl",
                                     filters=CandidateFilters(), include_enumerated=False),
                           models, "both", records=records, explain=False)
    assert table["coating"].tolist() == direct.table["coating"].astype(str).tolist()
    pd.testing.assert_series_equal(
        table["retention %"], direct.table["retention_pct_mean"].reset_index(drop=True),
        check_names=False)
    charts = at.get("vega_lite_chart")
    assert len(charts) == 1, "no ranking chart"
    datasets = [pa.ipc.open_stream(d.data.data).read_all().to_pandas()
                for d in charts[0].proto.datasets]
    assert datasets
    for plotted in datasets:  # the layers' data: each holds every row of the table
        assert sorted(plotted["coating"]) == sorted(table["coating"])
        assert (plotted["front"] == "Pareto front").sum() == (table["Pareto rank"] == 1).sum()
    assert any(t.startswith(f"{len(table)} candidates plotted") for t in texts(at.caption))
    assert [b.label for b in at.get("download_button")] == [
        "Download the ranking (CSV)", "Download the figure (PNG, as coatml rank draws it)"]
