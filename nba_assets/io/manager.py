"""The one IO manager: an asset's output replaces exactly its partition range of a Delta table.

A ranged run of daily partitions is one commit (`game_date` in the range), a run of season
partitions one commit (those seasons), an unpartitioned table one commit of all its rows. A
run whose rows equal the published ones makes no commit and says `unchanged`. Every commit
names its run, step, range and the sha256 of every response its rows came from; every
materialization carries the table URI and `delta_version`.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator, Mapping, Sequence
from importlib.metadata import version
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa

from nba_assets.io import delta
from nba_assets.io.memory import release_freed_memory
from nba_assets.io.staging import StagedRange, spill_dir
from nba_assets.partitions import is_game_date_partitioned, season_of
from nba_assets.schemas import TABLES, Column, TableSpec
from nba_assets.source.index import record_confirmed, record_published

#: DataFrame.attrs key under which assets hand over the requests a frame came from.
PROVENANCE_ATTR = "nba_assets.provenance"
#: Input metadata (`dg.AssetIn(metadata=...)`): read only these columns of the upstream table.
COLUMNS_METADATA = "columns"
#: DataFrame.attrs key set by the IO manager after the commit: the `delta.Commit` it made.
_PREVIEW_ROWS = 5


def provenance_for_day(requests: Sequence[Mapping[str, Any]], day: str | None) -> list[dict]:
    """The requests whose date window covers `day` (all of them for an unpartitioned table)."""
    if day is None:
        return [dict(r) for r in requests]
    return [
        dict(r)
        for r in requests
        if r.get("covers") is None or r["covers"][0] <= day <= r["covers"][1]
    ]


def response_hashes(frame: pd.DataFrame) -> list[str]:
    """The sha256 of every response the frame's rows came from (its provenance), sorted."""
    records = frame.attrs.get(PROVENANCE_ATTR, [])
    return sorted({str(r["sha256"]) for r in records if r.get("sha256")})


def selection_for(context: dg.OutputContext | dg.InputContext, spec: TableSpec) -> delta.Selection:
    """The rows a run owns: its game-date window, its seasons, or the whole table."""
    if not context.has_asset_partitions:
        return delta.Selection()
    keys = context.asset_partition_keys
    if is_game_date_partitioned(context.asset_partitions_def):
        return delta.Selection.days(
            dt.date.fromisoformat(min(keys)), dt.date.fromisoformat(max(keys))
        )
    if delta.SEASON in spec.names:
        return delta.Selection.of_seasons(keys)
    raise ValueError(f"{spec.name}: no column to select partitions {keys[:3]} by")


def publish(
    warehouse: str,
    spec: TableSpec,
    frame: pd.DataFrame,
    selection: delta.Selection,
    run: Mapping[str, Any],
) -> delta.Commit:
    """Replace `selection`'s rows with the frame's, recording the run and its responses."""
    hashes = response_hashes(frame)
    sha = hashes[0] if len(hashes) == 1 else None
    metadata = {**run, "responses": hashes, "nba_assets_version": _version()}
    if selection.first_day is not None and delta.layout(spec).partition_by:
        return _publish_by_season(warehouse, spec, frame, selection, metadata, sha)
    rows = delta.to_stored(spec, frame, sha)
    return delta.replace(warehouse, spec, rows, selection, metadata)


def _publish_by_season(
    warehouse: str,
    spec: TableSpec,
    frame: pd.DataFrame,
    selection: delta.Selection,
    metadata: Mapping[str, Any],
    sha: str | None,
) -> delta.Commit:
    """A dated table's range staged a season at a time, then one commit (io/staging.py).

    Only one season's rows are ever in Arrow beside the frame: one `write_deltalake` over
    25 season partitions holds every partition's rows until the end (1.7 GB at 25 seasons
    of both box-score tables, measured), and unchanged seasons are not rewritten.
    """
    days = frame["game_date"]
    if len(frame) and not days.is_monotonic_increasing:
        frame = frame.sort_values(["game_date", *spec.key], kind="stable")
        days = frame["game_date"]
    with spill_dir(spec.name) as spill:
        staged = StagedRange(warehouse, spec, selection, spill)
        for first, last, rows in _season_slices(frame, days):
            staged.add(first, last, delta.to_stored(spec, rows, sha))
            # a season's Arrow copies freed, handed back before the next (io/memory.py)
            release_freed_memory()
        staged.finish()
        try:
            return staged.commit(metadata)
        except Exception as exc:  # one clear sentence (see delta.commit_failure), cause kept
            raise delta.commit_failure(spec, selection, staged.uri, staged.current, exc) from exc


