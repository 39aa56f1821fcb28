"""Replace a range of a served table from one committed warehouse version: DELETE, then COPY.

One transaction per table and range: a reader on another connection sees the old rows or the
new ones, never a mix or a gap (PostgreSQL's MVCC). Rows go from the Delta scan to one COPY in
PostgreSQL's binary format (`binary.encode`, vectorized), a season and a batch at a time: a
thread scans and encodes the next batches while the connection sends the current one, so the
client's work overlaps the server's instead of alternating with it (two cores: one each).
Memory holds a few encoded batches and about two seasons of Arrow rows whatever the range.
The range's predicate is the warehouse's own (`delta.Selection.sql`), so both stores select
exactly the same rows.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pyarrow as pa
from deltalake import QueryBuilder
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.schema import AddConstraint, CreateIndex, DropIndex

from nba_assets.io import delta
from nba_assets.io.delta import SEASON, Selection
from nba_assets.partitions import season_of, season_start_year
from nba_assets.query import reader
from nba_assets.schemas import TABLES, TableSpec
from nba_assets.serving import binary
from nba_assets.serving.models import MODELS, SERVED, columns

#: Rows per encoded chunk handed to COPY (about 20 MB of play-by-play in binary format).
BATCH_ROWS = 65_536
#: Encoded chunks the scanning thread may hold ahead of the connection.
PREFETCH = 2


@dataclass(frozen=True)
class Load:
    """What one replacement did, and the warehouse version it mirrored."""

    table: str
    selection: Selection
    delta_version: int
    rows: int
    removed: int
    seconds: float
    #: rows per season (or {"all": n}) in the warehouse version and in PostgreSQL after commit
    warehouse_counts: dict[str, int] = field(default_factory=dict)
    served_counts: dict[str, int] = field(default_factory=dict)
    #: of `seconds`, building the key and indexes after a COPY into an empty table
    index_seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    @property
    def mismatched(self) -> dict[str, tuple[int, int]]:
        """Seasons whose counts differ: season -> (warehouse, PostgreSQL)."""
        keys = sorted({*self.warehouse_counts, *self.served_counts})
        return {
            k: (self.warehouse_counts.get(k, 0), self.served_counts.get(k, 0))
            for k in keys
            if self.warehouse_counts.get(k, 0) != self.served_counts.get(k, 0)
        }

    def as_metadata(self) -> dict[str, object]:
        return {
            "range": self.selection.describe(),
            "delta_version": self.delta_version,
            "rows_loaded": self.rows,
            "rows_replaced": self.removed,
            "seconds": round(self.seconds, 3),
            "rows_per_second": round(self.rows_per_second),
            "index_seconds": round(self.index_seconds, 3),
        }


def spec_of(table: str) -> TableSpec:
    if table not in SERVED:
        raise ValueError(f"{table!r} is not served; served tables: {', '.join(SERVED)}")
    return TABLES[table]


def by_season(spec: TableSpec) -> bool:
    return bool(delta.layout(spec).partition_by)


def replace_range(
    engine: Engine,
    table: str,
    selection: Selection,
    *,
    warehouse: str,
    version: int | None = None,
    as_of: dt.datetime | str | None = None,
    truncate: bool = False,
) -> Load:
    """Replace `selection`'s rows of `table` with the warehouse's, in one transaction.

    `truncate` (rebuilds only) empties the whole table instead of deleting the range: faster
    and leaves no dead rows, but readers wait for the commit instead of reading the old rows.
    """
    spec = spec_of(table)
    snapshot = reader.open_snapshot(table, version, as_of, warehouse=warehouse)
    began = time.monotonic()
    seasons = _seasons(snapshot, spec, selection)
    with engine.begin() as connection:
        # writers of one table queue here: two overlapping ranges never interleave
        connection.exec_driver_sql(
            "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"nba_assets.serving.load.{table}",)
        )
        removed = _remove(connection, spec, selection, truncate)
        bulk = _Bulk(empty=truncate or _is_empty(connection, spec))
        with _bulk(connection, spec, bulk):
            batches = _batches(snapshot, spec, _chunks(spec, selection, seasons))
            loaded = _copy(connection, spec, batches, freeze=bulk.empty)
    seconds = time.monotonic() - began
    with engine.connect() as connection:
        served = served_counts(connection, spec, seasons)
    return Load(
        table,
        selection,
        snapshot.version,
        loaded,
        removed,
        seconds,
        warehouse_counts=warehouse_counts(snapshot, spec, seasons),
        served_counts=served,
        index_seconds=bulk.index_seconds,
    )


def _seasons(snapshot: reader.Snapshot, spec: TableSpec, selection: Selection) -> list[str] | None:
    """The seasons a load touches (None: an unpartitioned table); all stored ones for `all`."""
    if not by_season(spec):
        return None
    if selection.seasons:
        return list(selection.seasons)
    return sorted(warehouse_counts(snapshot, spec, None))


def _chunks(
    spec: TableSpec, selection: Selection, seasons: list[str] | None
) -> Iterator[str | None]:
    """One warehouse predicate per season (one season of rows in Arrow at a time)."""
    if seasons is None:
        yield selection.sql(False)
        return
    window = Selection(selection.first_day, selection.last_day).sql(True)
    for season in seasons:
        yield " AND ".join(p for p in (f"{SEASON} = {_quote(season)}", window) if p)


def _remove(connection: Connection, spec: TableSpec, selection: Selection, truncate: bool) -> int:
    name = _ident(spec.name)
    if truncate:
        count = connection.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar_one()
        connection.exec_driver_sql(f"TRUNCATE {name}")
        return int(count)
    where = selection.sql(by_season(spec))
    result = connection.exec_driver_sql(
        f"DELETE FROM {name}" + (f" WHERE {where}" if where else "")
    )
    return int(result.rowcount)


def _is_empty(connection: Connection, spec: TableSpec) -> bool:
    sql = f"SELECT NOT EXISTS (SELECT 1 FROM {_ident(spec.name)})"
    return bool(connection.exec_driver_sql(sql).scalar_one())


@dataclass
class _Bulk:
    """Whether the load goes into an empty table (the bulk path) and what its index builds
    took."""

    empty: bool
    index_seconds: float = 0.0


@contextmanager
def _bulk(connection: Connection, spec: TableSpec, bulk: _Bulk) -> Iterator[None]:
    """Into an empty table, COPY without the key and indexes, then build them once, sorted:
    several times faster than maintaining them row by row. Same transaction, so a reader
    never sees the table without them (it waits on the lock this takes). The COPY may then
    FREEZE its rows: the table is truncated in this transaction, as FREEZE requires (it saves
    each row's later hint-bit write and vacuum; a snapshot older than the commit, in another
    session, sees the new rows instead of none, as after any TRUNCATE)."""
    if not bulk.empty:
        yield
        return
    table = MODELS[spec.name].__table__
    key = table.primary_key
    connection.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
    connection.exec_driver_sql(f"TRUNCATE {_ident(spec.name)}")
    for index in table.indexes:
        connection.execute(DropIndex(index))
    connection.exec_driver_sql(
        f"ALTER TABLE {_ident(spec.name)} DROP CONSTRAINT {_ident(key.name)}"
    )
    yield
    began = time.monotonic()
    connection.execute(AddConstraint(key))
    for index in table.indexes:
        connection.execute(CreateIndex(index))
    bulk.index_seconds = time.monotonic() - began


def _batches(
    snapshot: reader.Snapshot, spec: TableSpec, predicates: Iterable[str | None]
) -> Iterator[pa.RecordBatch]:
    """The rows of each predicate in turn (one season in Arrow at a time), in COPY-sized
    batches."""
    for where in predicates:
        yield from _rows(snapshot, spec, where).to_batches(BATCH_ROWS)


def _rows(snapshot: reader.Snapshot, spec: TableSpec, where: str | None) -> pa.Table:
    """The served columns of the rows `where` selects; columns the version predates are nulls."""
    wanted = columns(spec)
    present = [c for c in wanted if c in snapshot.stored]
    rows = delta.scan(snapshot.table, present, where)  # in file order: PostgreSQL needs none
    types = {f.name: f.type for f in delta.layout(spec).schema()}
    for name in wanted:
        if name not in snapshot.stored:
            rows = rows.append_column(name, pa.nulls(rows.num_rows, types[name]))
    return rows.select(wanted)


def _copy(
    connection: Connection,
    spec: TableSpec,
    batches: Iterable[pa.RecordBatch],
    freeze: bool = False,
) -> int:
    """COPY the batches in, binary format, encoded ahead by a thread; the rows copied."""
    names = ", ".join(_ident(c) for c in columns(spec))
    options = "FORMAT binary, FREEZE" if freeze else "FORMAT binary"
    sql = f"COPY {_ident(spec.name)} ({names}) FROM STDIN WITH ({options})"
    counted = _Counted(batches)
    stream = Prefetched(_encoded(counted), PREFETCH)
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.copy_expert(sql, stream, size=1 << 26)
    except Exception:
        if stream.error is not None:  # psycopg2 reports it as a cancelled COPY: say what broke
            raise stream.error from None
        raise
    finally:
        stream.close()
        cursor.close()
    return counted.rows


class _Counted:
    """Batches passed through, their rows counted (read once COPY has consumed them all)."""

    def __init__(self, batches: Iterable[pa.RecordBatch]) -> None:
        self._batches = batches
        self.rows = 0

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        for batch in self._batches:
            self.rows += batch.num_rows
            yield batch


def _encoded(batches: Iterable[pa.RecordBatch]) -> Iterator[bytes]:
    """The binary COPY stream: header, each batch's rows, trailer."""
    yield binary.HEADER
    for batch in batches:
        if batch.num_rows:
            yield bytes(binary.encode(batch))
    yield binary.TRAILER


