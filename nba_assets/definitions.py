"""The code location: every asset, resource and job, built from the environment read once."""

from __future__ import annotations

import dagster as dg

from nba_assets.assets.boxscores import BOXSCORES_GROUP, player_boxscores, team_boxscores
from nba_assets.assets.derived import (
    DERIVED_ASSETS,
    DERIVED_BY_GAME_DATE,
    DERIVED_GROUP,
    derived_seasons_sensor,
)
from nba_assets.assets.game_night import GAME_NIGHT_ASSETS
from nba_assets.assets.game_night_sensor import build_game_night_sensor, build_odds_schedule
from nba_assets.assets.play_by_play import PLAY_BY_PLAY_GROUP, play_by_play
from nba_assets.assets.reference import REFERENCE_GROUP, players, teams
from nba_assets.assets.schedule import schedule
from nba_assets.assets.training import build_training_snapshot
from nba_assets.automation import build_schedules
from nba_assets.io.manager import DeltaIOManager
from nba_assets.quality.health import health_job, health_schedule
from nba_assets.recovery import recovering
from nba_assets.schemas import TABLES
from nba_assets.serving.assets import build_serving_definitions
from nba_assets.settings import Settings
from nba_assets.source.client import NbaStatsClient
from nba_assets.source.live import NbaLiveClient
from nba_assets.warehouse.maintenance import table_maintenance_job, table_maintenance_sensor

#: The code location `dagster dev`, `dg dev` and the webserver load this module as
#: (workspace.yaml, pyproject's [tool.dagster] and [tool.dg]); the demo records its runs there.
CODE_LOCATION, DEFINITIONS_MODULE = "nba_assets", "nba_assets.definitions"

CORE_ASSETS = [teams, players, team_boxscores, player_boxscores]
PLAY_BY_PLAY_ASSETS = [play_by_play]


def build_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    """Same keys in every environment; only the values differ."""
    # what both feeds' clients share: where the answers come from and how politely
    feeds = {
        "source": settings.source,
        "recordings": settings.recordings,
        "synthetic_seed": settings.synthetic_seed,
        "synthetic_seasons": settings.synthetic_seasons,
        "warehouse": settings.warehouse,
        "proxy": settings.proxy,
        "request_timeout": settings.request_timeout,
        "max_attempts": settings.max_attempts,
        "max_retry_after": settings.max_retry_after,
    }
    return {
        "nba": NbaStatsClient(
            **feeds,
            base_url=settings.base_url,
            extra_headers=dict(settings.extra_headers),
            min_request_interval=settings.min_request_interval,
            correction_days=settings.correction_days,
        ),
        "nba_live": NbaLiveClient(**feeds, base_url=settings.live_base_url),
        "io_manager": DeltaIOManager(warehouse=settings.warehouse),
    }


reference_job = dg.define_asset_job(
    "reference_job", selection=dg.AssetSelection.groups(REFERENCE_GROUP)
)
boxscores_job = dg.define_asset_job(
    "boxscores_job", selection=dg.AssetSelection.groups(BOXSCORES_GROUP)
)
play_by_play_job = dg.define_asset_job(
    "play_by_play_job", selection=dg.AssetSelection.groups(PLAY_BY_PLAY_GROUP)
)
#: derived tables, 0 requests: by season (stats, splits, career) and by game date (shots,
#: lineups, possessions); a job holds one kind of partitions
_BY_GAME_DATE = dg.AssetSelection.assets(*DERIVED_BY_GAME_DATE)
derived_job = dg.define_asset_job(
    "derived_job", selection=dg.AssetSelection.groups(DERIVED_GROUP) - _BY_GAME_DATE
)
derived_play_by_play_job = dg.define_asset_job("derived_play_by_play_job", selection=_BY_GAME_DATE)


def for_the_ui(assets: list, settings: Settings) -> list:
    """What the UI shows before any run: each table's columns, a link to its source, and the
    `s3` kind on warehouse tables only when the warehouse (chosen by settings) is on S3."""
    kinds = {"s3"} if settings.warehouse.startswith("s3://") else set()

    def describe(spec: dg.AssetSpec) -> dg.AssetSpec:
        table = TABLES.get(str(spec.metadata.get("table") or spec.key.to_user_string()))
        if table is None:  # not a warehouse table (training_snapshot lives in the DVC workspace)
            return spec
        return spec.merge_attributes(
            kinds=kinds, metadata={"dagster/column_schema": table.table_schema()}
        )

    return dg.with_source_code_references(dg.map_asset_specs(describe, assets))


def build_definitions(settings: Settings) -> dg.Definitions:
    """Everything; the serving group only when NBA_ASSETS_SERVING_DSN is set."""
    return dg.Definitions.merge(
        _warehouse_definitions(settings), build_serving_definitions(settings)
    )


def _warehouse_definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions(
        assets=for_the_ui(
            [
                *CORE_ASSETS,
                *PLAY_BY_PLAY_ASSETS,
                *DERIVED_ASSETS,
                schedule,
                *GAME_NIGHT_ASSETS,
                build_training_snapshot(settings.warehouse),
            ],
            settings,
        ),
        jobs=[
            reference_job,
            boxscores_job,
            play_by_play_job,
            derived_job,
            derived_play_by_play_job,
            health_job,
            table_maintenance_job,
        ],
        schedules=[
            *build_schedules(settings.schedule_hour, settings.correction_days),
            health_schedule,
            build_odds_schedule(),
        ],
        # Delta optimize + vacuum after new box-score / play-by-play commits; season tables
        # re-derived for the seasons whose box-score days changed
        sensors=[
            table_maintenance_sensor,
            derived_seasons_sensor,
            build_game_night_sensor(settings.live_poll_seconds),
        ],
        resources=build_resources(settings),
        # each run first frees the nba_api slots of killed local runs (no `nba-assets recover`)
        executor=recovering(dg.multiprocess_executor),
    )


defs = build_definitions(Settings.from_env())
