"""Release what a killed local run still holds, so re-running works.

A run killed with SIGKILL (or by the OOM killer) never reports its end: it stays STARTED
and keeps its slot in the `nba_api` pool, and every later API step waits for that slot
forever. Dagster frees slots only for finished runs (run monitoring), and cannot tell that
a local run worker died, so this marks such runs failed and frees their slots.
"""

from __future__ import annotations

import os

import dagster as dg
from dagster._core.events import DagsterEventType

_IN_FLIGHT = [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


def _worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.RUN_START, limit=1)
    if not records.records:
        return None
    event = records.records[0].event_log_entry.dagster_event
    return event.pid if event is not None else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def dead_local_runs(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    """In-flight runs whose worker process no longer exists on this machine."""
    dead = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=_IN_FLIGHT)):
        pid = _worker_pid(instance, run.run_id)
        if pid is not None and not _alive(pid):
            dead.append(run)
    return dead


def release_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark dead local runs failed and free their pool slots; returns their run ids."""
    released = []
    for run in dead_local_runs(instance):
        instance.report_run_failed(
            run, message="nba-assets recover: the run worker process is gone"
        )
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        released.append(run.run_id)
    return released
