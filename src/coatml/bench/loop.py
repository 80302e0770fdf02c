"""The closed-loop benchmark: seeded campaigns against a simulated lab.

For each electrode / electrolyte pair the feasible recipe space is enumerated once (library +
a seeded sample of enumerated candidates, their process grids) and featurized once. A campaign
starts from ``n_initial`` random recipes (the same for every strategy with the same seed), then
runs rounds of ``ask -> simulate -> tell (add, retrain)`` in batches of ``batch_size`` until
``budget`` experiments are spent. The simulator is any object with ``simulate(records, seed)``
and ``expected(records)`` (default :class:`coatml.bench.simlab.SimulatedLab`, SYNTHETIC).

Scores (noise-free, from ``expected``):

* the best achievable outcome: the best expected value over the whole feasible space;
* the best found after ``k`` experiments: the best expected value among the recipes whose cell
  worked (a failed cell teaches nothing about its outcome to the lab, so it cannot count);
* experiments to target: the first ``k`` with best found within ``tolerance`` (2 %) of the best
  achievable (``inf`` when the budget ends first);
* simple regret after ``k``: best achievable minus best found (percentage points of retention;
  decades of resistance);
* random search, exact: with ``G`` target recipes among ``N``, uniform sampling without
  replacement needs more than ``k`` experiments with probability ``C(N-G, k) / C(N, k)``, which
  gives its median and its chance of reaching the target within the budget without sampling
  noise (and without failed cells, so it flatters random search: a hit whose cell fails does
  not count in the campaigns). 20 seeds of the random strategy scatter widely around it.

Per strategy the report gives the median and interquartile range over seeds (pooled over
pairs, and per pair) of the experiments to target and the median regret after 10, 20 and 40
experiments; a markdown table, a regret-curve PNG and a CSV, logged to MLflow when a tracker is
given.
"""

from __future__ import annotations

import importlib
import json
import time
import tomllib
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from coatml.bench.strategies import (
    FAST_MODEL_PARAMS,
    CoatmlStrategy,
    GreedyStrategy,
    LoopState,
    make_strategy,
    strategy_class,
)

__all__ = ["BenchConfig", "BenchResult", "load_bench_config", "load_simulator", "run_bench"]

DEFAULT_PAIRS: tuple[tuple[str, str], ...] = (
    ("LiNi0.8Mn0.1Co0.1O2", "Li6PS5Cl"),
    ("Li", "Li7La3Zr2O12"),
    ("LiNi0.5Mn1.5O4", "Li6PS5Cl"),
)


@dataclass(frozen=True)
class BenchConfig:
    """Benchmark settings (``experiments/bench.toml`` holds the defaults)."""

    pairs: tuple[tuple[str, str], ...] = DEFAULT_PAIRS
    seeds: int = 20
    budget: int = 40
    batch_size: int = 4
    n_initial: int = 4
    strategies: tuple[str, ...] = ("coatml", "random", "tpe", "greedy")
    objective: str = "retention"
    acquisition: str = "ei"
    max_per_coating: int = 1
    max_candidates: int = 60
    temperatures_per_window: int = 3
    tolerance: float = 0.02
    checkpoints: tuple[int, ...] = (10, 20, 40)
    estimator: str = "gp"
    model_params: dict[str, Any] | None = None
    failed_as_worst: bool = True
    transfer_records_per_pair: int = 40

    def quick(self) -> BenchConfig:
        """Few seeds, one pair, a short budget: a smoke test that the loop runs."""
        return replace(self, pairs=self.pairs[:1], seeds=2, budget=16, max_candidates=25,
                       checkpoints=(8, 16))


