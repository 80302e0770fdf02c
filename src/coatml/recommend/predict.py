"""Predict both targets for a table of recipes with the champion models.

The input is a CSV (or DataFrame) of rows in the record schema; target columns may be empty.
Every material is resolved before any model runs, so a formula the featurizer cannot read is
reported as ``row N, column C: reason``. Output columns are prefixed ``pred_`` so the file can be
filled in and added back with ``coatml data add`` (which ignores ``pred_*`` columns).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from coatml.data.formulas import resolve_material
from coatml.data.schema import TARGETS
from coatml.exceptions import FormulaError, ModelNotFoundError, Problem, ValidationError

if TYPE_CHECKING:
    from coatml.tracking.runs import Tracker



def check_materials(frame: pd.DataFrame, source: str = "input") -> None:
    """Raise :class:`ValidationError` naming every row/column whose material does not parse."""
    problems: list[Problem] = []
    for column in ("electrode", "electrolyte"):
        if column not in frame.columns:
            problems.append(Problem(1, column, "required column is missing"))
    for column in ("electrode", "electrolyte", "coating"):
        if column not in frame.columns:
            continue
        for row_no, value in frame[column].items():
            text = "" if value is None or pd.isna(value) else str(value).strip()
            if not text:
                if column != "coating":
                    problems.append(Problem(int(str(row_no)), column, "required value is missing"))
                continue
            try:
                resolve_material(text)
            except FormulaError as exc:
                problems.append(Problem(int(str(row_no)), column, str(exc)))
    if problems:
        raise ValidationError(problems, source)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    from coatml.data.schema import COLUMN_BY_NAME

    out = frame.copy()
    for name in out.columns:
        col = COLUMN_BY_NAME.get(name)
        if col is not None and col.kind in ("float", "int"):
            out[name] = pd.to_numeric(out[name].replace({"": None}), errors="coerce")
        elif col is not None and col.kind in ("str", "enum"):
            out[name] = out[name].where(out[name].astype(str).str.strip() != "", None)
    return out


def predict_records(records: pd.DataFrame, tracker: Tracker,
                    source: str = "input") -> tuple[pd.DataFrame, dict[str, str]]:
    """Append the prediction columns of each target that has a champion
    (:func:`coatml.models.surrogate.prediction_columns`: ``pred_<target>`` is the median, with
    68 / 95 % intervals, the model-space std, and for resistance the log-normal mean labelled
    as such); ``missing`` maps the other targets to the reason."""
    from coatml.models.surrogate import as_surrogate, prediction_columns
    from coatml.tracking.registry import load_champions

    if records.index.name != "row":
        records = records.copy()
        records.index = pd.Index(range(2, 2 + len(records)), name="row")
    check_materials(records, source)
    typed = _typed(records)
    out = records.copy()
    models, missing = load_champions(tracker, TARGETS)
    for model in models.values():
        surrogate = as_surrogate(model)
        dist = surrogate.predict_model_space(typed)
        for col, values in prediction_columns(surrogate.target_, dist).items():
            out[col] = values
    if len(missing) == len(TARGETS):
        raise ModelNotFoundError("no champion model for either target: run `coatml train` "
                                 "first")
    return out, missing
