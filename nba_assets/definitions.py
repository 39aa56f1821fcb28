"""The code location: every asset, resource and job, built from the environment read once."""

from __future__ import annotations

import dagster as dg

from nba_assets.assets.boxscores import BOXSCORES_GROUP, player_boxscores, team_boxscores
from nba_assets.assets.reference import REFERENCE_GROUP, players, teams
from nba_assets.io.parquet import ParquetIOManager
from nba_assets.schemas import PLAYER_BOXSCORES, PLAYERS, TEAM_BOXSCORES, TEAMS
from nba_assets.settings import Settings
from nba_assets.source.client import NbaStatsClient

CORE_ASSETS = [teams, players, team_boxscores, player_boxscores]


def build_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    """Same keys in every environment; only the values differ."""
    return {
        "nba": NbaStatsClient(
            source=settings.source,
            base_url=settings.base_url,
            recordings=settings.recordings,
            synthetic_seed=settings.synthetic_seed,
            synthetic_seasons=settings.synthetic_seasons,
            warehouse=settings.warehouse,
            proxy=settings.proxy,
            extra_headers=dict(settings.extra_headers),
            request_timeout=settings.request_timeout,
            min_request_interval=settings.min_request_interval,
            max_attempts=settings.max_attempts,
            max_retry_after=settings.max_retry_after,
        ),
        "io_manager": ParquetIOManager(warehouse=settings.warehouse),
    }


reference_job = dg.define_asset_job(
    "reference_job", selection=dg.AssetSelection.groups(REFERENCE_GROUP)
)
boxscores_job = dg.define_asset_job(
    "boxscores_job", selection=dg.AssetSelection.groups(BOXSCORES_GROUP)
)


TABLES = {table.name: table for table in (TEAMS, PLAYERS, TEAM_BOXSCORES, PLAYER_BOXSCORES)}


def for_the_ui(assets: list, settings: Settings) -> list:
    """What the UI shows before any run: each asset's columns, a link to its source, and the
    `s3` kind only when the warehouse (chosen by settings) is on S3."""
    kinds = {"s3"} if settings.warehouse.startswith("s3://") else set()

    def describe(spec: dg.AssetSpec) -> dg.AssetSpec:
        table = TABLES.get(spec.key.to_user_string())
        schema = {"dagster/column_schema": table.table_schema()} if table else {}
        return spec.merge_attributes(kinds=kinds, metadata=schema)

    return dg.with_source_code_references(dg.map_asset_specs(describe, assets))


def build_definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions(
        assets=for_the_ui(CORE_ASSETS, settings),
        jobs=[reference_job, boxscores_job],
        resources=build_resources(settings),
    )


defs = build_definitions(Settings.from_env())
