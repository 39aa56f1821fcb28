"""`nba-assets recover` judges only process ids of this machine's runs."""

from __future__ import annotations

import subprocess
import sys
import uuid

import dagster as dg
import pytest
from dagster._core.events import DagsterEvent, DagsterEventType

from nba_assets.recovery import HOST_TAG, release_dead_runs, this_host
from nba_assets.source.client import API_POOL


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def started_run(instance: dg.DagsterInstance, host: str | None) -> str:
    """A run as its worker leaves it in shared storage: STARTED, its pid, its host, a pool slot."""
    run_id = str(uuid.uuid4())
    tags = {HOST_TAG: host} if host else {}
    instance.add_run(
        dg.DagsterRun(
            job_name="boxscores_job", run_id=run_id, status=dg.DagsterRunStatus.STARTED, tags=tags
        )
    )
    start = DagsterEvent(
        event_type_value=DagsterEventType.RUN_START.value, job_name="boxscores_job", pid=dead_pid()
    )
    instance.report_dagster_event(start, run_id)
    instance.event_log_storage.claim_concurrency_slot(API_POOL, run_id, "team_boxscores")
    return run_id


def slot_holders(instance: dg.DagsterInstance) -> set[str]:
    info = instance.event_log_storage.get_concurrency_info(API_POOL)
    return {slot.run_id for slot in info.claimed_slots}


@pytest.fixture
def instance(tmp_path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        instance.event_log_storage.set_concurrency_slots(API_POOL, 4)
        yield instance


def test_runs_of_other_hosts_are_never_touched(instance):
    elsewhere = started_run(instance, host="build-box-2.example")
    unknown = started_run(instance, host=None)  # recorded before hosts were: not ours to judge
    ours = started_run(instance, host=this_host())

    assert release_dead_runs(instance) == [ours]

    for run_id in (elsewhere, unknown):
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.STARTED
    assert instance.get_run_by_id(ours).status == dg.DagsterRunStatus.FAILURE
    assert slot_holders(instance) == {elsewhere, unknown}


def test_a_run_records_the_host_it_ran_on(instance, replay, tmp_path):
    from nba_assets.assets.reference import teams
    from nba_assets_tests.conftest import resources

    result = dg.materialize(
        [teams], resources=resources(replay, tmp_path / "warehouse"), instance=instance
    )
    assert result.success
    assert instance.get_run_by_id(result.run_id).tags[HOST_TAG] == this_host()
