"""The `serving` group: each warehouse table mirrored into PostgreSQL, partition for partition.

`pg_<table>` depends on `<table>` with the same partitions; a run replaces exactly its range
from the warehouse's current version (`load.replace_range`), so an upstream that failed its
audit published nothing and nothing of it reaches PostgreSQL. The blocking check compares
rows per season of the seasons the run touched, PostgreSQL against the version it read.
"""

import datetime as dt
from collections.abc import Iterator

import dagster as dg

from nba_assets.io.delta import Selection
from nba_assets.partitions import game_date_partitions, is_game_date_partitioned, season_partitions
from nba_assets.schemas import TABLES
from nba_assets.serving import database, load
from nba_assets.serving.models import SERVED
from nba_assets.settings import Settings

SERVING_GROUP = "serving"
#: Mirror every partition whose warehouse table was updated, not only the latest day (eager's
#: default): the morning run corrects the last 8 days, and all 8 must follow (one ranged run).
MIRROR = dg.AutomationCondition.eager().without(dg.AutomationCondition.in_latest_time_window())
COUNT_CHECK = "row_counts_match_warehouse"
_PARTITIONS: dict[str, dg.PartitionsDefinition | None] = {
    "teams": None,
    "players": None,
    "schedule": season_partitions,
    "team_boxscores": game_date_partitions,
    "player_boxscores": game_date_partitions,
    "play_by_play": game_date_partitions,
}


class ServingDatabase(dg.ConfigurableResource):
    """The serving PostgreSQL (`NBA_ASSETS_SERVING_DSN`) and the warehouse it mirrors.

    Every step that uses it first connects and upgrades the schema to the migrations' head,
    so a wrong DSN fails the step before any work, naming host and database.
    """

    dsn: str
    schema_name: str = database.DEFAULT_SCHEMA
    warehouse: str = "warehouse"

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        database.ready(self.dsn, self.schema_name)

    def where(self, table: str) -> str:
        """host:port/database (user) schema.table, never the password."""
        return f"{database.describe(database.parse_dsn(self.dsn))} {self.schema_name}.{table}"

    def replace(self, table: str, selection: Selection) -> load.Load:
        engine = database.ready(self.dsn, self.schema_name)
        return load.replace_range(engine, table, selection, warehouse=self.warehouse)


def selection_of(context: dg.AssetExecutionContext) -> Selection:
    """The run's range: its game dates, its seasons, or the whole (unpartitioned) table."""
    if not context.has_partition_key_range:
        return Selection()
    keys = context.partition_key_range
    if is_game_date_partitioned(context.assets_def.partitions_def):
        return Selection.days(dt.date.fromisoformat(keys.start), dt.date.fromisoformat(keys.end))
    return Selection.of_seasons(context.partition_keys)


def count_check(result: load.Load) -> dg.AssetCheckResult:
    mismatched = result.mismatched
    return dg.AssetCheckResult(
        check_name=COUNT_CHECK,
        passed=not mismatched,
        metadata={
            "delta_version": result.delta_version,
            "seasons_compared": len(result.warehouse_counts | result.served_counts),
            "rows_compared": sum(result.served_counts.values()),
            "mismatched": dg.MetadataValue.json(
                {k: {"warehouse": w, "postgres": p} for k, (w, p) in mismatched.items()}
            ),
        },
        description=None
        if not mismatched
        else f"rows differ in {', '.join(mismatched)}: load the rest of those seasons "
        "(or `nba-assets db rebuild`)",
    )


def build_serving_asset(table: str) -> dg.AssetsDefinition:
    partitions = _PARTITIONS[table]
    name = f"pg_{table}"

    @dg.asset(
        name=name,
        group_name=SERVING_GROUP,
        deps=[table],
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run() if partitions else None,
        kinds={"postgres"},
        automation_condition=MIRROR,
        owners=["team:data-eng"],
        metadata={"dagster/column_schema": TABLES[table].table_schema()},
        description=f"`{table}` in the serving PostgreSQL: its range replaced in one transaction.",
        check_specs=[
            dg.AssetCheckSpec(
                COUNT_CHECK,
                asset=name,
                blocking=True,
                description="Rows per season equal the warehouse version the load read.",
            )
        ],
    )
    def _serve(
        context: dg.AssetExecutionContext, serving: ServingDatabase
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        result = serving.replace(table, selection_of(context))
        context.log.info(
            f"{name} {result.selection.describe()}: {result.rows} rows replace {result.removed} "
            f"(warehouse version {result.delta_version}, {result.rows_per_second:,.0f} rows/s)"
        )
        yield dg.MaterializeResult(
            metadata={**result.as_metadata(), "postgres_table": serving.where(table)}
        )
        yield count_check(result)

    return _serve


def build_serving_assets() -> list[dg.AssetsDefinition]:
    return [build_serving_asset(table) for table in SERVED]


def build_serving_definitions(settings: Settings) -> dg.Definitions:
    """The serving group and its resource, or nothing when no DSN is configured."""
    if not settings.serving_dsn:
        return dg.Definitions()
    serving = ServingDatabase(
        dsn=settings.serving_dsn,
        schema_name=settings.serving_schema,
        warehouse=settings.warehouse,
    )
    return dg.Definitions(assets=build_serving_assets(), resources={"serving": serving})
