"""Derived tables, one season partition each, built from the warehouse with 0 requests.

Thin wiring: the basketball lives in `nba_assets.derived`. A season partition reads its
season's rows of the daily box scores (the `season` column the warehouse partitions them by,
from the one season calendar); when box scores of some days change, `derived_seasons_sensor`
re-derives just their seasons, and the game-date tables follow their days by automation
condition (the IO manager then commits only rows that differ). The audit runs before the output is
handed to the IO manager, so a failing rule publishes nothing.
"""

import datetime as dt
import warnings
from collections.abc import Callable, Iterator, Sequence

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from nba_assets.derived import career, checks, lineups, season_stats, shots, splits
from nba_assets.io import delta
from nba_assets.io.manager import COLUMNS_METADATA
from nba_assets.partitions import (
    game_date_partitions,
    is_game_date_partitioned,
    season_partitions,
    seasons_of_days,
)
from nba_assets.schemas import (
    LINEUP_STINTS,
    PLAYER_BOXSCORES,
    PLAYER_CAREER_STATS,
    PLAYER_SEASON_STATS,
    POSSESSIONS,
    SHOTS,
    TEAM_BOXSCORES,
    TEAM_SEASON_STATS,
    TEAM_SPLITS,
    TableSpec,
)

DERIVED_GROUP = "derived"
#: Re-derive a season once any of its game dates' inputs changed, when nothing upstream is
#: running. Unlike `eager()`, a season is not held back because some of its days were never
#: materialized (days before a first backfill, days the calendar keeps but nobody played).
DERIVE_WHEN = (
    dg.AutomationCondition.any_deps_updated().since_last_handled()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("inputs_changed")
_COMMON = {
    "group_name": DERIVED_GROUP,
    "kinds": {"python", "deltalake"},
    "owners": ["team:data-eng"],
    "partitions_def": season_partitions,
    # a backfill of many seasons is one run that reads each input once
    "backfill_policy": dg.BackfillPolicy.single_run(),
    # no automation condition: the daemon's asset graph cannot see the day -> season mapping
    # (a custom PartitionMapping is not serialized); derived_seasons_sensor asks for seasons
}


#: The play-by-play tables are partitioned by game date like play_by_play itself: a morning
#: re-derives only its days' games. A backfill runs about a season of days per run (~600k
#: events), which bounds its memory.
_BY_GAME_DATE = {
    "partitions_def": game_date_partitions,
    "backfill_policy": dg.BackfillPolicy.multi_run(max_partitions_per_run=366),
}


#: Events a game-date step turns into pandas (and Python objects) at a time: whole days, about
#: a tenth of a season. The run's play-by-play stays in Arrow until then.
PART_EVENTS = 60_000


def by_days(events: pa.Table, size: int = PART_EVENTS) -> Iterator[pd.DataFrame]:
    """play_by_play rows as pandas a few whole days at a time, in game-date order (every
    game's events in one part): a season as pandas objects is ~450 MB, a part ~40 MB."""
    days = events.column("game_date").to_numpy()
    if (days[1:] < days[:-1]).any():
        events = events.take(pc.sort_indices(events, [("game_date", "ascending")]))
        days = events.column("game_date").to_numpy()
    day_ends = [*(np.flatnonzero(days[1:] != days[:-1]) + 1).tolist(), len(days)]
    begin = 0
    for end in day_ends:
        if end - begin >= size or end == len(days):
            yield delta.to_frame(events.slice(begin, end - begin))
            begin = end


#: What the UI lists for the run's-days rule (the real one is built from the run's range).
_DAYS_SHOWN = checks.dates_in_run(dt.date.min, dt.date.max)


def _same_days(*upstream: str) -> dict[str, dg.AssetIn]:
    return {name: dg.AssetIn() for name in upstream}


def _events(columns: Sequence[str]) -> dict[str, dg.AssetIn]:
    """play_by_play's same days, only the columns the step reads (a season's read costs about
    its bytes decoded: 14 of 25 columns save ~100 MB)."""
    return {"play_by_play": dg.AssetIn(metadata={COLUMNS_METADATA: list(columns)})}


def _days(context: dg.AssetExecutionContext) -> checks.BoxScoreCheck:
    keys = context.partition_key_range
    return checks.dates_in_run(dt.date.fromisoformat(keys.start), dt.date.fromisoformat(keys.end))


def _on_days(upstream: str) -> list[dg.AssetDep]:
    """Lineage to a daily table. Its rows are read by season in the step (`_season_rows`):
    Dagster does not serialize a custom day -> season mapping, and the daemon, the UI and
    `dg check defs` reject a static-from-daily dependency without one."""
    return [dg.AssetDep(upstream, partition_mapping=dg.AllPartitionMapping())]


def _season_rows(
    context: dg.AssetExecutionContext, spec: TableSpec, columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """The published rows of the run's seasons of a daily table (one committed version); none
    (an empty frame) if the table was never materialized."""
    warehouse = context.resources.io_manager.warehouse
    selection = delta.Selection.of_seasons(context.partition_keys)
    names = list(columns or spec.names)
    try:
        return delta.to_frame(delta.read_rows(warehouse, spec, selection, names))
    except delta.TableMissingError:
        return spec.empty()[names]


def published_after_audit(
    context: dg.AssetExecutionContext,
    spec: TableSpec,
    frame: pd.DataFrame,
    rules: Sequence[checks.BoxScoreCheck],
) -> Iterator[dg.AssetCheckResult | dg.Output]:
    """The audit's result, then the rows for the IO manager only if no blocking rule failed."""
    yield from published_together(context, [(spec, frame, rules)], named=False)


def published_together(
    context: dg.AssetExecutionContext,
    tables: Sequence[tuple[TableSpec, pd.DataFrame, Sequence[checks.BoxScoreCheck]]],
    named: bool = True,
) -> Iterator[dg.AssetCheckResult | dg.Output]:
    """Every table audited first; all published (outputs named as the tables) or none."""
    failed: list[str] = []
    for spec, frame, rules in tables:
        result, broken = checks.audit(spec, frame, rules)
        yield result
        failed += [f"{spec.name}.{rule}" for rule in broken]
    if failed:
        raise checks.DerivedAuditFailure(
            description=f"{_seasons_text(context)}: nothing published, rules failed: "
            + ", ".join(failed)
        )
    for spec, frame, _ in tables:
        metadata: dict = {}
        if not is_game_date_partitioned(context.assets_def.partitions_def):
            # a daily run's output metadata lands on each of its days: run-wide counts stay off
            metadata["dagster/row_count"] = len(frame)
            if "season" in frame.columns:
                metadata["rows_by_season"] = frame.groupby("season").size().to_dict()
        if named:
            yield dg.Output(frame, output_name=spec.name, metadata=metadata)
        else:
            yield dg.Output(frame, metadata=metadata)


def _seasons_text(context: dg.AssetExecutionContext) -> str:
    if not context.has_partition_key_range:
        return "(all seasons)"
    keys = context.partition_keys
    return keys[0] if len(keys) == 1 else f"{keys[0]}..{keys[-1]}"


def _derive_seasons(
    context: dg.AssetExecutionContext,
    spec: TableSpec,
    games: pd.DataFrame,
    derive: Callable[[pd.DataFrame], pd.DataFrame],
    extra_rules: Sequence[checks.BoxScoreCheck],
) -> Iterator:
    frame = derive(games)
    rules = [*checks.common_rules(spec, context.partition_keys), *extra_rules]
    yield from published_after_audit(context, spec, frame, rules)


def _team_rules(games: pd.DataFrame) -> list[checks.BoxScoreCheck]:
    return [
        checks.totals_match_games(games, "team_id"),
        checks.rule(
            "opponents_mirror",
            "per season type, the league's pts and fga equal its opp_pts and opp_fga",
            checks.opponents_mirror,
        ),
    ]


def _player_rules(games: pd.DataFrame) -> list[checks.BoxScoreCheck]:
    return [checks.totals_match_games(games, "player_id")]


def _specs(spec: TableSpec, extra: Callable[[pd.DataFrame], list]) -> list[dg.AssetCheckSpec]:
    return checks.check_spec(spec, [*checks.common_rules(spec, []), *extra(pd.DataFrame())])


@dg.asset(
    description=TEAM_SEASON_STATS.description,
    deps=_on_days("team_boxscores"),
    required_resource_keys={"io_manager"},
    check_specs=_specs(TEAM_SEASON_STATS, _team_rules),
    metadata={"table": TEAM_SEASON_STATS.name},
    **_COMMON,
)
def team_season_stats(context: dg.AssetExecutionContext) -> Iterator:
    """Team totals, averages, ratings and four factors per season and season type."""
    team_boxscores = _season_rows(context, TEAM_BOXSCORES)
    yield from _derive_seasons(
        context,
        TEAM_SEASON_STATS,
        team_boxscores,
        season_stats.team_season_stats,
        _team_rules(team_boxscores),
    )


@dg.asset(
    description=PLAYER_SEASON_STATS.description,
    # lineup_stints: the starters (gs); a season whose play-by-play was never derived reads
    # none and its gs stays null (nothing waits for it)
    deps=[*_on_days("player_boxscores"), *_on_days(LINEUP_STINTS.name)],
    required_resource_keys={"io_manager"},
    check_specs=_specs(PLAYER_SEASON_STATS, _player_rules),
    metadata={"table": PLAYER_SEASON_STATS.name},
    **_COMMON,
)
def player_season_stats(context: dg.AssetExecutionContext) -> Iterator:
    """Player totals, percentages and averages per season and season type, and games started
    where the season's lineups are known."""
    player_boxscores = _season_rows(context, PLAYER_BOXSCORES)
    stints = _season_rows(context, LINEUP_STINTS, season_stats.STARTER_COLUMNS)
    yield from _derive_seasons(
        context,
        PLAYER_SEASON_STATS,
        player_boxscores,
        lambda box: season_stats.player_season_stats(box, stints),
        _player_rules(player_boxscores),
    )


def _splits_rules(games: pd.DataFrame, seasons: Sequence[str] | None) -> list:
    return [
        *checks.record_rules(TEAM_SPLITS, seasons),
        checks.group_sets_cover_games(games),
    ]


@dg.asset(
    description=TEAM_SPLITS.description,
    deps=_on_days("team_boxscores"),
    required_resource_keys={"io_manager"},
    check_specs=checks.check_spec(TEAM_SPLITS, _splits_rules(pd.DataFrame(), [])),
    metadata={"table": TEAM_SPLITS.name},
    **_COMMON,
)
def team_splits(context: dg.AssetExecutionContext) -> Iterator:
    """Home/road, monthly and head-to-head records and margins per team season."""
    team_boxscores = _season_rows(context, TEAM_BOXSCORES)
    frame = splits.team_splits(team_boxscores)
    rules = _splits_rules(team_boxscores, context.partition_keys)
    yield from published_after_audit(context, TEAM_SPLITS, frame, rules)


def _career_rules() -> list:
    return [
        *checks.common_rules(PLAYER_CAREER_STATS, None),
        checks.rule(
            "career_sums_seasons",
            "each career row's gp, pts, fga, min equal the sums of the player's season rows",
            checks.career_sums_seasons,
        ),
    ]


@dg.asset(
    description=PLAYER_CAREER_STATS.description,
    ins={"player_season_stats": dg.AssetIn(partition_mapping=dg.AllPartitionMapping())},
    check_specs=checks.check_spec(PLAYER_CAREER_STATS, _career_rules()),
    metadata={"table": PLAYER_CAREER_STATS.name},
    group_name=DERIVED_GROUP,
    kinds={"python", "deltalake"},
    owners=["team:data-eng"],
    # after any season's stats change (in season: the morning's box scores), once
    automation_condition=DERIVE_WHEN,
)
def player_career_stats(
    context: dg.AssetExecutionContext, player_season_stats: pd.DataFrame
) -> Iterator:
    """Season rows and career totals per player and season type (PlayerCareerStats)."""
    frame = career.player_career_stats(player_season_stats)
    yield from published_after_audit(context, PLAYER_CAREER_STATS, frame, _career_rules())


def _shots_rules(player_box: pd.DataFrame, days: checks.BoxScoreCheck | None) -> list:
    return [
        checks.SCHEMA_CHECK,
        checks.unique_key(SHOTS),
        *([days] if days else []),
        checks.shots_match_box_scores(player_box),
        checks.rule(
            "shooters_on_floor",
            "where the game's lineups are known, the shooter is one of the ten on the floor",
            checks.shooters_on_floor,
        ),
    ]


@dg.asset(
    name=SHOTS.name,
    description=SHOTS.description,
    ins={**_events(shots.EVENT_COLUMNS), **_same_days("player_boxscores", "lineup_stints")},
    check_specs=checks.check_spec(SHOTS, _shots_rules(pd.DataFrame(), _DAYS_SHOWN)),
    metadata={"table": SHOTS.name},
    group_name=DERIVED_GROUP,
    kinds={"python", "deltalake"},
    owners=["team:data-eng"],
    automation_condition=DERIVE_WHEN,
    **_BY_GAME_DATE,
)
def shots_asset(
    context: dg.AssetExecutionContext,
    play_by_play: pa.Table,
    player_boxscores: pd.DataFrame,
    lineup_stints: pd.DataFrame,
) -> Iterator:
    """Every field-goal attempt, reconciled with the box score before it is published."""
    frame = shots.shots_of_parts(by_days(play_by_play), lineup_stints)
    rules = _shots_rules(player_boxscores, _days(context))
    yield from published_after_audit(context, SHOTS, frame, rules)


def _lineup_rules(
    player_box: pd.DataFrame, failed: Sequence[str], days: checks.BoxScoreCheck
) -> list:
    return [
        checks.SCHEMA_CHECK,
        checks.unique_key(LINEUP_STINTS),
        days,
        checks.games_inferred(failed),
        checks.rule(
            "five_a_side", "five different players a side in every stint", checks.five_a_side
        ),
        checks.minutes_match_box_scores(player_box),
    ]


def _possession_rules(team_box: pd.DataFrame, days: checks.BoxScoreCheck) -> list:
    return [
        checks.SCHEMA_CHECK,
        checks.unique_key(POSSESSIONS),
        days,
        checks.points_match_box_scores(team_box),
    ]


_SEASON_OUT = {"io_manager_key": "io_manager", "kinds": {"python", "deltalake"}}


@dg.multi_asset(
    outs={
        LINEUP_STINTS.name: dg.AssetOut(
            description=LINEUP_STINTS.description,
            metadata={"table": LINEUP_STINTS.name},
            owners=["team:data-eng"],
            automation_condition=DERIVE_WHEN,
            **_SEASON_OUT,
        ),
        POSSESSIONS.name: dg.AssetOut(
            description=POSSESSIONS.description,
            metadata={"table": POSSESSIONS.name},
            owners=["team:data-eng"],
            automation_condition=DERIVE_WHEN,
            **_SEASON_OUT,
        ),
    },
    ins={**_events(lineups.EVENT_COLUMNS), **_same_days("player_boxscores", "team_boxscores")},
    check_specs=[
        *checks.check_spec(LINEUP_STINTS, _lineup_rules(pd.DataFrame(), [], _DAYS_SHOWN)),
        *checks.check_spec(POSSESSIONS, _possession_rules(pd.DataFrame(), _DAYS_SHOWN)),
    ],
    group_name=DERIVED_GROUP,
    **_BY_GAME_DATE,
)
def lineups_and_possessions(
    context: dg.AssetExecutionContext,
    play_by_play: pa.Table,
    player_boxscores: pd.DataFrame,
    team_boxscores: pd.DataFrame,
) -> Iterator:
    """Who was on the floor (stints) and every possession, published together or not at all."""
    stints, possessions, failed = lineups.lineups_and_possessions_of_parts(
        by_days(play_by_play), player_boxscores
    )
    days = _days(context)
    yield from published_together(
        context,
        [
            (LINEUP_STINTS, stints, _lineup_rules(player_boxscores, failed, days)),
            (POSSESSIONS, possessions, _possession_rules(team_boxscores, days)),
        ],
    )


DERIVED_ASSETS = [
    team_season_stats,
    player_season_stats,
    team_splits,
    player_career_stats,
    shots_asset,
    lineups_and_possessions,
]
#: The tables partitioned by game date (a job holds one kind of partitions).
DERIVED_BY_GAME_DATE = [shots_asset, lineups_and_possessions]
#: The season-partitioned tables the sensor below keeps current.
DERIVED_BY_SEASON = [team_season_stats, player_season_stats, team_splits]


#: What the sensor watches: the box scores (every season table) and the lineups (the starters
#: in player_season_stats.gs).
_BOX_SCORE_KEYS = [dg.AssetKey("team_boxscores"), dg.AssetKey("player_boxscores")]
_STINTS_KEY = dg.AssetKey(LINEUP_STINTS.name)


def _seasons_whose_days_changed(context: dg.MultiAssetSensorEvaluationContext):
    """Box-score days materialized since the last tick -> one run per season they fall in;
    lineup_stints days -> player_season_stats of their seasons (whose box scores did not
    change: those seasons re-derive every table anyway).

    A sensor, not an automation condition: Dagster does not serialize the custom day -> season
    mapping, so the daemon's asset graph would never see a season's days change.
    """
    records = context.latest_materialization_records_by_partition_and_asset()
    box_days = [day for day, by in records.items() if set(by) & set(_BOX_SCORE_KEYS)]
    seasons = seasons_of_days(box_days)
    stint_days = [day for day, by in records.items() if _STINTS_KEY in by]
    starters_only = [s for s in seasons_of_days(stint_days) if s not in seasons]
    context.advance_all_cursors()
    if not seasons and not starters_only:
        return dg.SkipReason("no box-score or lineup day materialized since the last tick")
    return [dg.RunRequest(partition_key=season) for season in seasons] + [
        dg.RunRequest(partition_key=season, asset_selection=[dg.AssetKey(PLAYER_SEASON_STATS.name)])
        for season in starters_only
    ]


with warnings.catch_warnings():
    # "superseded by Declarative Automation", which cannot see this mapping (above)
    warnings.filterwarnings("ignore", message=r".*MultiAssetSensorDefinition.* is superseded")
    derived_seasons_sensor = dg.multi_asset_sensor(
        monitored_assets=[*_BOX_SCORE_KEYS, _STINTS_KEY],
        request_assets=dg.AssetSelection.assets(*DERIVED_BY_SEASON),
        name="derived_seasons_sensor",
        # every 5 minutes: a morning's box scores reach their seasons' tables within minutes
        minimum_interval_seconds=300,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=(
            "Re-derives the season tables of every season whose box-score days changed, and "
            "player_season_stats (games started) of every season whose lineup stints changed."
        ),
    )(_seasons_whose_days_changed)
