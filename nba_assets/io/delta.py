"""The warehouse's tables as Delta Lake tables (delta-rs): one commit log says what is published.

Every table is `<warehouse>/<table>/`, a Delta table on local disk or `s3://`. A run replaces
exactly its range (a `game_date` window, a set of seasons, or the whole table) in one commit,
or makes none when its rows equal the published ones. Reads go through delta-rs' QueryBuilder
(DataFusion), never the pyarrow-dataset path: short processes reading through that path abort
at exit now and then (apache/arrow#34314).

Writers, conflicts and S3 (decided here; docs/warehouse.md, "S3"):
- A commit is the creation of `_delta_log/<N>.json`; on S3 delta-rs creates it with a
  conditional PUT (`If-None-Match: *`), so of two writers racing for version N exactly one
  wins. `storage_options` pins that (`AWS_CONDITIONAL_PUT=etag`); nothing here disables it,
  renames unsafely or needs a DynamoDB lock (nba_assets_tests/production/test_s3_warehouse.py
  proves it on moto: the loser's create is answered 412).
- Overlapping writers of one table **queue in the Dagster pool `nba_api`**: every asset that
  replaces rows of a warehouse table (reference tables, schedule, box scores, play-by-play)
  and the maintenance op (optimize, vacuum) run in it, one step at a time by default. They do
  not retry a conflicting commit themselves: a run's audit and its revisions were computed
  against the version it read, so publishing over a newer version would be publishing rows
  nobody audited against it. Writers that still overlap (a raised pool limit, a script) get
  `CommitFailedError` from `replace` naming the table, the range and the version read:
  nothing of the loser is visible, no commit is lost, and re-running it publishes on top of
  the winner. Commits that do not conflict (other days or seasons, appends) are retried
  by delta-rs itself (`max_commit_retries`).
- A commit that fails for any other reason (S3 refusing or dropping the log PUT after the
  data files were uploaded) raises `PublishError`: the table stays at the version read; the
  uploaded files are referenced by no version and go with `vacuum`. If the PUT did land but
  its answer was lost, `replace` finds its commit in the log and returns it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import CommitProperties, DeltaTable, QueryBuilder, write_deltalake
from deltalake.exceptions import CommitFailedError, TableNotFoundError

from nba_assets.partitions import season_of
from nba_assets.schemas import TableSpec

#: Partition column of every dated table: the NBA season of the row's game date, '2018-19'.
SEASON = "season"
#: Per-row provenance: sha256 of the raw response the row was parsed from.
SOURCE_SHA256 = "source_sha256"
#: Commit-info keys written by nba_assets (delta-rs keeps them beside its own in `history`).
META_PREFIX = "nba_assets."
#: Days of versions `vacuum` keeps by default: time travel and rollback reach this far back.
DEFAULT_RETENTION_DAYS = 30


class TableMissingError(LookupError):
    """A table (or the warehouse) that has never been written: named, never read as 0 rows."""


@dataclass(frozen=True)
class Commit:
    """What a write did: the table's version after it, and whether anything was written."""

    uri: str
    version: int
    unchanged: bool
    rows: int
    removed_rows: int = 0
    files_added: int = 0
    files_removed: int = 0

    def as_metadata(self) -> dict[str, Any]:
        return {
            "table_uri": self.uri,
            "delta_version": self.version,
            "commit": "unchanged" if self.unchanged else "committed",
            "rows_in_range": self.rows,
            "rows_replaced": self.removed_rows,
            "files_added": self.files_added,
            "files_removed": self.files_removed,
        }


