"""Reference tables: franchises and players, unpartitioned and small."""

import dagster as dg
import pandas as pd
from nba_api.stats.endpoints import CommonAllPlayers, CommonTeamYears

from nba_assets.assets.provenance import request_record, run_metadata, with_provenance
from nba_assets.partitions import current_season
from nba_assets.schemas import PLAYERS, TEAMS
from nba_assets.source.client import API_POOL, NbaStatsClient
from nba_assets.source.parsing import PLAYER_ALIASES, parse_players, parse_teams

REFERENCE_GROUP = "reference"
_COMMON = {
    "group_name": REFERENCE_GROUP,
    "kinds": {"python", "deltalake"},
    "pool": API_POOL,
    "owners": ["team:data-eng"],
}


@dg.asset(description=TEAMS.description, dagster_type=TEAMS.dagster_type(), **_COMMON)
def teams(context: dg.AssetExecutionContext, nba: NbaStatsClient) -> pd.DataFrame:
    """Every franchise with its ids and years (one request)."""
    fetched = nba.fetch(
        CommonTeamYears, required={"TeamYears": TEAMS.required_headers()}, league_id="00"
    )
    context.add_output_metadata(run_metadata(nba, [fetched]))
    return with_provenance(parse_teams(fetched.body), [request_record(fetched)])


class PlayersConfig(dg.Config):
    season: str = ""  # the season whose all-time list to take; empty = the current season


@dg.asset(description=PLAYERS.description, dagster_type=PLAYERS.dagster_type(), **_COMMON)
def players(
    context: dg.AssetExecutionContext, config: PlayersConfig, nba: NbaStatsClient
) -> pd.DataFrame:
    """Every player up to a season (one request)."""
    season = config.season or current_season()
    fetched = nba.fetch(
        CommonAllPlayers,
        required={"CommonAllPlayers": PLAYERS.required_headers(PLAYER_ALIASES)},
        is_only_current_season=0,
        league_id="00",
        season=season,
    )
    context.add_output_metadata({"season": season, **run_metadata(nba, [fetched])})
    return with_provenance(parse_players(fetched.body), [request_record(fetched)])
