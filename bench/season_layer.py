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
import collections
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from nba_assets.io.parquet import ParquetIOManager, parquet_bytes, provenance_for_day
from nba_assets.io.storage import as_upath, write_atomic
from nba_assets.parsing import parse_boxscores
from nba_assets.partitions import (
    BOXSCORE_SEASON_TYPES,
    existing_days,
    game_date_partitions,
    season_days,
    season_name,
    season_start_year,
)
from nba_assets.schemas import PLAYER_BOXSCORES, TEAM_BOXSCORES
from nba_assets.source.synthetic import SyntheticLeague

SEASONS = ("1996-97", "2020-21")  # 25 seasons, the 1999 lockout and the 2020 bubble included
TABLES = {"team_boxscores": (TEAM_BOXSCORES, "T"), "player_boxscores": (PLAYER_BOXSCORES, "P")}


def season_range(first: str, last: str) -> list[str]:
    return [season_name(y) for y in range(season_start_year(first), season_start_year(last) + 1)]


def partition_days(season: str) -> list[str]:
    """The season's days that are daily partitions (the synthetic league starts before them)."""
    return existing_days(game_date_partitions, season_days(season))


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
                days = partition_days(season)
                records.append(
                    {"endpoint": "leaguegamelog", "params": params, "covers": [days[0], days[-1]]}
                )
            rows = pd.concat(frames, ignore_index=True)
            by_day = {k: g for k, g in rows.groupby(rows["game_date"].map(str), sort=False)}
            empty = frames[0]  # spec.empty() is slow; one per table and season is enough
            for day in partition_days(season):
                frame = by_day.get(day, empty).reset_index(drop=True)
                data = parquet_bytes(spec, frame, provenance_for_day(records, day))
                write_atomic(as_upath(warehouse / table / f"{day}.parquet"), data)
                written["files"] += 1
                written["rows"] += len(frame)
        print(f"  generated {season}", flush=True)
    return written


def compact_seasons(warehouse: str, seasons: list[str]) -> dict:
    """Materialize both season assets for `seasons` through Dagster, as the UI would."""
    import dagster as dg

    from nba_assets.assets.boxscores import player_boxscores, team_boxscores
    from nba_assets.assets.seasons import player_boxscores_by_season, team_boxscores_by_season

    began = time.perf_counter()
    io = {"io_manager": ParquetIOManager(warehouse=warehouse)}
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    with dg.instance_for_test() as instance:
        sources = [team_boxscores.to_source_asset(), player_boxscores.to_source_asset()]
        for season in seasons:  # one run per season, both tables
            result = dg.materialize(
                [*sources, team_boxscores_by_season, player_boxscores_by_season],
                resources=io,
                partition_key=season,
                instance=instance,
                run_config=quiet,
            )
            assert result.success, season
    return {"seconds": round(time.perf_counter() - began, 1), "peak_rss_mb": round(_peak_rss_mb())}


def compact_seasons_without_dagster(warehouse: str, seasons: list[str], out: str) -> dict:
    """The season assets' steps without a run around them: scan the days, compact, publish.

    Same functions as the IO manager's multi-partition load and the asset body; the difference
    to `compact_seasons` is Dagster's per-run cost (instance events, type checks).
    """
    from nba_assets.assets.seasons import compact
    from nba_assets.io.datasets import dataset, merged_provenance, to_frame
    from nba_assets.io.parquet import PROVENANCE_ATTR

    began = time.perf_counter()
    root, target = as_upath(warehouse), as_upath(out)
    for season in seasons:
        for table, (spec, _) in TABLES.items():
            days = dataset([root / table / f"{d}.parquet" for d in partition_days(season)])
            frame = to_frame(days.to_table())
            frame.attrs[PROVENANCE_ATTR] = merged_provenance(days)
            rows = compact(spec, frame)
            data = parquet_bytes(spec, rows, rows.attrs[PROVENANCE_ATTR])
            write_atomic(target / f"{table}_by_season" / f"{season}.parquet", data)
    return {"seconds": round(time.perf_counter() - began, 1), "peak_rss_mb": round(_peak_rss_mb())}


