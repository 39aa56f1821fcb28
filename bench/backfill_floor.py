"""Dagster's own floor: no-op twins of the box-score assets over the very same partitions.

Loaded by `bench/backfill.py` with `dagster asset materialize -f`; the partitions definition is
imported from the real assets' module, so the floor follows whatever main defines.
"""

import dagster as dg

from nba_assets.partitions import game_date_partitions
from nba_assets.source.client import API_POOL


def _noop(name: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=name,
        partitions_def=game_date_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=API_POOL,
    )
    def _asset() -> None:
        """Does nothing: what Dagster alone costs for a ranged run over these partitions."""

    return _asset


defs = dg.Definitions(assets=[_noop("team_boxscores_floor"), _noop("player_boxscores_floor")])
