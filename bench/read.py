"""Read API and daily-tick benchmarks over 25 synthetic seasons of player_boxscores (Delta).

Builds the table once in a temporary (or given) warehouse from the synthetic league's own
LeagueGameLog bodies, parsed by the project's parser and committed by the store (one commit per
season, about 640k rows), then prints wall times of

- `nba_assets.read("player_boxscores")`, all 25 seasons to pandas (target <= 1 s), in this
  process (first call and best of N) and in a fresh one (its imports timed apart: importing
  nba_assets.query.reader imports Dagster through the schemas);
- one daily tick's commit: `delta.replace` of one day's rows (one value corrected, so a real
  commit) in one season (target <= 1 s);
- the read again after that tick and after compacting (Delta `optimize`) the season it touched:
  files are no longer each one sorted run, so the read's sort has more runs to place.

    python bench/read.py                        # 1996-97:2020-21 into a temporary warehouse
    python bench/read.py --data /tmp/nba-read   # keep (and reuse) the warehouse
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

import nba_assets
from nba_assets.io import delta
from nba_assets.partitions import BOXSCORE_SEASON_TYPES, season_name, season_start_year
from nba_assets.schemas import PLAYER_BOXSCORES
from nba_assets.source.parsing import parse_boxscores
from nba_assets.source.synthetic import SyntheticLeague

SEASONS = "1996-97:2020-21"
TABLE = PLAYER_BOXSCORES.name


def season_list(text: str) -> list[str]:
    first, _, last = text.partition(":")
    years = range(season_start_year(first), season_start_year(last or first) + 1)
    return [season_name(y) for y in years]


def season_rows(league: SyntheticLeague, season: str) -> pd.DataFrame:
    """Every player line of one season, parsed as the asset parses LeagueGameLog."""
    frames = [PLAYER_BOXSCORES.empty()]
    for season_type in BOXSCORE_SEASON_TYPES:
        params = {"Season": season, "SeasonType": season_type, "PlayerOrTeam": "P"}
        frames.append(parse_boxscores(PLAYER_BOXSCORES, league.respond("leaguegamelog", params)))
    return pd.concat(frames, ignore_index=True)


def build(warehouse: str, seasons: list[str], seed: int = 2026) -> int:
    """One commit per season; returns the rows written."""
    league = SyntheticLeague(seed, seasons[0], seasons[-1])
    rows = 0
    for season in seasons:
        stored = delta.to_stored(PLAYER_BOXSCORES, season_rows(league, season), "0" * 64)
        selection = delta.Selection.of_seasons([season])
        delta.replace(warehouse, PLAYER_BOXSCORES, stored, selection, {"run_id": "bench"})
        rows += stored.num_rows
        print(f"  {season}: {stored.num_rows} rows", flush=True)
    return rows


def time_read(warehouse: str, repeat: int) -> dict[str, float | int]:
    """Wall seconds of reading every season to pandas (first call, best of `repeat`) and the
    CPU seconds of the best one (all threads: on a busy machine, a hint of the idle wall)."""
    times, rows = [], 0
    for _ in range(repeat):
        began, cpu = time.perf_counter(), time.process_time()
        rows = len(nba_assets.read(TABLE, warehouse=warehouse))
        times.append((time.perf_counter() - began, time.process_time() - cpu))
    best = min(times)
    return {
        "rows": rows,
        "first_s": round(times[0][0], 3),
        "best_s": round(best[0], 3),
        "best_cpu_s": round(best[1], 3),
    }


def time_read_fresh_process(warehouse: str) -> dict[str, float]:
    """The same read in a new interpreter, as a short script does it: imports, then the read."""
    code = (
        "import time; b = time.perf_counter(); import nba_assets.query.reader as r; "
        "m = time.perf_counter(); "
        f"r.read({TABLE!r}, warehouse={warehouse!r}); "
        "print(m - b, time.perf_counter() - m)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    imports, read = (float(x) for x in out.stdout.split())
    return {"import_s": round(imports, 3), "read_s": round(read, 3)}


def time_tick(warehouse: str, day: dt.date) -> dict[str, float | int]:
    """One day's rows replaced (one pts corrected): the store's commit of a daily run."""
    frame = nba_assets.read(TABLE, filters=[("game_date", "=", day)], warehouse=warehouse)
    frame.loc[0, "pts"] = frame.loc[0, "pts"] + 1
    began = time.perf_counter()
    stored = delta.to_stored(PLAYER_BOXSCORES, frame, "1" * 64)
    commit = delta.replace(
        warehouse, PLAYER_BOXSCORES, stored, delta.Selection.days(day, day), {"run_id": "tick"}
    )
    seconds = time.perf_counter() - began
    assert not commit.unchanged
    return {
        "day": str(day),
        "rows": len(frame),
        "commit_s": round(seconds, 3),
        "version": commit.version,
    }


def last_game_day(warehouse: str, season: str) -> dt.date:
    days = nba_assets.read(TABLE, season, ["game_date"], warehouse=warehouse)["game_date"]
    return max(days)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seasons", default=SEASONS)
    parser.add_argument("--data", default="", help="warehouse to build or reuse (default: temp)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    seasons = season_list(args.seasons)
    with tempfile.TemporaryDirectory(prefix="nba-read-bench-") as tmp:
        warehouse = str(Path(args.data or tmp) / "warehouse")
        if not delta.exists(warehouse, TABLE):
            began = time.perf_counter()
            rows = build(warehouse, seasons)
            print(f"built {rows} rows in {time.perf_counter() - began:.1f} s", flush=True)
        files = sum(delta.files_per_partition(delta.open_table(warehouse, TABLE)).values())
        result = {
            "seasons": len(seasons),
            "data_files": files,
            "read": time_read(warehouse, args.repeat),
            "read_fresh_process": time_read_fresh_process(warehouse),
            "tick": time_tick(warehouse, last_game_day(warehouse, seasons[-1])),
        }
        result["read_after_tick"] = time_read(warehouse, args.repeat)
        result["compaction"] = delta.compact(warehouse, TABLE)
        result["read_after_compaction"] = time_read(warehouse, args.repeat)
        result["load_average"] = [round(x, 2) for x in os.getloadavg()]
        print(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
