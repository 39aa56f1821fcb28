"""`training_snapshot`: runs the DVC pipeline (`dvc repro`) and records what it built and from what.

Lineage both ways, joined on `delta_version`: the snapshot's manifest (DVC-tracked) names the
Delta version of each box-score table it read; every box-score materialization carries the
`delta_version` (and `table_uri`) its run committed or found unchanged. The asset's metadata
names the md5 of every output from `dvc.lock`, the git revision, the params, the versions read
and, per partition the snapshot read, the run whose materialization is the latest at or before
that version. The project never imports dvc: the CLI runs as a subprocess.
"""

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import yaml

from nba_assets.assets.boxscores import player_boxscores, team_boxscores
from nba_assets.assets.schedule import schedule
from nba_assets.io.storage import as_upath

TRAINING_GROUP = "training"
MANIFEST = Path("data/snapshots/extract/manifest.json")
METRICS = Path("data/snapshots/metrics.json")
#: The checkout this package was installed from (editable install): the default DVC workspace.
CHECKOUT = Path(__file__).resolve().parents[2]
_OUTPUT_TAIL = 4000


class SnapshotConfig(dg.Config):
    workspace: str = ""  # a git checkout with dvc.yaml; empty = the checkout nba_assets runs from


def find_workspace(configured: str) -> Path:
    """The git + DVC workspace to run in; a clear failure where there is none (e.g. a container)."""
    workspace = Path(configured or CHECKOUT).resolve()
    problems = []
    if not (workspace / "dvc.yaml").is_file():
        problems.append("no dvc.yaml")
    if not (workspace / ".dvc").is_dir():
        problems.append("no .dvc/")
    if _git(workspace, "rev-parse", "--show-toplevel", check=False) is None:
        problems.append("not a git repository")
    if problems:
        raise dg.Failure(
            f"training_snapshot needs a git checkout with the DVC pipeline, but {workspace} has "
            f"{', '.join(problems)}. Run it from a clone of the project, or set the asset's "
            "config `workspace` to one."
        )
    return workspace


def dvc_executable() -> str:
    """The README environment's `dvc` (the shim beside this interpreter), else the one on PATH."""
    beside = Path(sys.executable).with_name("dvc")
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("dvc")
    if not found:
        raise dg.Failure("training_snapshot: no `dvc` executable; run `make setup`")
    return found


def run_dvc(workspace: Path, args: Sequence[str]) -> str:
    """Run `dvc <args>` in the workspace; stages find `nba-assets` of this same environment."""
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DVC_NO_ANALYTICS": "1",
    }
    proc = subprocess.run(
        [dvc_executable(), *args], cwd=workspace, env=env, capture_output=True, text=True
    )
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise dg.Failure(
            f"`dvc {' '.join(args)}` failed in {workspace} (exit {proc.returncode})",
            metadata={"output": dg.MetadataValue.md(f"```\n{output[-_OUTPUT_TAIL:]}\n```")},
        )
    return output


def output_md5s(lock: Mapping[str, Any]) -> dict[str, str]:
    """{output path: md5} for every stage output in a parsed dvc.lock."""
    return {
        out["path"]: out["md5"]
        for stage in lock.get("stages", {}).values()
        for out in stage.get("outs", [])
    }


def check_warehouse(workspace: Path, params: Mapping[str, Any], warehouse: str) -> None:
    """The snapshot must read the warehouse this Dagster deployment writes, or lineage is wrong."""
    configured = str(params.get("warehouse", ""))
    resolved = configured if "://" in configured else str(workspace / configured)
    if as_upath(resolved) != as_upath(warehouse):
        raise dg.Failure(
            f"params.yaml in {workspace} reads warehouse {configured!r} ({resolved}), but Dagster "
            f"writes {warehouse!r}: set `warehouse:` in params.yaml or NBA_ASSETS_WAREHOUSE so they agree"
        )


#: Materialization records fetched per page while joining partitions to versions.
_PAGE = 1000


@dataclass
class TableLineage:
    """What the instance says about one pinned table version."""

    runs: dict[str, str] = field(default_factory=dict)  # partition -> run id
    committed_by: str | None = None  # the run whose commit made the pinned version
    table_uri: str | None = None


def _meta(record: dg.EventLogRecord, name: str) -> Any:
    value = record.asset_materialization.metadata.get(name)
    return getattr(value, "value", value)


