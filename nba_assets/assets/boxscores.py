"""Team and player box scores by game date: one LeagueGameLog call per season type, any range."""

import dataclasses
import datetime as dt
from collections.abc import Iterator

import dagster as dg
import pandas as pd
from nba_api.stats.endpoints import LeagueGameLog

from nba_assets.assets.provenance import (
    add_partition_metadata,
    partition_metadata,
    request_record,
    run_summary,
    with_provenance,
)
from nba_assets.assets.schedule import keep_current
from nba_assets.io.delta import SOURCE_SHA256, Commit
from nba_assets.io.memory import release_freed_memory
from nba_assets.partitions import (
    GAME_ID_KINDS,
    game_date_partitions,
    game_date_today,
    plan_game_log_requests,
    uncovered_spans,
)
from nba_assets.quality.audit import STRAYS_ATTR, audited
from nba_assets.quality.checks import BOXSCORE_FRESHNESS, check_specs
from nba_assets.schemas import PLAYER_BOXSCORES, TEAM_BOXSCORES, TableSpec
from nba_assets.source.client import API_POOL, Fetched, NbaStatsClient
from nba_assets.source.parsing import parse_boxscores
from nba_assets.source.protocol import api_date
from nba_assets.source.settled import fetch_unless_settled, is_settled
from nba_assets.warehouse.revisions import append_revisions, detect_revisions

BOXSCORES_GROUP = "boxscores"
_COMMON = {
    "group_name": BOXSCORES_GROUP,
    "kinds": {"python", "deltalake"},
    "pool": API_POOL,
    "owners": ["team:data-eng"],
    "partitions_def": game_date_partitions,
    # a backfill of any length is one run and one request per season type, not one per day
    "backfill_policy": dg.BackfillPolicy.single_run(),
    "metadata": {"partition_column": "game_date"},
}


class BoxscoresConfig(dg.Config):
    """Run config of the box-score assets."""

    refresh: bool = False  # ask the API even for settled windows the archive holds
    today: str = ""  # YYYY-MM-DD the run counts as today (a replayed morning); empty = today


