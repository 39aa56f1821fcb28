"""deploy/dagster.yaml loads whole, every section as written, against the real servers."""

from __future__ import annotations

import dagster as dg

from nba_assets.source.client import API_POOL
from nba_assets_tests.production.conftest import DEPLOY, REGION, s3_client


def test_the_whole_production_instance_loads(postgres_env, s3, monkeypatch):
    import boto3

    s3_client().create_bucket(Bucket="nba-compute-logs")
    boto3.client("ecs", region_name=REGION).register_task_definition(
        family="nba-assets-run",
        containerDefinitions=[{"name": "run", "image": "nba-assets:test", "memory": 1024}],
    )  # the launcher reads it when the instance loads
    monkeypatch.setenv("DAGSTER_COMPUTE_LOGS_BUCKET", "nba-compute-logs")
    monkeypatch.setenv("DAGSTER_ECS_TASK_DEFINITION", "nba-assets-run")
    with dg.DagsterInstance.from_config(str(DEPLOY)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert type(instance.compute_log_manager).__name__ == "S3ComputeLogManager"
        assert type(instance.run_launcher).__name__ == "EcsRunLauncher"
        assert instance.run_monitoring_enabled
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
        assert instance.event_log_storage.get_concurrency_info(API_POOL) is not None
