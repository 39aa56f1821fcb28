"""A long range's rows staged on local disk a season at a time, then committed in one commit.

For tables too big to hold for a whole run (25 seasons of play-by-play: ~16 M rows, ~5 GB in
Arrow). Rows are added a day at a time, in date order, and spilled to one local Arrow IPC file
per season. As a season closes it is compared, row for row, with the published rows of its
slice of the range, a window of days at a time. `commit` then rewrites only the seasons that
differ: one new Parquet file per season (the season's published rows outside the range, then
the staged ones), all added, and the season's old files removed, in one Delta transaction; or
no commit at all when nothing differs. Nothing is visible before that commit, so a run that
fails its checks and never calls `commit` leaves no trace in the table.

Why not `write_deltalake` with a range predicate (as `delta.replace` does): delta-rs keeps a
writer open per partition until the stream ends, so one call over 25 season partitions grew
to 1.0-1.6 GB (measured, deltalake 1.6.6); writing a season file at a time stays flat. A
published schema that differs from the declared one (a new column) still goes through
`write_deltalake(schema_mode="merge")`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import (
    CommitProperties,
    DeltaTable,
    QueryBuilder,
    Schema,
    Transaction,
    write_deltalake,
)
from deltalake.exceptions import TableNotFoundError
from deltalake.transaction import AddAction, RemoveAction, create_table_with_add_actions

from nba_assets.io.delta import (
    META_PREFIX,
    SEASON,
    Commit,
    Selection,
    find_commit,
    layout,
    record_checksums,
    scan,
    storage_options,
    table_uri,
)
from nba_assets.io.storage import as_upath, is_local
from nba_assets.partitions import season_of
from nba_assets.recovery import process_alive
from nba_assets.schemas import TableSpec

#: Rows per batch (and Parquet row group) written.
_BATCH_ROWS = 65_536
#: About how many rows each comparison window holds: smaller windows kept the compare's peak
#: lower (one season: +245 MB at 16k rows, +388 MB at 64k), at the same speed.
_WINDOW_ROWS = 16_384
_SPILL = pa.ipc.IpcWriteOptions(compression="lz4")
#: Where runs spill, one directory per run named `<table>-<pid>-<random>`.
SPILL_ROOT = Path(tempfile.gettempdir()) / "nba_assets-spill"
#: Delta statistics keep strings up to this length (a longer max could not be truncated safely).
_STAT_CHARS = 32


@dataclass
class StagedSeason:
    """One season's rows of the run, spilled to `path`, and whether they differ from the table's."""

    season: str
    path: Path
    rows: int = 0
    published: int = 0
    changed: bool = True


class StagedRange:
    """The rows of one run over `selection` (a game-date window), staged until `commit`."""

    def __init__(self, warehouse: str, spec: TableSpec, selection: Selection, directory: Path):
        if selection.first_day is None or selection.last_day is None:
            raise ValueError(f"{spec.name}: a staged range needs a game-date window")
        self.spec, self.selection, self.directory = spec, selection, directory
        self.first, self.last = selection.first_day, selection.last_day
        self.schema = layout(spec).schema()
        self.uri = table_uri(warehouse, spec.name)
        self.options = storage_options(self.uri)
        self.current = _current(self.uri, self.options)
        self.seasons: dict[str, StagedSeason] = {}
        self._open: tuple[StagedSeason, pa.RecordBatchStreamWriter] | None = None
        self._last_day: dt.date | None = None

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.seasons.values())

    @property
    def changed(self) -> list[str]:
        return sorted(s.season for s in self.seasons.values() if s.changed)

    # -- staging -------------------------------------------------------------------------------

    def add(self, first: dt.date, last: dt.date, rows: pa.Table) -> None:
        """The stored rows (see `delta.to_stored`) of days `first`..`last`, all of one season,
        after the days added before."""
        self._check_days(first, last, rows)
        self._last_day = last
        season = season_of(first)
        if self._open is None or self._open[0].season != season:
            self._close()
            staged = StagedSeason(season, self.directory / f"{season}.arrows")
            self._open = (staged, pa.ipc.new_stream(str(staged.path), self.schema, options=_SPILL))
        staged, writer = self._open
        writer.write_table(rows.select(self.schema.names).cast(self.schema))
        staged.rows += rows.num_rows

    def _check_days(self, first: dt.date, last: dt.date, rows: pa.Table) -> None:
        """Rows of other days would be published beside the range or out of order: refuse."""
        after = self._last_day or self.first - dt.timedelta(days=1)
        if not after < first <= last <= self.last or season_of(first) != season_of(last):
            raise ValueError(
                f"{self.spec.name}: days {first}...{last} out of order or across seasons "
                f"in {self.first}...{self.last}"
            )
        if rows.num_rows:
            bounds = pc.min_max(rows.column("game_date"))
            low, high = bounds["min"].as_py(), bounds["max"].as_py()
            if low < first or high > last:
                raise ValueError(
                    f"{self.spec.name}: rows dated {low}..{high} staged as {first}...{last}"
                )

    def finish(self) -> None:
        """Close the last season; seasons of the range with no rows staged are compared too."""
        self._close()
        for season in self.selection.seasons:
            if season not in self.seasons:
                staged = StagedSeason(season, self.directory / f"{season}.arrows")
                pa.ipc.new_stream(str(staged.path), self.schema, options=_SPILL).close()
                self.seasons[season] = self._compared(staged)

    def _close(self) -> None:
        if self._open is not None:
            staged, writer = self._open
            writer.close()
            self.seasons[staged.season] = self._compared(staged)
            self._open = None

    # -- comparing with the published rows ------------------------------------------------------

    def _compared(self, staged: StagedSeason) -> StagedSeason:
        if self.current is not None:
            staged.published = self._count(self._slice(staged.season, self.first, self.last))
        staged.changed = not self._equals_published(staged)
        return staged

    def _slice(self, season: str, first: dt.date, last: dt.date) -> str:
        return str(Selection(first, last, (season,)).sql())

    def _count(self, where: str) -> int:
        result = self._query(f"SELECT count(*) AS n FROM t WHERE {where}").read_all()
        return int(result.column("n")[0].as_py())

    def _same_schema(self) -> bool:
        """The published columns and types are the declared ones (nullability aside)."""
        published = pa.schema(self.current.schema().to_arrow())
        return {(f.name, f.type) for f in published} == {(f.name, f.type) for f in self.schema}

    def _equals_published(self, staged: StagedSeason) -> bool:
        """Row for row, in the table's order, a window of days at a time (bounded memory).

        The counts are equal and every staged row's window matches: so no published row of
        the slice lies outside the windows either.
        """
        if self.current is None or not self._same_schema() or staged.published != staged.rows:
            return False
        low = self.first
        with _spilled(staged.path) as spilled:
            for ours in _day_windows(spilled, _WINDOW_ROWS):
                high = ours.column("game_date")[-1].as_py()
                where = self._slice(staged.season, low, high)
                theirs = scan(self.current, self.schema.names, where, layout(self.spec).order)
                if not _same(self.schema, theirs, ours):
                    return False
                low = high + dt.timedelta(days=1)
        return True

    def _query(self, sql: str) -> pa.RecordBatchReader:
        return pa.RecordBatchReader.from_stream(
            QueryBuilder().register("t", self.current).execute(sql)
        )

    # -- committing -----------------------------------------------------------------------------

    def commit(self, metadata: Mapping[str, Any]) -> Commit:
        """Rewrite the changed seasons in one commit, or make none when nothing changed."""
        changed = self.changed
        if self.current is not None and not changed:
            return Commit(self.uri, self.current.version(), True, self.rows)
        commit_id = uuid.uuid4().hex
        properties = self._properties(metadata, commit_id)
        if self.current is not None and not self._same_schema():
            return self._merge_schema(changed, properties, commit_id)
        removes = self._removes(changed) if self.current is not None else []
        adds: list[AddAction] = []
        try:
            for season in changed:
                adds += self._write_season(season)
            self._transact(adds, removes, properties)
        except BaseException:
            if not self._landed(commit_id):  # else only the answer to the commit was lost
                for add in adds:  # written but never committed: leave no orphan behind
                    (as_upath(self.uri) / add.path).unlink(missing_ok=True)
                raise
        return self._committed(commit_id, len(adds), len(removes))

    def _transact(
        self, adds: list[AddAction], removes: list[RemoveAction], properties: CommitProperties
    ) -> None:
        """The one commit: the new files added, the rewritten seasons' old files removed."""
        partition_by = layout(self.spec).partition_by or None
        if self.current is None:
            create_table_with_add_actions(
                self.uri,
                Schema.from_arrow(self.schema),
                adds,
                mode="error",
                partition_by=partition_by,
                storage_options=self.options,
                commit_properties=properties,
            )
        else:
            self.current.create_write_transaction(
                [*adds, *removes],
                mode="append",
                schema=self.schema,
                partition_by=partition_by,
                commit_properties=properties,
            )

    def _landed(self, commit_id: str) -> bool:
        """Whether our commit is in the log after all (an error after the PUT succeeded)."""
        try:
            find_commit(DeltaTable(self.uri, storage_options=self.options), commit_id, depth=10)
        except Exception:  # no table, not there, or the store is still unreachable
            return False
        return True

    def _committed(self, commit_id: str, added: int, removed: int) -> Commit:
        entry = find_commit(DeltaTable(self.uri, storage_options=self.options), commit_id)
        record_checksums(self.uri, self.options, int(entry["version"]))
        replaced = sum(self.seasons[s].published for s in self.changed)
        return Commit(self.uri, int(entry["version"]), False, self.rows, replaced, added, removed)

    def _properties(self, metadata: Mapping[str, Any], commit_id: str) -> CommitProperties:
        custom = {META_PREFIX + k: _text(v) for k, v in metadata.items()}
        custom |= {
            META_PREFIX + "commit_id": commit_id,
            META_PREFIX + "range": self.selection.describe(),
            META_PREFIX + "rows": str(self.rows),
            META_PREFIX + "seasons_rewritten": ",".join(self.changed),
        }
        # one application transaction per rewritten season: two runs that rewrite the same
        # season conflict even where neither removes a file (a season new to the table)
        claims = [Transaction(self._app_id(s), self._claimed(s) + 1) for s in self.changed]
        return CommitProperties(
            custom_metadata=custom, max_commit_retries=5, app_transactions=claims
        )

    def _app_id(self, season: str) -> str:
        return f"nba_assets:{self.spec.name}:{season}"

    def _claimed(self, season: str) -> int:
        """The last claim on `season` in the version staged against (0: none yet)."""
        if self.current is None:
            return 0
        return int(self.current.transaction_version(self._app_id(season)) or 0)

    def _season_rows(self, season: str) -> Iterator[pa.RecordBatch]:
        """The season as it will be: its published rows before the range, ours, those after."""
        yield from self._kept(season, f"game_date < '{self.first.isoformat()}'")
        with _spilled(self.seasons[season].path) as spilled:
            yield from rebatch(self.schema, spilled)
        yield from self._kept(season, f"game_date > '{self.last.isoformat()}'")

    def _kept(self, season: str, when: str) -> Iterator[pa.RecordBatch]:
        if self.current is None:
            return
        names = ", ".join(f'"{c}"' for c in self.schema.names)
        where = f"{SEASON} = '{season}' AND {when}"
        yield from rebatch(self.schema, self._query(f"SELECT {names} FROM t WHERE {where}"))

    def _write_season(self, season: str) -> list[AddAction]:
        """The season's new data file, written a batch at a time (none if it has no rows)."""
        relative = f"{SEASON}={season}/part-00000-{uuid.uuid4()}-c000.snappy.parquet"
        target = as_upath(self.uri) / relative
        columns = pa.schema([f for f in self.schema if f.name != SEASON])
        stats = _Stats()
        if is_local(target):
            target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with target.open("wb") as sink, pq.ParquetWriter(sink, columns) as out:
                for batch in self._season_rows(season):
                    batch = batch.select(columns.names)
                    out.write_batch(batch)
                    stats.add(batch)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        if not stats.rows:
            target.unlink()
            return []
        size = int(target.stat().st_size)
        return [AddAction(relative, size, {SEASON: season}, _now_ms(), True, stats.json())]

    def _removes(self, seasons: list[str]) -> list[RemoveAction]:
        """Every current data file of the rewritten seasons."""
        files = pa.table(self.current.get_add_actions(flatten=True)).to_pylist()
        now = _now_ms()
        return [
            RemoveAction(f["path"], True, now, size=f["size_bytes"], partition_values={SEASON: s})
            for f in files
            if (s := f.get(f"partition.{SEASON}")) in seasons
        ]

    def _merge_schema(self, changed: list[str], properties: CommitProperties, commit_id: str):
        """The published schema differs: let delta-rs evolve it (holds more memory)."""
        reader = pa.RecordBatchReader.from_batches(
            self.schema, (b for s in changed for b in self._staged(s))
        )
        write_deltalake(
            self.current,
            reader,
            mode="overwrite",
            predicate=Selection(self.first, self.last, tuple(changed)).sql(),
            schema_mode="merge",
            storage_options=self.options,
            commit_properties=properties,
        )
        return self._committed(commit_id, 0, 0)

    def _staged(self, season: str) -> Iterator[pa.RecordBatch]:
        with _spilled(self.seasons[season].path) as spilled:
            yield from rebatch(self.schema, spilled)


