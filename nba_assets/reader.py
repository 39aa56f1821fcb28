"""`nba_assets.read` (module `reader`): any history, season files first, newer days after.

Everything downstream (models, exports, checks over history, training snapshots) reads through
here instead of globbing thousands of daily files: a season costs one file when its season
file is current, plus only the days re-materialized or ingested after its last compaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from upath import UPath

from nba_assets.io.datasets import dataset, list_files, to_frame
from nba_assets.io.storage import as_upath
from nba_assets.partitions import season_of, season_start_year
from nba_assets.schemas import PLAY_BY_PLAY, PLAYER_BOXSCORES, TEAM_BOXSCORES, TableSpec

#: Tables with a season layer (`<table>_by_season`), readable through `read`.
READABLE: dict[str, TableSpec] = {
    t.name: t for t in (TEAM_BOXSCORES, PLAYER_BOXSCORES, PLAY_BY_PLAY)
}
SEASON_SUFFIX = "_by_season"
Filters = pc.Expression | Sequence[Any] | None


@dataclass
class ReadPlan:
    """Which files a read touches: season files, and the daily files that supersede them."""

    season_files: list[UPath] = field(default_factory=list)
    daily_files: list[UPath] = field(default_factory=list)
    #: days read from daily files although their season has a season file (newer than it)
    superseded_days: list[dt.date] = field(default_factory=list)


def warehouse_path(warehouse: str | None = None, storage_options: Mapping | None = None) -> UPath:
    """The warehouse as configured (`NBA_ASSETS_WAREHOUSE`) or given, local or s3://."""
    if warehouse is None:
        from nba_assets.settings import Settings

        warehouse = Settings.from_env().warehouse
    if storage_options and "://" in warehouse:
        return UPath(warehouse, **storage_options)
    return as_upath(warehouse)


def plan_read(root: UPath, table: str, seasons: Iterable[str] | None = None) -> ReadPlan:
    """Season files where current, daily files for days written at or after their season file.

    Currency comes from one listing of each directory (modification times), not from opening
    files: a day re-materialized after its season was compacted is newer than the season file.
    """
    daily_dir, season_dir = root / table, root / f"{table}{SEASON_SUFFIX}"
    days = {name.removesuffix(".parquet"): m for name, m in list_files(daily_dir).items()}
    season_files = {name.removesuffix(".parquet"): m for name, m in list_files(season_dir).items()}
    days_by_season: dict[str, dict[str, float]] = {}
    for day, mtime in days.items():
        days_by_season.setdefault(season_of(dt.date.fromisoformat(day)), {})[day] = mtime
    wanted = sorted(set(days_by_season) | set(season_files)) if seasons is None else seasons
    wanted = sorted(wanted, key=season_start_year)  # chronological: season files concatenate sorted
    plan = ReadPlan()
    for season in wanted:
        season_start_year(season)  # a clear error for a malformed season
        own_days = days_by_season.get(season, {})
        compacted = season_files.get(season)
        if compacted is None:
            newer = sorted(own_days)
        else:
            plan.season_files.append(season_dir / f"{season}.parquet")
            newer = sorted(day for day, mtime in own_days.items() if mtime >= compacted)
            plan.superseded_days += [dt.date.fromisoformat(day) for day in newer]
        plan.daily_files += [daily_dir / f"{day}.parquet" for day in newer]
    return plan


def read(
    table: str,
    seasons: Iterable[str] | str | None = None,
    columns: Sequence[str] | None = None,
    filters: Filters = None,
    *,
    warehouse: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Rows of `table` for `seasons` (default: all) as pandas, sorted by game date and key.

    `columns` projects, `filters` (a pyarrow expression or DNF tuples like
    `[("team_id", "=", 1610612747)]`) is pushed down into the Parquet scan. `warehouse` defaults
    to `NBA_ASSETS_WAREHOUSE`; `storage_options` go to fsspec for an s3:// warehouse.
    """
    spec = _spec(table)
    if isinstance(seasons, str):
        seasons = [seasons]
    wanted = list(columns) if columns is not None else spec.names
    unknown = [c for c in wanted if c not in spec.names]
    if unknown:
        raise ValueError(f"{table}: no column(s) {unknown}; columns are {spec.names}")
    order = ["game_date", *spec.key]
    scan_columns = wanted + [c for c in order if c not in wanted]
    expression = _expression(filters)
    plan = plan_read(warehouse_path(warehouse, storage_options), table, seasons)
    parts = []
    if plan.season_files:
        season_filter = expression
        if plan.superseded_days:
            fresh = ~pc.field("game_date").isin(pa.array(plan.superseded_days, pa.date32()))
            season_filter = fresh if expression is None else fresh & expression
        parts.append(_scan(plan.season_files, spec, scan_columns, season_filter))
    if plan.daily_files:
        parts.append(_scan(plan.daily_files, spec, scan_columns, expression))
    if not parts:
        return spec.empty()[wanted]
    combined = pa.concat_tables(parts)
    if plan.daily_files:  # season files alone are sorted already, and listed in season order
        combined = combined.sort_by([(c, "ascending") for c in order])
    return to_frame(combined.select(wanted))


def _scan(
    paths: list[UPath], spec: TableSpec, columns: list[str], expression: pc.Expression | None
) -> pa.Table:
    data: ds.Dataset = dataset(paths, spec.arrow_schema())
    return data.to_table(columns=columns, filter=expression)


def _spec(table: str) -> TableSpec:
    try:
        return READABLE[table]
    except KeyError:
        raise ValueError(f"no readable table {table!r}; readable: {sorted(READABLE)}") from None


def _expression(filters: Filters) -> pc.Expression | None:
    if filters is None or isinstance(filters, pc.Expression):
        return filters
    return pq.filters_to_expression(list(filters)) if len(filters) else None
