"""Stages `pin` and `extract`: box scores and the schedule of the configured seasons and dates
at pinned versions.

`pin` writes {table: delta_version} (params `extract.versions`: `latest` or a number);
`extract` reads exactly those versions and writes one sorted file per table and a manifest
naming each table's version, rows and rows per day (per season for the schedule): nothing
run-specific, no file hashes. The schedule says which team was at home; a warehouse that
never had one pins it to null, and the features fall back to the box scores' matchups.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from nba_assets.partitions import season_name, season_start_year, season_type_windows
from nba_assets.schemas import PLAYER_BOXSCORES, SCHEDULE, TEAM_BOXSCORES
from nba_assets.snapshot.parquet import write_table, write_text
from nba_assets.snapshot.warehouse import pin, read_pinned, read_pinned_schedule

TABLES = (TEAM_BOXSCORES, PLAYER_BOXSCORES)
#: pinned beside the box scores; null when the warehouse never had it
OPTIONAL_TABLES = (SCHEDULE,)
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


def write_versions(warehouse: str, pins: dict[str, str], out: Path) -> dict[str, int | None]:
    """Resolve every table's pin to a version number (None: an optional table never written)
    and write them as JSON."""
    pinned = (*TABLES, *OPTIONAL_TABLES)
    unknown = sorted(set(pins) - {spec.name for spec in pinned})
    if unknown:
        raise ValueError(f"extract.versions: no snapshot table(s) {unknown}")
    versions = pin(
        warehouse,
        {spec.name: pins.get(spec.name, "latest") for spec in pinned},
        optional={spec.name for spec in OPTIONAL_TABLES},
    )
    write_text(json.dumps(versions, indent=1, sort_keys=True) + "\n", out)
    return versions


def read_versions(path: Path) -> dict[str, int | None]:
    """The pinned versions `write_versions` wrote; every box-score table must be there."""
    versions = json.loads(path.read_text())
    missing = [spec.name for spec in TABLES if not isinstance(versions.get(spec.name), int)]
    if missing:
        raise ValueError(f"{path}: no pinned version for {missing} (run the `pin` stage)")
    return versions


def extract(
    warehouse: str,
    seasons: str,
    start: str,
    end: str,
    versions: dict[str, int | None],
    out_dir: Path,
) -> dict:
    """Write one Parquet file per box-score table and the manifest; returns the manifest.

    Rows come sorted by game date and key (the read API's order), so the bytes depend only on
    the rows of the pinned versions.
    """
    season_list = parse_seasons(seasons)
    days = snapshot_days(season_list, dt.date.fromisoformat(start), dt.date.fromisoformat(end))
    manifest: dict = {"seasons": season_list, "start": start, "end": end, "tables": {}}
    read = [read_pinned(warehouse, spec, versions[spec.name], days) for spec in TABLES]
    for spec, (table, pinned) in zip(TABLES, read, strict=True):
        write_table(table, spec.arrow_schema(), out_dir / f"{spec.name}.parquet")
        manifest["tables"][spec.name] = pinned.as_manifest()
    schedule = SCHEDULE.arrow_schema().empty_table()
    if versions.get(SCHEDULE.name) is not None:
        schedule, pinned = read_pinned_schedule(warehouse, SCHEDULE, versions[SCHEDULE.name], days)
        manifest["tables"][SCHEDULE.name] = pinned.as_manifest()
    write_table(schedule, SCHEDULE.arrow_schema(), out_dir / f"{SCHEDULE.name}.parquet")
    write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", out_dir / MANIFEST)
    return manifest
