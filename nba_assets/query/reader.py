"""`nba_assets.read` (module `reader`): one committed version of any warehouse table.

A read opens the table's Delta log once, at its current version, at `version` or as it was at
`as_of`, and scans that version's files through delta-rs' QueryBuilder (DataFusion): seasons
and DNF filters become SQL, so season partitions and Parquet statistics prune the scan. A
commit landing meanwhile is not seen at all, never half. Everything downstream (models,
exports, `nba-assets sql`, the DVC snapshot) reads through here.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable, QueryBuilder

from nba_assets.io import delta
from nba_assets.io.delta import SEASON, TableMissingError
from nba_assets.partitions import season_start_year
from nba_assets.schemas import TABLES, TableSpec

#: Tables kept beside the published ones, with no declared schema: read with their stored columns.
INTERNAL_TABLES = ("revisions", "raw_responses")
#: Sort columns of a table without a declared key, in this order where present.
_ORDER_HINTS = ("game_date", "delta_version", "fetched_at", "game_id", "team_id", "player_id")
_NAME = re.compile(r"[a-z][a-z0-9_]*")
#: Runs of consecutive rows a sort may reassemble by slicing before it gathers rows instead.
_MAX_RUNS = 1024
_DNF_OPS = {"=": "=", "==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
Filters = pc.Expression | Sequence[Any] | None


class ReadError(ValueError):
    """A read naming something its table does not have: a column, a season, a filter."""


class UnknownTableError(TableMissingError, ValueError):
    """A table name the warehouse has never had and nba_assets does not know."""


def known_tables() -> list[str]:
    """Every table name `read` accepts without looking at the warehouse."""
    return sorted({*TABLES, *INTERNAL_TABLES})


def resolve_warehouse(warehouse: str | None = None) -> str:
    """The warehouse given or configured (`NBA_ASSETS_WAREHOUSE`); a missing local one is named."""
    if warehouse is None:
        from nba_assets.settings import Settings

        warehouse = Settings.from_env().warehouse
    warehouse = str(warehouse)
    if not delta.is_remote(warehouse):
        local = os.path.abspath(warehouse.removeprefix("file://"))
        if not os.path.isdir(local):
            raise TableMissingError(
                f"no warehouse at {local}: materialize something first, "
                "or set NBA_ASSETS_WAREHOUSE (or warehouse=) to an existing one"
            )
    return warehouse


@dataclass(frozen=True)
class Snapshot:
    """One committed version of one table, opened once; every scan of it reads that version."""

    name: str
    table: DeltaTable
    spec: TableSpec | None
    #: every column the version stores, `season` and `source_sha256` included
    stored: tuple[str, ...]

    @property
    def version(self) -> int:
        return self.table.version()

    @property
    def declared(self) -> dict[str, pa.DataType]:
        """The declared columns (and stored extras) with their types; none for internal tables."""
        if self.spec is None:
            return {}
        return {f.name: f.type for f in delta.layout(self.spec).schema()}

    @property
    def readable(self) -> list[str]:
        """Stored columns, then declared ones this version predates (they read as nulls)."""
        return [*self.stored, *(c for c in self.declared if c not in self.stored)]

    @property
    def columns(self) -> list[str]:
        """What a read returns by default: the declared columns, else every stored one."""
        return self.spec.names if self.spec is not None else list(self.stored)

    @property
    def order(self) -> list[str]:
        """game_date and the key where declared, else the columns of `_ORDER_HINTS` present."""
        hints = delta.layout(self.spec).order if self.spec is not None else _ORDER_HINTS
        return [c for c in hints if c in self.stored]


def open_snapshot(
    table: str,
    version: int | None = None,
    as_of: dt.datetime | str | None = None,
    *,
    warehouse: str | None = None,
) -> Snapshot:
    """`table` at its current version, at `version`, or as it was at time `as_of`."""
    if version is not None and as_of is not None:
        raise ReadError(f"{table}: give version or as_of, not both")
    if not isinstance(table, str) or not _NAME.fullmatch(table):
        raise UnknownTableError(f"unknown table {table!r}; tables: {', '.join(known_tables())}")
    root = resolve_warehouse(warehouse)
    if table not in known_tables() and not delta.exists(root, table):
        raise UnknownTableError(
            f"unknown table {table!r}: not a table of nba_assets ({', '.join(known_tables())}) "
            f"and not a Delta table in warehouse {root}"
        )
    when = None if as_of is None else _instant(table, as_of)
    opened = delta.open_table(root, table, _version(table, version), when)
    stored = tuple(delta.table_columns(opened))
    return Snapshot(table, opened, TABLES.get(table), stored)


def _version(table: str, version: Any) -> int | None:
    if version is None:
        return None
    if isinstance(version, bool) or not str(version).isdigit():
        raise ReadError(f"{table}: version must be a number >= 0, not {version!r}")
    return int(version)


def _instant(table: str, as_of: dt.datetime | str) -> dt.datetime:
    """`as_of` as an aware datetime (naive means UTC, as in `delta.open_table`)."""
    try:
        when = as_of if isinstance(as_of, dt.datetime) else dt.datetime.fromisoformat(str(as_of))
    except ValueError:
        raise ReadError(f"{table}: as_of {as_of!r} is not an ISO date/time") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def read_arrow(
    table: str,
    seasons: Iterable[str] | str | None = None,
    columns: Sequence[str] | None = None,
    filters: Filters = None,
    version: int | None = None,
    as_of: dt.datetime | str | None = None,
    *,
    warehouse: str | None = None,
) -> pa.Table:
    """`read` as an Arrow table (plain string types), for callers that write Parquet."""
    return scan_snapshot(
        open_snapshot(table, version, as_of, warehouse=warehouse), seasons, columns, filters
    )


def scan_snapshot(
    snapshot: Snapshot,
    seasons: Iterable[str] | str | None = None,
    columns: Sequence[str] | None = None,
    filters: Filters = None,
) -> pa.Table:
    """Rows of one opened version: seasons and DNF filters in SQL, an Expression in Arrow."""
    wanted = _columns(snapshot, columns)
    where = [w for w in (_season_sql(snapshot, seasons), _dnf_sql(snapshot, filters)) if w]
    expression = filters if isinstance(filters, pc.Expression) else None
    scanned = wanted if expression is None else snapshot.readable
    rows = _select(snapshot, scanned, " AND ".join(where) or None)
    if expression is not None:
        try:
            rows = rows.filter(expression).select(wanted)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
            raise ReadError(f"{snapshot.name}: filter {expression} does not apply: {exc}") from None
    return rows


def read(
    table: str,
    seasons: Iterable[str] | str | None = None,
    columns: Sequence[str] | None = None,
    filters: Filters = None,
    version: int | None = None,
    as_of: dt.datetime | str | None = None,
    *,
    warehouse: str | None = None,
) -> pd.DataFrame:
    """Rows of `table` from one committed version as pandas, sorted by game date and key.

    `seasons` ('2018-19' or a list) prunes season partitions; `columns` projects (declared
    columns by default; `season` and `source_sha256` on request); `filters` is a pyarrow
    expression or DNF tuples like `[("team_id", "=", 1610612747)]`. `version` or `as_of`
    (a datetime or ISO string) travel back in time. `warehouse` defaults to
    `NBA_ASSETS_WAREHOUSE`, a local path or `s3://bucket/prefix`. An unknown table, column or
    season, or a missing warehouse, table or version, raises an error naming it.
    """
    return delta.to_frame(
        read_arrow(table, seasons, columns, filters, version, as_of, warehouse=warehouse)
    )


def _select(snapshot: Snapshot, columns: Sequence[str], where: str | None) -> pa.Table:
    """`SELECT columns WHERE where` on the opened version, sorted by game date and key.

    A declared column the version predates (the table learned it later) reads as nulls.
    """
    order = snapshot.order
    scanned = [*columns, *(c for c in order if c not in columns)]
    rows = in_order(_query(snapshot, [c for c in scanned if c in snapshot.stored], where), order)
    for name in columns:
        if name not in snapshot.stored:
            rows = rows.append_column(name, pa.nulls(rows.num_rows, snapshot.declared[name]))
    return rows.select(list(columns))


def _query(snapshot: Snapshot, columns: Sequence[str], where: str | None) -> pa.Table:
    names = ", ".join(_quoted(c) for c in columns) if columns else "1 AS _none"
    sql = f"SELECT {names} FROM t" + (f" WHERE {where}" if where else "")
    result = pa.table(QueryBuilder().register("t", snapshot.table).execute(sql).read_all())
    return plain_types(result if columns else result.drop_columns(["_none"]))


def plain_types(table: pa.Table) -> pa.Table:
    """DataFusion's string/binary views (nested ones too) as the plain types pandas converts."""
    schema = pa.schema([f.with_type(_plain(f.type)) for f in table.schema])
    return table if schema.equals(table.schema) else table.cast(schema)


