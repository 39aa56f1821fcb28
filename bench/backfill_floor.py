"""Dagster's own floor: no-op twins of the box-score assets over the very same partitions.

Loaded by `bench/backfill.py` with `dagster asset materialize -f`; the partitions definition is
imported from the real assets' module, so the floor follows whatever main defines. With
NBA_BENCH_FLOOR_CHECKS=1 each twin also declares the real asset's check specs and reports them
passed: Dagster stores a planned row per check per partition, a cost of the checks, not of ours.
NBA_BENCH_PARTITIONS=every-day or =exclusions gives the twins Dagster's own daily definition
instead of main's: every calendar day, or the days no game can be on as dated exclusions
(`bench/partitions.py` compares them).
"""

import datetime as dt
import os

import dagster as dg

from nba_assets.partitions import (
    GAME_DATE_START,
    GAME_DATE_TIMEZONE,
    excluded_days,
    game_date_partitions,
    partition_horizon,
)
from nba_assets.quality.checks import check_specs
from nba_assets.source.client import API_POOL

WITH_CHECKS = os.environ.get("NBA_BENCH_FLOOR_CHECKS") == "1"


def alternatives() -> dict[str, dg.PartitionsDefinition]:
    """Dagster's own daily definitions over the same days: what main's static keys replaced."""
    daily = {"start_date": GAME_DATE_START, "timezone": GAME_DATE_TIMEZONE}
    off = excluded_days(dt.date.fromisoformat(GAME_DATE_START), partition_horizon())
    exclusions = [dt.datetime(d.year, d.month, d.day) for d in off]
    return {
        "every-day": dg.DailyPartitionsDefinition(**daily),
        "exclusions": dg.DailyPartitionsDefinition(**daily, exclusions=exclusions),
    }


KIND = os.environ.get("NBA_BENCH_PARTITIONS", "")
PARTITIONS = alternatives()[KIND] if KIND else game_date_partitions


def _noop(table: str) -> dg.AssetsDefinition:
    key = dg.AssetKey(f"{table}_floor")
    names = [spec.name for spec in check_specs(table)] if WITH_CHECKS else []

    @dg.asset(
        key=key,
        partitions_def=PARTITIONS,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=API_POOL,
        check_specs=[dg.AssetCheckSpec(n, asset=key, blocking=True) for n in names],
    )
    def _asset() -> dg.MaterializeResult:
        """Does nothing: what Dagster alone costs for a ranged run over these partitions."""
        return dg.MaterializeResult(
            check_results=[dg.AssetCheckResult(check_name=n, passed=True) for n in names]
        )

    return _asset


defs = dg.Definitions(assets=[_noop("team_boxscores"), _noop("player_boxscores")])
