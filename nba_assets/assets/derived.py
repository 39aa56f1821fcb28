"""Derived tables, one season partition each, built from the warehouse with 0 requests.

Thin wiring: the basketball lives in `nba_assets.derived`. A season partition reads the game
dates the season calendar gives it (`season_partition_mapping`); when box scores of some days
change, only their seasons are stale, and the eager automation condition re-derives just those
(the IO manager then commits only rows that differ). The audit runs before the output is
handed to the IO manager, so a failing rule publishes nothing.
"""

from collections.abc import Callable, Iterator, Sequence

import dagster as dg
import pandas as pd

from nba_assets.derived import checks, season_stats
from nba_assets.partitions import season_partition_mapping, season_partitions
from nba_assets.schemas import PLAYER_SEASON_STATS, TEAM_SEASON_STATS, TableSpec

DERIVED_GROUP = "derived"
_COMMON = {
    "group_name": DERIVED_GROUP,
    "kinds": {"python", "deltalake"},
    "owners": ["team:data-eng"],
    "partitions_def": season_partitions,
    # a backfill of many seasons is one run that reads each input once
    "backfill_policy": dg.BackfillPolicy.single_run(),
    # re-derive a season when any of its game dates' box scores change
    "automation_condition": dg.AutomationCondition.eager(),
}


def _by_season(upstream: str) -> dict[str, dg.AssetIn]:
    return {upstream: dg.AssetIn(partition_mapping=season_partition_mapping)}


def published_after_audit(
    context: dg.AssetExecutionContext,
    spec: TableSpec,
    frame: pd.DataFrame,
    rules: Sequence[checks.BoxScoreCheck],
) -> Iterator[dg.AssetCheckResult | dg.Output]:
    """The audit's result, then the rows for the IO manager only if no blocking rule failed."""
    result, failed = checks.audit(spec, frame, rules)
    yield result
    if failed:
        raise checks.DerivedAuditFailure(
            description=f"{spec.name} {_seasons_text(context)}: not published, rules failed: "
            + ", ".join(failed)
        )
    seasons = frame.groupby("season").size().to_dict() if len(frame) else {}
    yield dg.Output(frame, metadata={"dagster/row_count": len(frame), "rows_by_season": seasons})


def _seasons_text(context: dg.AssetExecutionContext) -> str:
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
    ins=_by_season("team_boxscores"),
    check_specs=_specs(TEAM_SEASON_STATS, _team_rules),
    metadata={"table": TEAM_SEASON_STATS.name},
    **_COMMON,
)
def team_season_stats(context: dg.AssetExecutionContext, team_boxscores: pd.DataFrame) -> Iterator:
    """Team totals, averages, ratings and four factors per season and season type."""
    yield from _derive_seasons(
        context,
        TEAM_SEASON_STATS,
        team_boxscores,
        season_stats.team_season_stats,
        _team_rules(team_boxscores),
    )


@dg.asset(
    description=PLAYER_SEASON_STATS.description,
    ins=_by_season("player_boxscores"),
    check_specs=_specs(PLAYER_SEASON_STATS, _player_rules),
    metadata={"table": PLAYER_SEASON_STATS.name},
    **_COMMON,
)
def player_season_stats(
    context: dg.AssetExecutionContext, player_boxscores: pd.DataFrame
) -> Iterator:
    """Player totals, percentages and averages per season and season type."""
    yield from _derive_seasons(
        context,
        PLAYER_SEASON_STATS,
        player_boxscores,
        season_stats.player_season_stats,
        _player_rules(player_boxscores),
    )


DERIVED_ASSETS = [team_season_stats, player_season_stats]
