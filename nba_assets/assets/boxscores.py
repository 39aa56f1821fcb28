"""Team and player box scores by game date: one LeagueGameLog call per season type, any range."""

import datetime as dt
from collections.abc import Iterator

import dagster as dg
import pandas as pd
from nba_api.stats.endpoints import LeagueGameLog

from nba_assets.assets.provenance import (
    partition_metadata,
    request_record,
    run_summary,
    with_provenance,
)
from nba_assets.audit import audited
from nba_assets.checks import BOXSCORE_FRESHNESS, check_specs
from nba_assets.io.storage import as_upath
from nba_assets.parsing import parse_boxscores
from nba_assets.partitions import game_date_partitions, plan_game_log_requests
from nba_assets.schemas import PLAYER_BOXSCORES, TEAM_BOXSCORES, TableSpec
from nba_assets.source.client import API_POOL, Fetched, NbaStatsClient
from nba_assets.source.protocol import api_date

BOXSCORES_GROUP = "boxscores"
_COMMON = {
    "group_name": BOXSCORES_GROUP,
    "kinds": {"python", "parquet"},
    "pool": API_POOL,
    "owners": ["team:data-eng"],
    "partitions_def": game_date_partitions,
    # a backfill of any length is one run and one request per season type, not one per day
    "backfill_policy": dg.BackfillPolicy.single_run(),
    "metadata": {"partition_column": "game_date"},
}


def fetch_game_logs(
    nba: NbaStatsClient, spec: TableSpec, player_or_team: str, start: dt.date, end: dt.date
) -> tuple[pd.DataFrame, list[Fetched]]:
    """Every row dated in [start, end], typed to `spec`, with the provenance of each request."""
    frames, fetched, records = [spec.empty()], [], []
    for request in plan_game_log_requests(start, end):
        response = nba.fetch(
            LeagueGameLog,
            required={"LeagueGameLog": spec.required_headers()},
            league_id="00",
            season=request.season,
            season_type_all_star=request.season_type,
            player_or_team_abbreviation=player_or_team,
            date_from_nullable=api_date(request.date_from),
            date_to_nullable=api_date(request.date_to),
            counter=0,
            sorter="DATE",
            direction="ASC",
        )
        frame = parse_boxscores(spec, response.body)
        inside = (frame["game_date"] >= start) & (frame["game_date"] <= end)
        if not inside.all():  # the API ignored DateFrom/DateTo: keep only what this run owns
            dg.get_dagster_logger().warning(
                f"{spec.name}: dropped {int((~inside).sum())} rows dated outside {start}..{end}"
            )
        frames.append(frame[inside])
        fetched.append(response)
        records.append(request_record(response, (request.date_from, request.date_to)))
    # duplicates, within or across season types, are the unique-key check's to report
    table = pd.concat(frames, ignore_index=True)
    table = table.sort_values(["game_date", *spec.key], kind="stable").reset_index(drop=True)
    return with_provenance(table, records), fetched


def _materialize(
    context: dg.AssetExecutionContext, nba: NbaStatsClient, spec: TableSpec, player_or_team: str
) -> pd.DataFrame:
    keys = context.partition_key_range
    start, end = dt.date.fromisoformat(keys.start), dt.date.fromisoformat(keys.end)
    table, fetched = fetch_game_logs(nba, spec, player_or_team, start, end)
    # each day's event gets only its own facts; run-wide ones go once, as a run summary
    for day, metadata in partition_metadata(table, context.partition_keys).items():
        context.add_asset_metadata(metadata, partition_key=day)
    context.log_event(run_summary(context.asset_key, keys, table, nba, fetched))
    return table


@dg.asset(
    description=TEAM_BOXSCORES.description,
    dagster_type=TEAM_BOXSCORES.dagster_type(),
    check_specs=check_specs(TEAM_BOXSCORES.name),
    freshness_policy=BOXSCORE_FRESHNESS,
    **_COMMON,
)
def team_boxscores(context: dg.AssetExecutionContext, nba: NbaStatsClient) -> Iterator:
    """One row per team per game, published only if its blocking checks pass."""
    yield from audited(
        context,
        TEAM_BOXSCORES,
        lambda: _materialize(context, nba, TEAM_BOXSCORES, "T"),
        as_upath(nba.warehouse),
    )


@dg.asset(
    description=PLAYER_BOXSCORES.description,
    dagster_type=PLAYER_BOXSCORES.dagster_type(),
    check_specs=check_specs(PLAYER_BOXSCORES.name),
    freshness_policy=BOXSCORE_FRESHNESS,
    # after team_boxscores in a run: players are audited against the published team rows
    deps=[team_boxscores],
    **_COMMON,
)
def player_boxscores(context: dg.AssetExecutionContext, nba: NbaStatsClient) -> Iterator:
    """One row per player per game, published only if its blocking checks pass."""
    yield from audited(
        context,
        PLAYER_BOXSCORES,
        lambda: _materialize(context, nba, PLAYER_BOXSCORES, "P"),
        as_upath(nba.warehouse),
    )
