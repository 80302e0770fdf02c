"""Domain errors. Each message says what is wrong and how to fix it.

Errors about input data subclass :class:`ValueError` so callers that expect a ``ValueError``
(scikit-learn, pandas) still catch them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (``postgresql://u:***@host/db``), for
    messages and logs."""
    return re.sub(r"(://[^:/@\s]*:)[^@\s]*@", r"\1***@", str(url))


class CoatmlError(Exception):
    """Base class of every coatml error."""


class WorkspaceError(CoatmlError):
    """No workspace found, or its config is unreadable."""


class ConnectionFailure(CoatmlError):
    """A database or tracking server could not be reached or refused the connection. The
    message names the URL with its password masked."""


class FormulaError(CoatmlError, ValueError):
    """A formula or material name that cannot be parsed or resolved."""


@dataclass(frozen=True)
class Problem:
    """One problem found in an input table. ``row`` is 1-based as a spreadsheet shows it
    (the header is row 1, the first data row is row 2); ``None`` for file-level problems."""

    row: int | None
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.reason}" if prefix else self.reason


class ValidationError(CoatmlError, ValueError):
    """An input table failed validation; nothing was written.

    ``problems`` lists every problem found, each naming row, column and reason.
    """

    def __init__(self, problems: list[Problem], source: str = "input") -> None:
        self.problems = list(problems)
        self.source = source
        shown = "\n".join(f"  {p}" for p in self.problems[:50])
        more = f"\n  ... and {len(self.problems) - 50} more" if len(self.problems) > 50 else ""
        super().__init__(
            f"{source}: {len(self.problems)} problem(s), nothing was written:\n{shown}{more}"
        )


class InsufficientDataError(CoatmlError, ValueError):
    """Too few records to train or evaluate something meaningful."""


class ModelNotFoundError(CoatmlError):
    """No registered model (or no champion) for a target."""


class FeatureSetMismatchError(CoatmlError, ValueError):
    """A model was trained with other feature definitions than the installed ones."""


class CapabilityError(CoatmlError, TypeError):
    """A surrogate was asked for an optional capability it does not offer."""


class ModelIntegrityError(ModelNotFoundError):
    """A registered model's stored files are missing, unreadable, or differ from the content
    hash recorded when it was registered; nothing of it was loaded. A subclass of
    :class:`ModelNotFoundError`, so a command that can do without one target's model carries on
    with the other and says why."""
