"""The curated literature dataset shipped with coatml.

Transcribed from the review by Sun, Dai, Zhang and Sun, "Interface engineering of inorganic
solid-state lithium batteries via atomic and molecular layer deposition": every row of its
Table 2 (the coated result and its bare control, linked by ``pair_id``) and the numeric results
its text states for coated interfaces. Each record's ``source`` names the review's reference
number and the citation; see ``README.md`` in this folder for the transcription notes.

``reference_sheet.csv`` adds the few coated/bare results that the project's sourced reference
sheet (``shared/reference/coating-physics.md``) quotes from the original papers beyond the review
(each with its DOI; the sheet is a secondary summary, and ``source_detail`` says so).
"""

from __future__ import annotations

import hashlib
from importlib import resources

import pandas as pd

from coatml.data.validation import ValidatedTable, parse_csv_text, validate_frame

LITERATURE_FILE = "literature.csv"
REFERENCE_SHEET_FILE = "reference_sheet.csv"
REFERENCES_FILE = "references.csv"


def literature_text() -> str:
    """The shipped literature CSV text: the review's records, then the reference-sheet ones
    (same header; the second file's header line is dropped)."""
    folder = resources.files(__name__)
    main = folder.joinpath(LITERATURE_FILE).read_text(encoding="utf-8")
    sheet = folder.joinpath(REFERENCE_SHEET_FILE).read_text(encoding="utf-8")
    header, _, body = sheet.partition("\n")
    if header.strip() != main.partition("\n")[0].strip():
        raise ValueError(f"{REFERENCE_SHEET_FILE} must have the same header as {LITERATURE_FILE}")
    return main.rstrip("\n") + "\n" + body


def load_literature() -> ValidatedTable:
    """Validate the shipped literature CSV exactly as a user file would be validated."""
    text = literature_text()
    raw = parse_csv_text(text, source="coatml literature dataset")
    table = validate_frame(raw, source_name="coatml literature dataset",
                           default_data_kind="literature", added_by="coatml literature")
    table.content_hash = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return table


def references() -> pd.DataFrame:
    """The review's references cited by the dataset (``ref_number``, ``citation``)."""
    with resources.files(__name__).joinpath(REFERENCES_FILE).open(encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype={"ref_number": int, "citation": str})
