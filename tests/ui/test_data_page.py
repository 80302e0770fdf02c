"""The Data page under AppTest: upload validation (every problem with row and column, nothing
written), a good upload landing, the filtered records table and the summary."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from coatml.workspace import Workspace
from tests.data.test_validation import GOOD_ROW, HEADER
from tests.ui._harness import open_page, submit, texts

BAD_CSV = (f"{HEADER}\n"
           "LiNi0.8Mn0.1Co0.1O2,Li6PS5Cl,Al2O3,electrode,ALD,TMA/H2O,150,1.1,20,,100,90,30,"
           "lab notebook 8\n"
           "LiNi0.8Mn0.1Co0.1O2,Li6PS5Cl,LiXx2O3,electrode,ALD,TMA/H2O,150,1.1,20,,100,90,30,"
           "lab notebook 8\n"
           "LiNi0.8Mn0.1Co0.1O2,Li6PS5Cl,Al2O3,electrode,ALD,TMA/H2O,235 C,1.1,20,,100,90,30,"
           "lab notebook 8\n")
GOOD_CSV = (f"{HEADER}\n"
            "LiNi0.8Mn0.1Co0.1O2,Li6PS5Cl,Al2O3,electrode,ALD,TMA/H2O,150,1.1,20,,100,91,35,"
            "lab notebook 9\n"
            "LiNi0.8Mn0.1Co0.1O2,Li6PS5Cl,Li3PO4,electrode,ALD,LiOtBu/TMPO,250,0.7,30,,100,88,"
            "25,lab notebook 9\n")


def _count(root: Path) -> int:
    with Workspace.load(root).store() as store:
        return store.count()


def test_widgets_exist(trained_workspace: Path) -> None:
    at = open_page("Data")
    assert len(at.get("file_uploader")) == 1
    assert at.selectbox(key="data_kind").value == "lab"
    assert [b.label for b in at.button] == ["Validate and add"]
    assert at.subheader[0].value == f"Records ({_count(trained_workspace)})"
    for key in ("f_electrode", "f_electrolyte", "f_coating", "f_kind"):
        assert at.multiselect(key=key) is not None


def test_bad_upload_names_row_and_column_and_writes_nothing(trained_workspace: Path) -> None:
    before = _count(trained_workspace)
    at = open_page("Data")
    at.get("file_uploader")[0].set_value(("week12.csv", BAD_CSV.encode(), "text/csv"))
    submit(at, "Validate and add")
    errors = texts(at.error)
    assert any("2 problem(s)" in e and "nothing was written" in e for e in errors), errors
    shown = "\n".join(texts(at.markdown))
    assert "row 3, column coating: 'LiXx2O3' contains unknown element(s): Xx" in shown
    assert "row 4, column temperature_c" in shown and "unit" in shown
    problems = [d.value for d in at.dataframe if list(d.value.columns) ==
                ["row", "column", "reason"]][0]
    assert problems[["row", "column"]].values.tolist() == [["3", "coating"],
                                                           ["4", "temperature_c"]]
    assert _count(trained_workspace) == before  # the good row 2 was not written either
    assert not at.success


def test_good_upload_lands_and_shows_in_the_table(trained_workspace: Path) -> None:
    before = _count(trained_workspace)
    at = open_page("Data")
    at.get("file_uploader")[0].set_value(("week13.csv", GOOD_CSV.encode(), "text/csv"))
    submit(at, "Validate and add")
    assert texts(at.success) == ["week13.csv: added 2 records"]
    assert _count(trained_workspace) == before + 2
    assert at.subheader[0].value == f"Records ({before + 2})"
    # filter the table to the new records
    at.text_input(key="f_text").set_value("lab notebook 9").run()
    table = at.dataframe[0].value
    assert sorted(table["coating"]) == ["Al2O3", "Li3PO4"]
    assert set(table["source"]) == {"lab notebook 9"}
    # the same file again adds nothing
    at.get("file_uploader")[0].set_value(("week13.csv", GOOD_CSV.encode(), "text/csv"))
    submit(at, "Validate and add")
    assert any("already added" in t for t in texts(at.info))
    assert _count(trained_workspace) == before + 2


def test_xlsx_upload_and_summary(trained_workspace: Path, tmp_path: Path) -> None:
    path = tmp_path / "week14.xlsx"
    frame = pd.DataFrame([GOOD_ROW.split(",")], columns=HEADER.split(","))
    frame["source"] = "lab notebook 14"
    frame.to_excel(path, index=False)
    before = _count(trained_workspace)
    at = open_page("Data")
    at.get("file_uploader")[0].set_value(("week14.xlsx", path.read_bytes(),
                                          "application/vnd.openxmlformats-officedocument."
                                          "spreadsheetml.sheet"))
    submit(at, "Validate and add")
    assert texts(at.success) == ["week14.xlsx: added 1 records"]
    assert _count(trained_workspace) == before + 1
    summary = [t for t in texts(at.markdown) if "records**:" in t]
    assert summary and summary[0].startswith(f"**{before + 1} records**")


def test_oversized_upload_is_refused(trained_workspace: Path, monkeypatch) -> None:
    monkeypatch.setenv("COATML_UI_MAX_UPLOAD_MB", "1")
    before = _count(trained_workspace)
    at = open_page("Data")
    big = GOOD_CSV + ("#" * 80 + "\n") * 14000  # past 1 MB
    at.get("file_uploader")[0].set_value(("big.csv", big.encode(), "text/csv"))
    submit(at, "Validate and add")
    assert any("more than the upload limit of 1 MB" in e for e in texts(at.error))
    assert _count(trained_workspace) == before


def test_two_sessions_uploading_at_once_both_land(trained_workspace: Path) -> None:
    import threading

    other = GOOD_CSV.replace("lab notebook 9", "lab notebook 10").replace(",91,", ",92,")
    sessions = []
    for name, content in (("a.csv", GOOD_CSV), ("b.csv", other)):
        at = open_page("Data")
        at.get("file_uploader")[0].set_value((name, content.encode(), "text/csv"))
        sessions.append(at)
    before = _count(trained_workspace)
    threads = [threading.Thread(target=submit, args=(at, "Validate and add"))
               for at in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [texts(at.success) for at in sessions] == [["a.csv: added 2 records"],
                                                      ["b.csv: added 2 records"]]
    assert _count(trained_workspace) == before + 4