def load_bench_config(path: str | Path | None = None, quick: bool = False,
                      **overrides: Any) -> BenchConfig:
    """Read a bench TOML (``[bench]`` table) over the defaults; ``overrides`` win. Without
    ``path`` the packaged defaults (``coatml/bench/data/bench.toml``, the same file as
    ``experiments/bench.toml``) are read, wherever the command runs."""
    from importlib import resources

    cfg = BenchConfig()
    values: dict[str, Any] = {}
    text = (Path(path).read_text(encoding="utf-8") if path is not None else
            resources.files("coatml.bench.data").joinpath("bench.toml").read_text("utf-8"))
    if text:
        data = tomllib.loads(text)
        values = dict(data.get("bench", data))
        if "model" in data:
            model = dict(data["model"])
            estimator = str(model.pop("estimator", values.get("estimator", "gp")))
            values["estimator"] = estimator
            base = dict(FAST_MODEL_PARAMS) if estimator == "xgboost" else {}
            values["model_params"] = {**base, **model}
    values.update({k: v for k, v in overrides.items() if v is not None})
    known = BenchConfig.__dataclass_fields__
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(f"bench config: unknown key(s) {unknown}")
    if "pairs" in values:
        values["pairs"] = tuple(tuple(p) for p in values["pairs"])
    for key in ("strategies", "checkpoints"):
        if key in values:
            values[key] = tuple(values[key])
    cfg = replace(cfg, **values)
    return cfg.quick() if quick else cfg


def load_simulator(ref: str | None, config: str | Path | None = None) -> Any:
    """``package.module:object`` (an instance, or a class / factory called without
    arguments) -> a simulator; ``None`` -> :class:`SimulatedLab` (``config`` optional)."""
    if ref is None:
        from coatml.bench.simlab import SimulatedLab

        return SimulatedLab(config)
    module, _, attr = ref.partition(":")
    if not module or not attr:
        raise ValueError(f"--simulator must look like package.module:object, not '{ref}'")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    if isinstance(obj, type) or (callable(obj) and not hasattr(obj, "simulate")):
        obj = obj()
    for method in ("simulate", "expected"):
        if not callable(getattr(obj, method, None)):
            raise TypeError(f"simulator {ref} has no {method}(records, ...) method")
    return obj


@dataclass
class BenchResult:
    """Per-campaign trajectories and the aggregated comparison."""

    config: BenchConfig
    campaigns: pd.DataFrame          # one row per (pair, strategy, seed)
    curves: dict[tuple[str, str], np.ndarray]  # (pair label, strategy) -> (seeds, budget) regret
    summary: pd.DataFrame            # per strategy (pooled) and per pair
    best: dict[str, float]
    seconds: float
    files: dict[str, Path] = field(default_factory=dict)
    random_exact: pd.DataFrame = field(default_factory=pd.DataFrame)

    def markdown(self) -> str:
        text = summary_markdown(self.summary, self.config)
        if len(self.random_exact):
            text += "\n\n" + random_exact_markdown(self.random_exact, self.config)
        return text


def random_survival(n_space: int, n_target: int, ks: np.ndarray) -> np.ndarray:
    """``P(T > k)`` for uniform sampling without replacement: no target recipe among the first
    ``k`` of ``n_space`` when ``n_target`` of them are targets (``C(N-G, k) / C(N, k)``)."""
    from scipy.special import gammaln

    ks = np.asarray(ks, dtype=float)
    free = n_space - n_target
    out = np.zeros_like(ks)
    ok = ks <= free
    k = ks[ok]
    out[ok] = np.exp(gammaln(free + 1) - gammaln(free - k + 1)
                     - gammaln(n_space + 1) + gammaln(n_space - k + 1))
    return out


