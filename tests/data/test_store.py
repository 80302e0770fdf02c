"""The store on SQLite and PostgreSQL: atomic ingest, idempotent re-adds, concurrent writers,
and a kill in the middle of an ingest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from coatml.data.store import RecordStore
from coatml.exceptions import ValidationError
from tests.data.test_validation import BARE_ROW, GOOD_ROW, HEADER


def write_csv(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def many_rows(n: int, tag: str) -> list[str]:
    """n distinct coated rows (different cycle numbers) from one lab notebook."""
    return [GOOD_ROW.replace(",100,85,", f",{i + 1},85,").replace("notebook 7", f"notebook {tag}")
            for i in range(n)]


def test_add_then_read_back(database_url: str, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [GOOD_ROW, BARE_ROW])
    with RecordStore(database_url) as store:
        result = store.add_file(path)
        assert (result.n_added, result.already_present) == (2, False)
        frame = store.to_frame()
    assert len(frame) == 2
    coated = frame[frame["coating"] == "LiNbO3"].iloc[0]
    assert coated["capacity_retention_pct"] == 85.0
    assert coated["thickness_nm"] == pytest.approx(2.0)
    assert bool(coated["thickness_derived"])
    assert frame["added_at"].notna().all()
    assert frame["added_by"].notna().all()


def test_same_file_twice_adds_nothing(database_url: str, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [GOOD_ROW, BARE_ROW])
    with RecordStore(database_url) as store:
        store.add_file(path)
        again = store.add_file(path)
        assert again.already_present and again.n_added == 0
        assert store.count() == 2
        # the same rows in another file are recognised record by record
        other = write_csv(tmp_path / "b.csv", [BARE_ROW, GOOD_ROW, GOOD_ROW.replace("85", "86")])
        result = store.add_file(other)
        assert (result.n_added, result.n_skipped) == (1, 2)
        assert store.count() == 3


def test_invalid_file_writes_nothing(database_url: str, tmp_path: Path) -> None:
    bad = write_csv(tmp_path / "bad.csv", [GOOD_ROW, BARE_ROW.replace("Li6PS5Cl", "Li6PS5Zz")])
    with RecordStore(database_url) as store:
        with pytest.raises(ValidationError) as info:
            store.add_file(bad)
        assert str(info.value.problems[0]).startswith("row 3, column electrolyte:")
        assert store.count() == 0
        assert store.ingest_log().empty


def test_conflicting_record_id_rejected_whole_file(database_url: str, tmp_path: Path) -> None:
    header = "record_id," + HEADER
    first = write_csv(tmp_path / "a.csv", [f"x1,{GOOD_ROW}"], header)
    second = write_csv(tmp_path / "b.csv", [f"x2,{BARE_ROW}", f"x1,{GOOD_ROW.replace('85', '70')}"],
                       header)
    with RecordStore(database_url) as store:
        store.add_file(first)
        with pytest.raises(ValidationError) as info:
            store.add_file(second)
        assert str(info.value.problems[0]).startswith("row 3, column record_id: 'x1' is already")
        assert set(store.to_frame()["record_id"]) == {"x1"}


def test_dataset_hash_changes_with_content(database_url: str, tmp_path: Path) -> None:
    with RecordStore(database_url) as store:
        empty = store.dataset_hash()
        store.add_file(write_csv(tmp_path / "a.csv", [GOOD_ROW]))
        one = store.dataset_hash()
        assert one != empty
        assert store.dataset_hash(store.to_frame()) == one


def test_add_frame_api(database_url: str) -> None:
    frame = pd.DataFrame([{"electrode": "Li", "electrolyte": "Li7La3Zr2O12", "coating": "Al2O3",
                           "coated_component": "electrolyte", "method": "ALD",
                           "interface_resistance_ohm_cm2": 12.5, "source": "notebook 3"}])
    with RecordStore(database_url) as store:
        assert store.add_frame(frame).n_added == 1
        assert store.to_frame().iloc[0]["interface_resistance_ohm_cm2"] == 12.5


_WORKER = textwrap.dedent("""
    import sys
    from coatml.data.store import RecordStore
    store = RecordStore(sys.argv[1])
    result = store.add_file(sys.argv[2])
    print(result.n_added)