def fetch_game_logs(
    nba: NbaStatsClient,
    spec: TableSpec,
    player_or_team: str,
    start: dt.date,
    end: dt.date,
    *,
    today: dt.date | None = None,
    refresh: bool = False,
) -> tuple[pd.DataFrame, list[Fetched]]:
    """Every row dated in [start, end], typed to `spec`, with the provenance of each request.

    Windows that ended more than `nba.correction_days` before `today` are settled: answered
    from the raw archive when it holds them, unless `refresh`.
    """
    today = today or game_date_today()
    frames, fetched, records = [spec.empty().assign(**{SOURCE_SHA256: _no_sha()})], [], []
    strays: list[pd.DataFrame] = []
    plan = plan_game_log_requests(start, end)
    for request in plan:
        settled = not refresh and is_settled(request.date_to, today, nba.correction_days)
        response = fetch_unless_settled(
            nba,
            LeagueGameLog,
            settled_window_end=request.date_to if settled else None,
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
        frame = _own_games(spec, parse_boxscores(spec, response.body), request.season_type)
        frame[SOURCE_SHA256] = response.sha256  # per-row provenance, stored beside the rows
        # archived answers come narrowed to the window; a row outside it means the API ignored
        # DateFrom/DateTo: not published, reported by the audit's rows_outside_request
        inside = (frame["game_date"] >= request.date_from) & (frame["game_date"] <= request.date_to)
        if not inside.all():
            strays.append(frame.loc[~inside, ["game_id", "game_date", *spec.key[1:]]])
        frames.append(frame[inside])
        # the parsed JSON of a season of player rows is ~10x its frame: keep only the facts
        fetched.append(dataclasses.replace(response, body={}))
        records.append(request_record(response, (request.date_from, request.date_to)))
    records.extend(_uncovered_records(start, end, plan))
    # duplicates, within or across season types, are the unique-key check's to report
    table = _stack_sorted(frames, ["game_date", *spec.key])
    if strays:
        # plain records: pandas compares attrs when it combines frames, a frame there breaks it
        table.attrs[STRAYS_ATTR] = (
            pd.concat(strays, ignore_index=True).drop_duplicates().to_dict("records")
        )
    return with_provenance(table, records), fetched


def _no_sha() -> pd.Series:
    return pd.Series([], dtype=object)


def _stack_sorted(frames: list[pd.DataFrame], by: list[str]) -> pd.DataFrame:
    """The pieces as one frame, stably sorted by `by`, built a column at a time while the
    pieces are emptied: concat-then-sort held two copies of 25 seasons of player lines."""
    order = (
        pd.concat([frame[by] for frame in frames], ignore_index=True)
        .sort_values(by, kind="stable")
        .index.to_numpy()
    )
    columns = {}
    for name in list(frames[0].columns):
        stacked = pd.concat([frame.pop(name) for frame in frames], ignore_index=True)
        columns[name] = stacked.take(order).reset_index(drop=True)
        del stacked
        # the pieces freed are holes in glibc's heap the next (bigger) column cannot use:
        # without handing them back, 25 seasons of player lines stacked at +190 MB over the frame
        release_freed_memory()
    frames.clear()
    return pd.DataFrame(columns, copy=False)


def _own_games(spec: TableSpec, frame: pd.DataFrame, season_type: str) -> pd.DataFrame:
    """Only the games a season type's log owns, so each game lands once (Cup knockout games
    are Regular Season games; only the Cup final, GAME_ID 006..., belongs to `IST`)."""
    kind = GAME_ID_KINDS.get(season_type)
    if kind is None or frame.empty:
        return frame
    own = frame["game_id"].str[2] == kind
    if not own.all():
        dg.get_dagster_logger().info(
            f"{spec.name}: {season_type} log also held {int((~own).sum())} rows of other "
            "season types; they land from their own log"
        )
    return frame[own]


def _uncovered_records(start: dt.date, end: dt.date, plan: list) -> list[dict[str, object]]:
    """Provenance for days no request covered: an empty partition that says why it is empty."""
    return [
        {
            "endpoint": None,
            "covers": [a.isoformat(), b.isoformat()],
            "note": "no request: no season type of the calendar can have games on these days",
        }
        for a, b in uncovered_spans(start, end, plan)
    ]


def _materialize(
    context: dg.AssetExecutionContext,
    nba: NbaStatsClient,
    spec: TableSpec,
    player_or_team: str,
    config: BoxscoresConfig | None = None,
) -> pd.DataFrame:
    config = config or BoxscoresConfig()
    keys = context.partition_key_range
    start, end = dt.date.fromisoformat(keys.start), dt.date.fromisoformat(keys.end)
    today = dt.date.fromisoformat(config.today) if config.today else game_date_today()
    table, fetched = fetch_game_logs(
        nba, spec, player_or_team, start, end, today=today, refresh=config.refresh
    )
    # each day's event gets only its own facts; run-wide ones go once, as a run summary
    add_partition_metadata(context, partition_metadata(table, context.partition_keys))
    context.log_event(run_summary(context.asset_key, keys, table, nba, fetched))
    # the audit's yardstick of completeness, current for these days before it judges them
    keep_current(
        context, nba, table, start, end, today, offline=all(f.attempts == 0 for f in fetched)
    )
    return table


def _log_revisions(spec: TableSpec, warehouse: str, run_id: str):
    """After a commit: every value, row added or row removed against the rows it replaced."""

    def after_commit(before: pd.DataFrame | None, after: pd.DataFrame, commit: Commit) -> dict:
        revisions = detect_revisions(spec, before, after)
        append_revisions(warehouse, spec.name, revisions, commit.version, run_id)
        shown = revisions.head(100).astype(object).where(revisions.head(100).notna(), None)
        shown["game_date"] = shown["game_date"].map(str)
        return {
            "revisions": len(revisions),
            "revisions_detail": dg.MetadataValue.json(shown.to_dict("records")),
        }

    return after_commit


def _audited_boxscores(
    context: dg.AssetExecutionContext, nba: NbaStatsClient, spec: TableSpec, config: BoxscoresConfig
) -> Iterator:
    yield from audited(
        context,
        spec,
        lambda: _materialize(context, nba, spec, "T" if spec is TEAM_BOXSCORES else "P", config),
        nba.warehouse,
        after_commit=_log_revisions(spec, nba.warehouse, context.run_id),
        today=dt.date.fromisoformat(config.today) if config.today else None,
    )


@dg.asset(
    description=TEAM_BOXSCORES.description,
    check_specs=check_specs(TEAM_BOXSCORES.name),
    freshness_policy=BOXSCORE_FRESHNESS,
    **_COMMON,
)
def team_boxscores(
    context: dg.AssetExecutionContext, nba: NbaStatsClient, config: BoxscoresConfig
) -> Iterator:
    """One row per team per game, published only if its blocking checks pass."""
    yield from _audited_boxscores(context, nba, TEAM_BOXSCORES, config)


@dg.asset(
    description=PLAYER_BOXSCORES.description,
    check_specs=check_specs(PLAYER_BOXSCORES.name),
    freshness_policy=BOXSCORE_FRESHNESS,
    # after team_boxscores in a run: players are audited against the published team rows
    deps=[team_boxscores],
    **_COMMON,
)
def player_boxscores(
    context: dg.AssetExecutionContext, nba: NbaStatsClient, config: BoxscoresConfig
) -> Iterator:
    """One row per player per game, published only if its blocking checks pass."""
    yield from _audited_boxscores(context, nba, PLAYER_BOXSCORES, config)