def random_exact(sizes: dict[str, tuple[int, int]], budget: int) -> pd.DataFrame:
    """Random search's exact median experiments to target and chance of reaching it within
    ``budget``, per pair and pooled (an equal mixture of the pairs): ``sizes`` maps a pair
    label to ``(recipes, target recipes)``."""
    rows = []
    horizon = max(n for n, _ in sizes.values()) + 1
    ks = np.arange(horizon + 1)
    curves = {label: random_survival(n, g, ks) for label, (n, g) in sizes.items()}
    for label, surv in [("all", np.mean(list(curves.values()), axis=0)), *curves.items()]:
        median = float(ks[np.argmax(surv <= 0.5)]) if (surv <= 0.5).any() else float("inf")
        n, g = sizes.get(label, (sum(v[0] for v in sizes.values()),
                                 sum(v[1] for v in sizes.values())))
        rows.append({"pair": label, "recipes": n, "target_recipes": g,
                     "median_experiments": median,
                     "reached_within_budget": float(1.0 - surv[min(budget, horizon)])})
    return pd.DataFrame(rows)


def random_exact_markdown(table: pd.DataFrame, cfg: BenchConfig) -> str:
    lines = ["Random search, exact (no sampling noise; failed cells ignored, which flatters it):",
             "", "| pair | recipes | target recipes | experiments to target: median | "
             f"reached within {cfg.budget} |", "|---|---|---|---|---|"]
    for _, r in table.iterrows():
        lines.append(f"| {r['pair']} | {int(r['recipes'])} | {int(r['target_recipes'])} | "
                     f"{r['median_experiments']:g} | {100 * r['reached_within_budget']:.0f} % |")
    return "\n".join(lines)


def _pair_label(pair: Sequence[str]) -> str:
    return f"{pair[0]} / {pair[1]}"


def _utility(target: str, values: np.ndarray) -> np.ndarray:
    from coatml.models.targets import get_target

    spec = get_target(target)
    u = spec.forward(values)
    return u if spec.higher_is_better else -u


def _prepare_pair(pair: Sequence[str], cfg: BenchConfig, simulator: Any, target: str
                  ) -> tuple[Any, pd.DataFrame, pd.DataFrame, np.ndarray]:
    from coatml.features.pipeline import RecordFeaturizer
    from coatml.features.process import PrecursorWarning
    from coatml.recommend.space import SpaceSpec, build_recipe_space

    spec = SpaceSpec(pair[0], pair[1], max_candidates=cfg.max_candidates,
                     temperatures_per_window=cfg.temperatures_per_window, seed=0)
    space, _, _ = build_recipe_space(spec)
    space = space.reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecursorWarning)
        features = RecordFeaturizer().fit(space.head(5)).transform(space)
    truth = _utility(target, simulator.expected(space)[target].to_numpy(dtype=float))
    return spec, space, features, truth


def _reached(best_found: np.ndarray, best: float, target: str, tol: float) -> np.ndarray:
    """Within ``tol`` of the best achievable, in the target's natural units."""
    from coatml.models.targets import get_target

    spec = get_target(target)
    sign = 1.0 if spec.higher_is_better else -1.0
    natural_best = spec.inverse(np.array([sign * best]))[0]
    natural = spec.inverse(sign * best_found)
    if spec.higher_is_better:
        return natural >= natural_best - tol * abs(natural_best)
    return natural <= natural_best + tol * abs(natural_best)


def uses_transfer(name: str) -> bool:
    """Whether a strategy learns from other pairs' records (:func:`transfer_sources`)."""
    cls = strategy_class(name)
    return issubclass(cls, CoatmlStrategy) and bool(cls.transfer)


