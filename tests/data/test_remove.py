"""`RecordStore.remove`: atomic, logged, and refusing to orphan a campaign link."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from coatml.data.store import RecordStore
from coatml.exceptions import ValidationError
from tests.data.test_validation import BARE_ROW, GOOD_ROW, HEADER


@pytest.fixture
def store(tmp_path: Path):
    path = tmp_path / "a.csv"
    path.write_text(f"{HEADER}\n{GOOD_ROW}\n{BARE_ROW}\n", encoding="utf-8")
    other = tmp_path / "b.csv"
    other.write_text(f"{HEADER}\n{GOOD_ROW.replace(',235,', ',200,')}\n", encoding="utf-8")
    with RecordStore(f"sqlite:///{tmp_path / 's.db'}") as s:
        s.add_file(path)
        s.add_file(other)
        yield s


def test_remove_by_id_is_logged_with_the_rows(store: RecordStore) -> None:
    rid = store.to_frame()["record_id"].iloc[0]
    before = store.dataset_hash()
    result = store.remove([rid], reason="typo in thickness", removed_by="tester")
    assert result.record_ids == (rid,) and store.count() == 2
    assert result.dataset_hash_before == before != result.dataset_hash_after
    assert result.dataset_hash_after == store.dataset_hash()
    log = store.removal_log()
    assert log[["removed_by", "reason", "n_records"]].iloc[0].tolist() == [
        "tester", "typo in thickness", 1]
    with store.engine.connect() as conn:
        kept = json.loads(conn.execute(sa.text("SELECT records_json FROM removals")).scalar_one())
    assert [r["record_id"] for r in kept] == [rid]


def test_remove_an_ingest_and_add_the_file_again(store: RecordStore, tmp_path: Path) -> None:
    first = int(store.ingest_log()["ingest_id"].iloc[0])
    result = store.remove(ingest_id=first)
    assert len(result.record_ids) == 2 and store.count() == 1
    assert first not in store.ingest_log()["ingest_id"].tolist()
    assert store.add_file(tmp_path / "a.csv").n_added == 2  # the file hash was forgotten


@pytest.mark.parametrize("bad", ["unknown id", "unknown ingest", "nothing"])
def test_bad_selection_removes_nothing(store: RecordStore, bad: str) -> None:
    rid = store.to_frame()["record_id"].iloc[0]
    kwargs: dict = {"unknown id": {"record_ids": [rid, "r-nope"]},
                    "unknown ingest": {"record_ids": [rid], "ingest_id": 99},
                    "nothing": {}}[bad]
    with pytest.raises(ValidationError) as info:
        store.remove(**kwargs)
    assert store.count() == 3 and store.removal_log().empty
    expected = {"unknown id": "no record with id 'r-nope'", "unknown ingest": "no ingest 99",
                "nothing": "name record ids or an ingest"}[bad]
    assert expected in str(info.value)


def test_campaign_linked_record_is_not_orphaned(store: RecordStore) -> None:
    from coatml.recommend.campaign import campaign_metadata

    campaign_metadata.create_all(store.engine)
    rid = store.to_frame()["record_id"].iloc[0]
    now = dt.datetime.now(dt.UTC)
    with store.engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO campaigns (campaign_id, name, electrode, electrolyte, objective, "
            "strategy, settings, created_at) VALUES (7, 'c', 'e', 'l', 'o', 's', '{}', :t)"),
            {"t": now})
        conn.execute(sa.text(
            "INSERT INTO campaign_results (campaign_id, record_id, unsolicited, actual, "
            "added_at) VALUES (7, :r, 1, '{}', :t)"), {"r": rid, "t": now})
    ingest = int(store.ingest_log()["ingest_id"].iloc[0])
    with pytest.raises(ValidationError, match=f"'{rid}' is a result of campaign 7"):
        store.remove(ingest_id=ingest)
    assert store.count() == 3 and store.removal_log().empty