@dataclass(frozen=True)
class Selection:
    """Which rows of a table a write replaces and a read returns: a date window, seasons, or all."""

    first_day: dt.date | None = None
    last_day: dt.date | None = None
    seasons: tuple[str, ...] = ()

    @classmethod
    def days(cls, first: dt.date, last: dt.date) -> Selection:
        return cls(first, last, tuple(seasons_between(first, last)))

    @classmethod
    def of_seasons(cls, seasons: Iterable[str]) -> Selection:
        return cls(seasons=tuple(sorted(set(seasons))))

    @property
    def everything(self) -> bool:
        return self.first_day is None and not self.seasons

    def sql(self, by_season: bool = True) -> str | None:
        """A predicate delta-rs and DataFusion both accept; None selects every row.

        `by_season`: the table has a `season` column (partition pruning; a season selection).
        """
        parts = []
        if self.seasons and (by_season or self.first_day is None):
            parts.append(f"{SEASON} IN ({', '.join(_quote(s) for s in self.seasons)})")
        if self.first_day is not None and self.last_day is not None:
            parts.append(
                f"game_date >= '{self.first_day.isoformat()}' AND game_date <= '{self.last_day.isoformat()}'"
            )
        return " AND ".join(parts) or None

    def describe(self) -> str:
        if self.first_day is not None:
            return f"{self.first_day}...{self.last_day}"
        return ",".join(self.seasons) if self.seasons else "all"


@dataclass
class Layout:
    """How one table is stored: its partition column (if any) and the order rows are kept in."""

    spec: TableSpec
    partition_by: list[str] = field(default_factory=list)

    @property
    def order(self) -> list[str]:
        first = ["game_date"] if "game_date" in self.spec.names else []
        return [*first, *(k for k in self.spec.key if k not in first)]

    def schema(self) -> pa.Schema:
        """The stored schema: the table's columns, then `season` and `source_sha256` if not there."""
        schema = self.spec.arrow_schema()
        if self.partition_by and SEASON not in schema.names:
            schema = schema.append(pa.field(SEASON, pa.string(), nullable=False))
        return schema.append(pa.field(SOURCE_SHA256, pa.string()))


def layout(spec: TableSpec) -> Layout:
    """Dated tables and the schedule are partitioned by season; reference tables are not."""
    dated = "game_date" in spec.names and spec.name != "schedule"
    return Layout(spec, [SEASON] if dated or SEASON in spec.names else [])


def seasons_between(first: dt.date, last: dt.date) -> list[str]:
    """Every season a game date in [first, last] can belong to."""
    seasons, day = set(), first
    while day <= last:
        seasons.add(season_of(day))
        day += dt.timedelta(days=28)
    seasons.add(season_of(last))
    return sorted(seasons)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# -- where tables live ---------------------------------------------------------------------------


def is_remote(warehouse: str) -> bool:
    return "://" in warehouse and urlsplit(warehouse).scheme not in ("file", "local")


def table_uri(warehouse: str, table: str) -> str:
    """`<warehouse>/<table>`: an absolute local path or an `s3://bucket/prefix/table` URL."""
    if is_remote(warehouse):
        return warehouse.rstrip("/") + "/" + table
    local = warehouse.removeprefix("file://")
    return os.path.join(os.path.abspath(local), table)


def storage_options(uri: str) -> dict[str, str] | None:
    """object_store options for an s3:// table, from the standard AWS variables.

    delta-rs (≥ 1.6) commits to S3 with a conditional PUT of `_delta_log/N.json`
    (`If-None-Match: *`): two writers can never both create version N. The option is set
    explicitly (`etag`) so that an `AWS_CONDITIONAL_PUT=disabled` in the environment cannot turn
    it off (that would make every commit fail); no unsafe-rename or DynamoDB lock is configured
    (delta-rs ignores `AWS_S3_ALLOW_UNSAFE_RENAME` anyway). See "Writers, conflicts and S3"
    above.
    """
    if not is_remote(uri):
        return None
    options: dict[str, str] = {"AWS_CONDITIONAL_PUT": "etag"}
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        options["AWS_ENDPOINT_URL"] = endpoint
        if endpoint.startswith("http://"):
            options["AWS_ALLOW_HTTP"] = "true"
    region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION")
    if region:
        options["AWS_REGION"] = region
    return options


def exists(warehouse: str, table: str) -> bool:
    uri = table_uri(warehouse, table)
    return _current(uri, storage_options(uri)) is not None  # not is_deltatable: it holds the GIL


