"""The workspace: one folder that holds a user's state.

A workspace is a folder with a ``coatml.toml`` config. By default it also holds the embedded
SQLite database (``coatml.db``: records, campaigns, Optuna studies), the MLflow tracking
database (``mlflow.db``) and MLflow artifacts (``mlartifacts/``). A PostgreSQL URL
(``[database] url`` or ``COATML_DATABASE_URL``) or a remote MLflow server (``[tracking] uri`` or
``COATML_TRACKING_URI``) replace the embedded defaults without any other change.

Commands find the workspace as git finds a repository: ``--workspace``, else
``COATML_WORKSPACE``, else the current folder and its parents.
"""

from __future__ import annotations

import contextlib
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coatml.exceptions import WorkspaceError, mask_url

if TYPE_CHECKING:
    from coatml.data.store import RecordStore

CONFIG_NAME = "coatml.toml"
DEFAULT_CONFIG = """\
# coatml workspace configuration.
# Relative sqlite paths are resolved against this folder.

[workspace]
name = "{name}"
seed = 20261125

[database]
# SQLAlchemy URL of the record store (also holds campaigns and Optuna studies).
# e.g. "postgresql://user:password@127.0.0.1:5432/coatml"; COATML_DATABASE_URL overrides it.
url = "sqlite:///coatml.db"

[tracking]
# MLflow tracking URI; e.g. "http://127.0.0.1:5000"; COATML_TRACKING_URI overrides it.
uri = "sqlite:///mlflow.db"
# Where the embedded tracking store keeps artifacts (ignored by a remote server).
artifacts = "mlartifacts"
experiment = "coatml"

[features]
feature_set = "default"
"""


@dataclass(frozen=True)
class WorkspaceConfig:
    """The parsed ``coatml.toml``."""

    name: str = "coatml"
    seed: int = 20261125
    database_url: str = "sqlite:///coatml.db"
    tracking_uri: str = "sqlite:///mlflow.db"
    artifacts: str = "mlartifacts"
    experiment: str = "coatml"
    feature_set: str = "default"
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_toml(cls, text: str) -> WorkspaceConfig:
        """Parse and check the config; a wrong type or a malformed URL raises ``ValueError``
        naming the section and key."""
        data = tomllib.loads(text)
        sections = {}
        for section in ("workspace", "database", "tracking", "features"):
            value = data.get(section, {})
            if not isinstance(value, dict):
                raise ValueError(f"[{section}] must be a table, not {value!r}")
            sections[section] = value
        ws, db, tr, fe = (sections[k] for k in ("workspace", "database", "tracking", "features"))

        def text_of(section: str, key: str, default: str) -> str:
            value = sections[section].get(key, default)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"[{section}] {key} must be a non-empty string in quotes, not "
                                 f"{value!r}")
            return value.strip()

        seed = ws.get("seed", 20261125)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"[workspace] seed must be an integer, not {seed!r}")
        database_url = text_of("database", "url", "sqlite:///coatml.db")
        check_database_url(database_url, "[database] url")
        tracking_uri = text_of("tracking", "uri", "sqlite:///mlflow.db")
        check_tracking_uri(tracking_uri, "[tracking] uri")
        del db, tr, fe
        return cls(
            name=str(ws.get("name", "coatml")),
            seed=seed,
            database_url=database_url,
            tracking_uri=tracking_uri,
            artifacts=text_of("tracking", "artifacts", "mlartifacts"),
            experiment=text_of("tracking", "experiment", "coatml"),
            feature_set=text_of("features", "feature_set", "default"),
            extra={k: v for k, v in data.items()
                   if k not in ("workspace", "database", "tracking", "features")},
        )


DATABASE_SCHEMES = ("sqlite://", "postgresql://", "postgresql+psycopg://")
TRACKING_SCHEMES = ("sqlite://", "http://", "https://", "postgresql://",
                    "postgresql+psycopg://", "file:")


def check_database_url(url: str, where: str = "database URL") -> None:
    """Raise ``ValueError`` unless ``url`` is a SQLite or PostgreSQL SQLAlchemy URL."""
    if not url.startswith(DATABASE_SCHEMES):
        hint = (f"; for a file write 'sqlite:///{url}'" if "://" not in url else "")
        raise ValueError(f"{where} {mask_url(url)!r} is not a SQLite or PostgreSQL URL "
                         f"(sqlite:///coatml.db, postgresql://user:password@host:5432/db){hint}")
    if url.startswith("sqlite://") and not url.startswith("sqlite:///") and url != "sqlite://":
        raise ValueError(f"{where} {url!r}: a SQLite URL is sqlite:///relative/path.db or "
                         "sqlite:////absolute/path.db")


def check_tracking_uri(uri: str, where: str = "tracking URI") -> None:
    """Raise ``ValueError`` unless ``uri`` is a tracking URI coatml supports."""
    if not uri.startswith(TRACKING_SCHEMES):
        hint = (f"; for a file write 'sqlite:///{uri}'" if "://" not in uri else "")
        raise ValueError(f"{where} {mask_url(uri)!r} is not an MLflow tracking URI "
                         f"(sqlite:///mlflow.db or http://host:5000){hint}")


