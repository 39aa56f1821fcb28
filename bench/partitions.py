"""Game-date partitions with and without the off-season days: lookup costs and Dagster's floor.

Prints, for every calendar day as a partition (the default), Dagster's own `DailyPartitionsDefinition`
with the off days as dated exclusions, and the definition the assets use
(`ExcludedDaysPartitionsDefinition`, the same exclusions): the key count, `has_partition_key`
(mean over a spread of keys), `get_partition_keys` and a 25-season range. With `--floor`, also
times Dagster's no-op floor (`bench/backfill_floor.py`, both box-score twins, one ranged run,
SQLite) over the same 25 seasons with every day a partition and with game days only. With
`--instance`, the bytes one season's floor run with the real check specs writes to the
instance, both ways (Dagster stores the partitions definition in every check row).

    .venv/bin/python bench/partitions.py [--floor] [--instance] [--first A --last B]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg

from nba_assets.partitions import (
    GAME_DATE_START,
    GAME_DATE_TIMEZONE,
    build_game_date_partitions,
    excluded_days,
)

BENCH = Path(__file__).resolve().parent
DAGSTER = str(Path(sys.executable).with_name("dagster"))
FLOOR = "team_boxscores_floor,player_boxscores_floor"


def definitions() -> dict[str, dg.PartitionsDefinition]:
    off = build_game_date_partitions()
    own = dg.DailyPartitionsDefinition(
        start_date=GAME_DATE_START, timezone=GAME_DATE_TIMEZONE, exclusions=off.exclusions
    )
    return {
        "every day (the default)": build_game_date_partitions(exclude_off_days=False),
        "dated exclusions, Dagster's class": own,
        "game days (exclude_off_days=True)": off,
    }


def per_call_ms(call, args: list, repeat: int = 1) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        for arg in args:
            call(arg)
    return (time.perf_counter() - started) / (repeat * len(args)) * 1000


def lookups(first: str, last: str) -> None:
    print(
        "| definition | keys | has_partition_key ms | get_partition_keys ms | 25-season range ms |"
    )
    print("|---|---|---|---|---|")
    for name, partitions in definitions().items():
        keys = partitions.get_partition_keys()
        probe = keys[:: max(1, len(keys) // 300)]
        has = per_call_ms(partitions.has_partition_key, probe)
        every = per_call_ms(lambda p: p.get_partition_keys(), [partitions], repeat=5)
        span = dg.PartitionKeyRange(first, last)
        ranged = per_call_ms(partitions.get_partition_keys_in_range, [span], repeat=3)
        print(f"| {name} | {len(keys):,} | {has:.3f} | {every:.0f} | {ranged:.0f} |")
    days = excluded_days(dt.date.fromisoformat(GAME_DATE_START), dt.date.today())
    print(f"\n{len(days):,} days through today can hold no game (no partitions).")


def floor_run(
    every_day: bool, first: str, last: str, checks: bool = False, kind: str | None = None
) -> tuple[float, int, int]:
    """One no-op ranged run of both twins in a fresh SQLite instance: wall seconds, keys and
    the bytes the instance holds after it."""
    home = Path(tempfile.mkdtemp(prefix="partitions-floor-"))
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "NBA_BENCH_PARTITIONS": kind or ("every-day" if every_day else "game-days"),
        "NBA_BENCH_FLOOR_CHECKS": "1" if checks else "",
    }
    command = [DAGSTER, "asset", "materialize", "-f", str(BENCH / "backfill_floor.py")]
    command += ["--select", FLOOR, "--partition-range", f"{first}...{last}"]
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - started
    size = sum(f.stat().st_size for f in home.rglob("*") if f.is_file())
    shutil.rmtree(home, ignore_errors=True)
    partitions = definitions()[
        "every day (the default)" if every_day else next(reversed(definitions()))
    ]
    keys = len(partitions.get_partition_keys_in_range(dg.PartitionKeyRange(first, last)))
    return wall, keys, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--floor", action="store_true", help="also time Dagster's no-op floor")
    parser.add_argument(
        "--instance", action="store_true", help="instance bytes of one season with checks"
    )
    parser.add_argument("--first", default="2000-10-01", help="first day of the range")
    parser.add_argument("--last", default="2025-06-30", help="last day of the range")
    args = parser.parse_args()
    lookups(args.first, args.last)
    if args.floor:
        print("\n| floor, both no-op twins, one run | partitions | wall s |\n|---|---|---|")
        for every_day in (True, False):
            wall, keys, _ = floor_run(every_day, args.first, args.last)
            label = "every day (the default)" if every_day else "game days only"
            print(f"| {label} | {keys:,} | {wall:.1f} |", flush=True)
    if args.instance:
        print("\n| 2023-10-01..2024-06-30, twins with the real checks | wall s | instance MB |")
        print("|---|---|---|")
        for kind, label in (
            ("every-day", "every day"),
            ("game-days", "game days (dated exclusions)"),
            ("static", "game days (static keys)"),
        ):
            wall, _, size = floor_run(False, "2023-10-01", "2024-06-30", checks=True, kind=kind)
            print(f"| {label} | {wall:.1f} | {size / 1e6:.1f} |", flush=True)


if __name__ == "__main__":
    main()