def transfer_sources(pair: tuple[str, str], prepared: dict[Any, Any], simulator: Any,
                     cfg: BenchConfig, seed: int) -> pd.DataFrame:
    """What a lab learned on the other pairs before this campaign: ``cfg.
    transfer_records_per_pair`` random recipes of each other pair's space, measured by the
    simulator (SYNTHETIC, noisy, failures included; seeded by ``seed``)."""
    rng = np.random.default_rng(10_000 + seed)
    parts = []
    for other, (_, o_space, _, _) in prepared.items():
        if other == pair:
            continue
        n = min(cfg.transfer_records_per_pair, len(o_space))
        pick = rng.choice(len(o_space), size=n, replace=False)
        parts.append(simulator.simulate(o_space.iloc[pick], seed=20_000 + seed))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def run_campaign(strategy_name: str, seed: int, spec: Any, space: pd.DataFrame,
                 features: pd.DataFrame, truth: np.ndarray, simulator: Any, cfg: BenchConfig,
                 target: str, sources: pd.DataFrame | None = None) -> np.ndarray:
    """One campaign; returns the best found utility after each experiment (``budget``,).
    ``sources``: other pairs' records for a transfer strategy."""
    params: dict[str, Any] = {}
    cls = strategy_class(strategy_name)
    if issubclass(cls, CoatmlStrategy):  # coatml's proposer: the config's model settings
        params = {"model_params": cfg.model_params, "max_per_coating": cfg.max_per_coating,
                  "estimator": cfg.estimator, "failed_as_worst": cfg.failed_as_worst}
        if not issubclass(cls, GreedyStrategy):
            params["acquisition"] = cfg.acquisition
    strategy = make_strategy(strategy_name, **params)
    state = LoopState(spec, space, features, cfg.objective, target)
    if sources is not None:
        state.extra["sources"] = sources
    rng = np.random.default_rng(seed)
    found = np.full(cfg.budget, -np.inf)
    best = -np.inf
    positions = [int(i) for i in rng.choice(len(space), size=min(cfg.n_initial, cfg.budget),
                                            replace=False)]
    if getattr(strategy, "first_batch_from_prior", False):
        positions = strategy.ask(state, min(cfg.n_initial, cfg.budget), seed * 7919)
    round_no = 0
    while True:
        chunk = space.iloc[positions].copy()
        chunk["batch_id"] = f"{seed}-{round_no}"
        measured = simulator.simulate(chunk, seed=seed * 10_007 + round_no)
        measured.index = pd.Index(positions)
        failed = pd.to_numeric(measured[target], errors="coerce").isna().to_numpy()
        start = len(state.run)
        for k, (pos, bad) in enumerate(zip(positions, failed, strict=True)):
            if not bad:
                best = max(best, float(truth[pos]))
            found[start + k] = best
        state.records = measured if state.records.empty else pd.concat([state.records, measured])
        state.run.extend(positions)
        if round_no > 0:
            strategy.tell(state, positions, measured)
        n_left = cfg.budget - len(state.run)
        if n_left <= 0:
            break
        round_no += 1
        positions = strategy.ask(state, min(cfg.batch_size, n_left), seed * 7919 + round_no)
        if not positions:
            break
    return found


