"""The Campaigns page under AppTest: create a campaign, propose its next batch (pending),
upload a measured result for one proposal (returned, deviation shown), and a bad upload that
names its row and writes nothing."""

from __future__ import annotations

from pathlib import Path

from coatml.workspace import Workspace
from tests.ui._harness import open_page, submit, texts


def _count(root: Path) -> int:
    with Workspace.load(root).store() as store:
        return store.count()


def test_campaign_loop(trained_workspace: Path) -> None:
    at = open_page("Campaigns")
    assert any("No campaign yet" in t for t in texts(at.info))
    at.text_input(key="camp_new_name").set_value("nmc-lpscl")
    at.number_input(key="camp_new_max_candidates").set_value(120)
    submit(at, "Create")
    assert texts(at.success) == ["campaign 'nmc-lpscl' created"]
    at.run()
    assert at.selectbox(key="camp_name").value == "nmc-lpscl"
    at.number_input(key="camp_n").set_value(2)
    submit(at, "Propose the next batch")
    assert not at.error, texts(at.error)
    assert any("**2 pending**" in t for t in texts(at.markdown))
    batch_download = at.get("download_button")
    assert len(batch_download) == 1

    from coatml.recommend.campaign import Campaign

    with Workspace.load(trained_workspace).store() as store:
        pending = Campaign.load(store, "nmc-lpscl").pending()
    assert len(pending) == 2
    first = pending.iloc[0]
    before = _count(trained_workspace)
    # a measured row for the first proposal, deposited 10 degC hotter than proposed
    header = ("proposal_id,electrode,electrolyte,coating,coated_component,method,precursors,"
              "temperature_c,thickness_nm,cycle_number,capacity_retention_pct,source")
    row = (f"{first['proposal_id']},LiNi0.8Mn0.1Co0.1O2,Li6PS5Cl,{first['coating']},electrode,"
           f"ALD,{first['precursors']},{float(first['temperature_c']) + 10},"
           f"{float(first['thickness_nm'])},100,87.5,lab notebook 21")
    bad = f"{header}\n{row.replace(',87.5,', ',87.5 %,')}\n"
    at.get("file_uploader")[0].set_value(("bad.csv", bad.encode(), "text/csv"))
    submit(at, "Validate and add to the campaign")
    assert any("nothing was written" in e for e in texts(at.error))
    assert any("row 2, column capacity_retention_pct" in t for t in texts(at.markdown))
    assert _count(trained_workspace) == before

    good = f"{header}\n{row}\n"
    at.get("file_uploader")[0].set_value(("measured.csv", good.encode(), "text/csv"))
    submit(at, "Validate and add to the campaign")
    assert any(s.startswith("measured.csv: added 1 records") and "1 answer proposals" in s
               for s in texts(at.success)), texts(at.success)
    assert _count(trained_workspace) == before + 1
    deviations = at.dataframe[-1].value
    assert deviations.filter(like="temperature").iloc[0].tolist() == [10.0]
    at.run()
    assert any("**1 pending**, 1 returned" in t for t in texts(at.markdown))