def _current(uri: str, options: dict[str, str] | None) -> DeltaTable | None:
    """The table's current version, or None before its first commit (not `is_deltatable`,
    which holds the GIL)."""
    try:
        return DeltaTable(uri, storage_options=options)
    except TableNotFoundError:
        return None


def _day_windows(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """The rows in tables of at least `rows` (the last one shorter), split only between days."""
    held: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        if not batch.num_rows:
            continue
        day = batch.column("game_date")[0].as_py()
        if count >= rows and day != held[-1].column("game_date")[-1].as_py():
            yield pa.Table.from_batches(held)
            held, count = [], 0
        held.append(batch)
        count += batch.num_rows
    if held:
        yield pa.Table.from_batches(held)


def rebatch(schema: pa.Schema, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """The same rows cast to `schema`, in batches of `_BATCH_ROWS` (the last one shorter)."""
    held: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        held.append(batch)
        count += batch.num_rows
        while count >= _BATCH_ROWS:
            table = pa.Table.from_batches(held).combine_chunks()
            yield from table.slice(0, _BATCH_ROWS).cast(schema).to_batches()
            rest = table.slice(_BATCH_ROWS)
            held, count = rest.to_batches(), rest.num_rows
    if count:
        yield from pa.Table.from_batches(held).combine_chunks().cast(schema).to_batches()


def _same(schema: pa.Schema, theirs: pa.Table, ours: pa.Table) -> bool:
    if theirs.num_rows != ours.num_rows:
        return False
    try:
        theirs = theirs.select(schema.names).cast(schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return False
    return theirs.combine_chunks().equals(ours.select(schema.names).cast(schema).combine_chunks())


class _Stats:
    """Delta file statistics (numRecords, min/max, null counts), gathered a batch at a time."""

    def __init__(self) -> None:
        self.rows = 0
        self.low: dict[str, Any] = {}
        self.high: dict[str, Any] = {}
        self.nulls: dict[str, int] = {}

    def add(self, batch: pa.RecordBatch) -> None:
        self.rows += batch.num_rows
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            self.nulls[name] = self.nulls.get(name, 0) + column.null_count
            if column.null_count == len(column):
                continue
            bounds = pc.min_max(column)
            low, high = bounds["min"].as_py(), bounds["max"].as_py()
            self.low[name] = low if name not in self.low else min(self.low[name], low)
            self.high[name] = high if name not in self.high else max(self.high[name], high)

    def json(self) -> str:
        return json.dumps(
            {
                "numRecords": self.rows,
                "minValues": _stat_values(self.low),
                "maxValues": _stat_values(self.high),
                "nullCount": self.nulls,
            }
        )


def _stat_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """JSON statistics: dates as ISO text; long strings and NaN left out (unknown to readers)."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, dt.date):
            out[name] = value.isoformat()
        elif not _unknown(value):
            out[name] = value
    return out


def _unknown(value: Any) -> bool:
    too_long = isinstance(value, str) and len(value) > _STAT_CHARS
    return too_long or (isinstance(value, float) and math.isnan(value))


def _now_ms() -> int:
    return int(time.time() * 1000)


@contextmanager
def spill_dir(table: str, root: Path | None = None) -> Iterator[Path]:
    """A fresh local directory for one run's staged rows, removed when the run ends.

    A run killed with SIGKILL never reaches its `finally`: its directory (up to GBs of staged
    play-by-play) is swept by the next run on this host, once its process is gone.
    """
    root = root or SPILL_ROOT
    root.mkdir(parents=True, exist_ok=True)
    sweep_dead_spills(root)
    path = Path(tempfile.mkdtemp(prefix=f"{table}-{os.getpid()}-", dir=root))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def sweep_dead_spills(root: Path) -> list[Path]:
    """Remove the spill directories under `root` whose run's process no longer exists."""
    swept = []
    for path in root.iterdir():
        pid = path.name.rsplit("-", 2)[-2] if path.name.count("-") >= 2 else ""
        if pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            swept.append(path)
    return swept


@contextmanager
def _spilled(path: Path) -> Iterator[pa.RecordBatchStreamReader]:
    with pa.OSFile(str(path)) as source, pa.ipc.open_stream(source) as reader:
        yield reader


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
