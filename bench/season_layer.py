"""The season layer's two benchmark rows: (e) compaction, (f) reads through the read API.

(e) compacts 25 synthetic seasons of both box-score tables from their daily files into season
    files, in a fresh interpreter (its peak RSS is its own), through the same function the
    season assets run.
(f) reads those 25 seasons of both tables through `nba_assets.read` (season files) and straight
    from the daily files, locally and from a moto S3 server on loopback, counting the objects
    fetched per season there.

The daily files are written once (``--data DIR``, reused on later runs) straight from the
synthetic league's bodies through the project's own parsing and Parquet functions, without
Dagster: a Dagster backfill of 25 seasons gives the same files but takes far longer on a shared
machine. The row functions take a prepared warehouse so `bench/backfill.py` can call them.

    python bench/season_layer.py --data /tmp/nba-season-bench           # both rows
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from nba_assets.io.parquet import parquet_bytes, provenance_for_day
from nba_assets.io.storage import as_upath, write_atomic
from nba_assets.parsing import parse_boxscores
from nba_assets.partitions import BOXSCORE_SEASON_TYPES, season_days, season_name, season_start_year
from nba_assets.schemas import PLAYER_BOXSCORES, TEAM_BOXSCORES
from nba_assets.source.synthetic import SyntheticLeague

SEASONS = ("1996-97", "2020-21")  # 25 seasons, the 1999 lockout and the 2020 bubble included
TABLES = {"team_boxscores": (TEAM_BOXSCORES, "T"), "player_boxscores": (PLAYER_BOXSCORES, "P")}


def season_range(first: str, last: str) -> list[str]:
    return [
        season_name(y) for y in range(season_start_year(first), season_start_year(last) + 1)
    ]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate_daily(warehouse: Path, seasons: list[str], seed: int = 2026) -> dict[str, int]:
    """Daily files of both tables for `seasons`, one per day of each season (empty days too)."""
    league = SyntheticLeague(seed, seasons[0], seasons[-1])
    written = {"files": 0, "rows": 0}
    for season in seasons:
        for table, (spec, who) in TABLES.items():
            frames, records = [spec.empty()], []
            for season_type in BOXSCORE_SEASON_TYPES:
                params = {"Season": season, "SeasonType": season_type, "PlayerOrTeam": who}
                body = league.respond("leaguegamelog", params)
                frames.append(parse_boxscores(spec, body))
                days = season_days(season)
                records.append(
                    {"endpoint": "leaguegamelog", "params": params, "covers": [days[0], days[-1]]}
                )
            rows = pd.concat(frames, ignore_index=True)
            by_day = {k: g for k, g in rows.groupby(rows["game_date"].map(str), sort=False)}
            empty = frames[0]  # spec.empty() is slow; one per table and season is enough
            for day in season_days(season):
                frame = by_day.get(day, empty).reset_index(drop=True)
                data = parquet_bytes(spec, frame, provenance_for_day(records, day))
                write_atomic(as_upath(warehouse / table / f"{day}.parquet"), data)
                written["files"] += 1
                written["rows"] += len(frame)
        print(f"  generated {season}", flush=True)
    return written