class Prefetched(io.RawIOBase):
    """A byte stream whose chunks a thread produces ahead of the reader, at most `depth`.

    Why a thread: psycopg2 sends each chunk with the GIL released, and Arrow scans and encodes
    without it, so the next chunk is made while PostgreSQL digests the last one. An error in
    the producer is raised by `read` (COPY then fails and the transaction rolls back); `close`
    stops the producer if the reader gave up early.
    """

    def __init__(self, chunks: Iterator[bytes], depth: int) -> None:
        self._queue: queue.Queue[bytes | BaseException | None] = queue.Queue(depth)
        self._stop = threading.Event()
        self._chunk, self._offset, self._done = b"", 0, False
        #: what the producer raised, once `read` has raised it
        self.error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._produce, args=(chunks,), name="serving-copy-encoder", daemon=True
        )
        self._thread.start()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._offset >= len(self._chunk) and not self._next():
            return b""
        end = len(self._chunk) if size < 0 else self._offset + size
        piece = self._chunk[self._offset : end]
        self._offset += len(piece)
        return piece

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        super().close()

    def _next(self) -> bool:
        if self._done:
            return False
        item = self._queue.get()
        if isinstance(item, BaseException):
            self._done, self.error = True, item
            raise item
        if item is None:
            self._done = True
            return False
        self._chunk, self._offset = item, 0
        return True

    def _produce(self, chunks: Iterator[bytes]) -> None:
        try:
            for chunk in chunks:
                if not self._put(chunk):
                    return
        except BaseException as exc:  # handed to the reader's thread, raised there
            self._put(exc)
            return
        self._put(None)

    def _put(self, item: bytes | BaseException | None) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False


