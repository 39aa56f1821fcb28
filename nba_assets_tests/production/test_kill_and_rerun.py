"""A run killed with SIGKILL (CLI and step process) does not block the next: no `recover`."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import dagster as dg
import pytest

from nba_assets.cli import LOCAL_INSTANCE_YAML
from nba_assets.recovery import process_alive, this_host
from nba_assets.source.client import API_POOL
from nba_assets_tests.conftest import REPO

DAY = "2024-11-01"


def materialize(home: Path, warehouse: Path, server_url: str) -> subprocess.Popen:
    """The real `dagster asset materialize` (multiprocess executor: a run worker and a step
    process), in its own process group so one kill takes both."""
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "NBA_ASSETS_WAREHOUSE": str(warehouse),
        "NBA_STATS_BASE_URL": server_url,
        "NBA_ASSETS_SOURCE": "live",
        "NBA_ASSETS_MIN_REQUEST_INTERVAL": "0",
        "NBA_ASSETS_MAX_ATTEMPTS": "1",
    }
    command = [str(REPO / ".venv" / "bin" / "dagster"), "asset", "materialize"]
    command += ["-m", "nba_assets.definitions", "--select", "team_boxscores", "--partition", DAY]
    return subprocess.Popen(
        command,
        env=env,
        cwd=REPO,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def holders(instance: dg.DagsterInstance) -> list[str]:
    """The runs holding a slot of the nba_api pool."""
    info = instance.event_log_storage.get_concurrency_info(API_POOL)
    return [slot.run_id for slot in info.claimed_slots]


def rerun(home: Path, warehouse: Path, server_url: str) -> None:
    """The same materialization again: it must proceed (no `recover`) and succeed."""
    second = materialize(home, warehouse, server_url)
    try:
        out, _ = second.communicate(timeout=150)
    finally:
        if second.poll() is None:
            os.killpg(second.pid, signal.SIGKILL)
    assert second.returncode == 0, out[-2000:]


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return False


@pytest.mark.slow
def test_rerun_after_sigkill_of_cli_and_step_needs_no_recover(synthetic, tmp_path):
    home, warehouse = tmp_path / "home", tmp_path / "warehouse"
    home.mkdir()
    (home / "dagster.yaml").write_text(LOCAL_INSTANCE_YAML)
    synthetic.faults.update({"hang": 1, "hang_seconds": 60})  # the first request never ends

    with dg.DagsterInstance.from_config(str(home)) as instance:  # its storage made once, here
        first = materialize(home, warehouse, synthetic.url)
        try:
            # the step holds the pool slot and its request hangs on the server
            assert wait_for(lambda: holders(instance) and synthetic.faults.hang == 0, 120)
        finally:
            os.killpg(first.pid, signal.SIGKILL)  # the CLI (run worker) and its step process
            first.wait()
        [killed] = holders(instance)
        assert instance.get_run_by_id(killed).status == dg.DagsterRunStatus.STARTED

        rerun(home, warehouse, synthetic.url)
        assert instance.get_run_by_id(killed).status == dg.DagsterRunStatus.FAILURE
        assert holders(instance) == []


def test_a_step_whose_run_worker_is_gone_knows_it(tmp_path):
    """A step process outliving its killed run worker must not publish (`audited` and
    play-by-play ask `worker_gone` before they commit)."""
    from nba_assets.recovery import refuse_if_orphaned, release_before_steps, worker_gone
    from nba_assets_tests.production.test_recovery import started_run

    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        instance.event_log_storage.set_concurrency_slots(API_POOL, 1)
        orphaned = started_run(instance, host=this_host())  # its worker pid is dead
        assert worker_gone(instance, orphaned)
        recorded = started_run(instance, host=this_host())
        with pytest.raises(dg.Failure, match="does not publish"):
            refuse_if_orphaned(instance, recorded, "team_boxscores 2024-11-01...2024-11-01")
        assert instance.get_run_by_id(recorded).status == dg.DagsterRunStatus.FAILURE
        logged: list[str] = []

        class Log:
            info = logged.append

        assert release_before_steps(instance, "next-run", Log()) == [orphaned]
        assert any(f"released run {orphaned}" in line for line in logged)
        assert instance.get_run_by_id(orphaned).status == dg.DagsterRunStatus.FAILURE


@pytest.mark.slow
def test_a_step_waiting_for_the_pool_says_at_info_which_run_holds_it(synthetic, tmp_path):
    from nba_assets_tests.production.test_recovery import started_run

    home, warehouse = tmp_path / "home", tmp_path / "warehouse"
    home.mkdir()
    (home / "dagster.yaml").write_text(LOCAL_INSTANCE_YAML)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.event_log_storage.set_concurrency_slots(API_POOL, 1)
        holder = started_run(instance, host="build-box-2.example")  # not ours to release
        waiting = materialize(home, warehouse, synthetic.url)
        line = f"step team_boxscores waits for pool {API_POOL}, held by run(s) {holder}"
        guard = threading.Timer(120, os.killpg, (waiting.pid, signal.SIGKILL))
        guard.start()
        seen = []
        try:
            for text in waiting.stdout:  # until the line, then stop the waiting run
                seen.append(text)
                if line in text:
                    break
        finally:
            guard.cancel()
            os.killpg(waiting.pid, signal.SIGKILL)
            waiting.wait()
    assert line in seen[-1] and " - INFO - " in seen[-1], "".join(seen)[-3000:]


def _step_pid(instance: dg.DagsterInstance, run_id: str) -> int:
    """The step process's pid, as its STEP_START event recorded it."""
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.STEP_START, limit=1
    ).records
    return records[0].event_log_entry.dagster_event.pid


def _gone(pid: int) -> bool:
    return not process_alive(pid)


@pytest.mark.slow
@pytest.mark.parametrize("victim", ["cli", "step"])
def test_sigkill_of_only_the_cli_or_only_the_step_leaves_no_run_started(
    victim, synthetic, tmp_path
):
    """Kill one of the two processes mid-request: the run ends FAILURE (the orphaned step
    refuses to publish and records it; a dead step is the worker's to report), nothing is
    published, and the rerun proceeds without `recover`."""
    home, warehouse = tmp_path / "home", tmp_path / "warehouse"
    home.mkdir()
    (home / "dagster.yaml").write_text(LOCAL_INSTANCE_YAML)
    synthetic.faults.update({"hang": 1, "hang_seconds": 6})  # the first request is slow

    with dg.DagsterInstance.from_config(str(home)) as instance:
        first = materialize(home, warehouse, synthetic.url)
        try:
            assert wait_for(lambda: holders(instance) and synthetic.faults.hang == 0, 120)
            [run_id] = holders(instance)
            step = _step_pid(instance, run_id)
            os.kill(first.pid if victim == "cli" else step, signal.SIGKILL)
            assert wait_for(lambda: _gone(step) and first.poll() is not None, 90)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(first.pid, signal.SIGKILL)
            first.wait()
        events = [
            f"{r.event_log_entry.dagster_event_type} {r.event_log_entry.message[:200]}"
            for r in instance.get_records_for_run(run_id).records
        ]
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE, "\n".join(
            events
        )
        assert not (warehouse / "team_boxscores").exists()  # not a file published

        rerun(home, warehouse, synthetic.url)
        assert holders(instance) == []
        assert (warehouse / "team_boxscores" / "_delta_log").is_dir()
