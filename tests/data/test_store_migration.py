"""A store created before a schema column existed still opens, reads and takes new records,
and records stored before keep their content hash (so re-adding them adds nothing)."""

from __future__ import annotations

import datetime as dt
import hashlib
import math

import sqlalchemy as sa

from coatml.data.schema import CONTENT_COLUMNS, HASH_IF_SET_COLUMNS
from coatml.data.store import RecordStore, _row_to_db, make_engine, records
from coatml.data.validation import read_table_text, record_content_hash, validate_frame
from tests.data.test_validation import GOOD_ROW, HEADER


def _old_hash(row: dict[str, object]) -> str:
    """The content hash as computed before the HASH_IF_SET columns existed."""
    parts = []
    for name in CONTENT_COLUMNS:
        if name in HASH_IF_SET_COLUMNS:
            continue
        value = row.get(name)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            parts.append("")
        elif isinstance(value, float):
            parts.append(repr(round(value, 12)))
        else:
            parts.append(str(value))
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _old_store(url: str) -> None:
    """Create the tables as an older coatml did: without the HASH_IF_SET columns."""
    old = sa.MetaData()
    for table in records.metadata.sorted_tables:
        cols = [c.copy() for c in table.columns if c.name not in HASH_IF_SET_COLUMNS]
        sa.Table(table.name, old, *cols)
    engine = make_engine(url)
    old.create_all(engine)
    engine.dispose()


def test_hash_of_a_record_without_the_new_columns_is_unchanged() -> None:
    row: dict[str, object] = {"electrode": "Li", "electrolyte": "Li6PS5Cl", "source": "x",
                              "overpotential_mv": 12.0}
    assert record_content_hash(row) == _old_hash(row)
    with_ccd = {**row, "critical_current_density_ma_cm2": 1.0}
    assert record_content_hash(with_ccd) != record_content_hash(row)


def test_old_store_gains_the_column_and_keeps_its_records(database_url: str, tmp_path) -> None:
    _old_store(database_url)
    csv = tmp_path / "lab.csv"
    csv.write_text(f"{HEADER}\n{GOOD_ROW}\n", encoding="utf-8")
    raw, _ = read_table_text(csv)
    rec = _row_to_db(validate_frame(raw).records.iloc[0].to_dict())
    engine = make_engine(database_url)
    with engine.begin() as conn:  # a record written by the older coatml, with its hash
        conn.execute(sa.text("INSERT INTO ingests (content_hash, source_name, n_records, "
                             "n_skipped, added_at, added_by) VALUES ('old', 'old.csv', 1, 0, "
                             ":t, 'old')"), {"t": dt.datetime.now(dt.UTC)})
        values = {k: v for k, v in rec.items() if k not in HASH_IF_SET_COLUMNS}
        values.update(content_hash=_old_hash(rec), ingest_id=1, added_at=dt.datetime.now(dt.UTC))
        names = ", ".join(f'"{k}"' for k in values)
        conn.execute(sa.text(f"INSERT INTO records ({names}) VALUES "
                             f"({', '.join(':' + k for k in values)})"), values)
    engine.dispose()
    with RecordStore(database_url) as store:
        columns = {c["name"] for c in sa.inspect(store.engine).get_columns("records")}
        assert set(HASH_IF_SET_COLUMNS) <= columns
        frame = store.to_frame()
        assert len(frame) == 1 and frame["critical_current_density_ma_cm2"].isna().all()
        again = store.add_file(csv)
        assert again.n_added == 0 and again.n_skipped == 1
    with RecordStore(database_url) as store:  # opening a migrated store changes nothing
        assert store.count() == 1
