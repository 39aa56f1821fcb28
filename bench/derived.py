"""The derived tables at scale, actually run: every derived table of N synthetic seasons from
scratch, then after one daily tick. Prints wall time, peak RSS and rows; asserts nothing.

    .venv/bin/python bench/derived.py [--seasons 3] [--last-season 2024-25] [--keep DIR]

Each pass is its own process (its peak RSS is its own), with the synthetic league served by
`nba-assets replay-server` in another:
  build    team and player box scores and play-by-play of the seasons but their last day
           (the inputs; not part of the measurement);
  derive   every derived table from scratch, 0 requests: the game-date tables (shots, lineup
           stints, possessions) one run per season of days, the season tables (stats,
           splits) one run per season, then player_career_stats; each run in a process of
           its own, as Dagster runs one in production: its peak RSS and wall (after imports)
           are reported per run, the pass's peak RSS is the largest;
  tick     the last day's box scores and play-by-play land (one morning's run), then the
           game-date tables for that day, the season partitions the day maps to, and the
           career table are re-derived.
`--keep DIR` keeps (or reuses) the warehouse.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from phases import run_phase
from play_by_play import Server, _game_days, _resources, _season_range, _tags

DEAD = "http://127.0.0.1:9/stats"  # nothing listens: a derived asset that asked would fail


def _own_peak_rss_mb() -> float:
    """This process's own high-water RSS (VmHWM): ru_maxrss keeps the parent's peak across
    fork and exec, so a run started by a 570 MB parent would report at least 570 MB."""
    status = Path("/proc/self/status").read_text()
    [line] = [line for line in status.splitlines() if line.startswith("VmHWM:")]
    return int(line.split()[1]) / 1024


def phase_inputs(url: str, warehouse: Path, start: dt.date, end: dt.date) -> dict:
    """Box scores then play-by-play for [start, end]: what the derived tables read."""
    import dagster as dg

    from nba_assets.assets.boxscores import player_boxscores, team_boxscores
    from nba_assets.assets.play_by_play import play_by_play

    began = time.perf_counter()
    resources = _resources(url, warehouse)
    box = dg.materialize(
        [team_boxscores, player_boxscores], resources=resources, tags=_tags(start, end)
    )
    pbp = dg.materialize(
        [play_by_play, team_boxscores.to_source_asset()],
        resources=resources,
        tags=_tags(start, end),
    )
    return {"ok": box.success and pbp.success, "wall": time.perf_counter() - began}


def phase_run(warehouse: Path, kind: str, key: str) -> dict:
    """One derivation run, alone in this process as a Dagster run is in production: `days`
    (key FIRST..LAST: the game-date tables), `season` (key: the season tables) or `career`."""
    import dagster as dg

    from nba_assets.assets.boxscores import player_boxscores, team_boxscores
    from nba_assets.assets.derived import DERIVED_ASSETS, DERIVED_BY_GAME_DATE, player_career_stats
    from nba_assets.assets.play_by_play import play_by_play

    every = [team_boxscores, player_boxscores, play_by_play, *DERIVED_ASSETS]
    by_season = [a for a in DERIVED_ASSETS if a not in (player_career_stats, *DERIVED_BY_GAME_DATE)]
    if kind == "days":
        first, last = (dt.date.fromisoformat(d) for d in key.split(".."))
        run = {"selection": DERIVED_BY_GAME_DATE, "tags": _tags(first, last)}
    elif kind == "season":
        run = {"selection": by_season, "partition_key": key}
    else:
        run = {"selection": [player_career_stats]}
    began = time.perf_counter()
    resources = _resources(DEAD, warehouse)
    if not dg.materialize(every, resources=resources, raise_on_error=False, **run).success:
        raise SystemExit(f"derivation {kind} {key} failed")
    return {"wall": time.perf_counter() - began, "peak_rss_mb": _own_peak_rss_mb()}


def _derive(warehouse: Path, seasons: list[str], days: tuple[dt.date, dt.date] | None) -> dict:
    """The game-date tables (shots, lineups, possessions) for `days`, or for every day of
    `seasons` (one run per season), the season tables for `seasons`, then the career table:
    each run in a process of its own. Per run: wall seconds and peak RSS (MB)."""
    from nba_assets.partitions import season_span

    spans = [days] if days else [season_span(season) for season in seasons]
    runs = [("days", f"{first}..{last}") for first, last in spans]
    runs += [("season", season) for season in seasons] + [("career", "career")]
    timings: dict[str, dict] = {}
    for kind, key in runs:
        done = _child("run", "--warehouse", str(warehouse), "--kind", kind, "--key", key)
        timings[key] = {"wall": round(done["wall"], 1), "peak_rss_mb": round(done["peak_rss_mb"])}
    return timings


def _max_rss(timings: dict[str, dict]) -> float:
    return max(run["peak_rss_mb"] for run in timings.values())


def _rows(warehouse: Path) -> dict[str, int]:
    from nba_assets.io.delta import Selection, read_rows
    from nba_assets.schemas import TABLES

    names = ("team_season_stats", "player_season_stats", "team_splits", "player_career_stats")
    names += ("shots", "lineup_stints", "possessions")
    return {
        name: read_rows(str(warehouse), TABLES[name], Selection(), [TABLES[name].key[0]]).num_rows
        for name in names
    }


def phase_derive(warehouse: Path, seasons: list[str]) -> dict:
    began = time.perf_counter()
    timings = _derive(warehouse, seasons, None)
    return {
        "wall": time.perf_counter() - began,
        "runs_wall": round(sum(run["wall"] for run in timings.values()), 1),
        "peak_rss_mb": _max_rss(timings),
        "per_season": timings,
        "rows": _rows(warehouse),
    }


def phase_tick(url: str, warehouse: Path, day: dt.date) -> dict:
    """One morning: the day's inputs land, then only the seasons the day maps to re-derive."""
    from nba_assets.partitions import seasons_of_days

    inputs = phase_inputs(url, warehouse, day, day)
    seasons = seasons_of_days([day.isoformat()])
    began = time.perf_counter()
    timings = _derive(warehouse, seasons, (day, day))
    return {
        "inputs_wall": inputs["wall"],
        "seasons": seasons,
        "wall": time.perf_counter() - began,
        "runs_wall": round(sum(run["wall"] for run in timings.values()), 1),
        "peak_rss_mb": _max_rss(timings),
        "per_season": timings,
        "rows": _rows(warehouse),
    }


