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

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coatml.exceptions import WorkspaceError

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
        data = tomllib.loads(text)
        ws = data.get("workspace", {})
        db = data.get("database", {})
        tr = data.get("tracking", {})
        fe = data.get("features", {})
        return cls(
            name=str(ws.get("name", "coatml")),
            seed=int(ws.get("seed", 20261125)),
            database_url=str(db.get("url", "sqlite:///coatml.db")),
            tracking_uri=str(tr.get("uri", "sqlite:///mlflow.db")),
            artifacts=str(tr.get("artifacts", "mlartifacts")),
            experiment=str(tr.get("experiment", "coatml")),
            feature_set=str(fe.get("feature_set", "default")),
            extra={k: v for k, v in data.items()
                   if k not in ("workspace", "database", "tracking", "features")},
        )


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
        return _resolve_sqlite(url, self.root)

    @property
    def tracking_uri(self) -> str:
        uri = os.environ.get("COATML_TRACKING_URI") or self.config.tracking_uri
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
        except (tomllib.TOMLDecodeError, ValueError) as exc:
            raise WorkspaceError(f"{path}: cannot read config ({exc})") from None
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
        """Create a workspace folder with its config (an existing one is reused as is)."""
        root = Path(root).resolve()
        root.mkdir(parents=True, exist_ok=True)
        path = root / CONFIG_NAME
        if not path.exists():
            text = DEFAULT_CONFIG.format(name=root.name)
            if database_url:
                text = text.replace('url = "sqlite:///coatml.db"', f'url = "{database_url}"')
            if tracking_uri:
                text = text.replace('uri = "sqlite:///mlflow.db"', f'uri = "{tracking_uri}"')
            path.write_text(text, encoding="utf-8")
        ws = cls.load(root)
        ws.store().close()
        return ws
