"""The season schedule: one ScheduleLeagueV2 request per season, the yardstick of completeness.

nba_api's own ScheduleLeagueV2 parser is quadratic in the number of games, so the raw
document is read here directly (the client validates it and archives its exact bytes).
"""

from collections.abc import Mapping

import dagster as dg
import pandas as pd
from nba_api.stats.endpoints import ScheduleLeagueV2

from nba_assets.assets.provenance import request_record, run_metadata, with_provenance
from nba_assets.parsing import SEASON_TYPE_BY_GAME_ID
from nba_assets.partitions import season_partitions
from nba_assets.schemas import SCHEDULE, conform
from nba_assets.source.client import API_POOL, NbaStatsClient

SCHEDULE_GROUP = "schedule"


def parse_schedule(body: Mapping, season: str) -> pd.DataFrame:
    """One row per scheduled game (preseason and All-Star included; season_type tells them apart)."""
    rows = []
    for day in body["leagueSchedule"].get("gameDates", []):
        for game in day.get("games", []):
            home, away = game.get("homeTeam") or {}, game.get("awayTeam") or {}
            game_id = str(game["gameId"]).zfill(10)
            rows.append(
                {
                    "season": season,
                    "game_id": game_id,
                    "game_date": str(game["gameDateEst"])[:10],
                    "game_status": game.get("gameStatus"),
                    "game_status_text": str(game.get("gameStatusText", "")).strip(),
                    "home_team_id": home.get("teamId"),
                    "away_team_id": away.get("teamId"),
                    "matchup": f"{away.get('teamTricode')} @ {home.get('teamTricode')}",
                    "game_label": game.get("gameLabel", ""),
                    "season_type": SEASON_TYPE_BY_GAME_ID.get(game_id[2], "Unknown"),
                }
            )
    frame = pd.DataFrame(rows, columns=SCHEDULE.names) if rows else SCHEDULE.empty()
    table = conform(SCHEDULE, frame)
    return table.sort_values(["game_date", "game_id"], kind="stable").reset_index(drop=True)


@dg.asset(
    description=SCHEDULE.description,
    dagster_type=SCHEDULE.dagster_type(),
    partitions_def=season_partitions,
    group_name=SCHEDULE_GROUP,
    kinds={"python", "deltalake"},
    pool=API_POOL,
    owners=["team:data-eng"],
    metadata={"partition_column": "season"},
)
def schedule(context: dg.AssetExecutionContext, nba: NbaStatsClient) -> pd.DataFrame:
    """Every game of one season with its status (one request)."""
    season = context.partition_key
    fetched = nba.fetch(
        ScheduleLeagueV2, required={"leagueSchedule": []}, league_id="00", season=season
    )
    table = parse_schedule(fetched.body, season)
    final = int((table["game_status"] == 3).sum())
    context.add_output_metadata(
        {"games": len(table), "final": final, **run_metadata(nba, [fetched])}
    )
    return with_provenance(table, [request_record(fetched)])
