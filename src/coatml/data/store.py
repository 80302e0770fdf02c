"""The record store: a relational database through SQLAlchemy.

SQLite (a file in the workspace) by default; PostgreSQL when the workspace config or
``COATML_DATABASE_URL`` gives a ``postgresql://`` URL. An ingest is one transaction: a crash or a
kill part-way leaves the store as it was. Adding the same file twice adds nothing the second time
(the file's content hash is recorded), and a record already stored with identical content is
skipped, so two processes adding at once both land without losing or doubling anything.
:meth:`RecordStore.remove` takes records out again in one transaction, keeping the removed rows
in the ``removals`` log; it refuses records that a campaign result links.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from coatml.data.schema import COLUMN_BY_NAME, COLUMN_NAMES
from coatml.data.validation import (
    ValidatedTable,
    check_pairs,
    normalise_dtypes,
    read_table_bytes,
    read_table_text,
    record_content_hash,
    validate_frame,
)
from coatml.exceptions import ConnectionFailure, Problem, ValidationError, mask_url

metadata = sa.MetaData()


def _sa_type(kind: str) -> Any:
    return {
        "float": sa.Float(precision=53),
        "int": sa.Float(precision=53),
        "bool": sa.Boolean(),
        "datetime": sa.DateTime(timezone=True),
    }.get(kind, sa.Text())


ingests = sa.Table(
    "ingests",
    metadata,
    sa.Column("ingest_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("content_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("source_name", sa.Text, nullable=False),
    sa.Column("n_records", sa.Integer, nullable=False),
    sa.Column("n_skipped", sa.Integer, nullable=False),
    sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("added_by", sa.Text, nullable=False),
)

records = sa.Table(
    "records",
    metadata,
    *[
        sa.Column(c.name, _sa_type(c.kind), primary_key=(c.name == "record_id"),
                  nullable=(c.name != "record_id"))
        for c in COLUMN_BY_NAME.values()
    ],
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("ingest_id", sa.Integer, sa.ForeignKey("ingests.ingest_id"), nullable=False),
)
sa.Index("ix_records_system", records.c.electrode, records.c.electrolyte)

#: One row per `coatml data remove`: who, when, why, and the removed records themselves (JSON),
#: so a removal can be audited and a model's dataset reconstructed.
removals = sa.Table(
    "removals",
    metadata,
    sa.Column("removal_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("removed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("removed_by", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("selection", sa.Text, nullable=False),
    sa.Column("n_records", sa.Integer, nullable=False),
    sa.Column("records_json", sa.Text, nullable=False),
)

#: Tables of other modules that point at records by ``record_id`` (no foreign key, so the
#: store checks them itself before removing): table name -> column naming the owner.
RECORD_LINKS = {"campaign_results": "campaign_id"}


@dataclass(frozen=True)
class RemovalResult:
    """What :meth:`RecordStore.remove` removed (and logged under ``removal_id``)."""

    removal_id: int
    record_ids: tuple[str, ...]
    selection: str
    dataset_hash_before: str
    dataset_hash_after: str


@dataclass(frozen=True)
class IngestResult:
    """What an ingest did. ``already_present`` is True when the same file was added before."""

    source_name: str
    content_hash: str
    n_added: int
    n_skipped: int
    already_present: bool
    warnings: tuple[Problem, ...] = ()
    ignored_columns: tuple[str, ...] = ()


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets a busy timeout and immediate write transactions so
    concurrent writers queue instead of failing."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return sa.create_engine(url, pool_pre_ping=True,
                            connect_args={"connect_timeout": connect_timeout()})


#: Seconds a database connection attempt may take before it fails (COATML_CONNECT_TIMEOUT).
DEFAULT_CONNECT_TIMEOUT = 6


def connect_timeout() -> int:
    """The connection timeout in seconds: ``COATML_CONNECT_TIMEOUT`` or 6 (libpq's minimum
    is 2)."""
    import os

    text = os.environ.get("COATML_CONNECT_TIMEOUT", "")
    try:
        value = int(text) if text else DEFAULT_CONNECT_TIMEOUT
    except ValueError:
        value = DEFAULT_CONNECT_TIMEOUT
    return max(2, value)


def _connection_failure(url: str, exc: BaseException) -> ConnectionFailure:
    """A one-line, password-free account of why the database at ``url`` cannot be used."""
    raw = str(getattr(exc, "orig", None) or exc).strip()
    detail = mask_url(raw.splitlines()[0] if raw else type(exc).__name__)
    low = raw.casefold()
    if "password authentication failed" in low or "authentication failed" in low:
        hint = "check the user name and password"
    elif "timeout" in low or "timed out" in low:
        hint = (f"no answer within {connect_timeout()} s; check the host and port "
                "(COATML_CONNECT_TIMEOUT changes the limit)")
    elif "connection refused" in low:
        hint = "nothing listens there; is the server running, is the port right?"
    elif "unable to open database file" in low:
        hint = "the folder does not exist or is not writable"
    elif "role" in low and "does not exist" in low:
        hint = "no such user; check the user name"
    elif "database" in low and "does not exist" in low:
        hint = "create the database first"
    else:
        hint = "check the URL ([database] url or COATML_DATABASE_URL)"
    return ConnectionFailure(f"cannot open the record store at {mask_url(url)}: {detail} "
                             f"({hint})")


class RecordStore:
    """The workspace's records, in a SQL database.

    >>> store = RecordStore("sqlite://")  # in memory
    >>> store.count()
    0
    """

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine = make_engine(url)
        except (sa.exc.ArgumentError, ImportError, ValueError) as exc:
            raise _connection_failure(url, exc) from None
        try:
            with self.engine.connect():
                pass
        except (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.DatabaseError,
                OSError) as exc:
            self.engine.dispose()
            raise _connection_failure(url, exc) from None
        self._create_schema()

    def _create_schema(self) -> None:
        for attempt in range(5):
            try:
                metadata.create_all(self.engine)
                self._add_missing_columns()
                return
            except (IntegrityError, OperationalError, sa.exc.ProgrammingError):
                # two processes creating the schema at once: the loser retries
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))

    def _add_missing_columns(self) -> None:
        """Add schema columns that a store created by an older coatml lacks (all nullable);
        existing rows get NULL there, which is what "not reported" means."""
        present = {c["name"] for c in sa.inspect(self.engine).get_columns("records")}
        missing = [c for c in records.columns if c.name not in present]
        if not missing:
            return
        with self.engine.begin() as conn:
            for column in missing:
                kind = column.type.compile(dialect=self.engine.dialect)
                conn.exec_driver_sql(f'ALTER TABLE records ADD COLUMN "{column.name}" {kind}')

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> RecordStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ writing
    def add_file(self, path: str | Path, default_source: str | None = None,
                 data_kind: str = "lab", added_by: str | None = None,
                 max_mb: float | None = None,
                 progress: Callable[[int, int], None] | None = None) -> IngestResult:
        """Validate a CSV/XLSX file completely, then add all its records in one transaction
        (or none, if anything is wrong). ``max_mb`` refuses larger files before reading them;
        ``progress(rows_done, rows_total)`` is called during validation."""
        raw, digest = read_table_text(path, max_mb=max_mb)
        table = validate_frame(raw, source_name=str(path), default_source=default_source,
                               default_data_kind=data_kind, added_by=added_by,
                               progress=progress)
        table.content_hash = digest
        return self.add_validated(table, source_name=Path(path).name)

    def add_bytes(self, data: bytes, name: str, default_source: str | None = None,
                  data_kind: str = "lab", added_by: str | None = None) -> IngestResult:
        """:meth:`add_file` of a file's bytes (a web upload named ``name``, .csv or .xlsx):
        validated completely, then added in one transaction (or nothing)."""
        raw, digest = read_table_bytes(data, name)
        table = validate_frame(raw, source_name=name, default_source=default_source,
                               default_data_kind=data_kind, added_by=added_by)
        table.content_hash = digest
        return self.add_validated(table, source_name=name)

    def add_frame(self, frame: pd.DataFrame, source_name: str = "dataframe",
                  default_source: str | None = None, data_kind: str = "lab",
                  added_by: str | None = None) -> IngestResult:
        """Validate and add a DataFrame (string or typed cells) like a file."""
        raw = frame.copy()
        raw.index = pd.Index(range(2, 2 + len(raw)), name="row")
        table = validate_frame(raw, source_name=source_name, default_source=default_source,
                               default_data_kind=data_kind, added_by=added_by)
        table.content_hash = _frame_hash(table.records)
        return self.add_validated(table, source_name=source_name)

    def add_validated(self, table: ValidatedTable, source_name: str,
                      also: Callable[[sa.Connection], None] | None = None) -> IngestResult:
        """Add validated records in one transaction; retried when a concurrent writer wins a
        race on the same records. ``also(conn)`` runs inside the same transaction after the
        records are written (e.g. a campaign's links to them): both land or neither does."""
        last_error: Exception | None = None
        for attempt in range(5):
            try:
                return self._add_once(table, source_name, also)
            except IntegrityError as exc:  # a concurrent ingest inserted the same rows first
                last_error = exc
                time.sleep(0.1 * (attempt + 1))
        raise RuntimeError(f"could not add {source_name} after retries: {last_error}")

    def _add_once(self, table: ValidatedTable, source_name: str,
                  also: Callable[[sa.Connection], None] | None = None) -> IngestResult:
        frame = table.records
        now = dt.datetime.now(dt.UTC)
        with self.engine.begin() as conn:
            existing_ingest = conn.execute(
                sa.select(ingests.c.ingest_id).where(ingests.c.content_hash == table.content_hash)
            ).first()
            if existing_ingest is not None:
                if also is not None:
                    also(conn)
                return IngestResult(source_name, table.content_hash, 0, len(frame), True,
                                    tuple(table.warnings), tuple(table.ignored_columns))
            rows = [_row_to_db(rec) for rec in frame.to_dict(orient="records")]
            for row in rows:
                row["content_hash"] = record_content_hash(row)
            ids = [r["record_id"] for r in rows]
            stored: dict[str, str] = {}
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                for rid, chash in conn.execute(
                    sa.select(records.c.record_id, records.c.content_hash)
                    .where(records.c.record_id.in_(chunk))
                ):
                    stored[rid] = chash
            problems = []
            to_insert = []
            for row_no, row in zip(frame.index, rows, strict=True):
                rid = row["record_id"]
                if rid in stored:
                    if stored[rid] != row["content_hash"]:
                        problems.append(Problem(int(row_no), "record_id",
                                                f"'{rid}' is already in the store with "
                                                "different values; give this record a new id"))
                    continue
                to_insert.append(row)
            problems.extend(self._pair_problems(conn, frame, rows))
            if problems:
                raise ValidationError(problems, source_name)
            inserted = conn.execute(
                ingests.insert().values(
                    content_hash=table.content_hash, source_name=source_name,
                    n_records=len(to_insert), n_skipped=len(rows) - len(to_insert),
                    added_at=now, added_by=str(rows[0].get("added_by") or "unknown"),
                )
            ).inserted_primary_key
            assert inserted is not None
            ingest_id = inserted[0]
            for row in to_insert:
                row["ingest_id"] = ingest_id
                row["added_at"] = now
            for start in range(0, len(to_insert), 1000):
                conn.execute(records.insert(), to_insert[start:start + 1000])
            if also is not None:
                also(conn)
        return IngestResult(source_name, table.content_hash, len(to_insert),
                            len(rows) - len(to_insert), False, tuple(table.warnings),
                            tuple(table.ignored_columns))

    @staticmethod
    def _pair_problems(conn: Any, frame: pd.DataFrame, rows: list[dict[str, Any]]
                       ) -> list[Problem]:
        """Pair ids of the new rows that a stored record already uses with another electrode
        or electrolyte."""
        pair_ids = sorted({str(r["pair_id"]) for r in rows if r.get("pair_id")})
        stored: dict[str, dict[str, object]] = {}
        for start in range(0, len(pair_ids), 500):
            chunk = pair_ids[start:start + 500]
            for row in conn.execute(sa.select(records.c.pair_id, records.c.electrode,
                                              records.c.electrolyte)
                                    .where(records.c.pair_id.in_(chunk))).mappings():
                stored.setdefault(str(row["pair_id"]), dict(row))
        if not stored:
            return []
        return check_pairs(rows, [int(str(n)) for n in frame.index], stored)

    # ------------------------------------------------------------------ removing
    def remove(self, record_ids: list[str] | tuple[str, ...] = (), ingest_id: int | None = None,
               reason: str = "", removed_by: str | None = None) -> RemovalResult:
        """Remove records by id and/or every record of one ingest, in one transaction.

        Refused with :class:`ValidationError` (nothing removed) when an id or the ingest does
        not exist, when nothing is selected, or when a campaign result links a selected
        record (remove the link in the campaign first; the store does not orphan it). The
        removed rows are kept as JSON in the ``removals`` log with who, when and why. Removing
        a whole ingest also forgets its file hash, so the corrected file can be added again.
        """
        import getpass
        import json

        problems: list[Problem] = []
        ids = list(dict.fromkeys(str(r) for r in record_ids))
        if not ids and ingest_id is None:
            raise ValidationError([Problem(None, None, "name record ids or an ingest to "
                                                       "remove")], "data remove")
        with self.engine.begin() as conn:
            before = self._dataset_hash(conn)
            found = {r for r in conn.execute(sa.select(records.c.record_id)
                                             .where(records.c.record_id.in_(ids))).scalars()}
            problems.extend(Problem(None, "record_id", f"no record with id '{rid}'")
                            for rid in ids if rid not in found)
            selected = set(found)
            if ingest_id is not None:
                exists = conn.execute(sa.select(ingests.c.ingest_id)
                                      .where(ingests.c.ingest_id == ingest_id)).first()
                if exists is None:
                    problems.append(Problem(None, "ingest", f"no ingest {ingest_id} (see "
                                                            "`coatml data ingests`)"))
                selected |= set(conn.execute(sa.select(records.c.record_id).where(
                    records.c.ingest_id == ingest_id)).scalars())
            problems.extend(self._link_problems(conn, sorted(selected)))
            if problems:
                raise ValidationError(problems, "data remove")
            rows = [dict(r) for r in conn.execute(
                sa.select(records).where(records.c.record_id.in_(sorted(selected)))
                .order_by(records.c.record_id)).mappings()]
            parts = ([f"records {', '.join(ids)}"] if ids else []) + (
                [f"ingest {ingest_id}"] if ingest_id is not None else [])
            selection = "; ".join(parts)
            try:
                user = removed_by or getpass.getuser()
            except (KeyError, OSError):
                user = "unknown"
            inserted = conn.execute(removals.insert().values(
                removed_at=dt.datetime.now(dt.UTC), removed_by=user, reason=reason,
                selection=selection, n_records=len(rows),
                records_json=json.dumps(rows, default=str))).inserted_primary_key
            assert inserted is not None
            for start in range(0, len(rows), 500):
                chunk = [r["record_id"] for r in rows[start:start + 500]]
                conn.execute(records.delete().where(records.c.record_id.in_(chunk)))
            if ingest_id is not None:
                conn.execute(ingests.delete().where(ingests.c.ingest_id == ingest_id))
            after = self._dataset_hash(conn)
        return RemovalResult(int(inserted[0]), tuple(r["record_id"] for r in rows), selection,
                             before, after)

    @staticmethod
    def _link_problems(conn: Any, record_ids: list[str]) -> list[Problem]:
        problems: list[Problem] = []
        inspector = sa.inspect(conn)
        for table_name, owner in RECORD_LINKS.items():
            if not inspector.has_table(table_name):
                continue
            table = sa.Table(table_name, sa.MetaData(), autoload_with=conn)
            for start in range(0, len(record_ids), 500):
                chunk = record_ids[start:start + 500]
                for rid, who in conn.execute(sa.select(table.c.record_id, table.c[owner])
                                             .where(table.c.record_id.in_(chunk))):
                    problems.append(Problem(None, "record_id", (
                        f"'{rid}' is a result of {owner.removesuffix('_id')} {who} "
                        f"({table_name}); removing it would orphan that link")))
        return problems

    @staticmethod
    def _dataset_hash(conn: Any) -> str:
        return _digest(conn.execute(sa.select(records.c.content_hash)).scalars())

    def removal_log(self) -> pd.DataFrame:
        """Every removal: id, when, who, why, what was selected, how many records."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(
                removals.c.removal_id, removals.c.removed_at, removals.c.removed_by,
                removals.c.reason, removals.c.selection, removals.c.n_records)
                .order_by(removals.c.removal_id)).mappings().all()
        return pd.DataFrame([dict(r) for r in rows],
                            columns=["removal_id", "removed_at", "removed_by", "reason",
                                     "selection", "n_records"])

    # ------------------------------------------------------------------ reading
    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(records)).scalar_one())

    def to_frame(self, data_kind: str | None = None) -> pd.DataFrame:
        """All records as a DataFrame in schema order and dtypes, indexed by ``record_id``."""
        query = sa.select(*[records.c[name] for name in COLUMN_NAMES]).order_by(
            records.c.added_at, records.c.record_id)
        if data_kind:
            query = query.where(records.c.data_kind == data_kind)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        frame = pd.DataFrame([dict(r) for r in rows], columns=list(COLUMN_NAMES))
        frame = normalise_dtypes(frame)
        frame.index = pd.Index(frame["record_id"].astype(str), name="record_id")
        return frame

    def get(self, record_id: str) -> pd.Series:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(records).where(records.c.record_id == record_id)).first()
        if row is None:
            raise KeyError(f"no record with id '{record_id}' (see `coatml data list`)")
        data = {k: v for k, v in row._mapping.items() if k in COLUMN_NAMES}
        return normalise_dtypes(pd.DataFrame([data])).iloc[0]

    def ingest_log(self) -> pd.DataFrame:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(ingests).order_by(ingests.c.ingest_id)).mappings().all()
        return pd.DataFrame([dict(r) for r in rows])

    def dataset_hash(self, frame: pd.DataFrame | None = None) -> str:
        """sha256 over the stored records' content hashes (order-independent)."""
        if frame is not None:
            return self.dataset_hash_of(frame)
        with self.engine.connect() as conn:
            return self._dataset_hash(conn)

    @staticmethod
    def dataset_hash_of(frame: pd.DataFrame) -> str:
        """The same hash computed from a records DataFrame (e.g. a training subset)."""
        return _digest(record_content_hash(_row_to_db(r))
                       for r in frame.to_dict(orient="records"))


def _row_to_db(rec: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name in COLUMN_NAMES:
        value = rec.get(name)
        if value is pd.NA or value is pd.NaT or isinstance(value, float) and math.isnan(value):
            value = None
        elif value is not None and hasattr(value, "item") and not isinstance(value, str):
            value = value.item()
        row[name] = value
    return row


def _digest(hashes: Iterable[str], salt: str = "") -> str:
    """sha256 over record content hashes, order-independent: the one dataset hash (``salt``
    keeps hashes of other kinds apart)."""
    return hashlib.sha256((salt + "\n".join(sorted(hashes))).encode()).hexdigest()


def _frame_hash(frame: pd.DataFrame) -> str:
    return _digest((record_content_hash(_row_to_db(r)) for r in frame.to_dict(orient="records")),
                   salt="frame\n")


#: First characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells beginning with a formula trigger (``=``, ``+``,
    ``-``, ``@``, tab, carriage return) carry a leading ``'``, so a spreadsheet opening the
    exported CSV shows them as text instead of evaluating them. Numbers are left alone."""
    out = frame.copy()
    for name in out.columns:
        if out[name].dtype != object:
            continue
        out[name] = out[name].map(
            lambda v: "'" + v if isinstance(v, str) and v.startswith(FORMULA_TRIGGERS) else v)
    return out