def table_lineage(
    instance: dg.DagsterInstance, table: str, version: int, partitions: Sequence[str]
) -> TableLineage:
    """Per partition, the latest materialization whose `delta_version` is at most `version`.

    Newest first, page by page, until every partition is placed: a materialization after the
    pinned version (a later commit) is skipped, one from before Delta (no `delta_version`) too.
    """
    wanted, found = set(partitions), TableLineage()
    cursor = None
    while len(found.runs) < len(wanted):
        page = instance.fetch_materializations(dg.AssetKey(table), limit=_PAGE, cursor=cursor)
        for record in page.records:
            at = _meta(record, "delta_version")
            if at is None or int(at) > version:
                continue
            if int(at) == version and _meta(record, "commit") == "committed":
                found.committed_by = found.committed_by or record.run_id
            found.table_uri = found.table_uri or _meta(record, "table_uri")
            key = record.partition_key
            if key in wanted and key not in found.runs:
                found.runs[key] = record.run_id
        if not page.has_more:
            break
        cursor = page.cursor
    return found


def snapshot_lineage(
    instance: dg.DagsterInstance, manifest: Mapping[str, Any]
) -> tuple[dict[str, dict[str, int]], dict[str, int], dict[str, TableLineage]]:
    """Runs the snapshot read ({run id: {table: partitions}}), partitions with no known run,
    and each table's lineage at the version the manifest pins."""
    runs: dict[str, dict[str, int]] = {}
    unknown: dict[str, int] = {}
    tables: dict[str, TableLineage] = {}
    for table, entry in sorted(manifest.get("tables", {}).items()):
        partitions = sorted(entry.get("partitions", {}))
        lineage = table_lineage(instance, table, int(entry["delta_version"]), partitions)
        tables[table] = lineage
        for run_id in lineage.runs.values():
            runs.setdefault(run_id, {}).setdefault(table, 0)
            runs[run_id][table] += 1
        if len(lineage.runs) < len(partitions):
            unknown[table] = len(partitions) - len(lineage.runs)
    return runs, unknown, tables


def _git(workspace: Path, *args: str, check: bool = True) -> str | None:
    proc = subprocess.run(["git", *args], cwd=workspace, capture_output=True, text=True)
    if proc.returncode != 0:
        if check:
            raise dg.Failure(f"`git {' '.join(args)}` failed in {workspace}: {proc.stderr.strip()}")
        return None
    return proc.stdout.strip()


def build_training_snapshot(warehouse: str) -> dg.AssetsDefinition:
    """The asset over the warehouse Dagster writes (settings), so lineage names the right runs."""

    @dg.asset(
        key="training_snapshot",
        deps=[team_boxscores, player_boxscores, schedule],
        group_name=TRAINING_GROUP,
        kinds={"dvc", "parquet"},
        owners=["team:modeling"],
        description="Training rows (data/snapshots/...) built by `dvc repro`, tracked by DVC.",
    )
    def training_snapshot(
        context: dg.AssetExecutionContext, config: SnapshotConfig
    ) -> dg.MaterializeResult:
        workspace = find_workspace(config.workspace)
        params = yaml.safe_load((workspace / "params.yaml").read_text()) or {}
        check_warehouse(workspace, params, warehouse)
        log = run_dvc(workspace, ["repro"])
        context.log.info(log[-_OUTPUT_TAIL:])
        lock = yaml.safe_load((workspace / "dvc.lock").read_text()) or {}
        manifest = json.loads((workspace / MANIFEST).read_text())
        runs, unknown, tables = snapshot_lineage(context.instance, manifest)
        md5s = output_md5s(lock)
        metadata: dict[str, Any] = {
            "workspace": dg.MetadataValue.path(str(workspace)),
            "git_revision": _git(workspace, "rev-parse", "HEAD", check=False) or "(no commit)",
            "git_dirty": bool(_git(workspace, "status", "--porcelain", check=False)),
            "dvc_outputs_md5": dg.MetadataValue.json(md5s),
            "params": dg.MetadataValue.json(params),
            "delta_versions": dg.MetadataValue.json(
                {t: e["delta_version"] for t, e in manifest.get("tables", {}).items()}
            ),
            "committed_by": dg.MetadataValue.json({t: v.committed_by for t, v in tables.items()}),
            "table_uris": dg.MetadataValue.json({t: v.table_uri for t, v in tables.items()}),
            "dagster_runs": dg.MetadataValue.json(runs),
            "partitions_without_run": dg.MetadataValue.json(unknown),
            "manifest": dg.MetadataValue.path(str(workspace / MANIFEST)),
            "stages_run": sorted(_stages_run(log)),
        }
        for path, md5 in md5s.items():
            metadata[f"md5:{path}"] = md5
        if (workspace / METRICS).is_file():
            metadata["metrics"] = dg.MetadataValue.json(
                json.loads((workspace / METRICS).read_text())
            )
        return dg.MaterializeResult(metadata=metadata)

    return training_snapshot


def _stages_run(log: str) -> set[str]:
    """Stage names `dvc repro` printed as running (the rest were unchanged)."""
    return {line.split("'")[1] for line in log.splitlines() if line.startswith("Running stage '")}
