"""`coatml features build|sets|citations`: the feature table of the workspace's records."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from coatml.cli import _common
from coatml.cli._common import console, workspace_option

features_app = typer.Typer(help="Build and inspect feature tables.", no_args_is_help=True)


@features_app.command("build")
def build(
    feature_set: Annotated[str | None, typer.Option(
        help="Feature set name or TOML path (default: the workspace's).")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Output file, .parquet or .csv (default: outputs/features-<set>.parquet).")] = None,
    on_missing: Annotated[str | None, typer.Option(
        help="error (default of the set) or nan: unknown properties become NaN + warning.")]
    = None,
    workspace: workspace_option = None,
) -> None:
    """Featurize every record of the workspace and write the feature table."""
    import time

    from coatml.features.pipeline import RecordFeaturizer

    ws = _common.workspace(workspace)
    with ws.store() as store:
        records = store.to_frame()
    if records.empty:
        _common.fail("the workspace holds no records (`coatml data add FILE.csv`)")
    name = feature_set or ws.config.feature_set
    start = time.perf_counter()
    featurizer = RecordFeaturizer(feature_set=name, on_missing=on_missing).fit(records)
    table = featurizer.transform(records)
    seconds = time.perf_counter() - start
    target = out or ws.outputs_dir / f"features-{featurizer.feature_set_.name}.parquet"
    table.attrs = {}
    frame = table.reset_index()
    if str(target).endswith(".csv"):
        frame.to_csv(target, index=False)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        arrow = pa.Table.from_pandas(frame, preserve_index=False)
        meta = dict(arrow.schema.metadata or {})
        meta[b"coatml.feature_set"] = featurizer.feature_set_.name.encode()
        meta[b"coatml.feature_set_hash"] = str(featurizer.feature_set_hash_).encode()
        pq.write_table(arrow.replace_schema_metadata(meta), target)
    blocks: dict[str, int] = {}
    for col in table.columns:
        key = col.split("__")[0]
        blocks[key] = blocks.get(key, 0) + 1
    console.print(f"{len(table)} records x {table.shape[1]} features in {seconds:.2f} s "
                  f"(feature set {featurizer.feature_set_.name}, hash "
                  f"{str(featurizer.feature_set_hash_)[:12]})")
    console.print("per block: " + ", ".join(f"{k} {v}" for k, v in blocks.items()))
    console.print(f"Wrote {target}")


@features_app.command("sets")
def sets() -> None:
    """The feature sets available (packaged and under ./features)."""
    from coatml.features.featureset import available_feature_sets, load_feature_set

    rows = []
    for name in available_feature_sets():
        fs = load_feature_set(name)
        rows.append({"name": fs.name, "version": fs.version, "hash": fs.hash[:12],
                     "featurizers": ", ".join(fs.composition_featurizers),
                     "roles": ", ".join(fs.roles), "description": fs.description})
    import pandas as pd

    _common.print_frame(pd.DataFrame(rows), title="Feature sets", max_width=60)


@features_app.command("citations")
def citations() -> None:
    """Citations of the featurizers and of every shipped data table."""
    from coatml.features.composition import CompositionFeaturizer
    from coatml.features.physics import physics_citations

    for text in [*CompositionFeaturizer().citations(), *physics_citations()]:
        console.print(f"- {text}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(features_app, name="features")
