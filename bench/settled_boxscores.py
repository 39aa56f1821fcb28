"""Requests and wall time for one synthetic season of both box-score assets: the first backfill,
the settled rerun (answered from the raw archive), and one daily tick of the schedule (yesterday
plus the correction window, inside it: asked again). For each: requests, wall, each table's
Delta version after it and the bytes it added to the tables (a settled rerun: 0 requests, no
commit, 0 bytes). Prints numbers; asserts nothing.

    .venv/bin/python bench/settled_boxscores.py [--season 2024-25] [--tick 2025-01-15]
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import dagster as dg

from nba_assets.assets.boxscores import player_boxscores, team_boxscores
from nba_assets.automation import RANGE_END, RANGE_START, boxscores_range
from nba_assets.io import delta
from nba_assets.io.manager import DeltaIOManager
from nba_assets.partitions import season_start_year, season_type_windows
from nba_assets.source.client import NbaStatsClient
from nba_assets.source.replay import ReplayServer, SyntheticBackend

ASSETS = [team_boxscores, player_boxscores]
TABLES = ("team_boxscores", "player_boxscores")


def table_bytes(warehouse: Path) -> int:
    """Bytes of both tables' directories, data files and log."""
    return sum(f.stat().st_size for t in TABLES for f in (warehouse / t).rglob("*") if f.is_file())


def versions(warehouse: Path) -> str:
    return ", ".join(f"{t} v{delta.open_table(str(warehouse), t).version()}" for t in TABLES)


def run(server: ReplayServer, warehouse: Path, start: str, end: str, today: str = "") -> tuple:
    server.reset()
    config = {"config": {"today": today}} if today else {"config": {}}
    began = time.perf_counter()
    result = dg.materialize(
        ASSETS,
        resources={
            "nba": NbaStatsClient(
                base_url=server.url, warehouse=str(warehouse), min_request_interval=0.0
            ),
            "io_manager": DeltaIOManager(warehouse=str(warehouse)),
        },
        tags={RANGE_START: start, RANGE_END: end},
        run_config={"ops": {"team_boxscores": config, "player_boxscores": config}},
    )
    seconds = time.perf_counter() - began
    assert result.success
    return len(server.requests_for()), seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--season", default="2024-25")
    parser.add_argument("--tick", default="2025-01-15", help="the morning of the daily tick")
    args = parser.parse_args()
    windows = season_type_windows(args.season).values()
    start, end = min(w[0] for w in windows), max(w[1] for w in windows)
    tick = dt.date.fromisoformat(args.tick)
    tick_range = boxscores_range(tick, 7)
    assert tick_range is not None
    server = ReplayServer(SyntheticBackend(seed=2026, seasons=args.season)).start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            warehouse = Path(tmp) / "warehouse"
            print(
                f"synthetic {args.season} (start year {season_start_year(args.season)}), "
                f"both box-score assets, {start}..{end}"
            )
            for label, a, b, today in (
                ("first backfill", start.isoformat(), end.isoformat(), ""),
                ("settled rerun", start.isoformat(), end.isoformat(), ""),
                (f"daily tick {tick}", *tick_range, tick.isoformat()),
            ):
                before = table_bytes(warehouse) if warehouse.exists() else 0
                n, seconds = run(server, warehouse, a, b, today)
                added = table_bytes(warehouse) - before
                print(
                    f"{label:>24}: {a}..{b}  {n:3d} requests  {seconds:7.2f} s wall"
                    f"  {versions(warehouse)}  {added:,} bytes written"
                )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
