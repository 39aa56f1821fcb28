"""How long the synthetic league takes to generate seasons, and how much memory it needs.

Each scenario runs in a fresh interpreter so its peak RSS is its own. Per scenario it prints
the wall time to generate the seasons, the time to serve every game log of those seasons
(team and player rows, all season types) from the generated seasons, row counts and peak memory.

    python bench/synthetic_generation.py                 # 2024-25, then 1996-97..2020-21
    python bench/synthetic_generation.py --tracemalloc   # also Python-heap peaks (slower)
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc

from nba_assets.source.synthetic import (
    DEFAULT_SEED,
    SyntheticLeague,
    parse_season_range,
    season_name,
    season_start,
)

SCENARIOS = {"one season": "2024-25", "25 seasons": "1996-97:2020-21"}
SEASON_TYPES = ("Regular Season", "PlayIn", "Playoffs")


def _peak_rss_mb() -> float:
    """Peak resident set size of this process (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _serve_logs(league: SyntheticLeague, season: str) -> tuple[int, int, int]:
    """(games, team rows, player rows) served for one season, through the public interface."""
    games = team_rows = player_rows = 0
    for season_type in SEASON_TYPES:
        for who in ("T", "P"):
            params = {"Season": season, "SeasonType": season_type, "PlayerOrTeam": who}
            rows = league.respond("leaguegamelog", params)["resultSets"][0]["rowSet"]
            if who == "T":
                team_rows += len(rows)
                games += len(rows) // 2
            else:
                player_rows += len(rows)
    return games, team_rows, player_rows


def run_scenario(season_range: str, seed: int, trace: bool) -> dict:
    """Generate then serve every season of the range in this process; numbers as a dict."""
    first, last = parse_season_range(season_range)
    league = SyntheticLeague(seed=seed, first_season=first, last_season=last)
    baseline = _peak_rss_mb()
    if trace:
        tracemalloc.start()
    generate = serve = 0.0
    totals = [0, 0, 0]
    for year in range(season_start(first), season_start(last) + 1):
        started = time.perf_counter()
        league.season(year)
        generate += time.perf_counter() - started
        started = time.perf_counter()
        counts = _serve_logs(league, season_name(year))
        serve += time.perf_counter() - started
        totals = [t + c for t, c in zip(totals, counts, strict=True)]
    result = {
        "seasons": len(league.seasons),
        "generate_s": round(generate, 2),
        "serve_s": round(serve, 2),
        "games": totals[0],
        "team_rows": totals[1],
        "player_rows": totals[2],
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "rss_before_mb": round(baseline, 1),
    }
    if trace:
        result["tracemalloc_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
        tracemalloc.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--tracemalloc", action="store_true", help="also trace the Python heap")
    parser.add_argument("--scenario", help=argparse.SUPPRESS)  # child mode: one season range
    args = parser.parse_args()
    if args.scenario:
        print(json.dumps(run_scenario(args.scenario, args.seed, args.tracemalloc)))
        return
    for label, season_range in SCENARIOS.items():
        command = [sys.executable, __file__, "--scenario", season_range, "--seed", str(args.seed)]
        if args.tracemalloc:
            command.append("--tracemalloc")
        child = subprocess.run(command, check=True, capture_output=True, text=True)
        numbers = json.loads(child.stdout)
        per_season = numbers["generate_s"] / numbers["seasons"]
        print(f"{label} ({season_range}, seed {args.seed}):")
        print(
            f"  generate {numbers['generate_s']:.2f} s ({per_season:.2f} s/season), "
            f"serve all game logs {numbers['serve_s']:.2f} s"
        )
        print(
            f"  {numbers['games']} games, {numbers['team_rows']} team rows, "
            f"{numbers['player_rows']} player rows"
        )
        memory = (
            f"  peak RSS {numbers['peak_rss_mb']} MB (after imports {numbers['rss_before_mb']})"
        )
        if "tracemalloc_peak_mb" in numbers:
            memory += f", Python heap peak {numbers['tracemalloc_peak_mb']} MB"
        print(memory)


if __name__ == "__main__":
    main()