def _resolve_sqlite(url: str, root: Path) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith("sqlite:////"):
        rel = url[len(prefix):]
        if rel and rel != ":memory:":
            return prefix + str((root / rel).resolve())
    return url


@dataclass(frozen=True)
class Workspace:
    """A located workspace: its root folder and config."""

    root: Path
    config: WorkspaceConfig

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def database_url(self) -> str:
        url = os.environ.get("COATML_DATABASE_URL") or self.config.database_url
        try:
            check_database_url(url, "COATML_DATABASE_URL" if os.environ.get(
                "COATML_DATABASE_URL") else "[database] url")
        except ValueError as exc:
            raise WorkspaceError(str(exc)) from None
        return _resolve_sqlite(url, self.root)

    @property
    def tracking_uri(self) -> str:
        uri = os.environ.get("COATML_TRACKING_URI") or self.config.tracking_uri
        try:
            check_tracking_uri(uri, "COATML_TRACKING_URI" if os.environ.get(
                "COATML_TRACKING_URI") else "[tracking] uri")
        except ValueError as exc:
            raise WorkspaceError(str(exc)) from None
        return _resolve_sqlite(uri, self.root)

    @property
    def artifacts_dir(self) -> Path:
        return (self.root / self.config.artifacts).resolve()

    @property
    def outputs_dir(self) -> Path:
        path = self.root / "outputs"
        path.mkdir(exist_ok=True)
        return path

    def store(self) -> RecordStore:
        from coatml.data.store import RecordStore

        return RecordStore(self.database_url)

    @classmethod
    def load(cls, root: str | Path) -> Workspace:
        root = Path(root).resolve()
        path = root / CONFIG_NAME
        if not path.is_file():
            raise WorkspaceError(f"{root} is not a coatml workspace (no {CONFIG_NAME}); "
                                 "create one with `coatml init`")
        try:
            config = WorkspaceConfig.from_toml(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, ValueError, UnicodeDecodeError) as exc:
            raise WorkspaceError(f"{path}: cannot read config ({exc})") from None
        except OSError as exc:
            raise WorkspaceError(f"{path}: cannot read config ({exc.strerror})") from None
        return cls(root=root, config=config)

    @classmethod
    def find(cls, explicit: str | Path | None = None, start: str | Path | None = None
             ) -> Workspace:
        """Locate the workspace: ``explicit``, ``COATML_WORKSPACE``, then ``start`` (default:
        the current folder) and its parents."""
        if explicit:
            return cls.load(explicit)
        env = os.environ.get("COATML_WORKSPACE")
        if env:
            return cls.load(env)
        here = Path(start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / CONFIG_NAME).is_file():
                return cls.load(folder)
        raise WorkspaceError(f"no coatml workspace in {here} or its parents; run `coatml init` "
                             "or pass --workspace / set COATML_WORKSPACE")

    @classmethod
    def init(cls, root: str | Path, database_url: str | None = None,
             tracking_uri: str | None = None) -> Workspace:
        """Create a workspace folder with its config (an existing one is reused as is).

        The database is opened before returning; when that fails (a wrong password, an
        unreachable server, an unwritable path) the config and the folders this call created
        are removed again, so no half-made workspace is left behind."""
        try:
            if database_url is not None:
                check_database_url(database_url, "--database-url")
            if tracking_uri is not None:
                check_tracking_uri(tracking_uri, "--tracking-uri")
        except ValueError as exc:
            raise WorkspaceError(str(exc)) from None
        root = Path(root).resolve()
        if root.exists() and not root.is_dir():
            raise WorkspaceError(f"{root} is a file, not a folder")
        created = [p for p in (root, *root.parents) if not p.exists()]
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WorkspaceError(f"cannot create the workspace folder {root} "
                                 f"({exc.strerror})") from None
        path = root / CONFIG_NAME
        wrote_config = False
        if not path.exists():
            text = DEFAULT_CONFIG.format(name=root.name)
            if database_url:
                text = text.replace('url = "sqlite:///coatml.db"',
                                    f'url = {_toml_string(database_url)}')
            if tracking_uri:
                text = text.replace('uri = "sqlite:///mlflow.db"',
                                    f'uri = {_toml_string(tracking_uri)}')
            path.write_text(text, encoding="utf-8")
            wrote_config = True
        try:
            ws = cls.load(root)
            ws.store().close()
        except BaseException:
            if wrote_config:
                path.unlink(missing_ok=True)
                for folder in created:  # deepest first; only those now empty
                    with contextlib.suppress(OSError):
                        folder.rmdir()
            raise
        return ws


def _toml_string(value: str) -> str:
    """``value`` as a TOML basic string (quotes and backslashes escaped)."""
    import json

    return json.dumps(value)
