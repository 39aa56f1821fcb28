"""play_by_play at scale, actually run: N synthetic seasons fetched through the replay server
at request interval 0, then re-derived from the raw archive, then rerun unchanged. Prints
games/s and peak RSS of each pass; asserts nothing.

    .venv/bin/python bench/play_by_play.py [--seasons 25] [--last-season 2025-26] [--killed]

Each pass is its own process (`dg.materialize`, in-process executor, one ranged run, a SQLite
instance), so its peak RSS is its own; the synthetic league is served by `nba-assets
replay-server` in another.
  fetch     every game requested from the server (interval 0), staged, checked, committed;
  rederive  the table removed, every game read back from the archive (0 requests), committed;
  rerun     the same again on the published table: compared row for row, no commit.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from phases import run_phase

SEED = 7
BIN = Path(sys.executable).parent
#: The short range of the killed-rerun phase (one week of 2024-25).
KILLED_START, KILLED_END = dt.date(2024, 10, 22), dt.date(2024, 10, 28)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _season_range(last: str, seasons: int) -> str:
    from nba_assets.partitions import season_name
    from nba_assets.source.synthetic import season_start

    return f"{season_name(season_start(last) - seasons + 1)}:{last}"


def _game_days(seasons: str) -> tuple[dt.date, dt.date, int]:
    """First and last game day of the synthetic seasons, and their number of games."""
    from nba_assets.source.synthetic import SyntheticLeague, parse_season_range, season_start

    first, last = parse_season_range(seasons)
    league = SyntheticLeague(seed=SEED, first_season=first, last_season=last)
    games = [
        g
        for y in range(season_start(first), season_start(last) + 1)
        for g in league.season(y).games
    ]
    return min(g.day for g in games), max(g.day for g in games), len(games)


_SERVE = [str(BIN / "nba-assets"), "replay-server", "--synthetic", "--quiet"]


class Server:
    """`nba-assets replay-server --synthetic` in its own process (its CPU is not the run's)."""

    def __init__(self, seasons: str) -> None:
        self.proc = subprocess.Popen(
            [*_SERVE, "--seed", str(SEED), "--seasons", seasons],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.url = self.proc.stdout.readline().strip()

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=30)


def _resources(base_url: str, warehouse: Path) -> dict:
    from nba_assets.io.manager import DeltaIOManager
    from nba_assets.source.client import NbaStatsClient

    nba = NbaStatsClient(base_url=base_url, warehouse=str(warehouse), min_request_interval=0.0)
    return {"nba": nba, "io_manager": DeltaIOManager(warehouse=str(warehouse))}


def _tags(start: dt.date, end: dt.date) -> dict[str, str]:
    return {
        "dagster/asset_partition_range_start": start.isoformat(),
        "dagster/asset_partition_range_end": end.isoformat(),
    }


def phase_boxscores(url: str, warehouse: Path, start: dt.date, end: dt.date) -> dict:
    """team_boxscores for the range (the input of play_by_play), into the warehouse."""
    import dagster as dg

    from nba_assets.assets.boxscores import team_boxscores

    began = time.perf_counter()
    ok = dg.materialize(
        [team_boxscores], resources=_resources(url, warehouse), tags=_tags(start, end)
    ).success
    return {"ok": ok, "wall": time.perf_counter() - began}


def phase_play_by_play(url: str, warehouse: Path, start: dt.date, end: dt.date) -> dict:
    """One ranged play_by_play run: wall, CPU, peak RSS and the materialization's facts."""
    import dagster as dg

    from nba_assets.assets.boxscores import team_boxscores
    from nba_assets.assets.play_by_play import play_by_play

    began, cpu = time.perf_counter(), time.process_time()
    with tempfile.TemporaryDirectory() as home, dg.DagsterInstance.local_temp(home) as instance:
        result = dg.materialize(
            [play_by_play, team_boxscores.to_source_asset()],
            resources=_resources(url, warehouse),
            tags=_tags(start, end),
            instance=instance,
            raise_on_error=False,
        )
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    if not result.success:
        raise SystemExit("play_by_play run failed")
    event = result.asset_materializations_for_node("play_by_play")[0]
    meta = {k: getattr(v, "value", v) for k, v in event.metadata.items()}
    keys = ("games_in_run", "games_from_archive", "rows_in_run", "api_requests", "commit")
    return {
        "wall": wall,
        "cpu": cpu,
        "peak_rss_mb": _peak_rss_mb(),
        **{k: meta.get(k) for k in (*keys, "delta_version", "files_added")},
        "table": _table_facts(warehouse),
    }


def _table_facts(warehouse: Path) -> dict:
    from nba_assets.io.delta import files_per_partition, open_table

    table = open_table(str(warehouse), "play_by_play")
    files = files_per_partition(table)
    size = sum(p.stat().st_size for p in (warehouse / "play_by_play").rglob("*.parquet"))
    return {"seasons": len(files), "max_files_per_season": max(files.values()), "mb": size / 2**20}


def _child(phase: str, *args: str) -> dict:
    return run_phase(__file__, phase, *args)


def _print_pass(label: str, run: dict) -> None:
    games = run["games_in_run"]
    table = run["table"]
    print(
        f"{label}: {games:,} games ({run['games_from_archive']:,} from the archive, "
        f"{run['api_requests']} requests), {run['rows_in_run']:,} rows in {run['wall']:.0f}s wall "
        f"= {games / run['wall']:.1f} games/s ({games / run['cpu']:.1f} per CPU-s); "
        f"peak RSS {run['peak_rss_mb']:.0f} MB; commit {run['commit']} "
        f"(version {run['delta_version']}); table {table['seasons']} seasons, "
        f"<= {table['max_files_per_season']} files/season, {table['mb']:.0f} MB",
        flush=True,
    )


def full_run(seasons: str, tmp: Path, rerun: bool) -> None:
    start, end, games = _game_days(seasons)
    print(f"{seasons}: {games:,} games, {start}..{end}", flush=True)
    warehouse = tmp / "warehouse"
    span = ["--warehouse", str(warehouse), "--start", start.isoformat(), "--end", end.isoformat()]
    server = Server(seasons)
    try:
        box = _child("boxscores", "--url", server.url, *span)
        print(f"team_boxscores: {box['wall']:.0f}s", flush=True)
        _print_pass("fetch (replay, interval 0)", _child("pbp", "--url", server.url, *span))
    finally:
        server.stop()
    dead = "http://127.0.0.1:9/stats"  # nothing listens: any request would fail the run
    shutil.rmtree(warehouse / "play_by_play")
    _print_pass("re-derive from the archive", _child("pbp", "--url", dead, *span))
    if rerun:
        _print_pass("rerun, unchanged", _child("pbp", "--url", dead, *span))


def killed_rerun(tmp: Path) -> dict:
    """SIGKILL `dagster asset materialize` mid-range, rerun: requests == games not archived."""
    from nba_assets.source.replay import ReplayServer, SyntheticBackend

    server = ReplayServer(SyntheticBackend(seed=SEED, seasons="2024-25:2024-25")).start()
    warehouse, home = tmp / "warehouse", tmp / "home"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("NBA_", "DAGSTER_HOME"))},
        "DAGSTER_HOME": str(home),
        "NBA_STATS_BASE_URL": server.url,
        "NBA_ASSETS_WAREHOUSE": str(warehouse),
        "NBA_ASSETS_MIN_REQUEST_INTERVAL": "0",
    }
    rng = f"{KILLED_START.isoformat()}...{KILLED_END.isoformat()}"
    base = [str(BIN / "dagster"), "asset", "materialize", "-m", "nba_assets.definitions"]
    try:
        subprocess.run(
            [*base, "--select", "team_boxscores", "--partition-range", rng],
            env=env,
            check=True,
            capture_output=True,
        )
        games = _games_published(warehouse)
        server.reset()
        server.faults.update({"latency": 0.05})
        args = [*base, "--select", "play_by_play", "--partition-range", rng]
        proc = subprocess.Popen(
            args,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        while len(server.requests_for("playbyplayv3")) < games // 2 and proc.poll() is None:
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        server.faults.update({"latency": 0})
        archived = len(list((warehouse / "raw" / "playbyplayv3").glob("*/*.json")))
        server.reset()
        subprocess.run(args, env=env, check=True, capture_output=True)
        rerun = len(server.requests_for("playbyplayv3"))
    finally:
        server.stop()
    return {
        "games": games,
        "archived_before_kill": archived,
        "rerun_requests": rerun,
        "not_archived": games - archived,
    }


def _games_published(warehouse: Path) -> int:
    from nba_assets.io.delta import read_rows
    from nba_assets.schemas import TEAM_BOXSCORES

    rows = read_rows(str(warehouse), TEAM_BOXSCORES, columns=["game_id"])
    return len(set(rows.column("game_id").to_pylist()))


def _run_phase(args: argparse.Namespace) -> dict:
    start, end = dt.date.fromisoformat(args.start), dt.date.fromisoformat(args.end)
    phase = phase_boxscores if args.phase == "boxscores" else phase_play_by_play
    return phase(args.url, Path(args.warehouse), start, end)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seasons", type=int, default=25, help="how many synthetic seasons")
    parser.add_argument("--last-season", default="2025-26")
    parser.add_argument("--no-rerun", action="store_true", help="skip the unchanged rerun")
    parser.add_argument("--killed", action="store_true", help="only the killed-rerun phase")
    parser.add_argument("--phase", choices=["boxscores", "pbp"])
    for name in ("--url", "--warehouse", "--start", "--end"):
        parser.add_argument(name)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(_run_phase(args)))
        return
    with tempfile.TemporaryDirectory(prefix="pbp-bench-") as tmp_dir:
        if args.killed:
            k = killed_rerun(Path(tmp_dir))
            print(
                f"killed halfway ({KILLED_START}..{KILLED_END}, {k['games']} games): "
                f"{k['archived_before_kill']} archived before SIGKILL, rerun made "
                f"{k['rerun_requests']} requests for {k['not_archived']} games not archived"
            )
            return
        full_run(_season_range(args.last_season, args.seasons), Path(tmp_dir), not args.no_rerun)


if __name__ == "__main__":
    main()
