"""The one Parquet IO manager: UPath-based, so a local directory and s3:// share every line."""

from __future__ import annotations

import functools
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from importlib.metadata import version
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from upath import UPath

from nba_assets.io.datasets import dataset, list_files, merged_provenance, to_frame
from nba_assets.io.storage import as_upath, is_local, write_atomic, write_atomic_many
from nba_assets.schemas import TABLES, TableSpec

#: DataFrame.attrs key under which assets hand the IO manager the requests a frame came from.
PROVENANCE_ATTR = "nba_assets.provenance"
PROVENANCE_KEY = b"nba_assets.provenance"
PARTITION_COLUMN = "game_date"
#: DataFrame.attrs key: the partitions a multi-partition input had no file for.
MISSING_ATTR = "nba_assets.missing_partitions"
_PREVIEW_ROWS = 5
#: Rows converted to Arrow at once when a ranged output is split into daily files.
_CHUNK_ROWS = 50_000
#: Daily files read before their tables are combined into one.
_READ_BATCH = 256


def provenance_for_day(requests: Sequence[Mapping[str, Any]], day: str | None) -> list[dict]:
    """The requests whose date window covers `day` (all of them for an unpartitioned table)."""
    if day is None:
        return [dict(r) for r in requests]
    return [
        dict(r)
        for r in requests
        if r.get("covers") is None or r["covers"][0] <= day <= r["covers"][1]
    ]


def parquet_bytes(spec: TableSpec | None, frame: pd.DataFrame, provenance: list[dict]) -> bytes:
    """Deterministic Parquet bytes: same rows and provenance give the same file."""
    return encode_table(spec, arrow_table(spec, frame), provenance)


def arrow_table(spec: TableSpec | None, frame: pd.DataFrame) -> pa.Table:
    """The frame as Arrow, converted once per output (per-day slices share it: ~6 ms a file saved).

    The frame's `attrs` stay out: pyarrow would copy them into the `pandas` schema metadata,
    so every daily file would carry the whole run's provenance (twice, with the Arrow schema).
    """
    if frame.attrs:
        frame = frame.copy(deep=False)
        frame.attrs = {}
    return pa.Table.from_pandas(
        frame.reset_index(drop=True),
        schema=spec.arrow_schema() if spec else None,
        preserve_index=False,
    )


def encode_table(spec: TableSpec | None, table: pa.Table, provenance: list[dict]) -> bytes:
    """Parquet bytes whose key-value metadata holds this file's own provenance and nothing else run-wide."""
    file_meta = {
        PROVENANCE_KEY: json.dumps(provenance, sort_keys=True).encode(),
        b"nba_assets.table": (spec.name if spec else "").encode(),
        **_version_metadata(),
    }
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **file_meta})
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


@functools.cache
def _version_metadata() -> dict[bytes, bytes]:
    # importlib.metadata scans sys.path on every call: ~10 ms, per file, adds up in a backfill
    return {
        b"nba_assets.version": version("nba_assets").encode(),
        b"nba_api.version": version("nba_api").encode(),
    }


def read_frame(path: UPath) -> pd.DataFrame:
    with path.open("rb") as handle:
        return to_frame(pq.read_table(handle))


def read_frames(paths: Sequence[UPath]) -> pd.DataFrame | None:
    """Many daily files as one frame: Arrow reads, one pandas conversion (None if no files).

    A 25-season audit reads 9,039 team files. One `read_frame` each took 42 s; one Arrow
    dataset scan took 6 s but peaked at 1.3 GB (per-fragment state). Holding every file's
    table until the end grew the heap by ~310 MB for a 42 MB frame (each read's metadata
    scattered among them); combining every `_READ_BATCH` files keeps it to ~50 MB, ~9 s.
    """
    if not paths:
        return None
    batches = []
    for first in range(0, len(paths), _READ_BATCH):
        tables = [_read_bare(path) for path in paths[first : first + _READ_BATCH]]
        batches.append(pa.concat_tables(tables, promote_options="default").combine_chunks())
    return to_frame(pa.concat_tables(batches, promote_options="default").combine_chunks())


def _read_bare(path: UPath) -> pa.Table:
    """One file's rows without its schema metadata (ParquetFile skips read_table's dataset
    set-up: 0.9 ms a small file, not 1.4)."""
    with path.open("rb") as handle:
        return pq.ParquetFile(handle).read().replace_schema_metadata(None)


def read_provenance(path: UPath) -> list[dict]:
    with path.open("rb") as handle:
        meta = pq.read_schema(handle).metadata or {}
    return json.loads(meta.get(PROVENANCE_KEY, b"[]"))


