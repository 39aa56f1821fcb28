"""Game-date partitions: main's static game-day keys beside Dagster's daily definitions.

Prints, for every calendar day as a partition (the definition before), Dagster's own
`DailyPartitionsDefinition` with the off days as dated exclusions, and main's
`GameDatePartitionsDefinition` (static keys of the days that can hold games): the key count,
`has_partition_key` (mean over a spread of keys), `get_partition_keys` and a 25-season range.
With `--floor`, also times Dagster's no-op floor (`bench/backfill_floor.py`, both box-score
twins, one ranged run, SQLite) over the same 25 seasons with every day a partition and with
main's. With `--instance`, the bytes one season's floor run with the real check specs writes
to the instance, all three ways (Dagster stores a daily definition in every check row).

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
from backfill_floor import alternatives

from nba_assets.partitions import GAME_DATE_START, excluded_days, game_date_partitions

BENCH = Path(__file__).resolve().parent
DAGSTER = str(Path(sys.executable).with_name("dagster"))
FLOOR = "team_boxscores_floor,player_boxscores_floor"


LABELS = {
    "every-day": "every day (before)",
    "exclusions": "dated exclusions, Dagster's class",
    "": "game days, static keys (main)",
}


def definitions() -> dict[str, dg.PartitionsDefinition]:
    """By `NBA_BENCH_PARTITIONS` kind ("" is main's definition)."""
    return {**alternatives(), "": game_date_partitions}


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
    for kind, partitions in definitions().items():
        name = LABELS[kind]
        keys = partitions.get_partition_keys()
        probe = keys[:: max(1, len(keys) // 300)]
        has = per_call_ms(partitions.has_partition_key, probe)
        every = per_call_ms(lambda p: p.get_partition_keys(), [partitions], repeat=5)
        span = dg.PartitionKeyRange(first, last)
        ranged = per_call_ms(partitions.get_partition_keys_in_range, [span], repeat=3)
        print(f"| {name} | {len(keys):,} | {has:.4f} | {every:.3f} | {ranged:.2f} |")
    days = excluded_days(dt.date.fromisoformat(GAME_DATE_START), dt.date.today())
    print(f"\n{len(days):,} days through today can hold no game (no partitions).")


def floor_run(kind: str, first: str, last: str, checks: bool = False) -> tuple[float, int, int]:
    """One no-op ranged run of both twins in a fresh SQLite instance with the `kind` of
    partitions: wall seconds, keys and the bytes the instance holds after it."""
    home = Path(tempfile.mkdtemp(prefix="partitions-floor-"))
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "NBA_BENCH_PARTITIONS": kind,
        "NBA_BENCH_FLOOR_CHECKS": "1" if checks else "",
    }
    command = [DAGSTER, "asset", "materialize", "-f", str(BENCH / "backfill_floor.py")]
    command += ["--select", FLOOR, "--partition-range", f"{first}...{last}"]
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - started
    size = sum(f.stat().st_size for f in home.rglob("*") if f.is_file())
    shutil.rmtree(home, ignore_errors=True)
    span = dg.PartitionKeyRange(first, last)
    return wall, len(definitions()[kind].get_partition_keys_in_range(span)), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--floor", action="store_true", help="also time Dagster's no-op floor")
    parser.add_argument(
        "--instance", action="store_true", help="instance bytes of one season with checks"
    )
    parser.add_argument("--first", default="2000-10-01", help="first day of the range (a key)")
    parser.add_argument("--last", default="2025-06-30", help="last day of the range (a key)")
    args = parser.parse_args()
    lookups(args.first, args.last)
    if args.floor:
        print("\n| floor, both no-op twins, one run | partitions | wall s |\n|---|---|---|")
        for kind in ("every-day", ""):
            wall, keys, _ = floor_run(kind, args.first, args.last)
            print(f"| {LABELS[kind]} | {keys:,} | {wall:.1f} |", flush=True)
    if args.instance:
        print("\n| 2023-10-01..2024-06-30, twins with the real checks | wall s | instance MB |")
        print("|---|---|---|")
        for kind in ("every-day", "exclusions", ""):
            wall, _, size = floor_run(kind, "2023-10-01", "2024-06-30", checks=True)
            print(f"| {LABELS[kind]} | {wall:.1f} | {size / 1e6:.1f} |", flush=True)


if __name__ == "__main__":
    main()
