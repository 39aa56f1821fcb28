"""Wall time, requests and peak memory of a one-season range run vs. one partition, on the
synthetic league through the real client (default 0.6 s request spacing unless --interval).

    .venv/bin/python bench/range_run.py [--season 2024-25] [--interval 0.6]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import dagster as dg

from nba_assets.assets.boxscores import player_boxscores, team_boxscores
from nba_assets.io import delta
from nba_assets.io.manager import DeltaIOManager
from nba_assets.partitions import season_start_year
from nba_assets.source.client import NbaStatsClient
from nba_assets.source.replay import ReplayServer, SyntheticBackend

RANGE_TAGS = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")


def run(
    assets, server: ReplayServer, warehouse: Path, interval: float, **kwargs
) -> tuple[float, int, int]:
    server.reset()
    resources = {
        "nba": NbaStatsClient(
            base_url=server.url, warehouse=str(warehouse), min_request_interval=interval
        ),
        "io_manager": DeltaIOManager(warehouse=str(warehouse)),
    }
    started = time.perf_counter()
    result = dg.materialize(assets, resources=resources, **kwargs)
    elapsed = time.perf_counter() - started
    assert result.success
    files = sum(
        len(delta.open_table(str(warehouse), asset.key.path[-1]).file_uris()) for asset in assets
    )
    return elapsed, len(server.requests_for()), files


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--season", default="2024-25")
    parser.add_argument("--interval", type=float, default=0.6)
    args = parser.parse_args()
    year = season_start_year(args.season)
    server = ReplayServer(SyntheticBackend(seed=2026, seasons=args.season)).start()
    server.backend.league.respond(
        "commonteamyears", {"LeagueID": "00"}
    )  # warm: generation is not API time
    server.backend.league.season(year)
    whole = {RANGE_TAGS[0]: f"{year}-10-01", RANGE_TAGS[1]: f"{year + 1}-06-30"}
    cases = [
        ("team_boxscores, one partition", [team_boxscores], {"partition_key": f"{year}-11-15"}),
        ("team_boxscores, whole season range", [team_boxscores], {"tags": whole}),
        ("player_boxscores, one partition", [player_boxscores], {"partition_key": f"{year}-11-15"}),
        ("player_boxscores, whole season range", [player_boxscores], {"tags": whole}),
    ]
    print(f"season {args.season}, request interval {args.interval}s")
    for label, assets, kwargs in cases:
        with tempfile.TemporaryDirectory() as tmp:
            elapsed, requests, files = run(assets, server, Path(tmp), args.interval, **kwargs)
        print(f"  {label:<38} {elapsed:7.2f} s  {requests:3d} requests  {files:4d} data files")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS of this process: {peak:.0f} MiB")
    server.stop()


if __name__ == "__main__":
    main()