def open_table(
    warehouse: str,
    table: str,
    version: int | None = None,
    as_of: dt.datetime | str | None = None,
) -> DeltaTable:
    """The table at its current version, at `version`, or as it was at time `as_of`."""
    uri = table_uri(warehouse, table)
    try:
        delta = DeltaTable(uri, version=version, storage_options=storage_options(uri))
    except TableNotFoundError:
        raise TableMissingError(
            f"no table {table!r} in warehouse {warehouse} ({uri} is not a Delta table): "
            "materialize it first, or check NBA_ASSETS_WAREHOUSE"
        ) from None
    except Exception as exc:
        if version is not None and "version" in str(exc).lower():
            raise TableMissingError(f"{table}: no version {version} ({exc})") from None
        raise
    if as_of is not None:
        delta.load_as_version(version_at(delta, table, as_of))
    return delta


def version_at(delta: DeltaTable, table: str, as_of: dt.datetime | str) -> int:
    """The newest version committed at or before `as_of`, by the time each commit records.

    Not delta-rs's own `load_as_version(datetime)`: that goes by the log files' modification
    times, which a plain copy of the warehouse (`cp -r`, a restore from backup) resets.
    """
    when = as_of if isinstance(as_of, dt.datetime) else dt.datetime.fromisoformat(as_of)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    cutoff = when.timestamp() * 1000
    entries = delta.history()  # newest first
    for entry in entries:
        if entry.get("timestamp") is not None and entry["timestamp"] <= cutoff:
            return int(entry["version"])
    first = dt.datetime.fromtimestamp(entries[-1]["timestamp"] / 1000, dt.UTC) if entries else None
    raise TableMissingError(
        f"{table}: no version at or before {when.isoformat()}"
        + (
            f" (its oldest, version {entries[-1]['version']}, was committed at {first.isoformat()})"
            if first
            else ""
        )
    )


# -- reading -------------------------------------------------------------------------------------


def scan(
    delta: DeltaTable,
    columns: Sequence[str] | None = None,
    where: str | None = None,
    order: Sequence[str] = (),
) -> pa.Table:
    """Rows of one loaded version through DataFusion, with plain Arrow types (no views),
    sorted by `order`.

    The sort is ours, not DataFusion's: its ORDER BY held the whole result twice (25 seasons
    of player rows: +720 MB and 1.3 s, against +420 MB and 0.9 s here). The result's batches
    each come from one data file, whose rows our writers keep in the table's order: put in
    order by their first rows, they are usually sorted already (checked), else taken in order.
    """
    names = ", ".join(f'"{c}"' for c in columns) if columns else "*"
    sql = f"SELECT {names} FROM t"
    if where:
        sql += f" WHERE {where}"
    selected = set(columns) if columns else set(table_columns(delta))
    if order and not set(order) <= selected:
        sql += " ORDER BY " + ", ".join(f'"{c}"' for c in order)
        order = ()
    result = QueryBuilder().register("t", delta).execute(sql)
    return in_order(plain_types(pa.table(result.read_all())), order)


def in_order(table: pa.Table, order: Sequence[str]) -> pa.Table:
    """`table` sorted by the columns `order` (ascending, nulls last), copying only if needed."""
    if not order or table.num_rows < 2:
        return table

    def first_key(batch: pa.RecordBatch) -> tuple:
        values = (batch.column(c)[0].as_py() for c in order)
        return tuple((value is None, value) for value in values)

    batches = sorted((b for b in table.to_batches() if b.num_rows), key=first_key)
    table = pa.Table.from_batches(batches, schema=table.schema)
    indices = pc.sort_indices(table.select(list(order)), [(c, "ascending") for c in order])
    return in_runs(table, indices.to_numpy())