def _child(phase: str, *args: str) -> dict:
    return run_phase(__file__, phase, *args)


def run(seasons: str, warehouse: Path) -> None:
    from nba_assets.partitions import season_name
    from nba_assets.source.synthetic import parse_season_range, season_start

    start, end, games = _game_days(seasons)
    first, last = parse_season_range(seasons)
    keys = [season_name(y) for y in range(season_start(first), season_start(last) + 1)]
    print(f"{seasons}: {games:,} games, {start}..{end}; tick day {end}", flush=True)
    server = Server(seasons)
    try:
        if not (warehouse / "play_by_play").exists():
            build = _child(
                "inputs",
                "--url",
                server.url,
                "--warehouse",
                str(warehouse),
                "--start",
                start.isoformat(),
                "--end",
                (end - dt.timedelta(days=1)).isoformat(),
            )
            print(f"build (inputs, not measured): {build['wall']:.0f}s", flush=True)
        full = _child("derive", "--warehouse", str(warehouse), "--seasons-list", ",".join(keys))
        print(
            f"full derivation: {full['wall']:.1f}s wall ({full['runs_wall']}s in the runs, "
            f"process starts aside), peak RSS (max over runs) "
            f"{full['peak_rss_mb']:.0f} MB, "
            f"per season {full['per_season']}; rows {full['rows']}",
            flush=True,
        )
        tick = _child(
            "tick", "--url", server.url, "--warehouse", str(warehouse), "--day", end.isoformat()
        )
        print(
            f"daily tick ({end}): inputs {tick['inputs_wall']:.1f}s; re-derived {tick['seasons']} "
            f"in {tick['wall']:.1f}s wall ({tick['runs_wall']}s in the runs, process starts "
            f"aside; {tick['per_season']}), peak RSS (max over runs) "
            f"{tick['peak_rss_mb']:.0f} MB; rows {tick['rows']}",
            flush=True,
        )
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seasons", type=int, default=3)
    parser.add_argument("--last-season", default="2024-25")
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--phase")
    parser.add_argument("--url")
    parser.add_argument("--warehouse", type=Path)
    parser.add_argument("--start")
    parser.add_argument("--end")
    parser.add_argument("--day")
    parser.add_argument("--seasons-list")
    parser.add_argument("--kind")
    parser.add_argument("--key")
    args = parser.parse_args()
    if args.phase == "inputs":
        start, end = dt.date.fromisoformat(args.start), dt.date.fromisoformat(args.end)
        print(json.dumps(phase_inputs(args.url, args.warehouse, start, end)))
    elif args.phase == "run":
        print(json.dumps(phase_run(args.warehouse, args.kind, args.key)))
    elif args.phase == "derive":
        print(json.dumps(phase_derive(args.warehouse, args.seasons_list.split(","))))
    elif args.phase == "tick":
        print(json.dumps(phase_tick(args.url, args.warehouse, dt.date.fromisoformat(args.day))))
    else:
        seasons = _season_range(args.last_season, args.seasons)
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            run(seasons, args.keep / "warehouse")
        else:
            with tempfile.TemporaryDirectory(prefix="derived-bench-") as tmp:
                run(seasons, Path(tmp) / "warehouse")


if __name__ == "__main__":
    main()
