"""A campaign: the lab loop propose -> measure -> add -> retrain -> propose, kept in the database.

Three tables live next to the records in the workspace database (SQLite or PostgreSQL; created
on first use with their own SQLAlchemy ``MetaData``):

``campaigns``
    one row per campaign: name, electrode, electrolyte, objective, strategy, settings.
``campaign_proposals``
    one row per proposed recipe: batch id, ``proposal_id``, the proposed recipe, predictions,
    acquisition score, the model versions (registry name/version) that proposed it, the MLflow
    run of the batch, status ``pending`` / ``returned``.
``campaign_results``
    one row per returned measurement: the record it became in the store, the proposal it
    answers (empty for unsolicited data, which is accepted and flagged), the actual recipe and
    its deviation from the proposed one (actual minus proposed thickness, temperature, cycles).

Labs rarely run exactly what was proposed, so the *actual* recipe of a returned row is what
enters the record store (and what the models learn from); the proposed one stays in
``campaign_proposals``. A returned row whose ``proposal_id`` is unknown to the campaign, or whose
coating has another chemistry than the proposed one, is rejected naming the row
(:class:`~coatml.exceptions.ValidationError`) and nothing is written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import sqlalchemy as sa

from coatml.exceptions import CoatmlError, Problem, ValidationError
from coatml.recommend.acquisition import Objective
from coatml.recommend.propose import Constraints, Proposal, propose
from coatml.recommend.space import SpaceSpec

__all__ = ["Campaign", "CampaignError", "ResultsReport", "campaign_metadata"]

campaign_metadata = sa.MetaData()

campaigns = sa.Table(
    "campaigns", campaign_metadata,
    sa.Column("campaign_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("electrode", sa.Text, nullable=False),
    sa.Column("electrolyte", sa.Text, nullable=False),
    sa.Column("objective", sa.String(32), nullable=False),
    sa.Column("strategy", sa.String(32), nullable=False),
    sa.Column("settings", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

_RECIPE = ("coating", "coated_component", "method", "precursors", "temperature_c",
           "gpc_angstrom", "cycles", "thickness_nm", "cycle_number", "c_rate",
           "test_temperature_c", "current_density_ma_cm2")
_TEXT_RECIPE = ("coating", "coated_component", "method", "precursors")
_DEVIATIONS = ("thickness_nm", "temperature_c", "cycles")

proposals = sa.Table(
    "campaign_proposals", campaign_metadata,
    sa.Column("proposal_id", sa.String(64), primary_key=True),
    sa.Column("campaign_id", sa.Integer, sa.ForeignKey("campaigns.campaign_id"), nullable=False),
    sa.Column("batch_id", sa.String(64), nullable=False),
    sa.Column("batch_number", sa.Integer, nullable=False),
    sa.Column("rank", sa.Integer, nullable=False),
    *[sa.Column(c, sa.Text if c in _TEXT_RECIPE else sa.Float(precision=53)) for c in _RECIPE],
    sa.Column("predictions", sa.Text, nullable=False),
    sa.Column("acq_score", sa.Float(precision=53)),
    sa.Column("strategy", sa.String(32), nullable=False),
    sa.Column("model_versions", sa.Text, nullable=False),
    sa.Column("mlflow_run_id", sa.String(64)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("returned_at", sa.DateTime(timezone=True)),
)

results = sa.Table(
    "campaign_results", campaign_metadata,
    sa.Column("result_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("campaign_id", sa.Integer, sa.ForeignKey("campaigns.campaign_id"), nullable=False),
    sa.Column("proposal_id", sa.String(64), sa.ForeignKey("campaign_proposals.proposal_id")),
    sa.Column("record_id", sa.Text, nullable=False),
    sa.Column("unsolicited", sa.Boolean, nullable=False),
    sa.Column("actual", sa.Text, nullable=False),
    *[sa.Column(f"delta_{c}", sa.Float(precision=53)) for c in _DEVIATIONS],
    sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
)


class CampaignError(CoatmlError):
    """A campaign that does not exist, or exists already."""


SURROGATES = ("champion", "gp", "gp-prior", "gp-transfer")


@dataclass(frozen=True)
class CampaignConfig:
    """A campaign's settings: the defaults of every ``next`` batch. Stored as JSON with a
    ``type`` and ``version`` tag; an unknown key or a bad value is an error on the way in
    and on the way out, never silently dropped.

    ``surrogate``: ``champion`` (the registered models), ``gp`` (the pair GP fitted per
    batch, :class:`~coatml.recommend.surrogates.PairGPSettings`), ``gp-prior`` (the pair GP
    starting from the physics prior) or ``gp-transfer`` (that, also learning from the
    workspace's other pairs where the guard admits them); ``strategy``: the
    acquisition; ``replicates``: how often one recipe may be measured or pending; the
    remaining fields are the space (``coated_component``, ``max_candidates``) and the
    batch constraints (:class:`~coatml.recommend.propose.Constraints`)."""

    TYPE: ClassVar[str] = "coatml.CampaignConfig"
    VERSION: ClassVar[int] = 1

    seed: int = 0
    strategy: str = "auto"
    surrogate: str = "champion"
    replicates: int = 1
    coated_component: str = "auto"
    max_candidates: int | None = None
    family: str | None = None
    exclude_elements: tuple[str, ...] = ()
    max_temperature_c: float | None = None
    max_thickness_nm: float | None = None
    max_coatings: int | None = None
    max_per_coating: int = 1
    same_temperature: bool = False

    def __post_init__(self) -> None:
        from coatml.recommend.propose import check_strategy

        check_strategy(self.strategy)
        if self.surrogate not in SURROGATES:
            raise ValueError(f"surrogate must be one of {SURROGATES}, not '{self.surrogate}'")
        if self.replicates < 1:
            raise ValueError("replicates must be >= 1")
        if self.coated_component not in ("auto", "electrode", "electrolyte"):
            raise ValueError("coated_component must be auto, electrode or electrolyte, not "
                             f"'{self.coated_component}'")
        if self.max_candidates is not None and self.max_candidates < 1:
            raise ValueError("max_candidates must be >= 1")
        object.__setattr__(self, "exclude_elements", tuple(self.exclude_elements))

    def to_json(self) -> str:
        body = {"type": self.TYPE, "version": self.VERSION, **asdict(self)}
        body["exclude_elements"] = list(self.exclude_elements)
        return json.dumps(body, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> CampaignConfig:
        data = dict(json.loads(text))
        tag = data.pop("type", None)
        version = data.pop("version", None)
        if tag is not None and tag != cls.TYPE:
            raise ValueError(f"campaign settings of type {tag!r}, expected {cls.TYPE!r}")
        if version is not None and int(version) > cls.VERSION:
            raise ValueError(f"campaign settings version {version} is newer than this coatml "
                             f"reads ({cls.VERSION}); upgrade coatml")
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CampaignConfig:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown campaign setting(s) {unknown}; known: {sorted(known)}")
        return cls(**dict(data))

    def constraints(self, **overrides: Any) -> Constraints:
        fields = Constraints.__dataclass_fields__
        kwargs = {k: getattr(self, k) for k in fields if hasattr(self, k)}
        kwargs.update({k: v for k, v in overrides.items() if k in fields and v is not None})
        kwargs["exclude_elements"] = tuple(kwargs.get("exclude_elements") or ())
        return Constraints(**kwargs)


@dataclass(frozen=True)
class ResultsReport:
    """What :meth:`Campaign.add_results` did."""

    n_added: int
    n_skipped: int
    n_matched: int
    n_unsolicited: int
    deviations: pd.DataFrame
    warnings: tuple[str, ...] = ()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _engine(store_or_engine: Any) -> sa.engine.Engine:
    engine = getattr(store_or_engine, "engine", store_or_engine)
    if isinstance(engine, str):
        from coatml.data.store import make_engine

        engine = make_engine(engine)
    campaign_metadata.create_all(engine)
    return engine


def _float(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if np.isfinite(out) else None


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    return None if text in ("", "nan", "<NA>", "None") else text


def _chemistry(name: str | None) -> str | None:
    """:func:`~coatml.data.formulas.chemistry_key` of a coating name, ``None`` for none."""
    from coatml.data.formulas import chemistry_key

    return None if name is None else chemistry_key(name)


class Campaign:
    """One campaign in a workspace database; create with :meth:`new`, reopen with
    :meth:`load`."""

    def __init__(self, engine: sa.engine.Engine, row: Mapping[str, Any],
                 store: Any | None = None) -> None:
        self.engine = engine
        self.store = store
        self.campaign_id = int(row["campaign_id"])
        self.name = str(row["name"])
        self.electrode = str(row["electrode"])
        self.electrolyte = str(row["electrolyte"])
        self.objective = str(row["objective"])
        self.config = CampaignConfig.from_json(row["settings"])
        self.strategy = self.config.strategy

    # ------------------------------------------------------------------ create / open
    @classmethod
    def new(cls, store: Any, name: str, electrode: str, electrolyte: str,
            objective: str = "retention", strategy: str = "auto",
            **settings: Any) -> Campaign:
        """Create a campaign. ``store``: a RecordStore, an Engine or a database URL.
        ``settings``: the other :class:`CampaignConfig` fields (checked before anything is
        written: an unknown key or a bad value raises ``ValueError``)."""
        Objective.parse(objective)
        config = CampaignConfig.from_dict({**settings, "strategy": strategy})
        from coatml.data.formulas import resolve_material

        resolve_material(electrode)
        resolve_material(electrolyte)
        engine = _engine(store)
        with engine.begin() as conn:
            if conn.execute(sa.select(campaigns.c.campaign_id)
                            .where(campaigns.c.name == name)).first() is not None:
                raise CampaignError(f"campaign '{name}' exists already")
            conn.execute(campaigns.insert().values(
                name=name, electrode=electrode, electrolyte=electrolyte, objective=objective,
                strategy=config.strategy, settings=config.to_json(),
                created_at=_now()))
        return cls.load(store, name)

    @classmethod
    def load(cls, store: Any, name: str) -> Campaign:
        engine = _engine(store)
        with engine.connect() as conn:
            row = conn.execute(sa.select(campaigns).where(campaigns.c.name == name)).mappings()
            found = row.first()
        if found is None:
            raise CampaignError(f"no campaign '{name}' (create it with `coatml campaign new`)")
        return cls(engine, dict(found), store if hasattr(store, "add_validated") else None)

    @classmethod
    def list(cls, store: Any) -> pd.DataFrame:
        engine = _engine(store)
        with engine.connect() as conn:
            return pd.read_sql(sa.select(campaigns), conn)

    # ------------------------------------------------------------------ propose
    def _batch_number(self, conn: sa.Connection) -> int:
        q = sa.select(sa.func.max(proposals.c.batch_number)).where(
            proposals.c.campaign_id == self.campaign_id)
        last = conn.execute(q).scalar()
        return int(last or 0) + 1

    def spec(self, **overrides: Any) -> SpaceSpec:
        kwargs: dict[str, Any] = {"coated_component": self.config.coated_component,
                                  "max_candidates": self.config.max_candidates}
        kwargs.update({k: v for k, v in overrides.items() if v is not None})
        return SpaceSpec(self.electrode, self.electrolyte, **kwargs)

    def constraints(self, **overrides: Any) -> Constraints:
        return self.config.constraints(**overrides)

    def pending(self) -> pd.DataFrame:
        """The recipes proposed by this campaign and not yet returned."""
        with self.engine.connect() as conn:
            props = self._proposals(conn)
        return props[props["status"] == "pending"].reset_index(drop=True)

    def next(self, n: int = 4, models: Mapping[str, Any] | None = None,
             tracker: Any | None = None, constraints: Constraints | None = None,
             seed: int | None = None, strategy: str | None = None,
             observed: pd.DataFrame | None = None, spec: SpaceSpec | None = None,
             surrogate: str | None = None, replicates: int | None = None,
             **propose_kwargs: Any) -> Proposal:
        """Propose the next batch and record it as pending.

        The campaign's stored settings (:class:`CampaignConfig`) apply unless overridden:
        ``surrogate`` ``champion`` scores with ``models`` (target -> Surrogate), by default the
        champions of ``tracker``'s registry; ``gp`` fits the pair GP on this pair's records.
        Without a usable model the batch is a space-filling design. Pending proposals of the
        campaign and recipes measured ``replicates`` times already are not proposed again.
        With a tracker the batch is logged as an MLflow run tagged with the model versions.
        """
        from coatml.recommend.propose import check_strategy

        obj = Objective.parse(self.objective)
        surrogate = surrogate or self.config.surrogate
        if surrogate not in SURROGATES:
            raise ValueError(f"surrogate must be one of {SURROGATES}, not '{surrogate}'")
        strategy = strategy or self.config.strategy
        check_strategy(strategy)
        replicates = int(replicates or self.config.replicates)
        if observed is None and self.store is not None:
            observed = self.store.to_frame()
        with self.engine.connect() as conn:
            batch_number = self._batch_number(conn)
        seed = self.config.seed + batch_number if seed is None else seed
        batch_id = f"{_slug(self.name)}-b{batch_number:03d}"
        kwargs = dict(batch_id=batch_id, pending=self.pending(), replicates=replicates,
                      **propose_kwargs)
        versions: list[dict[str, str]] = []
        if surrogate != "champion" and models is None:
            from coatml.recommend.surrogates import propose_pair_surrogate

            proposal = propose_pair_surrogate(surrogate, spec or self.spec(), observed, obj, n,
                                              strategy, constraints or self.constraints(),
                                              seed, **kwargs)
            versions = [{"target": t, "name": f"pair {surrogate}", "version": "in-memory",
                         "run_id": ""} for t in obj.targets if f"pred_{t}" in proposal.batch]
        else:
            if models is None and tracker is not None:
                from coatml.tracking.registry import load_champions

                models = load_champions(tracker, obj.targets)[0]
            versions = _versions(models)
            proposal = propose(spec or self.spec(), models, obj, n, strategy,
                               constraints or self.constraints(), seed, observed=observed,
                               **kwargs)
        run_id = None
        if tracker is not None:
            run_id = _log_batch(tracker, self, proposal, versions, batch_number, seed)
        batch = proposal.batch
        now = _now()
        rows = []
        for _, rec in batch.iterrows():
            preds = {k: _float(v) for k, v in rec.items() if str(k).startswith("pred_")}
            row = {"proposal_id": rec["proposal_id"], "campaign_id": self.campaign_id,
                   "batch_id": batch_id, "batch_number": batch_number,
                   "rank": int(rec["proposed_rank"]), "predictions": json.dumps(preds),
                   "acq_score": _float(rec["acq_score"]), "strategy": proposal.strategy,
                   "model_versions": json.dumps(versions), "mlflow_run_id": run_id,
                   "status": "pending", "created_at": now}
            for c in _RECIPE:
                row[c] = _text(rec[c]) if c in _TEXT_RECIPE else _float(rec[c])
            rows.append(row)
        with self.engine.begin() as conn:
            if rows:
                conn.execute(proposals.insert(), rows)
        return proposal

    # ------------------------------------------------------------------ results
    def _proposals(self, conn: sa.Connection) -> pd.DataFrame:
        q = sa.select(proposals).where(proposals.c.campaign_id == self.campaign_id)
        return pd.read_sql(q, conn)

    def add_results(self, frame: pd.DataFrame, store: Any | None = None,
                    source_name: str | None = None) -> ResultsReport:
        """Validate returned rows against the proposals, add the actual recipes to the record
        store and link them (see the module docstring)."""
        from coatml.data.validation import validate_frame

        store = store or self.store
        if store is None:
            raise CampaignError("add_results needs the record store (Campaign.load(store, ...))")
        raw = frame.copy().reset_index(drop=True)
        raw.index = pd.Index(range(2, 2 + len(raw)), name="row")
        with self.engine.connect() as conn:
            known = self._proposals(conn).set_index("proposal_id")
        pid = raw["proposal_id"].map(_text) if "proposal_id" in raw else pd.Series(
            [None] * len(raw), index=raw.index)
        problems: list[Problem] = []
        for row_no, p in pid.items():
            if p is None:
                continue
            if p not in known.index:
                problems.append(Problem(int(row_no), "proposal_id",
                                        f"'{p}' is not a proposal of campaign '{self.name}'"))
                continue
            want = _chemistry(_text(known.at[p, "coating"]))
            got = _chemistry(_text(raw.at[row_no, "coating"])) if "coating" in raw else None
            if got is None:  # the lab left the recipe empty: it ran what was proposed
                for c in _RECIPE:
                    if c not in raw or _text(raw.at[row_no, c]) is None:
                        raw.loc[row_no, c] = known.at[p, c]
            elif got != want:
                problems.append(Problem(
                    int(row_no), "coating",
                    f"proposal '{p}' proposed {known.at[p, 'coating']} ({want}) but the row "
                    f"reports {raw.at[row_no, 'coating']} ({got}); a different coating is a new "
                    "experiment: remove its proposal_id to add it as unsolicited data"))
        if problems:
            raise ValidationError(problems, source_name or f"results for campaign {self.name}")
        for col, default in (("electrode", self.electrode), ("electrolyte", self.electrolyte),
                             ("source", f"coatml campaign {self.name}")):
            if col not in raw:
                raw[col] = default
            raw[col] = raw[col].map(lambda v, d=default: _text(v) or d)
        dropped = [c for c in raw.columns if str(c).startswith(("pred_", "acq_", "proposed_"))]
        clean = raw.drop(columns=dropped)
        table = validate_frame(clean, source_name=source_name or f"campaign {self.name}",
                               default_data_kind="lab")
        table.content_hash = hashlib.sha256(
            table.records.to_csv(index=False).encode("utf-8")).hexdigest()
        recs = table.records
        now = _now()
        links, devs = [], []
        warnings = [str(w) for w in table.warnings]
        for row_no, rec in recs.iterrows():
            p = pid.get(row_no)
            actual = {c: (_text(rec.get(c)) if c in _TEXT_RECIPE else _float(rec.get(c)))
                      for c in _RECIPE}
            link = {"campaign_id": self.campaign_id, "proposal_id": p,
                    "record_id": str(rec["record_id"]), "unsolicited": p is None,
                    "actual": json.dumps(actual), "added_at": now}
            dev = {"row": int(row_no), "proposal_id": p, "record_id": str(rec["record_id"]),
                   "coating": actual["coating"]}
            for c in _DEVIATIONS:
                delta = None
                if p is not None:
                    a, b = actual[c], _float(known.at[p, c])
                    delta = None if a is None or b is None else float(a) - b
                link[f"delta_{c}"] = delta
                dev[f"delta_{c}"] = np.nan if delta is None else delta
            links.append(link)
            devs.append(dev)
            if p is None:
                warnings.append(f"row {row_no}: no proposal_id; added as ordinary (unsolicited) "
                                "data and flagged in the campaign")
        matched = sorted({p for p in pid if p is not None})

        def write_links(conn: sa.Connection) -> None:
            campaign_metadata.create_all(conn)
            known_links = {(r.record_id, r.proposal_id) for r in conn.execute(
                sa.select(results.c.record_id, results.c.proposal_id)
                .where(results.c.campaign_id == self.campaign_id))}
            new = [lk for lk in links if (lk["record_id"], lk["proposal_id"]) not in known_links]
            if new:
                conn.execute(results.insert(), new)
            if matched:
                conn.execute(proposals.update().where(proposals.c.proposal_id.in_(matched))
                             .values(status="returned", returned_at=now))

        # the records and the campaign's links land in one transaction, or neither does
        ingest = store.add_validated(table, source_name=source_name or f"campaign {self.name}",
                                     also=write_links)
        deviations = pd.DataFrame(devs)
        return ResultsReport(ingest.n_added, ingest.n_skipped, int(pid.notna().sum()),
                             int(pid.isna().sum()), deviations, tuple(warnings))

    # ------------------------------------------------------------------ status
    def status(self) -> pd.DataFrame:
        """One row per proposal (and per unsolicited result): status, proposed recipe,
        deviations of the actual recipe, model versions and MLflow run."""
        with self.engine.connect() as conn:
            props = self._proposals(conn)
            res = pd.read_sql(sa.select(results).where(
                results.c.campaign_id == self.campaign_id), conn)
        cols = ["batch_number", "proposal_id", "status", "coating", "temperature_c",
                "thickness_nm", "cycles", "acq_score", "model_versions", "mlflow_run_id"]
        out = props[cols].copy() if len(props) else pd.DataFrame(columns=cols)
        out["model_versions"] = out["model_versions"].map(
            lambda s: ", ".join(f"{v['name']}/{v['version']}" for v in json.loads(s)) or
            "none (space-filling)")
        first = res.dropna(subset=["proposal_id"]).groupby("proposal_id").first()
        for c in _DEVIATIONS:
            out[f"delta_{c}"] = out["proposal_id"].map(first[f"delta_{c}"]) if len(first) \
                else np.nan
        out["n_results"] = out["proposal_id"].map(
            res.groupby("proposal_id").size()).fillna(0).astype(int) if len(res) else 0
        unsolicited = res[res["unsolicited"].astype(bool)] if len(res) else res
        if len(unsolicited):
            extra = pd.DataFrame({
                "batch_number": np.nan, "proposal_id": "",
                "status": "unsolicited",
                "coating": [json.loads(a)["coating"] for a in unsolicited["actual"]],
                "temperature_c": [json.loads(a)["temperature_c"] for a in unsolicited["actual"]],
                "thickness_nm": [json.loads(a)["thickness_nm"] for a in unsolicited["actual"]],
                "cycles": [json.loads(a)["cycles"] for a in unsolicited["actual"]],
                "n_results": 1})
            out = pd.concat([out, extra], ignore_index=True)
        return out.reset_index(drop=True)

    def summary(self) -> dict[str, Any]:
        st = self.status()
        return {"name": self.name, "electrode": self.electrode,
                "electrolyte": self.electrolyte, "objective": self.objective,
                "pending": int((st["status"] == "pending").sum()),
                "returned": int((st["status"] == "returned").sum()),
                "unsolicited": int((st["status"] == "unsolicited").sum())}


def _versions(models: Mapping[str, Any] | None) -> list[dict[str, str]]:
    """Which model versions proposed a batch (registry name/version, or in-memory)."""
    out = []
    for target, model in (models or {}).items():
        if hasattr(model, "version"):
            out.append({"target": target, "name": str(model.name),
                        "version": str(model.version), "run_id": str(model.run_id)})
        else:
            out.append({"target": target,
                        "name": str(getattr(model, "label", type(model).__name__)),
                        "version": "in-memory", "run_id": ""})
    return out


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name)[:40]


def _log_batch(tracker: Any, campaign: Campaign, proposal: Proposal,
               versions: list[dict[str, str]], batch_number: int, seed: int) -> str:
    """One MLflow run per batch, tagged with the model versions that proposed it."""
    client = tracker.client()
    tags = {"coatml.kind": "proposal", "coatml.campaign": campaign.name,
            "coatml.batch_id": proposal.batch_id,
            "coatml.model_versions": ", ".join(f"{v['name']}/{v['version']}" for v in versions)
            or "none (space-filling)"}
    for v in versions:
        tags[f"coatml.model.{v['target']}"] = f"{v['name']}/{v['version']}"
        if v["run_id"]:
            tags[f"coatml.model_run.{v['target']}"] = v["run_id"]
    run = client.create_run(tracker.experiment_id(), tags=tags,
                            run_name=f"campaign {campaign.name} batch {batch_number}")
    rid = run.info.run_id
    params = {"electrode": campaign.electrode, "electrolyte": campaign.electrolyte,
              "objective": proposal.objective, "strategy": proposal.strategy,
              "n": len(proposal.batch), "seed": seed, "n_scored": proposal.n_scored,
              "same_temperature_c": proposal.temperature_c,
              "constraints": json.dumps(asdict(campaign.constraints()), default=str)[:500]}
    for key, value in params.items():
        client.log_param(rid, key, "" if value is None else str(value))
    if proposal.stopping is not None:
        for target, value in proposal.stopping.max_expected_improvement.items():
            if np.isfinite(value):
                client.log_metric(rid, f"max_expected_improvement.{target}", float(value))
        for target, value in proposal.stopping.best_so_far.items():
            if np.isfinite(value):
                client.log_metric(rid, f"best_so_far.{target}", float(value))
    client.log_text(rid, proposal.batch.to_csv(index=False), "proposal/batch.csv")
    client.set_terminated(rid)
    return rid
