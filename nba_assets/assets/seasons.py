"""The season layer: each season's box scores compacted from its daily partitions into one file.

Reading history from ~300 small files per season is slow (and one GET each on S3); modelers,
exports and checks read whole seasons. Each season partition depends on its game dates through
`season_partition_mapping`, so Dagster knows which days feed which season.
"""

import dagster as dg
import pandas as pd

from nba_assets.assets.boxscores import player_boxscores, team_boxscores
from nba_assets.assets.play_by_play import play_by_play
from nba_assets.io.parquet import MISSING_ATTR, PROVENANCE_ATTR
from nba_assets.partitions import season_partition_mapping, season_partitions
from nba_assets.schemas import PLAY_BY_PLAY, PLAYER_BOXSCORES, TEAM_BOXSCORES, TableSpec

SEASONS_GROUP = "seasons"
#: Suffix of a season-layer asset's key: `<table>_by_season`.
BY_SEASON = "_by_season"

#: Recompact a season when any of its days was re-materialized since it was last handled.
#: Evaluated in the code server (see definitions.py) because only there is the season mapping
#: known; Dagster's own stale status skips edges of 100 or more upstream partitions.
SEASON_NEEDS_UPDATE = (
    dg.AutomationCondition.any_deps_updated().since_last_handled()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("a day of the season changed since its last compaction")


def compact(spec: TableSpec, days: pd.DataFrame) -> pd.DataFrame:
    """A season's rows: its days' rows in (game_date, key) order, typed, each key once."""
    frame = days.sort_values(["game_date", *spec.key], kind="stable").reset_index(drop=True)
    duplicated = frame.duplicated(list(spec.key))
    if duplicated.any():
        first = frame.loc[duplicated, list(spec.key)].iloc[0].to_dict()
        raise ValueError(f"{spec.name}: {int(duplicated.sum())} duplicate rows, first {first}")
    frame = frame[spec.names]
    frame.attrs[PROVENANCE_ATTR] = list(days.attrs.get(PROVENANCE_ATTR, []))
    return frame


def season_metadata(days: pd.DataFrame) -> dict:
    """What the season holds: days, games, and the days that have no daily file yet."""
    missing = list(days.attrs.get(MISSING_ATTR, []))
    dates = days["game_date"]
    return {
        "game_days": int(dates.nunique()),
        "games": int(days["game_id"].nunique()),
        "first_game_date": str(dates.min()) if len(days) else "",
        "last_game_date": str(dates.max()) if len(days) else "",
        "missing_days_count": len(missing),
        "missing_days": dg.MetadataValue.json(missing),
        "source_responses": len(days.attrs.get(PROVENANCE_ATTR, [])),
    }


def _season_asset(daily: dg.AssetsDefinition, spec: TableSpec) -> dg.AssetsDefinition:
    @dg.asset(
        name=f"{spec.name}{BY_SEASON}",
        description=f"{spec.description} One file per NBA season, compacted from the days.",
        group_name=SEASONS_GROUP,
        kinds={"python", "parquet"},
        owners=["team:data-eng"],
        partitions_def=season_partitions,
        ins={
            "days": dg.AssetIn(
                key=daily.key,
                partition_mapping=season_partition_mapping,
                # a season in progress (or a gap in ingest) is compacted as far as it goes
                metadata={"allow_missing_partitions": True},
            )
        },
        metadata={"table": spec.name, "partition_column": ""},
        # the daily asset's own typed-frame check (one Dagster type per table name)
        dagster_type=_frame_type(daily, spec),
        automation_condition=SEASON_NEEDS_UPDATE,
    )
    def season_asset(context: dg.AssetExecutionContext, days: pd.DataFrame) -> pd.DataFrame:
        context.add_output_metadata(season_metadata(days))
        return compact(spec, days)

    return season_asset


def _frame_type(daily: dg.AssetsDefinition, spec: TableSpec) -> dg.DagsterType:
    """The daily asset's frame type; play_by_play publishes its days itself (no output type)."""
    declared = daily.node_def.output_defs[0].dagster_type
    return spec.dagster_type() if declared.is_nothing or declared.is_any else declared


team_boxscores_by_season = _season_asset(team_boxscores, TEAM_BOXSCORES)
player_boxscores_by_season = _season_asset(player_boxscores, PLAYER_BOXSCORES)
play_by_play_by_season = _season_asset(play_by_play, PLAY_BY_PLAY)
SEASON_ASSETS = [team_boxscores_by_season, player_boxscores_by_season, play_by_play_by_season]
