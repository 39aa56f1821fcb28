"""Release what a killed local run still holds, so re-running works — and only that.

A run killed with SIGKILL (or by the OOM killer) never reports its end: it stays STARTED
and keeps its slot in the `nba_api` pool, and every later API step waits for that slot
forever. Dagster frees slots only for finished runs (run monitoring), and cannot tell that
a local run worker died, so this marks such runs failed and frees their slots.

Nobody has to run it by hand: every run frees what dead runs hold before its steps ask for
the pool (`release_before_steps`, from the API client's setup in an in-process run and from
the executor in a multiprocess one), and says at INFO which run holds the pool when a step
will wait. `nba-assets recover` stays for a run that nothing follows.

A process id means something only on the machine that owns it. On a shared instance
(PostgreSQL) other machines' runs are in the same run storage, so each run worker records
its host in a run tag, and recovery touches only runs recorded by this host. Under a
non-local run launcher (ECS, ...) the worker is not on this machine at all: run monitoring
in the daemon is what detects dead workers there, so recovery does nothing.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg

from nba_assets.dagster_private import executor_requirements

_IN_FLIGHT = [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
#: Run tag naming the machine whose process executed the run (written by the run itself).
HOST_TAG = "nba_assets/worker_host"


def this_host() -> str:
    return socket.gethostname()


def record_worker_host(instance: dg.DagsterInstance | None, run_id: str | None) -> None:
    """Tag the run with this host, so recovery elsewhere knows the run's pid is not theirs."""
    if instance is None or not run_id:
        return
    run = instance.get_run_by_id(run_id)
    if run is not None and run.tags.get(HOST_TAG) != this_host():
        instance.add_run_tags(run_id, {HOST_TAG: this_host()})


def local_launcher(instance: dg.DagsterInstance) -> bool:
    """True when runs of this instance are launched as processes on this machine."""
    return isinstance(instance.run_launcher, dg.DefaultRunLauncher)


def _worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.RUN_START, limit=1)
    if not records.records:
        return None
    event = records.records[0].event_log_entry.dagster_event
    return event.pid if event is not None else None


def process_alive(pid: int) -> bool:
    """Whether `pid` runs on this machine. A killed process its parent has not reaped yet (a
    zombie: still signalable) counts as dead."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """Linux's /proc says the process has exited; elsewhere not known, so not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"  # the state follows "(comm)"


def dead_local_runs(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    """In-flight runs recorded by this host whose worker process no longer exists here."""
    dead = []
    host = this_host()
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=_IN_FLIGHT)):
        if run.tags.get(HOST_TAG) != host:
            continue  # another machine's (or an unknown) process id: never ours to judge
        pid = _worker_pid(instance, run.run_id)
        if pid is not None and not process_alive(pid):
            dead.append(run)
    return dead


def release_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark dead local runs failed and free their pool slots; returns their run ids.

    Does nothing under a non-local launcher: there run monitoring owns dead workers.
    """
    if not local_launcher(instance):
        return []
    released = []
    for run in dead_local_runs(instance):
        instance.report_run_failed(
            run, message=f"nba-assets recover on {this_host()}: the run worker process is gone"
        )
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        released.append(run.run_id)
    return released


def pool_holders(instance: dg.DagsterInstance, pool: str) -> list[str]:
    """Runs holding a slot of `pool` now."""
    info = instance.event_log_storage.get_concurrency_info(pool)
    return sorted({slot.run_id for slot in info.claimed_slots})


def release_before_steps(
    instance: dg.DagsterInstance | None, run_id: str | None, log: Any, pool: str = "nba_api"
) -> list[str]:
    """Before this run's steps claim `pool`: free what dead local runs hold (no `recover`
    needed), then say at INFO who still holds it, so a wait is never silent."""
    if instance is None:
        return []
    released = release_dead_runs(instance)
    for dead in released:
        log.info(
            f"released run {dead}: its worker process on {this_host()} is gone "
            f"(marked failed, its {pool} pool slot freed)"
        )
    others = [r for r in pool_holders(instance, pool) if r != run_id]
    if others:
        log.info(
            f"pool {pool} is held by run(s) {', '.join(others)} (alive): this run's API steps "
            "wait until they finish"
        )
    return released


def worker_gone(instance: dg.DagsterInstance, run_id: str) -> bool:
    """Whether this step runs in a child of a run worker that no longer exists (the CLI or
    run process was killed while the step went on): such a step must not publish."""
    run = instance.get_run_by_id(run_id)
    if run is None or run.tags.get(HOST_TAG) != this_host():
        return False  # a worker on another machine (a step pod): its pid means nothing here
    pid = _worker_pid(instance, run_id)
    return pid is not None and pid != os.getpid() and not process_alive(pid)


class _Recovering(dg.Executor):
    """An executor that, before any step claims a pool, records this host on the run and
    frees what dead local runs hold (in the run worker, so even a run killed before its
    first step started is recognised later)."""

    def __init__(self, inner: dg.Executor) -> None:
        self.inner = inner

    @property
    def retries(self) -> Any:
        return self.inner.retries

    @property
    def step_dependency_config(self) -> Any:
        return self.inner.step_dependency_config

    def execute(self, plan_context: Any, execution_plan: Any) -> Iterator[Any]:
        instance, run_id, log = plan_context.instance, plan_context.run_id, plan_context.log
        record_worker_host(instance, run_id)
        release_before_steps(instance, run_id, log)
        for event in self.inner.execute(plan_context, execution_plan):
            pool = _pool_wait(event)
            if pool is not None:  # Dagster says so at DEBUG only; free dead runs, name holders
                release_dead_runs(instance)
                holders = [r for r in pool_holders(instance, pool) if r != run_id]
                log.info(
                    f"step {event.step_key} waits for pool {pool}, held by run(s) "
                    f"{', '.join(holders) or '(none now: it goes next)'}"
                )
            yield event


def _pool_wait(event: Any) -> str | None:
    """The pool a 'Step blocked by limit for pool' engine event names, else None."""
    message = getattr(event, "message", None) or ""
    if event.event_type != dg.DagsterEventType.ENGINE_EVENT or "blocked by limit for pool" not in (
        message
    ):
        return None
    return message.rsplit(" ", 1)[-1]


def refuse_if_orphaned(instance: dg.DagsterInstance, run_id: str, what: str) -> None:
    """Before a step publishes: if its run worker was killed, record the run as failed (it
    would stay STARTED), free its slots, and stop without publishing."""
    if not worker_gone(instance, run_id):
        return
    run = instance.get_run_by_id(run_id)
    if run is not None and run.status in _IN_FLIGHT:
        instance.report_run_failed(run, message=f"{what}: the run worker process is gone")
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)
    raise dg.Failure(
        f"{what}: the run's worker process is gone (killed?), so this step does not publish; "
        "the run is recorded as failed; rerun the range"
    )


def recovering(base: dg.ExecutorDefinition) -> dg.ExecutorDefinition:
    """`base`, but each run first frees the pool slots of dead local runs."""

    def create(init_context: Any) -> dg.Executor:
        return _Recovering(base.executor_creation_fn(init_context))

    return dg.ExecutorDefinition(
        name=base.name,
        config_schema=base.config_schema,
        executor_creation_fn=create,
        requirements=executor_requirements(base),
        description=base.description,
    )