def _season_slices(
    frame: pd.DataFrame, days: pd.Series
) -> Iterator[tuple[dt.date, dt.date, pd.DataFrame]]:
    """The frame's rows (sorted by date) a season at a time, with each slice's first and last day."""
    if not len(frame):
        return
    seasons = days.map({day: season_of(day) for day in pd.unique(days)}).to_numpy()
    changes = np.flatnonzero(seasons[1:] != seasons[:-1]) + 1
    for begin, end in itertools.pairwise([0, *changes.tolist(), len(seasons)]):
        rows = frame.iloc[begin:end]
        yield rows["game_date"].iloc[0], rows["game_date"].iloc[-1], rows


def _version() -> str:
    return version("nba_assets")


def table_spec(
    context: dg.OutputContext | dg.InputContext, frame: pd.DataFrame | None = None
) -> TableSpec:
    """The schema named in definition metadata (`table`), else the one named like the asset;
    for an asset of someone else's (no declared table), one inferred from its frame."""
    metadata = context.definition_metadata or {}
    name = str(metadata.get("table", context.asset_key.path[-1]))
    if name in TABLES:
        return TABLES[name]
    if frame is None:
        return inferred_spec(name, None)
    return inferred_spec(name, frame)


def inferred_spec(name: str, frame: pd.DataFrame | None) -> TableSpec:
    """A table spec for a frame nobody declared: its columns with the kinds pandas gives them."""
    columns = () if frame is None else tuple(Column(c, _kind(frame[c])) for c in frame.columns)
    return TableSpec(name=name, description="", columns=columns, key=())


def _kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_integer_dtype(series):
        return "int"
    if pd.api.types.is_float_dtype(series):
        return "float"
    sample = series.dropna()
    if len(sample) and isinstance(sample.iloc[0], dt.date):
        return "date"
    return "string"


class DeltaIOManager(dg.ConfigurableIOManager):
    """Delta tables under `warehouse` (a local path or s3://bucket/prefix), one per asset."""

    warehouse: str = "warehouse"

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        spec = table_spec(context, obj)
        selection = selection_for(context, spec)
        run = {
            "run_id": context.run_id,
            "step": context.step_key,
            "asset": context.asset_key.to_user_string(),
        }
        commit = publish(self.warehouse, spec, obj, selection, run)
        requests = obj.attrs.get(PROVENANCE_ATTR, [])
        if commit.unchanged:
            record_confirmed(self.warehouse, requests, spec.name, commit.version, context.run_id)
        else:
            record_published(self.warehouse, requests, spec.name, commit.version, context.run_id)
        context.log.info(
            f"{spec.name} {selection.describe()}: "
            + (
                f"unchanged at version {commit.version} ({commit.rows} rows equal the published ones)"
                if commit.unchanged
                else f"version {commit.version}: {commit.rows} rows replace {commit.removed_rows}"
            )
        )
        context.add_output_metadata(
            {**commit.as_metadata(), **_frame_metadata(spec, obj, context.has_asset_partitions)}
        )

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        spec = table_spec(context.upstream_output or context)
        selection = selection_for(context, spec)
        columns = (context.definition_metadata or {}).get(COLUMNS_METADATA) or spec.names
        table = delta.read_rows(self.warehouse, spec, selection, columns or None)
        return table if wants_arrow(context) else delta.to_frame(table)


def wants_arrow(context: dg.InputContext) -> bool:
    """An input annotated `pa.Table` is handed over as read: a season of play-by-play is
    ~150 MB in Arrow and ~450 MB as pandas objects, so its step converts a part at a time."""
    return getattr(context.dagster_type, "typing_type", None) is pa.Table


def _frame_metadata(spec: TableSpec, frame: pd.DataFrame, partitioned: bool) -> dict[str, Any]:
    """Row count and a preview for unpartitioned tables (per-day facts come from the asset)."""
    if partitioned:
        return {}
    preview = frame.head(_PREVIEW_ROWS).to_markdown(index=False) if len(frame) else "(no rows)"
    return {
        "dagster/row_count": len(frame),
        "preview": dg.MetadataValue.md(preview),
        "dagster/column_schema": spec.table_schema(),
    }