def warehouse_counts(
    snapshot: reader.Snapshot, spec: TableSpec, seasons: list[str] | None
) -> dict[str, int]:
    """Rows per season of the snapshot (`{"all": n}` for an unpartitioned table)."""
    builder = QueryBuilder().register("t", snapshot.table)
    if not by_season(spec):
        result = pa.table(builder.execute("SELECT count(*) AS n FROM t").read_all())
        return {"all": int(result["n"][0].as_py())}
    where = "" if seasons is None else f" WHERE {SEASON} IN ({_listed(seasons)})"
    sql = f"SELECT {SEASON}, count(*) AS n FROM t{where} GROUP BY {SEASON}"
    result = pa.table(builder.execute(sql).read_all())
    return {
        str(s): int(n)
        for s, n in zip(result[SEASON].to_pylist(), result["n"].to_pylist(), strict=True)
    }


def served_counts(
    connection: Connection, spec: TableSpec, seasons: list[str] | None
) -> dict[str, int]:
    """Rows per season in PostgreSQL, as `warehouse_counts` gives them.

    A dated table's season is counted by its game-date bounds (`season` is a function of
    `game_date`, and the loads copy it from the warehouse): the game_date index answers that,
    mostly from the index alone, where a season filter reads every season's rows.
    """
    name = _ident(spec.name)
    if not by_season(spec):
        return {"all": int(connection.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar_one())}
    if seasons is None:
        result = connection.exec_driver_sql(f"SELECT {SEASON}, count(*) FROM {name} GROUP BY 1")
        return {str(s): int(n) for s, n in result}
    counts = {}
    for season in seasons:
        where = f"{SEASON} = {_quote(season)}"
        if "game_date" in spec.names:
            first, last = season_bounds(season)
            where = f"game_date BETWEEN '{first}' AND '{last}'"
        sql = f"SELECT count(*) FROM {name} WHERE {where}"
        found = int(connection.exec_driver_sql(sql).scalar_one())
        if found:
            counts[season] = found
    return counts


@functools.cache
def season_bounds(season: str) -> tuple[dt.date, dt.date]:
    """The first and last date `season_of` gives to `season` (the calendar's one rule)."""
    year = season_start_year(season)
    days = (dt.date(year, 1, 1) + dt.timedelta(n) for n in range(731))
    mine = [day for day in days if season_of(day) == season]
    return mine[0], mine[-1]


def _listed(values: Iterable[str]) -> str:
    return ", ".join(_quote(v) for v in values) or "NULL"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