""")


def test_concurrent_ingests_both_land(database_url: str, tmp_path: Path) -> None:
    with RecordStore(database_url):
        pass  # create the schema first, as `coatml init` does
    files = [write_csv(tmp_path / f"{tag}.csv", many_rows(300, tag)) for tag in ("p", "q")]
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, database_url, str(f)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for f in files]
    outputs = [p.communicate(timeout=240) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert out.strip() == "300"
    with RecordStore(database_url) as store:
        assert store.count() == 600
        assert len(store.ingest_log()) == 2


def test_concurrent_same_file_lands_once(database_url: str, tmp_path: Path) -> None:
    with RecordStore(database_url):
        pass
    path = write_csv(tmp_path / "same.csv", many_rows(200, "s"))
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, database_url, str(path)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=240) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outputs]
    assert sorted(int(o[0]) for o in outputs) == [0, 200]
    with RecordStore(database_url) as store:
        assert store.count() == 200


_SLOW_WORKER = textwrap.dedent("""
    import sys, time
    import sqlalchemy as sa
    from coatml.data import store as store_module
    store = store_module.RecordStore(sys.argv[1])
    original = store_module.records.insert

    # slow each batch insert down so the parent can kill us mid-transaction
    from sqlalchemy import event
    @event.listens_for(store.engine, "after_cursor_execute")
    def _slow(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO RECORDS"):
            print("inserting", flush=True)
            time.sleep(0.5)
    store.add_file(sys.argv[2])
    print("done", flush=True)
""")


def test_kill_during_ingest_leaves_store_unchanged(database_url: str, tmp_path: Path) -> None:
    with RecordStore(database_url) as store:
        store.add_file(write_csv(tmp_path / "before.csv", [BARE_ROW]))
    big = write_csv(tmp_path / "big.csv", many_rows(5000, "k"))
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_WORKER, database_url, str(big)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    assert proc.stdout is not None
    deadline = time.time() + 120
    line = ""
    while time.time() < deadline:
        line = proc.stdout.readline()
        if line.strip() == "inserting" or not line:
            break
    assert line.strip() == "inserting", proc.stderr.read() if proc.stderr else ""
    time.sleep(0.7)  # at least one batch of rows is inside the open transaction
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    with RecordStore(database_url) as store:
        assert store.count() == 1
        assert len(store.ingest_log()) == 1
        result = store.add_file(big)  # the interrupted file can be added afterwards
        assert result.n_added == 5000
        assert store.count() == 5001


def test_xlsx_file_is_validated_like_csv(tmp_path: Path) -> None:
    rows = [dict(zip(HEADER.split(","), r.split(","), strict=True)) for r in (GOOD_ROW, BARE_ROW)]
    path = tmp_path / "lab.xlsx"
    pd.DataFrame(rows).to_excel(path, index=False)
    with RecordStore(f"sqlite:///{tmp_path / 's.db'}") as store:
        assert store.add_file(path).n_added == 2
        assert store.to_frame()["capacity_retention_pct"].tolist() == [85.0, 40.0]
    bad = pd.DataFrame(rows)
    bad.loc[1, "electrolyte"] = "Li6PS5Zz"
    bad_path = tmp_path / "bad.xlsx"
    bad.to_excel(bad_path, index=False)
    with RecordStore(f"sqlite:///{tmp_path / 't.db'}") as store:
        with pytest.raises(ValidationError) as info:
            store.add_file(bad_path)
        assert str(info.value.problems[0]).startswith("row 3, column electrolyte:")
        assert store.count() == 0