class _ParquetUPathIOManager(dg.UPathIOManager):
    extension = ".parquet"

    def dump_to_path(self, context: dg.OutputContext, obj: pd.DataFrame, path: UPath) -> None:
        day = context.asset_partition_key if _partition_column(context) else None
        self._publish(obj, path, _table_spec(context), day)

    def load_from_path(self, context: dg.InputContext, path: UPath) -> pd.DataFrame:
        return read_frame(path)

    def make_directory(self, path: UPath) -> None:
        """Local directories only: on s3fs `mkdir` creates a missing bucket, and a typo must fail."""
        if is_local(path):
            path.mkdir(parents=True, exist_ok=True)

    def load_input(self, context: dg.InputContext) -> pd.DataFrame | None:
        if context.has_asset_partitions and len(context.asset_partition_keys) > 1:
            return self._load_partitions_at_once(context)
        loaded = super().load_input(context)
        if isinstance(loaded, dict):  # several partitions: one frame, in partition order
            frames = [loaded[k] for k in context.asset_partition_keys if k in loaded]
            return pd.concat(frames, ignore_index=True) if frames else None
        return loaded

    def _load_partitions_at_once(self, context: dg.InputContext) -> pd.DataFrame:
        """Many partitions in one Arrow scan (a season is ~300 days), in partition order.

        Provenance of every file is merged into the frame's attrs; partitions without a file
        are an error unless the input allows them, and are then listed in the frame's attrs.
        """
        paths = self._get_paths_for_partitions(context)
        # one listing per directory, compared as strings (hashing ~300 UPaths is slow)
        listed: dict[str, set[str]] = {}
        present = {}
        for key, path in paths.items():
            parent = str(path.parent)
            if parent not in listed:
                listed[parent] = set(list_files(path.parent, self.extension))
            if path.name in listed[parent]:
                present[key] = path
        missing = [key for key in paths if key not in present]
        allow_missing = (context.definition_metadata or {}).get("allow_missing_partitions", False)
        if missing and not allow_missing:
            raise FileNotFoundError(
                f"{context.asset_key.to_user_string()}: no file for partition(s) {missing[:5]}"
                f"{' ...' if len(missing) > 5 else ''} ({len(missing)} missing)"
            )
        spec = _table_spec(context.upstream_output) if context.upstream_output else None
        found = [present[key] for key in context.asset_partition_keys if key in present]
        if not found:
            frame = spec.empty() if spec else pd.DataFrame()
            frame.attrs.update({PROVENANCE_ATTR: [], MISSING_ATTR: missing})
            return frame
        data = dataset(found, spec.arrow_schema() if spec else None)
        frame = to_frame(data.to_table())
        frame.attrs.update({PROVENANCE_ATTR: merged_provenance(data), MISSING_ATTR: missing})
        return frame

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        """One file per partition in the output, each written only once all rows are placed.

        UPathIOManager refuses one output for many partitions (dagster-io/dagster#14332), so a
        ranged run is split here by the partition column, one file per day (empty days too).
        Partitions that are not a column's values (seasons) get one whole file per key.
        """
        spec = _table_spec(context)
        if not context.has_asset_partitions or not _partition_column(context):
            path = self._whole_file_path(context)
            nbytes = self._publish(obj, path, spec, None)
            context.add_output_metadata(
                {
                    "path": dg.MetadataValue.path(str(path)),
                    "bytes_written": nbytes,
                    **_frame_metadata(spec, obj),
                }
            )
            return
        paths = self._get_paths_for_partitions(context)
        rows_by_day = _rows_by_day(obj, str(_partition_column(context)))
        outside = sorted(set(rows_by_day) - set(paths))
        if outside:
            raise ValueError(
                f"{context.asset_key.to_user_string()}: rows dated {outside[:3]} fall outside the run's partitions {min(paths)}..{max(paths)}"
            )
        # Output metadata lands on every partition's event: nothing run-wide goes there (a
        # 9,000-day run would store it 9,000 times). Per-day facts come from the asset through
        # add_partition_metadata (nba_assets/assets/provenance.py).
        requests = obj.attrs.get(PROVENANCE_ATTR, [])
        for parent in {str(path.parent): path.parent for path in paths.values()}.values():
            self.make_directory(parent)
        files = (
            (paths[key], encode_table(spec, rows, provenance_for_day(requests, key)))
            for key, rows in _day_tables(spec, obj, rows_by_day, list(paths))
        )
        nbytes = write_atomic_many(files)
        context.log.info(
            f"{context.asset_key.to_user_string()}: {len(paths)} files, {len(obj)} rows,"
            f" {nbytes} bytes under {next(iter(paths.values())).parent}"
        )

    def publish_partition(
        self, asset_key: dg.AssetKey, partition_key: str, frame: pd.DataFrame
    ) -> tuple[UPath, int]:
        """Write one partition's file now, where handle_output would: lets an asset stream a
        long range a day at a time instead of handing over every day at once (play_by_play)."""
        path = self._with_extension(self._base_path.joinpath(*asset_key.path, partition_key))
        return path, self._publish(frame, path, TABLES.get(asset_key.path[-1]), partition_key)

    def _whole_file_path(self, context: dg.OutputContext) -> UPath:
        if not context.has_asset_partitions:
            return self._get_path(context)
        paths = self._get_paths_for_partitions(context)
        if len(paths) != 1:
            raise ValueError(
                f"{context.asset_key.to_user_string()}: one output for {len(paths)} partitions "
                "needs a partition column to split by"
            )
        return next(iter(paths.values()))

    def _publish(
        self, frame: pd.DataFrame, path: UPath, spec: TableSpec | None, day: str | None
    ) -> int:
        """Serialize and atomically publish one file; the seam where staging/audit can go."""
        requests = frame.attrs.get(PROVENANCE_ATTR, [])
        data = parquet_bytes(spec, frame.reset_index(drop=True), provenance_for_day(requests, day))
        self.make_directory(path.parent)
        write_atomic(path, data)
        return len(data)