def in_runs(table: pa.Table, indices: np.ndarray) -> pa.Table:
    """`table.take(indices)`, as zero-copy slices when the order is a few runs of consecutive
    rows: a season file rewritten from a parallel scan is sorted 8,192-row runs out of order,
    and a copy of a season of play-by-play would cost its size again (~200 MB)."""
    breaks = np.flatnonzero(np.diff(indices) != 1) + 1
    if not len(breaks):
        return table if indices[0] == 0 else table.take(indices)
    if len(breaks) > len(indices) // 1024:
        return table.take(indices)
    starts = indices[np.concatenate([[0], breaks])]
    lengths = np.diff(np.concatenate([[0], breaks, [len(indices)]]))
    slices = [table.slice(int(s), int(n)) for s, n in zip(starts, lengths, strict=True)]
    return pa.concat_tables(slices)


def plain_types(table: pa.Table) -> pa.Table:
    """string_view / large types as the plain ones every other reader of ours expects, nested
    ones included (a list of strings reads back as a list of string_view)."""
    schema = pa.schema([pa.field(f.name, plain_type(f.type), f.nullable) for f in table.schema])
    return table if schema.equals(table.schema) else table.cast(schema)


def plain_type(kind: pa.DataType) -> pa.DataType:
    """`kind` with every view / large string or binary, at any depth, as the plain one."""
    if pa.types.is_string_view(kind) or pa.types.is_large_string(kind):
        return pa.string()
    if pa.types.is_binary_view(kind) or pa.types.is_large_binary(kind):
        return pa.binary()
    if pa.types.is_map(kind):
        return pa.map_(plain_type(kind.key_type), plain_field(kind.item_field))
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_list_view(kind):
        return pa.list_(plain_field(kind.value_field))
    if pa.types.is_struct(kind):
        return pa.struct([plain_field(kind.field(i)) for i in range(kind.num_fields)])
    return kind


def plain_field(field: pa.Field) -> pa.Field:
    return pa.field(field.name, plain_type(field.type), field.nullable)


def read_rows(
    warehouse: str,
    spec: TableSpec,
    selection: Selection | None = None,
    columns: Sequence[str] | None = None,
    version: int | None = None,
) -> pa.Table:
    """One committed version's rows of `selection`, in the table's order.

    A declared column the version does not have (added to the table later, schema merge) reads
    as nulls of its declared type.
    """
    delta = open_table(warehouse, spec.name, version)
    stored = layout(spec)
    order = [c for c in stored.order if columns is None or c in columns]
    where = (selection or Selection()).sql(bool(stored.partition_by))
    present = set(table_columns(delta))
    if columns is None:
        absent = [c for c in stored.schema().names if c not in present]
        rows = scan(delta, None, where, order)
    else:
        absent = [c for c in columns if c not in present]
        rows = scan(delta, [c for c in columns if c in present], where, order)
    types = {f.name: f.type for f in stored.schema()}
    for name in absent:
        if name not in types:
            raise KeyError(f"{spec.name}: no column {name!r} (columns: {sorted(present)})")
        rows = rows.append_column(name, pa.nulls(rows.num_rows, types[name]))
    return rows if columns is None else rows.select(list(columns))


def table_columns(delta: DeltaTable) -> list[str]:
    """The column names of the loaded version's schema."""
    return list(delta.schema().to_arrow().names)


def to_frame(table: pa.Table) -> pd.DataFrame:
    """Arrow to pandas with nullable integers, as every table of the warehouse is typed."""
    return table.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)


# -- writing -------------------------------------------------------------------------------------


def to_stored(spec: TableSpec, frame: pd.DataFrame, source_sha256: str | None = None) -> pa.Table:
    """The frame as the stored Arrow table: declared types, `season`, `source_sha256`, sorted.

    A frame without a `source_sha256` column takes the one given (a table from one response).
    """
    stored = layout(spec)
    data = frame.copy(deep=False)
    data.attrs = {}
    if SOURCE_SHA256 not in data.columns:
        data[SOURCE_SHA256] = source_sha256
    if stored.partition_by and SEASON not in data.columns:
        days = data["game_date"]
        by_day = {day: season_of(day) for day in pd.unique(days)}
        data[SEASON] = days.map(by_day) if len(data) else pd.Series([], dtype=object)
    schema = stored.schema()
    table = pa.Table.from_pandas(
        data[schema.names].reset_index(drop=True), schema=schema, preserve_index=False
    )
    return sort_rows(table, stored.order)


