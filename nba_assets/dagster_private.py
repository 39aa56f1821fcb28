"""Every use of Dagster's private internals, in one place, each with why no public API serves.

A Dagster upgrade that moves one of them fails `nba_assets_tests/test_dagster_private.py`
by name (docs/troubleshooting.md, known limits) rather than a run somewhere; where the
public path exists but is slow, the code falls back to it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

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
