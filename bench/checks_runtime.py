"""What each blocking check costs on one full synthetic season of both box-score tables.

Builds the 2024-25 season (regular season, play-in, playoffs) of team and player box scores
from the synthetic league's own game-log bodies, parsed exactly as the assets parse them,
plus its schedule, `teams` and `players`; then runs every check of both tables as the audit
does (a whole season as one ranged run) and prints each check's wall time, median of N runs.

    python bench/checks_runtime.py [--season 2024-25] [--repeat 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time

import pandas as pd

from nba_assets.assets.schedule import parse_schedule
from nba_assets.partitions import season_type_windows
from nba_assets.quality.checks import CHECKS_BY_TABLE, AuditInput
from nba_assets.schemas import PLAYER_BOXSCORES, TEAM_BOXSCORES
from nba_assets.source.parsing import parse_boxscores, parse_players, parse_teams
from nba_assets.source.synthetic import SyntheticLeague


def season_tables(league: SyntheticLeague, season: str) -> dict[str, pd.DataFrame]:
    frames: dict[str, list[pd.DataFrame]] = {"T": [], "P": []}
    for season_type in season_type_windows(season):
        for who, spec in (("T", TEAM_BOXSCORES), ("P", PLAYER_BOXSCORES)):
            params = {
                "LeagueID": "00",
                "Season": season,
                "SeasonType": season_type,
                "PlayerOrTeam": who,
            }
            body = league.respond("leaguegamelog", params)
            frames[who].append(parse_boxscores(spec, body))
    return {
        "team": pd.concat(frames["T"], ignore_index=True),
        "player": pd.concat(frames["P"], ignore_index=True),
        "schedule": parse_schedule(
            league.respond("scheduleleaguev2", {"LeagueID": "00", "Season": season}), season
        ),
        "teams": parse_teams(league.respond("commonteamyears", {"LeagueID": "00"})),
        "players": parse_players(
            league.respond(
                "commonallplayers",
                {"LeagueID": "00", "Season": season, "IsOnlyCurrentSeason": "0"},
            )
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--season", default="2024-25")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    league = SyntheticLeague(seed=2026, first_season=args.season, last_season=args.season)
    began = time.perf_counter()
    tables = season_tables(league, args.season)
    print(f"season {args.season} built and parsed in {time.perf_counter() - began:.1f}s")
    team, player = tables["team"], tables["player"]
    start = min(team["game_date"])
    end = max(team["game_date"])
    print(
        f"team_boxscores {len(team)} rows, player_boxscores {len(player)} rows, "
        f"{team['game_id'].nunique()} games, {start}..{end} ({(end - start).days + 1} days)"
    )
    today = end + dt.timedelta(days=1)
    inputs = {  # each table against the other's published rows, as the audit runs them
        "team_boxscores": AuditInput(
            team,
            TEAM_BOXSCORES,
            start,
            end,
            counterpart=player,
            teams=tables["teams"],
            schedule=tables["schedule"],
            today=today,
        ),
        "player_boxscores": AuditInput(
            player,
            PLAYER_BOXSCORES,
            start,
            end,
            counterpart=team,
            teams=tables["teams"],
            players=tables["players"],
            schedule=tables["schedule"],
            today=today,
        ),
    }
    print(
        f"\n{'table':<17} {'check':<28} {'blocking':<8} {'median ms':>10} {'state':>8} "
        f"{'failing':>8}"
    )
    for table, data in inputs.items():
        total = 0.0
        for check in CHECKS_BY_TABLE[table]:
            times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                outcome = check.run(data)
                times.append(time.perf_counter() - t0)
            median = statistics.median(times) * 1000
            total += median
            blocking = "yes" if check.blocking else "WARN"
            print(
                f"{table:<17} {check.name:<28} {blocking:<8} {median:>10.1f} "
                f"{outcome.state:>8} {len(outcome.bad):>8}"
            )
        print(f"{table:<17} {'all checks':<28} {'':<8} {total:>10.1f}")
    print(f"\n(measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC)")


if __name__ == "__main__":
    main()