def run_bench(cfg: BenchConfig, simulator: Any | None = None, out_dir: str | Path | None = None,
              tracker: Any | None = None, progress: Callable[[str], None] | None = None
              ) -> BenchResult:
    """Run every (pair, strategy, seed) campaign, aggregate, write the table/PNG/CSV to
    ``out_dir`` and log them to MLflow when ``tracker`` is given."""
    from coatml.recommend.acquisition import Objective

    t0 = time.perf_counter()
    simulator = simulator if simulator is not None else load_simulator(None)
    obj = Objective.parse(cfg.objective)
    if obj.multi:
        raise ValueError("the benchmark scores one target: objective retention or resistance")
    target = obj.targets[0]
    rows, curves, bests, sizes = [], {}, {}, {}
    prepared = {pair: _prepare_pair(pair, cfg, simulator, target) for pair in cfg.pairs}
    for pair in cfg.pairs:
        label = _pair_label(pair)
        spec, space, features, truth = prepared[pair]
        best = float(np.nanmax(truth))
        bests[label] = best
        on_target = _reached(truth, best, target, cfg.tolerance) & np.isfinite(truth)
        sizes[label] = (len(space), int(on_target.sum()))
        floor = float(np.nanmin(truth))
        if progress:
            progress(f"{label}: {len(space)} recipes, best achievable {_fmt(best, target)}")
        for name in cfg.strategies:
            regrets = []
            for seed in range(cfg.seeds):
                sources = (transfer_sources(pair, prepared, simulator, cfg, seed)
                           if uses_transfer(name) else None)
                found = run_campaign(name, seed, spec, space, features, truth, simulator, cfg,
                                     target, sources=sources)
                hit = _reached(found, best, target, cfg.tolerance) & np.isfinite(found)
                n_hit = float(np.argmax(hit) + 1) if hit.any() else float("inf")
                regret = best - np.where(np.isfinite(found), found, floor)
                regrets.append(regret)
                rows.append({"pair": label, "strategy": name, "seed": seed,
                             "experiments_to_target": n_hit,
                             **{f"regret_at_{k}": float(regret[min(k, cfg.budget) - 1])
                                for k in cfg.checkpoints}})
            curves[(label, name)] = np.array(regrets)
            if progress:
                med, _, _ = _quartiles(np.sort([r["experiments_to_target"] for r in rows
                                                if r["pair"] == label
                                                and r["strategy"] == name]))
                progress(f"  {name}: median experiments to target {med:g}")
    campaigns = pd.DataFrame(rows)
    summary = summarise(campaigns, cfg)
    result = BenchResult(cfg, campaigns, curves, summary, bests, time.perf_counter() - t0,
                         random_exact=random_exact(sizes, cfg.budget))
    if out_dir is not None:
        result.files = write_outputs(result, Path(out_dir))
    if tracker is not None:
        log_to_mlflow(result, tracker)
    return result


def _fmt(value: float, target: str) -> str:
    if target == "interface_resistance_ohm_cm2":
        return f"{10 ** -value:.4g} ohm cm2"
    return f"{value:.4g} %"


def _quartiles(values: np.ndarray) -> tuple[float, float, float]:
    """Median and quartiles as observed values (``method="lower"``: with an even count the
    lower of the two middle values), so campaigns that never reached the target (``inf``)
    count without being interpolated."""
    q = np.percentile(values, [50, 25, 75], method="lower") if len(values) else [np.nan] * 3
    return float(q[0]), float(q[1]), float(q[2])


def summarise(campaigns: pd.DataFrame, cfg: BenchConfig) -> pd.DataFrame:
    """Per strategy, pooled over pairs (``pair == "all"``) and per pair: median / IQR of the
    experiments to target (``inf`` = not reached within the budget), share reached, median
    regret at the checkpoints."""
    out = []
    groups = [("all", campaigns)] + [(p, g) for p, g in campaigns.groupby("pair", sort=False)]
    for pair, frame in groups:
        for name, g in frame.groupby("strategy", sort=False):
            n = g["experiments_to_target"].to_numpy(dtype=float)
            med, q1, q3 = _quartiles(np.sort(n))
            row = {"pair": pair, "strategy": name, "campaigns": len(g),
                   "reached": float(np.isfinite(n).mean()), "median_experiments": med,
                   "q25_experiments": q1, "q75_experiments": q3}
            for k in cfg.checkpoints:
                row[f"median_regret_at_{k}"] = float(g[f"regret_at_{k}"].median())
            out.append(row)
    return pd.DataFrame(out)


def _cell(value: float, budget: int) -> str:
    return f">{budget}" if not np.isfinite(value) else f"{value:g}"


