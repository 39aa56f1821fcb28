"""Dagster's storage on the real PostgreSQL, configured by deploy/dagster.yaml's storage section."""

from __future__ import annotations

import dagster as dg

from nba_assets.assets.boxscores import team_boxscores
from nba_assets_tests.conftest import resources
from nba_assets_tests.production.conftest import write_instance_home

RANGE_TAGS = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")
DAYS = [f"2025-11-0{d}" for d in range(1, 8)]


def test_materialization_on_postgres_is_read_back_by_a_second_instance(
    postgres_env, replay, tmp_path
):
    home = write_instance_home(tmp_path / "home", "storage", "concurrency")
    with dg.DagsterInstance.from_config(str(home)) as writer:
        assert type(writer.run_storage).__name__ == "PostgresRunStorage"
        result = dg.materialize(
            [team_boxscores],
            resources=resources(replay, tmp_path / "warehouse"),
            instance=writer,
            tags={RANGE_TAGS[0]: DAYS[0], RANGE_TAGS[1]: DAYS[-1]},
        )
        assert result.success

    with dg.DagsterInstance.from_config(str(home)) as reader:
        run = reader.get_run_by_id(result.run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
        records = reader.fetch_materializations(dg.AssetKey("team_boxscores"), limit=100).records
        assert sorted(r.partition_key for r in records) == DAYS
        assert {r.run_id for r in records} == {result.run_id}
        assert reader.get_materialized_partitions(dg.AssetKey("team_boxscores")) == set(DAYS)
