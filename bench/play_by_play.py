"""play_by_play at scale: through the replay server, re-derived from the archive, 25 seasons
extrapolated, and a killed backfill's rerun. Prints numbers; asserts nothing.

    .venv/bin/python bench/play_by_play.py [--weeks 6]

Each phase runs in its own process so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

START = dt.date(2024, 10, 22)
SEED, SEASONS = 7, "2024-25:2024-25"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _server():
    from nba_assets.source.replay import ReplayServer, SyntheticBackend

    return ReplayServer(SyntheticBackend(seed=SEED, seasons=SEASONS)).start()


def _resources(base_url: str, warehouse: Path, out: Path) -> dict:
    from nba_assets.io.parquet import ParquetIOManager
    from nba_assets.source.client import NbaStatsClient

    nba = NbaStatsClient(base_url=base_url, warehouse=str(warehouse), min_request_interval=0.0)
    return {"nba": nba, "io_manager": ParquetIOManager(warehouse=str(out))}


def _tags(end: dt.date) -> dict[str, str]:
    return {
        "dagster/asset_partition_range_start": START.isoformat(),
        "dagster/asset_partition_range_end": end.isoformat(),
    }


def _run_pbp(base_url: str, warehouse: Path, out: Path, end: dt.date) -> dict:
    import dagster as dg

    from nba_assets.assets.boxscores import team_boxscores
    from nba_assets.assets.play_by_play import play_by_play

    result = dg.materialize(
        [play_by_play, team_boxscores.to_source_asset()],
        resources=_resources(base_url, warehouse, out),
        tags=_tags(end),
    )
    [event] = result.asset_materializations_for_node("play_by_play")[:1]
    return {k: getattr(v, "value", v) for k, v in event.metadata.items()}


def phase_boxscores(warehouse: Path, end: dt.date) -> dict:
    """team_boxscores for the range (inputs of play_by_play), into the warehouse."""
    import dagster as dg

    from nba_assets.assets.boxscores import team_boxscores

    server = _server()
    try:
        ok = dg.materialize(
            [team_boxscores],
            resources=_resources(server.url, warehouse, warehouse),
            tags=_tags(end),
        ).success
    finally:
        server.stop()
    return {"ok": ok}


def phase_replay(warehouse: Path, end: dt.date) -> dict:
    """Every game requested through the synthetic replay server at interval 0."""
    import cProfile
    import pstats

    server = _server()
    profile = cProfile.Profile()
    started, cpu = time.perf_counter(), time.process_time()
    try:
        meta = profile.runcall(_run_pbp, server.url, warehouse, warehouse, end)
    finally:
        server.stop()
    wall = time.perf_counter() - started
    return {
        "wall": wall,
        "cpu": time.process_time() - cpu,
        "peak_rss_mb": _peak_rss_mb(),
        "where": _where(pstats.Stats(profile)),
        **_pick(meta),
    }


#: (file suffix, function) -> what it is, for "where the time goes" (cumulative, profiled).
_SPOTS = {
    ("source/client.py", "_attempt"): "request (HTTP + validate + archive)",
    ("source/validation.py", "validate_body"): "validate JSON",
    ("source/archive.py", "store"): "archive write",
    ("nba_assets/parsing_pbp.py", "parse_play_by_play_games"): "parse + type",
    ("nba_assets/pbp_checks.py", "box_score_mismatches"): "consistency check",
    ("io/parquet.py", "publish_partition"): "Parquet write",
    ("assets/play_by_play.py", "play_by_play"): "asset body (all of the above)",
}


def _where(stats) -> dict[str, float]:
    out = {}
    for (filename, _, name), row in stats.stats.items():
        for (suffix, function), label in _SPOTS.items():
            if filename.endswith(suffix) and name == function:
                out[label] = round(out.get(label, 0.0) + row[3], 2)
    return out


def phase_rederive(warehouse: Path, end: dt.date, out: Path) -> dict:
    """The same range again from the raw archive: the server is gone, so any request would fail."""
    started, cpu = time.perf_counter(), time.process_time()
    meta = _run_pbp("http://127.0.0.1:9/stats", warehouse, out, end)
    return {
        "wall": time.perf_counter() - started,
        "cpu": time.process_time() - cpu,
        "peak_rss_mb": _peak_rss_mb(),
        **_pick(meta),
    }


def _pick(meta: dict) -> dict:
    keys = ("games_in_run", "games_from_archive", "rows_in_run", "bytes_in_run", "api_requests")
    picked = {k: meta.get(k) for k in keys} | {"api_seconds": meta.get("api_seconds")}
    picked["games"] = picked.pop("games_in_run")
    return picked


def _child(phase: str, *args: str) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--phase", phase, *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"phase {phase} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def killed_rerun(tmp: Path, end: dt.date) -> dict:
    """SIGKILL `dagster asset materialize` mid-range, rerun: requests == games not archived."""
    bin_dir = Path(sys.executable).parent
    server = _server()
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
    rng = f"{START.isoformat()}...{end.isoformat()}"
    base = [str(bin_dir / "dagster"), "asset", "materialize", "-m", "nba_assets.definitions"]
    try:
        subprocess.run(
            [*base, "--select", "team_boxscores", "--partition-range", rng],
            env=env,
            check=True,
            capture_output=True,
        )
        games = len({r["GameID"] for r in _game_ids(warehouse, end)})
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


def _game_ids(warehouse: Path, end: dt.date) -> list[dict]:
    import pandas as pd

    files = sorted((warehouse / "team_boxscores").glob("*.parquet"))
    frame = pd.concat(pd.read_parquet(f) for f in files)
    return [{"GameID": g} for g in frame["game_id"].unique()]


def _season_games(seasons: int = 25) -> int:
    """Games in 25 synthetic seasons (2001-02..2025-26): schedule only, no play-by-play."""
    from nba_assets.source.synthetic import SyntheticLeague

    league = SyntheticLeague(seed=SEED, first_season="2001-02", last_season="2025-26")
    return sum(len(league.season(y).games) for y in range(2001, 2001 + seasons))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--weeks", type=int, default=6)
    parser.add_argument("--phase")
    parser.add_argument("--warehouse")
    parser.add_argument("--out")
    parser.add_argument("--end")
    parser.add_argument("--killed-only", action="store_true", help="only the killed-rerun phase")
    args = parser.parse_args()
    if args.phase:
        end = dt.date.fromisoformat(args.end)
        warehouse = Path(args.warehouse)
        if args.phase == "boxscores":
            result = phase_boxscores(warehouse, end)
        elif args.phase == "replay":
            result = phase_replay(warehouse, end)
        else:
            result = phase_rederive(warehouse, end, Path(args.out))
        print(json.dumps(result))
        return
    long_end = START + dt.timedelta(weeks=args.weeks) - dt.timedelta(days=1)
    short_end = START + dt.timedelta(days=6)
    if args.killed_only:
        with tempfile.TemporaryDirectory() as tmp_dir:
            _print_killed(killed_rerun(Path(tmp_dir), short_end), short_end)
        return
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        warehouse = str(tmp / "warehouse")
        _child("boxscores", "--warehouse", warehouse, "--end", long_end.isoformat())
        replay = _child("replay", "--warehouse", warehouse, "--end", long_end.isoformat())
        games = replay["games"]
        print(
            f"through replay (interval 0), {START}..{long_end}: {games} games, "
            f"{replay['rows_in_run']:,} rows, {replay['api_requests']} requests, "
            f"{replay['wall']:.1f}s wall = {games / replay['wall']:.1f} games/s "
            f"({replay['cpu']:.1f} CPU s incl. the in-process server = "
            f"{games / replay['cpu']:.1f} games per CPU-second, profiled); "
            f"{replay['api_seconds']:.1f}s inside HTTP (server generates + serves the game), "
            f"rest parse/check/write; peak RSS {replay['peak_rss_mb']:.0f} MB"
        )
        print(f"  where the time goes (cProfile, main thread, cumulative s): {replay['where']}")
        for label, end in (("1 week", short_end), (f"{args.weeks} weeks", long_end)):
            # same warehouse: the day files are rewritten from the archive, as a rebuild would
            again = _child(
                "rederive", "--warehouse", warehouse, "--out", warehouse, "--end", end.isoformat()
            )
            print(
                f"re-derive from archive, {label}: {again['games']} games, "
                f"{again['api_requests']} requests, {again['wall']:.1f}s = "
                f"{again['games'] / again['wall']:.1f} games/s (incl. ~run start-up); "
                f"{again['cpu']:.1f} CPU s = {again['games'] / again['cpu']:.1f} games per CPU-second, "
                f"{again['bytes_in_run'] / again['games'] / 1024:.1f} KiB Parquet/game, "
                f"peak RSS {again['peak_rss_mb']:.0f} MB"
            )
        total = _season_games()
        rows_per_game = replay["rows_in_run"] / games
        bytes_per_game = again["bytes_in_run"] / again["games"]
        print(
            f"25 synthetic seasons (extrapolated from the {games}-game sample): {total:,} games, "
            f"~{total * rows_per_game / 1e6:.1f} M rows, ~{total * bytes_per_game / 1e9:.2f} GB "
            f"Parquet; through replay ~{total / (games / replay['wall']) / 3600:.1f} h, "
            f"re-derive ~{total / (again['games'] / again['wall']) / 60:.0f} min; "
            f"peak RSS stays at the per-day level above (a day at a time)"
        )
        _print_killed(killed_rerun(tmp / "killed", short_end), short_end)


def _print_killed(killed: dict, end: dt.date) -> None:
    print(
        f"killed halfway ({START}..{end}, {killed['games']} games): "
        f"{killed['archived_before_kill']} archived before SIGKILL, rerun made "
        f"{killed['rerun_requests']} requests for {killed['not_archived']} games not archived"
    )


if __name__ == "__main__":
    main()