def sort_rows(table: pa.Table, order: Sequence[str]) -> pa.Table:
    if not order or table.num_rows < 2:
        return table
    indices = pc.sort_indices(table, [(c, "ascending") for c in order])
    return table.take(indices)


def replace(
    warehouse: str,
    spec: TableSpec,
    rows: pa.Table,
    selection: Selection,
    metadata: Mapping[str, Any],
) -> Commit:
    """Make `rows` the table's rows for `selection` in one commit, or none if nothing changed.

    The rows must all fall inside `selection` (checked). On a new table the commit creates it,
    partitioned as its layout says. `metadata` goes into the commit (run, step, range, the
    sha256 of every response used), readable through `history`.
    """
    stored = layout(spec)
    _check_inside(spec, rows, selection)
    uri = table_uri(warehouse, spec.name)
    options = storage_options(uri)
    rows = rows.select(stored.schema().names).cast(stored.schema()).combine_chunks()
    predicate_sql = selection.sql(bool(stored.partition_by))
    current, replaced = _current(uri, options), 0
    if current is not None:
        present = set(table_columns(current))
        names = [c for c in stored.schema().names if c in present]
        published = scan(current, names, predicate_sql, [c for c in stored.order if c in present])
        replaced = published.num_rows
        # a declared column the table lacks: the table has to learn it, whatever the rows
        if len(names) == len(stored.schema().names) and _same_rows(published, rows):
            return Commit(uri, current.version(), True, rows.num_rows, removed_rows=replaced)
    commit_id = uuid.uuid4().hex
    properties = CommitProperties(
        custom_metadata={
            **{META_PREFIX + k: _text(v) for k, v in metadata.items()},
            META_PREFIX + "commit_id": commit_id,
            META_PREFIX + "range": selection.describe(),
            META_PREFIX + "rows": str(rows.num_rows),
        },
        max_commit_retries=5,
    )
    try:
        write_deltalake(
            current if current is not None else uri,
            rows,
            mode="overwrite",
            predicate=None if selection.everything else predicate_sql,
            partition_by=stored.partition_by or None,
            schema_mode="merge",
            storage_options=options,
            commit_properties=properties,
        )
    except Exception as exc:
        entry = _landed_anyway(uri, options, commit_id)
        if entry is None:
            raise commit_failure(spec, selection, uri, current, exc) from exc
    else:
        entry = find_commit(DeltaTable(uri, storage_options=options), commit_id)
    record_checksums(uri, options, int(entry["version"]))
    metrics = entry.get("operationMetrics", {})
    return Commit(
        uri,
        int(entry["version"]),
        False,
        rows.num_rows,
        removed_rows=replaced,
        files_added=int(metrics.get("num_added_files", 0) or 0),
        files_removed=int(metrics.get("num_removed_files", 0) or 0),
    )


def record_checksums(uri: str, options: dict[str, str] | None, version: int | None) -> None:
    """The sha256 of the files `version` added, beside the log (`health` verifies them)."""
    from nba_assets.io import checksums

    checksums.record(uri, DeltaTable(uri, version=version, storage_options=options))


class PublishError(RuntimeError):
    """A commit that did not happen: nothing of the run is visible, the table is as it was."""


def _current(uri: str, options: dict[str, str] | None) -> DeltaTable | None:
    """The table's current version, or None if there is no table yet (one log listing)."""
    try:
        return DeltaTable(uri, storage_options=options)
    except TableNotFoundError:
        return None


def _landed_anyway(uri: str, options: dict[str, str] | None, commit_id: str) -> dict | None:
    """Our commit's history entry if it is in the log after all (a lost answer to the PUT)."""
    try:
        return find_commit(DeltaTable(uri, storage_options=options), commit_id, depth=10)
    except Exception:  # no table, commit not there, or the store is still unreachable
        return None


