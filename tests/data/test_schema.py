"""The README documents the schema the code enforces."""

from __future__ import annotations

from pathlib import Path

from coatml.data.schema import COLUMNS, TARGETS, describe_schema_markdown

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_schema_table_matches_code() -> None:
    text = README.read_text(encoding="utf-8")
    start = text.index("<!-- schema-table")
    start = text.index("\n", start) + 1
    end = text.index("<!-- /schema-table -->")
    assert text[start:end].strip() == describe_schema_markdown().strip()


def test_every_numeric_column_has_a_unit_in_its_name() -> None:
    for col in COLUMNS:
        if col.kind == "float" and col.name not in ("cycles", "cycle_number", "c_rate"):
            assert col.unit, col.name
            assert "_" in col.name
    assert set(TARGETS) <= {c.name for c in COLUMNS}