def summary_markdown(summary: pd.DataFrame, cfg: BenchConfig) -> str:
    """The comparison as a markdown table (pooled first, then per pair)."""
    unit = "decades" if cfg.objective == "resistance" else "% points"
    head = ["pair", "strategy", "experiments to target: median [IQR]", "reached"] + [
        f"regret@{k} ({unit})" for k in cfg.checkpoints]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in summary.iterrows():
        iqr = (f"{_cell(r['median_experiments'], cfg.budget)} "
               f"[{_cell(r['q25_experiments'], cfg.budget)}, "
               f"{_cell(r['q75_experiments'], cfg.budget)}]")
        cells = [r["pair"], r["strategy"], iqr, f"{100 * r['reached']:.0f} %"] + [
            f"{r[f'median_regret_at_{k}']:.3g}" for k in cfg.checkpoints]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_regret(result: BenchResult, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(dict.fromkeys(p for p, _ in result.curves))
    fig, axes = plt.subplots(1, len(labels), figsize=(5 * len(labels), 4), squeeze=False)
    x = np.arange(1, result.config.budget + 1)
    for ax, label in zip(axes[0], labels, strict=True):
        for (pair, name), curve in result.curves.items():
            if pair != label:
                continue
            med = np.median(curve, axis=0)
            q1, q3 = np.percentile(curve, [25, 75], axis=0)
            ax.plot(x, med, label=name)
            ax.fill_between(x, q1, q3, alpha=0.15)
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("experiments")
        ax.set_ylabel("simple regret (median, IQR band)")
        ax.set_yscale("symlog", linthresh=0.1)
        ax.legend(fontsize=8)
    fig.suptitle("coatml bench: simulated lab (SYNTHETIC)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_outputs(result: BenchResult, out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"table": out_dir / "bench.md", "campaigns": out_dir / "bench_campaigns.csv",
             "summary": out_dir / "bench_summary.csv", "plot": out_dir / "bench_regret.png",
             "config": out_dir / "bench_config.json"}
    files["table"].write_text(
        "Closed-loop benchmark against a SYNTHETIC simulated lab\n\n" + result.markdown() + "\n",
        encoding="utf-8")
    result.campaigns.to_csv(files["campaigns"], index=False)
    result.summary.to_csv(files["summary"], index=False)
    if len(result.random_exact):
        files["random_exact"] = out_dir / "bench_random_exact.csv"
        result.random_exact.to_csv(files["random_exact"], index=False)
    files["config"].write_text(json.dumps(asdict(result.config), indent=2, default=str),
                               encoding="utf-8")
    plot_regret(result, files["plot"])
    return files


def log_to_mlflow(result: BenchResult, tracker: Any) -> str:
    """One MLflow run: settings as params, pooled medians as metrics, outputs as artifacts."""
    import tempfile

    client = tracker.client()
    run = client.create_run(tracker.experiment_id(), run_name="coatml bench",
                            tags={"coatml.kind": "bench", "coatml.data": "synthetic"})
    rid = run.info.run_id
    cfg = result.config
    for key, value in asdict(cfg).items():
        client.log_param(rid, key, json.dumps(value, default=str)[:500])
    for _, r in result.summary[result.summary["pair"] == "all"].iterrows():
        name = r["strategy"]
        if np.isfinite(r["median_experiments"]):
            client.log_metric(rid, f"{name}.median_experiments_to_target",
                              float(r["median_experiments"]))
        client.log_metric(rid, f"{name}.reached", float(r["reached"]))
        for k in cfg.checkpoints:
            client.log_metric(rid, f"{name}.median_regret_at_{k}",
                              float(r[f"median_regret_at_{k}"]))
    exact = result.random_exact
    if len(exact):
        pooled = exact[exact["pair"] == "all"].iloc[0]
        if np.isfinite(pooled["median_experiments"]):
            client.log_metric(rid, "random_exact.median_experiments_to_target",
                              float(pooled["median_experiments"]))
        client.log_metric(rid, "random_exact.reached", float(pooled["reached_within_budget"]))
    client.log_metric(rid, "seconds", float(result.seconds))
    files = result.files
    if not files:
        files = write_outputs(result, Path(tempfile.mkdtemp(prefix="coatml-bench-")))
        result.files = files
    for path in files.values():
        client.log_artifact(rid, str(path), "bench")
    client.set_terminated(rid)
    return rid