def _plain(kind: pa.DataType) -> pa.DataType:
    if pa.types.is_string_view(kind) or pa.types.is_large_string(kind):
        return pa.string()
    if pa.types.is_binary_view(kind) or pa.types.is_large_binary(kind):
        return pa.binary()
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_list_view(kind):
        return pa.list_(kind.value_field.with_type(_plain(kind.value_type)))
    if pa.types.is_struct(kind):
        return pa.struct([f.with_type(_plain(f.type)) for f in kind.fields])
    return kind


def in_order(rows: pa.Table, order: Sequence[str]) -> pa.Table:
    """`rows` sorted by `order`, reassembled from zero-copy slices where they come in runs.

    Every data file is written sorted, so a scan returns a few long runs in some order:
    sorting only the keys (tens of ms for 600k rows) and slicing the runs into place avoids
    gathering every column row by row (the bulk of a sort's cost). Scattered rows are gathered.
    """
    if rows.num_rows < 2 or not order:
        return rows
    indices = pc.sort_indices(rows.select(list(order)), [(c, "ascending") for c in order])
    positions = indices.to_numpy().astype(np.int64)
    starts = (np.flatnonzero(np.diff(positions) != 1) + 1).tolist()
    if len(starts) > max(_MAX_RUNS, rows.num_rows // 256):
        return rows.take(indices)
    bounds = [0, *starts, len(positions)]
    pieces = [rows.slice(int(positions[a]), b - a) for a, b in pairwise(bounds)]
    return pa.concat_tables(pieces)


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _columns(snapshot: Snapshot, columns: Sequence[str] | None) -> list[str]:
    if isinstance(columns, str):
        columns = [columns]
    wanted = list(columns) if columns is not None else snapshot.columns
    _require(snapshot, wanted)
    return wanted


def _require(snapshot: Snapshot, names: Iterable[str], stored: bool = False) -> None:
    """Every name is a column of the table (`stored`: of this very version, for filters)."""
    known = snapshot.stored if stored else snapshot.readable
    unknown = [c for c in names if c not in known]
    if unknown:
        raise ReadError(
            f"{snapshot.name}: no column(s) {unknown} in version {snapshot.version}; "
            f"columns are {list(known)}"
        )


def _season_sql(snapshot: Snapshot, seasons: Iterable[str] | str | None) -> str | None:
    if seasons is None:
        return None
    chosen = [seasons] if isinstance(seasons, str) else list(seasons)
    if SEASON not in snapshot.stored:
        raise ReadError(f"{snapshot.name} has no seasons: read it without seasons=")
    for season in chosen:
        try:
            season_start_year(season)
        except (ValueError, TypeError) as exc:
            raise ReadError(f"{snapshot.name}: {exc}") from None
    if not chosen:
        return "FALSE"
    return f"{SEASON} IN ({', '.join(_literal(s) for s in sorted(set(chosen)))})"


def _dnf_sql(snapshot: Snapshot, filters: Filters) -> str | None:
    """DNF tuples as SQL: a list of (column, op, value) ANDed, or a list of such lists ORed."""
    if filters is None or isinstance(filters, pc.Expression) or not len(filters):
        return None
    groups = [filters] if isinstance(filters[0], tuple) else list(filters)
    clauses = []
    for group in groups:
        terms = [_term(snapshot, term) for term in group]
        clauses.append("(" + " AND ".join(terms or ["TRUE"]) + ")")
    return "(" + " OR ".join(clauses) + ")"


def _term(snapshot: Snapshot, term: Any) -> str:
    if not isinstance(term, (tuple, list)) or len(term) != 3:
        raise ReadError(f"{snapshot.name}: a filter is (column, op, value), not {term!r}")
    column, op, value = term
    _require(snapshot, [column], stored=True)
    name, op = _quoted(column), str(op).lower()
    if op in ("in", "not in"):
        values = list(value)
        if not values:
            return "FALSE" if op == "in" else "TRUE"
        listed = ", ".join(_literal(v) for v in values)
        return f"{name} {'IN' if op == 'in' else 'NOT IN'} ({listed})"
    if op not in _DNF_OPS:
        raise ReadError(
            f"{snapshot.name}: filter operator {op!r} is not one of {sorted(_DNF_OPS)}, in, not in"
        )
    if value is None and _DNF_OPS[op] in ("=", "<>"):
        return f"{name} IS {'NOT ' if _DNF_OPS[op] == '<>' else ''}NULL"
    return f"{name} {_DNF_OPS[op]} {_literal(value)}"


def _literal(value: Any) -> str:
    """A Python value as a DataFusion SQL literal."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    if isinstance(value, dt.datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if hasattr(value, "item"):  # numpy / pandas scalars
        return _literal(value.item())
    raise ReadError(f"cannot filter on {value!r} ({type(value).__name__})")
