"""Every use of Dagster's private internals, in one place, each with why no public API serves.

A Dagster upgrade that moves one of them fails `nba_assets_tests/test_dagster_private.py`
by name (docs/troubleshooting.md, known limits) rather than a run somewhere; where the
public path exists but is slow, the code falls back to it.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import os
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg

try:  # the step's per-output metadata store (dagster 1.13)
    from dagster._core.execution.context.metadata_logging import (
        AssetMetadataHandle,
        OutputMetadataAccumulator,
    )
except ImportError:  # another Dagster: `merge_partition_metadata` says so, callers go public
    AssetMetadataHandle = OutputMetadataAccumulator = None  # type: ignore[assignment,misc]


def merge_partition_metadata(
    context: dg.AssetExecutionContext, items: Sequence[tuple[str, Mapping[str, Any]]]
) -> bool:
    """Merge each partition's metadata into the step's accumulator at once; False when this
    Dagster has no such accumulator (the caller then uses the public per-call path).

    Why: the public `add_asset_metadata(partition_key=...)` re-lists the run's partitions and
    copies every earlier entry on each call, quadratic in the run's length (9,039 days: 8.3 s
    per asset).
    """
    step = getattr(context.op_execution_context, "_step_execution_context", None)
    accumulator = getattr(step, "_metadata_accumulator", None)
    if OutputMetadataAccumulator is None or not isinstance(accumulator, OutputMetadataAccumulator):
        return False
    merged = dict(accumulator.per_output_metadata)
    for key, metadata in items:
        handle = AssetMetadataHandle(asset_key=context.asset_key, partition_key=key)
        merged[handle] = {**merged.get(handle, {}), **metadata}
    step._metadata_accumulator = OutputMetadataAccumulator(per_output_metadata=merged)
    return True


def executor_requirements(base: dg.ExecutorDefinition) -> Any:
    """An executor definition's requirements function, to wrap it (no public accessor)."""
    return base._requirements_fn


def step_key(context: dg.AssetExecutionContext) -> str:
    """The running step's key, recorded on each commit (not a public property of the context:
    `get_step_execution_context` is documented for framework authors only)."""
    return context.op_execution_context.get_step_execution_context().step.key


class ExcludedDaysPartitionsDefinition(dg.DailyPartitionsDefinition):
    """Daily partitions with thousands of dated exclusions that look keys up as fast as plain
    daily ones: the same definition to Dagster (its snapshot, UI and serialization are those of
    a `DailyPartitionsDefinition` with these exclusions), with three costs removed.

    Why: dagster 1.13 hashes the definition through its repr on every cached call (200 KB for
    ~2,900 excluded days), scans the exclusion list for each key, and re-sorts every exclusion
    each time it finds the first or last partition; `has_partition_key` cost ~12 ms instead of
    ~0.1 ms. Here the hash is computed once, excluded days are a set, and the sorted
    timestamps are kept. `_build_exclusion_iterator_list` is private: a Dagster that renames it
    fails `nba_assets_tests/test_dagster_private.py`.
    """

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return self is other or super().__eq__(other)

    @functools.cached_property
    def _hash(self) -> int:
        return hash(repr(self))

    @functools.cached_property
    def _excluded(self) -> tuple[float, ...]:
        return tuple(sorted(e.timestamp for e in self.exclusions or () if not isinstance(e, str)))

    @functools.cached_property
    def _has_cron(self) -> bool:
        """Cron exclusions are left to Dagster's own code."""
        return any(isinstance(e, str) for e in self.exclusions or ())

    @functools.cached_property
    def _excluded_set(self) -> frozenset[float]:
        return frozenset(self._excluded)

    @functools.cached_property
    def _identifier(self) -> str:
        return super().get_serializable_unique_identifier()

    def get_serializable_unique_identifier(self, dynamic_partitions_store: Any = None) -> str:
        return self._identifier

    def has_partition_key(self, partition_key: str) -> bool:
        """Dagster's answer without its per-call walk to the first and last windows: a key
        is a well-formed day from the start through the last partition, not excluded."""
        if self._has_cron:
            return super().has_partition_key(partition_key)
        try:
            day = dt.datetime.strptime(partition_key, self.fmt)
        except ValueError:
            return False
        if day.strftime(self.fmt) != partition_key:
            return False
        start = day.replace(tzinfo=ZoneInfo(self.timezone)).timestamp()
        if start in self._excluded_set or start < self.start_timestamp:
            return False
        last = self._last_partition_start()
        return last is not None and start <= last

    def _last_partition_start(self) -> float | None:
        """The last partition's start, found once per calendar day of Dagster's current time
        (a daily definition's last partition only changes at midnight)."""
        now = self._get_current_timestamp()
        today = dt.datetime.fromtimestamp(now, ZoneInfo(self.timezone)).date()
        if today not in self._last_starts:
            window = self.get_last_partition_window()
            self._last_starts[today] = window.start.timestamp() if window else None
        return self._last_starts[today]

    @functools.cached_property
    def _last_starts(self) -> dict[dt.date, float | None]:
        return {}

    def is_window_start_excluded(self, window_start: dt.datetime) -> bool:
        start = window_start.replace(tzinfo=ZoneInfo(self.timezone)).timestamp()
        if self._has_cron:
            return super().is_window_start_excluded(window_start)
        return start in self._excluded_set

    def _build_exclusion_iterator_list(
        self, boundary_timestamp: float, ascending: bool
    ) -> list[Iterator[dt.datetime]]:
        if self._has_cron:
            return super()._build_exclusion_iterator_list(boundary_timestamp, ascending)
        zone, stamps = ZoneInfo(self.timezone), self._excluded
        if ascending:
            chosen: Iterable[float] = stamps[bisect.bisect_left(stamps, boundary_timestamp) :]
        else:
            chosen = reversed(stamps[: bisect.bisect_right(stamps, boundary_timestamp)])
        return [(dt.datetime.fromtimestamp(ts, zone) for ts in chosen)]


def execute_in_code_location(
    job: dg.JobDefinition,
    instance: dg.DagsterInstance,
    *,
    location: str,
    module: str,
    run_config: Mapping[str, Any],
    tags: Mapping[str, str],
) -> Any:
    """Run `job` in this process, as `execute_in_process` does, but recorded as a run of the
    code location `location` (loaded from `module`), so the UI's Overview and Timeline list
    it under that location like a launched run.

    Why: `execute_in_process` creates runs without a remote origin, and the public way to
    get one, `dagster job launch`, hands the run to the instance's queue, which only the
    daemon drains. Returns Dagster's `JobExecutionResult`.
    """
    from dagster._core.definitions.job_base import InMemoryJob
    from dagster._core.execution.api import execute_run
    from dagster._core.remote_origin import (
        ManagedGrpcPythonEnvCodeLocationOrigin,
        RemoteJobOrigin,
        RemoteRepositoryOrigin,
    )
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

    in_process = job.as_ephemeral_job(resource_defs={}, input_values={})
    target = LoadableTargetOrigin(
        executable_path=sys.executable, module_name=module, working_directory=os.getcwd()
    )
    origin = RemoteJobOrigin(
        RemoteRepositoryOrigin(
            ManagedGrpcPythonEnvCodeLocationOrigin(target, location_name=location),
            repository_name="__repository__",
        ),
        job.name,
    )
    run = instance.create_run_for_job(
        in_process, run_config=run_config, tags={**job.run_tags, **tags}, remote_job_origin=origin
    )
    return execute_run(InMemoryJob(in_process), run, instance)
