"""A run launched by deploy/dagster.yaml's EcsRunLauncher against moto's ECS on loopback.

This proves what Dagster sends to ECS (task definition, the run's command, container
overrides, the capacity-provider strategy) and that RunTask accepts it. It does not prove
that the task's container starts and runs: moto records tasks, it does not run them.
"""

from __future__ import annotations

import copy

import dagster as dg
import pytest
from dagster._core.test_utils import in_process_test_workspace
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._grpc.types import ExecuteRunArgs
from dagster._serdes import deserialize_value

from nba_assets.recovery import HOST_TAG, local_launcher, release_dead_runs, this_host
from nba_assets_tests.production.conftest import REGION, deploy_config
from nba_assets_tests.production.test_recovery import started_run

JOB = "boxscores_job"


@pytest.fixture
def ecs_setup(s3, monkeypatch):
    """A cluster with Fargate capacity providers and a task definition registered beforehand."""
    import boto3

    ecs = boto3.client("ecs", region_name=REGION)
    ec2 = boto3.client("ec2", region_name=REGION)
    cluster = ecs.create_cluster(
        clusterName="nba-assets", capacityProviders=["FARGATE", "FARGATE_SPOT"]
    )["cluster"]["clusterArn"]
    task_definition = ecs.register_task_definition(
        family="nba-assets-run",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="512",
        memory="1024",
        containerDefinitions=[{"name": "run", "image": "nba-assets:test", "memory": 1024}],
    )["taskDefinition"]["taskDefinitionArn"]
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    group = ec2.describe_security_groups()["SecurityGroups"][0]["GroupId"]
    monkeypatch.setenv("DAGSTER_ECS_TASK_DEFINITION", task_definition)
    return {
        "ecs": ecs,
        "cluster": cluster,
        "subnet": subnet,
        "group": group,
        "task_definition": task_definition,
    }


def launcher_config(setup: dict) -> dict:
    """deploy/dagster.yaml's launcher; only what the daemon's own ECS task would supply added."""
    launcher = copy.deepcopy(deploy_config()["run_launcher"])
    config = launcher["config"]
    config["use_current_ecs_task_config"] = False  # no ECS task metadata endpoint here
    config["run_task_kwargs"].update(
        cluster=setup["cluster"],
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": [setup["subnet"]],
                "securityGroups": [setup["group"]],
                "assignPublicIp": "DISABLED",
            }
        },
    )
    return launcher


def test_run_launched_on_ecs_carries_command_overrides_and_capacity_providers(ecs_setup, tmp_path):
    strategy = deploy_config()["run_launcher"]["config"]["run_task_kwargs"][
        "capacityProviderStrategy"
    ]
    overrides = {"run_launcher": launcher_config(ecs_setup)}
    with dg.instance_for_test(overrides=overrides, temp_dir=str(tmp_path)) as instance:
        assert type(instance.run_launcher).__name__ == "EcsRunLauncher"
        sent: list[dict] = []
        instance.run_launcher.ecs.meta.events.register(
            "provide-client-params.ecs.RunTask", lambda params, **_: sent.append(params)
        )
        origin = LoadableTargetOrigin(module_name="nba_assets.definitions")
        with in_process_test_workspace(instance, origin) as workspace:
            [name] = workspace.code_location_names
            location = workspace.get_code_location(name)
            repository = next(iter(location.get_repositories().values()))
            remote_job = repository.get_full_job(JOB)
            from nba_assets.definitions import defs

            run = instance.create_run_for_job(
                job_def=defs.resolve_job_def(JOB),
                remote_job_origin=remote_job.get_remote_origin(),
                job_code_origin=remote_job.get_python_origin(),
                tags={
                    "dagster/asset_partition_range_start": "2025-11-01",
                    "dagster/asset_partition_range_end": "2025-11-07",
                },
            )
            instance.launch_run(run.run_id, workspace)

        launched = instance.get_run_by_id(run.run_id)
        task_arn = launched.tags["ecs/task_arn"]
        [task] = ecs_setup["ecs"].describe_tasks(cluster=ecs_setup["cluster"], tasks=[task_arn])[
            "tasks"
        ]
        assert task["taskDefinitionArn"] == ecs_setup["task_definition"]
        [container] = task["overrides"]["containerOverrides"]
        assert container["name"] == "run"
        command = container["command"]
        assert command[:3] == ["dagster", "api", "execute_run"]
        args = deserialize_value(command[3], ExecuteRunArgs)
        assert (args.run_id, args.job_origin.job_name) == (run.run_id, JOB)

        [request] = sent
        assert request["capacityProviderStrategy"] == strategy
        assert "launchType" not in request  # ECS refuses both together
        assert request["overrides"]["containerOverrides"] == task["overrides"]["containerOverrides"]
        awsvpc = request["networkConfiguration"]["awsvpcConfiguration"]
        assert awsvpc["subnets"] == [ecs_setup["subnet"]]


def test_recovery_leaves_runs_to_run_monitoring_under_ecs(ecs_setup, tmp_path):
    overrides = {"run_launcher": launcher_config(ecs_setup)}
    with dg.instance_for_test(overrides=overrides, temp_dir=str(tmp_path)) as instance:
        assert not local_launcher(instance)
        run_id = started_run(instance, host=this_host())  # even a dead pid on this very host
        assert release_dead_runs(instance) == []
        run = instance.get_run_by_id(run_id)
        assert run.status == dg.DagsterRunStatus.STARTED and run.tags[HOST_TAG] == this_host()
