"""Stage `extract`: the box-score partitions of the configured seasons and dates, plus a manifest."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa

from nba_assets.partitions import season_name, season_start_year, season_type_windows
from nba_assets.schemas import PLAYER_BOXSCORES, TEAM_BOXSCORES, TableSpec
from nba_assets.snapshot.parquet import write_table, write_text
from nba_assets.snapshot.warehouse import Partition, read_days

TABLES = (TEAM_BOXSCORES, PLAYER_BOXSCORES)
MANIFEST = "manifest.json"


def parse_seasons(text: str) -> list[str]:
    """'2024-25' or '2020-21:2024-25' -> every season in the range, in order."""
    parts = [p.strip() for p in text.split(":")]
    if len(parts) not in (1, 2) or not all(parts):
        raise ValueError(f"extract.seasons: not a season or range like '2020-21:2024-25': {text!r}")
    try:
        first, last = season_start_year(parts[0]), season_start_year(parts[-1])
    except ValueError as exc:
        raise ValueError(f"extract.seasons: {exc}") from None
    if first > last:
        raise ValueError(f"extract.seasons: range runs backwards: {text!r}")
    return [season_name(year) for year in range(first, last + 1)]


def snapshot_days(seasons: list[str], start: dt.date, end: dt.date) -> list[dt.date]:
    """Days in [start, end] on which any season type of `seasons` can have games (the calendar's windows)."""
    if end < start:
        raise ValueError(f"extract: empty date range {start}..{end}")
    days: set[dt.date] = set()
    for season in seasons:
        for first, last in season_type_windows(season).values():
            day = max(first, start)
            while day <= min(last, end):
                days.add(day)
                day += dt.timedelta(days=1)
    return sorted(days)


def sort_keys(spec: TableSpec) -> list[tuple[str, str]]:
    return [("game_date", "ascending"), *((k, "ascending") for k in spec.key)]


def extract(warehouse: str, seasons: str, start: str, end: str, out_dir: Path) -> dict:
    """Write one sorted Parquet file per box-score table and the manifest; returns the manifest."""
    season_list = parse_seasons(seasons)
    days = snapshot_days(season_list, dt.date.fromisoformat(start), dt.date.fromisoformat(end))
    manifest: dict = {"seasons": season_list, "start": start, "end": end, "tables": {}}
    for spec in TABLES:
        table, partitions = read_days(warehouse, spec, days)
        table = table.sort_by(sort_keys(spec))
        write_table(table, spec.arrow_schema(), out_dir / f"{spec.name}.parquet")
        manifest["tables"][spec.name] = _table_entry(table, partitions)
    write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", out_dir / MANIFEST)
    return manifest


def _table_entry(table: pa.Table, partitions: list[Partition]) -> dict:
    """Rows and, per partition, its data version (sha256 of the file): no run ids, no times."""
    return {
        "rows": table.num_rows,
        "partitions": {p.day: {"data_version": p.sha256, "rows": p.rows} for p in partitions},
    }
