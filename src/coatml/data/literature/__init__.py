"""The curated literature dataset shipped with coatml.

Transcribed from the review by Sun, Dai, Zhang and Sun, "Interface engineering of inorganic
solid-state lithium batteries via atomic and molecular layer deposition": every row of its
Table 2 (the coated result and its bare control, linked by ``pair_id``) and the numeric results
its text states for coated interfaces. Each record's ``source`` names the review's reference
number and the citation; see ``README.md`` in this folder for the transcription notes.

``reference_sheet.csv`` adds the few coated/bare results that the project's sourced reference
sheet (``shared/reference/coating-physics.md``) quotes from the original papers beyond the review
(each with its DOI; the sheet is a secondary summary, and ``source_detail`` says so).

``doi_records.csv`` holds the records transcribed from primary sources (``source`` is
``doi:<DOI>``, ``source_detail`` the locator), built from the transcription sheets in
``transcriptions/`` by :mod:`coatml.data.literature.build`; ``doi_provenance.csv`` traces each
of their numbers (value and unit as reported, voltage window, solid or liquid electrolyte,
transcription status) and ``doi_sources.csv`` lists the DOIs with their citations.

The dataset carries a version and a content hash (``VERSION.toml``, :func:`literature_version`);
every MLflow training run records both.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd

from coatml.data.validation import ValidatedTable, parse_csv_text, validate_frame

LITERATURE_FILE = "literature.csv"
REFERENCE_SHEET_FILE = "reference_sheet.csv"
REFERENCES_FILE = "references.csv"
DOI_RECORDS_FILE = "doi_records.csv"
DOI_PROVENANCE_FILE = "doi_provenance.csv"
DOI_SOURCES_FILE = "doi_sources.csv"
VERSION_FILE = "VERSION.toml"
#: The record files, concatenated in this order (same header).
RECORD_FILES: tuple[str, ...] = (LITERATURE_FILE, REFERENCE_SHEET_FILE, DOI_RECORDS_FILE)
#: Everything the content hash covers: the records and the tables that document them.
HASHED_FILES: tuple[str, ...] = (*RECORD_FILES, REFERENCES_FILE, DOI_PROVENANCE_FILE,
                                 DOI_SOURCES_FILE)


@dataclass(frozen=True)
class LiteratureVersion:
    """The bundled dataset's version (``major.minor.patch``) and the sha256 of its files."""

    version: str
    content_hash: str


def _read(name: str) -> str:
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


def literature_text() -> str:
    """The shipped literature CSV text: the review's records, the reference-sheet ones, then the
    DOI records (same header; the later files' header lines are dropped)."""
    main = _read(LITERATURE_FILE)
    header = main.partition("\n")[0].strip()
    parts = [main.rstrip("\n")]
    for name in RECORD_FILES[1:]:
        head, _, body = _read(name).partition("\n")
        if head.strip() != header:
            raise ValueError(f"{name} must have the same header as {LITERATURE_FILE}")
        if body.strip():
            parts.append(body.rstrip("\n"))
    return "\n".join(parts) + "\n"


def content_hash(files: Mapping[str, str]) -> str:
    """sha256 over the named file texts (name and text of each, in name order)."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\x00" + files[name].encode("utf-8") + b"\x00")
    return digest.hexdigest()


def current_content_hash() -> str:
    """The content hash of the shipped files (:data:`HASHED_FILES`)."""
    return content_hash({name: _read(name) for name in HASHED_FILES})


def literature_version(strict: bool = True) -> LiteratureVersion:
    """The version recorded in ``VERSION.toml`` and the hash of the files as shipped.

    When the files changed without the version file being updated (run
    ``python -m coatml.data.literature.build``), raises ``ValueError`` if ``strict``, else
    returns the recorded version with ``+modified`` appended and the actual hash."""
    recorded = tomllib.loads(_read(VERSION_FILE))
    actual = current_content_hash()
    if recorded["content_sha256"] != actual:
        if not strict:
            return LiteratureVersion(f"{recorded['version']}+modified", actual)
        raise ValueError(f"the literature files changed but {VERSION_FILE} was not updated "
                         f"(recorded {recorded['content_sha256'][:12]}, actual {actual[:12]}); "
                         "run `python -m coatml.data.literature.build`")
    return LiteratureVersion(version=str(recorded["version"]), content_hash=actual)


def update_version(folder: Path | None = None) -> LiteratureVersion:
    """Write the current content hash to ``VERSION.toml``, bumping the version's last part when
    the content changed. Used by the builder; returns the new version."""
    path = Path(folder or Path(__file__).resolve().parent) / VERSION_FILE
    recorded = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {
        "version": "2.0.0", "content_sha256": ""}
    actual = current_content_hash()
    version = str(recorded["version"])
    if recorded["content_sha256"] and recorded["content_sha256"] != actual:
        major, minor, patch = (int(x) for x in version.split("."))
        version = f"{major}.{minor}.{patch + 1}"
    path.write_text(
        "# Version of the bundled literature dataset and the sha256 of its files\n"
        "# (coatml.data.literature.HASHED_FILES); written by coatml.data.literature.build.\n"
        f'version = "{version}"\ncontent_sha256 = "{actual}"\n', encoding="utf-8")
    return LiteratureVersion(version, actual)


def existing_dois() -> dict[str, str]:
    """DOIs cited by the review-based and reference-sheet records (lower case) -> file name,
    so the builder never adds the same work twice."""
    out: dict[str, str] = {}
    for name in (LITERATURE_FILE, REFERENCE_SHEET_FILE):
        for doi in re.findall(r"doi:\s*(10\.[^\s,;\"()]+)", _read(name), flags=re.I):
            out.setdefault(doi.rstrip(".").casefold(), name)
    return out


def load_literature() -> ValidatedTable:
    """Validate the shipped literature CSV exactly as a user file would be validated."""
    text = literature_text()
    raw = parse_csv_text(text, source="coatml literature dataset")
    table = validate_frame(raw, source_name="coatml literature dataset",
                           default_data_kind="literature", added_by="coatml literature")
    table.content_hash = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return table


def doi_provenance() -> pd.DataFrame:
    """One row per transcribed outcome of the DOI records (see ``build.PROVENANCE_COLUMNS``)."""
    with resources.files(__name__).joinpath(DOI_PROVENANCE_FILE).open(encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False)


def doi_sources() -> pd.DataFrame:
    """The DOIs of the DOI records with their citations (``doi``, ``citation``, ``records``)."""
    with resources.files(__name__).joinpath(DOI_SOURCES_FILE).open(encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False)


def references() -> pd.DataFrame:
    """The review's references cited by the dataset (``ref_number``, ``citation``)."""
    with resources.files(__name__).joinpath(REFERENCES_FILE).open(encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype={"ref_number": int, "citation": str})