def _rows_by_day(frame: pd.DataFrame, column: str) -> dict[str, np.ndarray]:
    """Each day's row positions, ascending, in one pass over the distinct dates (no per-row key)."""
    if not len(frame):
        return {}
    codes, days = pd.factorize(frame[column], sort=False)
    if (codes < 0).any():
        raise ValueError(f"{int((codes < 0).sum())} rows have no {column}: no partition to land in")
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(days) + 1))
    return {
        day if isinstance(day, str) else day.isoformat(): order[bounds[i] : bounds[i + 1]]
        for i, day in enumerate(days)
    }


def _day_tables(
    spec: TableSpec | None,
    frame: pd.DataFrame,
    rows_by_day: Mapping[str, np.ndarray],
    keys: Sequence[str],
) -> Iterator[tuple[str, pa.Table]]:
    """Each partition's rows as Arrow (empty days too), converted a chunk of days at a time.

    Converting a 25-season player frame at once held a second copy of it (~190 MB) beside the
    frame; per day it would cost a conversion per file. A chunk's days are contiguous, so each
    day is a zero-copy slice of its chunk.
    """
    chunk: list[str] = []
    rows = 0
    for key in keys:
        chunk.append(key)
        rows += len(rows_by_day.get(key, ()))
        if rows >= _CHUNK_ROWS or key == keys[-1]:
            index = [rows_by_day[k] for k in chunk if k in rows_by_day]
            table = arrow_table(spec, frame.iloc[np.concatenate(index) if index else []])
            offset = 0
            for day in chunk:
                size = len(rows_by_day.get(day, ()))
                yield day, table.slice(offset, size)
                offset += size
            chunk, rows = [], 0


def _frame_metadata(spec: TableSpec | None, frame: pd.DataFrame) -> dict[str, Any]:
    preview = frame.head(_PREVIEW_ROWS).to_markdown(index=False) if len(frame) else "(no rows)"
    meta: dict[str, Any] = {
        "dagster/row_count": len(frame),
        "preview": dg.MetadataValue.md(preview),
    }
    if spec is not None:
        meta["dagster/column_schema"] = spec.table_schema()
    return meta


def _partition_column(context: dg.OutputContext) -> str | None:
    """The column whose values are the partition keys; none for partitions like seasons.

    Named in definition metadata; daily (time-window) partitions default to `game_date`.
    """
    if not context.has_asset_partitions:
        return None
    metadata = context.definition_metadata or {}
    if "partition_column" in metadata:
        return str(metadata["partition_column"]) or None
    if isinstance(context.asset_partitions_def, dg.TimeWindowPartitionsDefinition):
        return PARTITION_COLUMN
    return None


def _table_spec(context: dg.OutputContext) -> TableSpec | None:
    """The schema named in definition metadata (`table`), else the one named like the asset."""
    metadata = context.definition_metadata or {}
    return TABLES.get(str(metadata.get("table", context.asset_key.path[-1])))


class ParquetIOManager(dg.ConfigurableIOManagerFactory):
    """Parquet files under `warehouse` (a local path or s3://bucket/prefix), one per partition."""

    warehouse: str = "warehouse"

    def create_io_manager(self, context: dg.InitResourceContext) -> _ParquetUPathIOManager:
        return _ParquetUPathIOManager(base_path=as_upath(self.warehouse))
