"""Dagster's own floor: no-op twins of the box-score assets over the very same partitions.

Loaded by `bench/backfill.py` with `dagster asset materialize -f`; the partitions definition is
imported from the real assets' module, so the floor follows whatever main defines. With
NBA_BENCH_FLOOR_CHECKS=1 each twin also declares the real asset's check specs and reports them
passed: Dagster stores a planned row per check per partition, a cost of the checks, not of ours.
NBA_BENCH_PARTITIONS=every-day, =game-days or =static picks every calendar day, the days a
game can be on (dated exclusions) or those days as static keys as the twins' partitions
instead of main's definition (`bench/partitions.py` compares them).
"""

import os

import dagster as dg

from nba_assets.partitions import build_game_date_partitions, game_date_partitions
from nba_assets.quality.checks import check_specs
from nba_assets.source.client import API_POOL

WITH_CHECKS = os.environ.get("NBA_BENCH_FLOOR_CHECKS") == "1"
PARTITIONS = {
    "every-day": build_game_date_partitions(exclude_off_days=False),
    "game-days": build_game_date_partitions(exclude_off_days=True),
    "static": dg.StaticPartitionsDefinition(
        build_game_date_partitions(exclude_off_days=True).get_partition_keys()
    ),
}.get(os.environ.get("NBA_BENCH_PARTITIONS", ""), game_date_partitions)


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
