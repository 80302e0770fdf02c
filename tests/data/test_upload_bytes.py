"""`RecordStore.add_bytes` (the web page's uploads): the same whole-file validation as
`add_file`, from bytes and a file name; nothing but CSV / XLSX is read."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import pandas as pd
import pytest

from coatml.data.store import RecordStore
from coatml.data.validation import read_table_bytes, read_table_text
from coatml.exceptions import ValidationError
from tests.data.test_validation import GOOD_ROW, HEADER


def test_bytes_and_file_read_the_same(tmp_path: Path) -> None:
    text = f"{HEADER}\n{GOOD_ROW}\n"
    path = tmp_path / "lab.csv"
    path.write_text(text, encoding="utf-8")
    from_file, digest_file = read_table_text(path)
    from_bytes, digest_bytes = read_table_bytes(text.encode(), "lab.csv")
    pd.testing.assert_frame_equal(from_file, from_bytes)
    assert digest_file == digest_bytes


def test_add_bytes_csv_and_xlsx(tmp_path: Path) -> None:
    store = RecordStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
    result = store.add_bytes(f"{HEADER}\n{GOOD_ROW}\n".encode(), "week1.csv")
    assert (result.source_name, result.n_added) == ("week1.csv", 1)
    frame = pd.DataFrame([GOOD_ROW.split(",")], columns=HEADER.split(","))
    frame["source"] = "lab notebook 8"
    buffer = io.BytesIO()
    frame.to_excel(buffer, index=False)
    assert store.add_bytes(buffer.getvalue(), "week2.xlsx").n_added == 1
    assert store.count() == 2
    store.close()


def test_add_bytes_refuses_other_formats_and_bad_rows(tmp_path: Path) -> None:
    store = RecordStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with pytest.raises(ValidationError, match="unsupported file type '.pkl'"):
        store.add_bytes(pickle.dumps({"a": 1}), "records.pkl")
    bad = f"{HEADER}\n{GOOD_ROW}\n{GOOD_ROW.replace('LiNbO3', 'LiXx2O3')}\n"
    with pytest.raises(ValidationError) as info:
        store.add_bytes(bad.encode(), "week3.csv")
    assert [(p.row, p.column) for p in info.value.problems] == [(3, "coating")]
    assert store.count() == 0  # nothing written, the good row 2 neither
    store.close()