def commit_failure(
    spec: TableSpec, selection: Selection, uri: str, read: DeltaTable | None, exc: Exception
) -> Exception:
    """The error to raise for a commit that did not happen (`exc`, from delta-rs or the store):
    one clear sentence first, the store's own error after it; a conflict stays a conflict.

    `read`: the version the writer read (None: there was no table yet)."""
    base = f"version {read.version()}" if read is not None else "no table yet"
    cause = _plain(str(exc))
    if isinstance(exc, CommitFailedError):
        return CommitFailedError(
            f"{spec.name} {selection.describe()}: another writer committed to {uri} first, "
            f"over rows this run replaces (this run read {base}); nothing of this run was "
            "published. Writers of one table queue in the Dagster pool `nba_api`; rerun the "
            f"run to publish on top of the new version. delta-rs: {cause}"
        )
    return PublishError(
        f"{spec.name} {selection.describe()}: the commit to {uri} did not happen, so nothing "
        f"of this run is visible (the table stays at {base}; any data file it uploaded belongs "
        f"to no version). Rerun the run to publish. Cause: {cause}"
    )


def _plain(message: str) -> str:
    """An object_store error on one line, without its terminal colours."""
    lines = (re.sub(r"\x1b\[[0-9;]*m|↳", "", line).strip() for line in message.splitlines())
    return " / ".join(line for line in lines if line)


def find_commit(delta: DeltaTable, commit_id: str, depth: int = 50) -> dict[str, Any]:
    """Our commit's history entry: the newest version need not be ours with another writer."""
    for entry in delta.history(depth):
        if entry.get(META_PREFIX + "commit_id") == commit_id:
            return entry
    raise RuntimeError(f"{delta.table_uri}: commit {commit_id} not in the last {depth} versions")