def _compact_in_subprocess(command: str, warehouse: Path, seasons: list[str]) -> dict:
    """Run this script's hidden `command` in a fresh interpreter; its last line is JSON."""
    out = subprocess.run(
        [sys.executable, __file__, command, str(warehouse), f"{seasons[0]}:{seasons[-1]}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def row_e_compaction(warehouse: Path, seasons: list[str]) -> dict:
    """(e) compacting `seasons` of both tables, in a fresh interpreter (its own peak RSS)."""
    result = _compact_in_subprocess("_compact", warehouse, seasons)
    result["without_dagster"] = _compact_in_subprocess("_compact_core", warehouse, seasons)
    files = [warehouse / f"{t}_by_season" / f"{s}.parquet" for t in TABLES for s in seasons]
    result["season_files"] = len(files)
    result["season_bytes"] = sum(f.stat().st_size for f in files)
    return result


def _read_daily_straight(warehouse: str, seasons: list[str], storage_options=None) -> int:
    """What a reader without the API does: every daily file of the seasons, one dataset each."""
    from nba_assets.io.datasets import dataset, to_frame
    from nba_assets.reader import warehouse_path

    root = warehouse_path(warehouse, storage_options)
    rows = 0
    for table, (spec, _) in TABLES.items():
        paths = [root / table / f"{d}.parquet" for s in seasons for d in partition_days(s)]
        rows += len(to_frame(dataset(paths, spec.arrow_schema()).to_table()))
    return rows


def _read_api(warehouse: str, seasons: list[str], storage_options=None) -> int:
    import nba_assets

    return sum(
        len(nba_assets.read(t, seasons, warehouse=warehouse, storage_options=storage_options))
        for t in TABLES
    )


def _timed(fn, *args) -> tuple[float, int]:
    began = time.perf_counter()
    rows = fn(*args)
    return time.perf_counter() - began, rows


def row_f_local(warehouse: Path, seasons: list[str]) -> dict:
    """(f) reading `seasons` of both tables: read API (season files) vs the daily files."""
    api_s, api_rows = _timed(_read_api, str(warehouse), seasons)
    daily_s, daily_rows = _timed(_read_daily_straight, str(warehouse), seasons)
    assert api_rows == daily_rows, (api_rows, daily_rows)
    return {
        "rows": api_rows,
        "read_api_s": round(api_s, 2),
        "daily_files_s": round(daily_s, 2),
        "speedup": round(daily_s / api_s, 1),
    }


class _S3Counter:
    """Counts the S3 calls s3fs makes (and the distinct objects it GETs): a measurement hook."""

    def __init__(self) -> None:
        import s3fs

        self.calls: collections.Counter = collections.Counter()
        self.objects: set[str] = set()
        original = s3fs.S3FileSystem._call_s3
        counter = self

        async def counted(fs, method, *args, **kwargs):
            counter.calls[method] += 1
            if method == "get_object":
                counter.objects.add(kwargs.get("Key", ""))
            return await original(fs, method, *args, **kwargs)

        s3fs.S3FileSystem._call_s3 = counted

    def reset(self) -> None:
        self.calls.clear()
        self.objects.clear()


def row_f_s3(warehouse: Path, seasons: list[str]) -> dict:
    """(f) on a moto S3 server (its own process, loopback): time and objects fetched per season."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        endpoint = f"http://127.0.0.1:{port}"
        os.environ.update(
            AWS_ENDPOINT_URL=endpoint,
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",
            AWS_DEFAULT_REGION="us-east-1",
        )
        _wait_for(port)
        import s3fs

        fs = s3fs.S3FileSystem()
        fs.mkdir("bench")
        began = time.perf_counter()
        for table in TABLES:
            for kind in (table, f"{table}_by_season"):
                names = [f"{d}.parquet" for s in seasons for d in partition_days(s)]
                if kind != table:
                    names = [f"{s}.parquet" for s in seasons]
                fs.put(
                    [str(warehouse / kind / n) for n in names],
                    [f"bench/wh/{kind}/{n}" for n in names],
                )
        upload_s = time.perf_counter() - began
        counter = _S3Counter()
        api_s, api_rows = _timed(_read_api, "s3://bench/wh", seasons)
        api_calls, api_objects = dict(counter.calls), len(counter.objects)
        counter.reset()
        daily_s, daily_rows = _timed(_read_daily_straight, "s3://bench/wh", seasons)
        daily_calls, daily_objects = dict(counter.calls), len(counter.objects)
        assert api_rows == daily_rows
        per_season = len(seasons) * len(TABLES)
        return {
            "upload_s": round(upload_s, 1),
            "read_api_s": round(api_s, 2),
            "read_api_objects_per_season": round(api_objects / per_season, 2),
            "read_api_calls": api_calls,
            "daily_files_s": round(daily_s, 2),
            "daily_objects_per_season": round(daily_objects / per_season, 1),
            "daily_calls": daily_calls,
            "speedup": round(daily_s / api_s, 1),
        }
    finally:
        server.terminate()
        server.wait(timeout=10)


def _wait_for(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"moto server did not listen on {port}")


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "_compact":
        seasons = season_range(*sys.argv[3].split(":"))
        print(json.dumps(compact_seasons(sys.argv[2], seasons)))
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "_compact_core":
        seasons = season_range(*sys.argv[3].split(":"))
        out = tempfile.mkdtemp(prefix="season-core-")
        try:
            print(json.dumps(compact_seasons_without_dagster(sys.argv[2], seasons, out)))
        finally:
            shutil.rmtree(out)
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("/tmp/nba-season-bench"))
    parser.add_argument("--seasons", default=":".join(SEASONS), help="A:B, 25 by default")
    parser.add_argument("--skip-s3", action="store_true")
    args = parser.parse_args()
    seasons = season_range(*args.seasons.split(":"))
    warehouse = args.data.resolve()
    if not (warehouse / "player_boxscores" / f"{season_days(seasons[-1])[-1]}.parquet").exists():
        began = time.perf_counter()
        written = generate_daily(warehouse, seasons)
        print(f"generated daily files: {written} in {time.perf_counter() - began:.0f}s")
    print(
        f"(e) compaction, {len(seasons)} seasons x 2 tables:", row_e_compaction(warehouse, seasons)
    )
    print("(f) read, local:", row_f_local(warehouse, seasons))
    if not args.skip_s3:
        print("(f) read, moto S3:", row_f_s3(warehouse, seasons))
    return 0


if __name__ == "__main__":
    sys.exit(main())
