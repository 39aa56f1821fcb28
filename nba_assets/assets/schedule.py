"""The season schedule: one ScheduleLeagueV2 request per season, the yardstick of completeness.

nba_api's own ScheduleLeagueV2 parser is quadratic in the number of games, so the raw
document is read here directly (the client validates it and archives its exact bytes).

Every box-score run keeps it current for the seasons it touches (`keep_current`), so the
completeness rule never has to skip for want of a schedule, nor judge by a stale copy.
"""

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence

import dagster as dg
import pandas as pd
from nba_api.stats.endpoints import ScheduleLeagueV2

from nba_assets.assets.provenance import request_record, run_metadata, with_provenance
from nba_assets.io.delta import SOURCE_SHA256, Selection, seasons_between
from nba_assets.io.manager import publish
from nba_assets.partitions import (
    BOXSCORE_SEASON_TYPES,
    game_days,
    season_partitions,
)
from nba_assets.quality.audit import published_schedule
from nba_assets.quality.checks import postponed
from nba_assets.schemas import SCHEDULE, conform
from nba_assets.source.client import API_POOL, Fetched, NbaStatsClient
from nba_assets.source.errors import NbaStatsError
from nba_assets.source.index import record_confirmed, record_published
from nba_assets.source.parsing import SEASON_TYPE_BY_GAME_ID
from nba_assets.source.settled import from_archive

#: ScheduleLeagueV2 must answer with this document (the client validates and archives it)
_REQUIRED = {"leagueSchedule": []}

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
    fetched = nba.fetch(ScheduleLeagueV2, required=_REQUIRED, **_params(season))
    table = parse_schedule(fetched.body, season)
    final = int((table["game_status"] == 3).sum())
    context.add_output_metadata(
        {"games": len(table), "final": final, **run_metadata(nba, [fetched])}
    )
    return with_provenance(table, [request_record(fetched)])


def keep_current(
    context: dg.AssetExecutionContext,
    nba: NbaStatsClient,
    games: pd.DataFrame,
    start: dt.date,
    end: dt.date,
    today: dt.date,
    *,
    offline: bool = False,
) -> None:
    """Refresh `schedule` for each season [start, end] has game days in, unless the published
    copy already vouches for the run's days: at most one request per season, none once a
    copy shows every past game of those days final (so the second box-score step of a run,
    and reruns of finished days, cost nothing). An archived answer that vouches is used
    before the API is asked. `offline`: the game logs all came from the archive (a settled
    rerun, a re-derivation), so the schedule does too: such a run sends no request. When
    ScheduleLeagueV2 cannot be had, the run goes on and the completeness rule falls back to
    the game log, with a WARN that names the endpoint.
    """
    seasons = seasons_between(start, end)
    published = published_schedule(nba.warehouse, start, end, seasons=seasons)
    refreshed: list[tuple[str, Fetched, pd.DataFrame]] = []
    for season in seasons:
        days = {d for d in game_days(season) if start <= d <= end}
        if not days:
            continue
        copy = published[published["season"] == season] if published is not None else None
        if copy is not None and not copy.empty and _vouches(copy, games, days, today):
            continue
        archived = from_archive(
            nba.archive, ScheduleLeagueV2, required=_REQUIRED, **_params(season)
        )
        if archived is not None:
            table = parse_schedule(archived.body, season)
            if offline or _vouches(table, games, days, today):
                refreshed.append((season, _facts_only(archived), table))
                continue
        fetched, why = None, "the archive holds no answer and this run sends no request"
        if not offline:
            try:
                fetched = nba.fetch(ScheduleLeagueV2, required=_REQUIRED, **_params(season))
            except NbaStatsError as exc:
                why = str(exc)
        if fetched is None:
            context.log.warning(
                f"schedule {season}: ScheduleLeagueV2 could not be had ({why}); completeness "
                "falls back to the game log's own games"
            )
            continue
        table = parse_schedule(fetched.body, season)
        refreshed.append((season, _facts_only(fetched), table))
    if refreshed:
        _publish_schedules(context, nba, refreshed)


def _facts_only(fetched: Fetched) -> Fetched:
    """The response without its parsed body (a season's is ~10x its table), once parsed."""
    return dataclasses.replace(fetched, body={})


def _vouches(copy: pd.DataFrame, games: pd.DataFrame, days: set[dt.date], today: dt.date) -> bool:
    """Every game the copy lists on the run's past days is final or postponed, and every game
    the game log has on those days is on the copy."""
    past = {d for d in days if d < today}
    listed = copy[copy["game_date"].isin(past) & copy["season_type"].isin(BOXSCORE_SEASON_TYPES)]
    settled = (listed["game_status"] == 3) | postponed(listed)
    played = set(games.loc[games["game_date"].isin(past), "game_id"])
    return bool(settled.all()) and played <= set(copy["game_id"])


def _params(season: str) -> dict[str, str]:
    return {"league_id": "00", "season": season}


def _publish_schedules(
    context: dg.AssetExecutionContext,
    nba: NbaStatsClient,
    refreshed: Sequence[tuple[str, Fetched, pd.DataFrame]],
) -> None:
    """The refreshed seasons' schedules in one commit, and a materialization per season.

    One commit, not one per season: a 25-season backfill made 25 commits and read the
    table 25 times (~0.4 s a season) before its audit could start.
    """
    records = [request_record(fetched) for _, fetched, _ in refreshed]
    rows = pd.concat(
        [table.assign(**{SOURCE_SHA256: fetched.sha256}) for _, fetched, table in refreshed],
        ignore_index=True,
    )
    seasons = [season for season, _, _ in refreshed]
    run = {"run_id": context.run_id, "asset": "schedule", "for": context.asset_key.to_user_string()}
    commit = publish(
        nba.warehouse, SCHEDULE, with_provenance(rows, records), Selection.of_seasons(seasons), run
    )
    verdict = record_confirmed if commit.unchanged else record_published
    verdict(nba.warehouse, records, "schedule", commit.version, context.run_id)
    for season, fetched, table in refreshed:
        final = int((table["game_status"] == 3).sum())
        context.log.info(
            f"schedule {season} refreshed for {context.asset_key.to_user_string()}: "
            f"{len(table)} games, {final} final, version {commit.version}"
            + (" (unchanged)" if commit.unchanged else "")
        )
        context.log_event(
            dg.AssetMaterialization(
                asset_key="schedule",
                partition=season,
                description=f"refreshed by {context.asset_key.to_user_string()} before its audit",
                metadata={
                    "games": len(table),
                    "final": final,
                    "archive_answer": fetched.attempts == 0,
                    **commit.as_metadata(),
                },
            )
        )