def _same_rows(published: pa.Table, rows: pa.Table) -> bool:
    if published.num_rows != rows.num_rows:
        return False
    published = published.select(rows.schema.names)
    try:
        published = published.cast(rows.schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return False
    return published.combine_chunks().equals(rows)


def _check_inside(spec: TableSpec, rows: pa.Table, selection: Selection) -> None:
    """Rows outside the replaced range would be published beside it, never replaced: refuse."""
    if selection.first_day is not None and rows.num_rows:
        days = rows.column("game_date")
        low, high = pc.min(days).as_py(), pc.max(days).as_py()
        if low < selection.first_day or high > selection.last_day:
            raise ValueError(
                f"{spec.name}: rows dated {low}..{high} fall outside the run's range "
                f"{selection.describe()}"
            )
    if selection.seasons and rows.num_rows and SEASON in rows.schema.names:
        outside = set(pc.unique(rows.column(SEASON)).to_pylist()) - set(selection.seasons)
        if outside:
            raise ValueError(
                f"{spec.name}: rows of season(s) {sorted(outside)} outside {selection.describe()}"
            )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


# -- history, rollback, maintenance ---------------------------------------------------------------


def history(warehouse: str, table: str, limit: int | None = None) -> list[dict[str, Any]]:
    """Newest first: version, time, operation, and the run, step and range that wrote it."""
    entries = []
    for entry in open_table(warehouse, table).history(limit):
        ours = {
            k.removeprefix(META_PREFIX): v for k, v in entry.items() if k.startswith(META_PREFIX)
        }
        metrics = entry.get("operationMetrics") or {}
        entries.append(
            {
                "version": int(entry["version"]),
                "timestamp": dt.datetime.fromtimestamp(entry["timestamp"] / 1000, dt.UTC),
                "operation": entry.get("operation", ""),
                "run_id": ours.get("run_id", ""),
                "range": ours.get("range", ""),
                "rows": ours.get("rows", metrics.get("num_added_rows", "")),
                "files_added": metrics.get("num_added_files", ""),
                "files_removed": metrics.get("num_removed_files", ""),
                "meta": ours,
            }
        )
    return entries


#: Operations that rewrite or delete files but never change a table's rows.
MAINTENANCE_OPERATIONS = frozenset({"OPTIMIZE", "VACUUM START", "VACUUM END"})


def last_data_version(warehouse: str, table: str) -> int:
    """The newest version whose rows differ from its predecessor's (maintenance skipped).

    `optimize` and `vacuum` commit versions with the same rows: a pin of `latest` resolves
    here, so compaction alone never makes DVC re-extract a snapshot.
    """
    delta = open_table(warehouse, table)
    for entry in delta.history():
        if entry.get("operation") not in MAINTENANCE_OPERATIONS:
            return int(entry["version"])
    return delta.version()


def restore(warehouse: str, table: str, version: int, metadata: Mapping[str, Any]) -> int:
    """Make version `version`'s rows current again, as a new commit; returns its version."""
    delta = open_table(warehouse, table)
    if not 0 <= version <= delta.version():
        raise TableMissingError(f"{table}: no version {version} (current is {delta.version()})")
    commit_id = uuid.uuid4().hex
    delta.restore(
        version,
        commit_properties=CommitProperties(
            custom_metadata={
                **{META_PREFIX + k: _text(v) for k, v in metadata.items()},
                META_PREFIX + "commit_id": commit_id,
                META_PREFIX + "range": f"restore to version {version}",
            }
        ),
    )
    return int(find_commit(open_table(warehouse, table), commit_id)["version"])


def files_per_partition(delta: DeltaTable) -> dict[str, int]:
    """Data files in the current version, per season (`""` for an unpartitioned table)."""
    actions = pa.table(delta.get_add_actions(flatten=True))
    column = f"partition.{SEASON}"
    if column not in actions.schema.names:
        return {"": actions.num_rows}
    counts: dict[str, int] = {}
    for season in actions.column(column).to_pylist():
        counts[season] = counts.get(season, 0) + 1
    return counts


def compact(warehouse: str, table: str, max_files: int = 1) -> dict[str, Any]:
    """Delta `optimize` for every season holding more than `max_files` data files.

    Compaction rewrites files, never rows: readers see the same rows before and after.
    """
    delta = open_table(warehouse, table)
    crowded = sorted(s for s, n in files_per_partition(delta).items() if n > max_files)
    if not crowded:
        return {"seasons_compacted": [], "delta_version": delta.version()}
    properties = CommitProperties(custom_metadata={META_PREFIX + "range": "optimize"})
    if crowded == [""]:
        metrics = delta.optimize.compact(commit_properties=properties)
    else:
        metrics = delta.optimize.compact(
            partition_filters=[(SEASON, "in", crowded)], commit_properties=properties
        )
    compacted = open_table(warehouse, table)
    uri = table_uri(warehouse, table)
    record_checksums(uri, storage_options(uri), None)
    return {
        "seasons_compacted": crowded,
        "files_removed": metrics.get("numFilesRemoved", 0),
        "files_added": metrics.get("numFilesAdded", 0),
        "delta_version": compacted.version(),
    }


def vacuum(
    warehouse: str,
    table: str,
    retention_days: float = DEFAULT_RETENTION_DAYS,
    dry_run: bool = False,
) -> list[str]:
    """Delete data files no version younger than `retention_days` needs (time travel keeps them)."""
    delta = open_table(warehouse, table)
    return delta.vacuum(
        retention_hours=int(retention_days * 24),
        dry_run=dry_run,
        enforce_retention_duration=False,
    )


def stream(schema: pa.Schema, tables: Iterator[pa.Table]) -> pa.RecordBatchReader:
    """A reader over tables produced one at a time: a long range written in bounded memory."""

    def batches() -> Iterator[pa.RecordBatch]:
        for table in tables:
            yield from table.select(schema.names).cast(schema).to_batches()

    return pa.RecordBatchReader.from_batches(schema, batches())
