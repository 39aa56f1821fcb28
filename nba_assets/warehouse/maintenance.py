"""Table maintenance: Delta `optimize` where seasons hold many files, then `vacuum`.

`table_maintenance_job` compacts every season (of every warehouse table) holding more than
`max_files` data files and vacuums files no version younger than the retention needs, so
time travel and rollback keep working that far back. Retention: `NBA_ASSETS_RETENTION_DAYS`
(default 30). Each table's result is an AssetObservation with `delta_version` and the files
before and after. `table_maintenance_sensor` (running by default) launches the job after new
materializations of the box-score and play-by-play tables, once none of their runs is still
writing. The op runs in the `nba_api` pool, which every writer of those tables runs in, so
maintenance never commits beside a writer on an instance that enforces pools.
"""

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field

import dagster as dg
from deltalake.exceptions import CommitFailedError
from upath import UPath

from nba_assets.io import delta
from nba_assets.io.storage import as_upath
from nba_assets.schemas import TABLES
from nba_assets.source.client import API_POOL

RETENTION_ENV = "NBA_ASSETS_RETENTION_DAYS"
#: A season is compacted once it holds more data files than this.
MAX_FILES_PER_SEASON = 4
#: Assets whose new materializations make the sensor launch maintenance.
WATCHED = tuple(
    dg.AssetKey(name) for name in ("team_boxscores", "player_boxscores", "play_by_play")
)
JOB_NAME = "table_maintenance_job"
_IN_PROGRESS = (
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
)


def retention_days(env: Mapping[str, str] | None = None) -> float:
    """Days of versions vacuum keeps: `NBA_ASSETS_RETENTION_DAYS`, default 30."""
    raw = (os.environ if env is None else env).get(RETENTION_ENV, "").strip()
    if not raw:
        return float(delta.DEFAULT_RETENTION_DAYS)
    try:
        days = float(raw)
    except ValueError:
        raise ValueError(f"{RETENTION_ENV}={raw!r} is not a number of days") from None
    if days < 0:
        raise ValueError(f"{RETENTION_ENV}={raw!r} must not be negative")
    return days


def warehouse_tables(warehouse: str) -> list[str]:
    """Every Delta table directly under the warehouse (`_`-prefixed areas are not tables)."""
    root = as_upath(warehouse)
    if not root.exists():
        return []
    names = sorted(_child_names(root))
    return [n for n in names if not n.startswith(("_", ".")) and delta.exists(warehouse, n)]


def _child_names(root: UPath) -> Iterable[str]:
    return (child.name for child in root.iterdir() if child.is_dir())


@dataclass
class TableMaintenance:
    """What maintenance did to one table."""

    table: str
    version_before: int
    delta_version: int
    files_before: int
    files_after: int
    max_files_per_season_before: int
    max_files_per_season_after: int
    seasons_compacted: list[str] = field(default_factory=list)
    files_vacuumed: int = 0
    skipped: str = ""

    def as_metadata(self, uri: str, retention: float) -> dict[str, object]:
        meta = {k: v for k, v in asdict(self).items() if k != "seasons_compacted"}
        meta["seasons_compacted"] = dg.MetadataValue.json(self.seasons_compacted)
        return {**meta, "table_uri": uri, "retention_days": retention}


def _file_counts(warehouse: str, table: str) -> tuple[int, int, int]:
    """Version, data files, and the most data files any one season holds."""
    current = delta.open_table(warehouse, table)
    counts = delta.files_per_partition(current)
    return current.version(), sum(counts.values()), max(counts.values(), default=0)


def maintain_table(
    warehouse: str, table: str, max_files: int = MAX_FILES_PER_SEASON, retention: float = 30.0
) -> TableMaintenance:
    """Compact crowded seasons, then vacuum; a concurrent writer's win skips this table."""
    version, files, most = _file_counts(warehouse, table)
    result = TableMaintenance(table, version, version, files, files, most, most)
    try:
        compacted = delta.compact(warehouse, table, max_files)
        result.seasons_compacted = list(compacted["seasons_compacted"])
        result.files_vacuumed = vacuum_if_needed(warehouse, table, retention)
    except CommitFailedError as exc:
        result.skipped = f"a concurrent commit won ({str(exc).splitlines()[0]}); next run retries"
    result.delta_version, result.files_after, result.max_files_per_season_after = _file_counts(
        warehouse, table
    )
    return result


def vacuum_if_needed(warehouse: str, table: str, retention: float) -> int:
    """Vacuum only when some expired file is still there: delta-rs commits VACUUM START and
    END (two versions) on every vacuum, and lists long-deleted tombstones again."""
    root = as_upath(delta.table_uri(warehouse, table))
    expired = delta.vacuum(warehouse, table, retention, dry_run=True)
    present = [p for p in expired if _data_path(root, p).exists()]
    if not present:
        return 0
    delta.vacuum(warehouse, table, retention)
    return len(present)


def _data_path(root: UPath, path: str) -> UPath:
    """A path vacuum returned: relative to the table, or absolute (delta-rs gives both)."""
    return as_upath(path) if path.startswith("/") or "://" in path else root / path


def maintain_warehouse(
    warehouse: str, max_files: int = MAX_FILES_PER_SEASON, retention: float | None = None
) -> list[TableMaintenance]:
    """`maintain_table` for every Delta table of the warehouse."""
    days = retention_days() if retention is None else retention
    return [maintain_table(warehouse, t, max_files, days) for t in warehouse_tables(warehouse)]


def summary(result: TableMaintenance) -> str:
    """One line: files before -> after, what was compacted, vacuumed or skipped."""
    seasons = ",".join(s or "all" for s in result.seasons_compacted) or "none"
    line = (
        f"{result.table}: version {result.version_before} -> {result.delta_version}, "
        f"files {result.files_before} -> {result.files_after} "
        f"(max per season {result.max_files_per_season_after}), compacted {seasons}, "
        f"vacuumed {result.files_vacuumed}"
    )
    return f"{line}; skipped: {result.skipped}" if result.skipped else line


class MaintenanceConfig(dg.Config):
    warehouse: str = ""  # empty: the code location's warehouse (NBA_ASSETS_WAREHOUSE)
    max_files_per_season: int = MAX_FILES_PER_SEASON
    retention_days: float = -1.0  # negative: NBA_ASSETS_RETENTION_DAYS (default 30)


@dg.op(pool=API_POOL)
def table_maintenance(context: dg.OpExecutionContext, config: MaintenanceConfig) -> None:
    """Optimize and vacuum every warehouse table; one AssetObservation per asset table."""
    from nba_assets.settings import Settings

    warehouse = config.warehouse or Settings.from_env().warehouse
    retention = retention_days() if config.retention_days < 0 else config.retention_days
    for result in maintain_warehouse(warehouse, config.max_files_per_season, retention):
        context.log.info(summary(result))
        if result.table in TABLES:  # asset tables; revisions and raw_responses are not assets
            uri = delta.table_uri(warehouse, result.table)
            context.log_event(
                dg.AssetObservation(
                    asset_key=result.table, metadata=result.as_metadata(uri, retention)
                )
            )


@dg.job(
    name=JOB_NAME,
    description="Delta optimize (crowded seasons) and vacuum (keeps NBA_ASSETS_RETENTION_DAYS) "
    "on every warehouse table",
)
def table_maintenance_job() -> None:
    table_maintenance()


def newest_materialization(instance: dg.DagsterInstance, after: int | None) -> int | None:
    """Storage id of the newest materialization of a watched asset after `after`, if any."""
    newest = None
    for key in WATCHED:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, after_storage_id=after), limit=1
        ).records
        if records:
            newest = max(newest or 0, records[0].storage_id)
    return newest


def busy_runs(instance: dg.DagsterInstance) -> list[str]:
    """Runs still writing a watched table, or a maintenance run not yet finished."""
    busy = set()
    for key in WATCHED:
        planned = instance.get_latest_planned_materialization_info(key)
        if planned is not None:
            busy.add(planned.run_id)
    busy |= {r.run_id for r in instance.get_runs(dg.RunsFilter(job_name=JOB_NAME), limit=5)}
    return sorted(
        run_id
        for run_id in busy
        if (run := instance.get_run_by_id(run_id)) is not None and run.status in _IN_PROGRESS
    )


@dg.sensor(
    name="table_maintenance_sensor",
    job=table_maintenance_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Optimize and vacuum the warehouse after new box-score or play-by-play commits.",
)
def table_maintenance_sensor(context: dg.SensorEvaluationContext):
    """One maintenance run per batch of new materializations, never beside a writer."""
    after = json.loads(context.cursor)["storage_id"] if context.cursor else None
    newest = newest_materialization(context.instance, after)
    if newest is None:
        return dg.SkipReason("no new materializations of the box-score or play-by-play tables")
    busy = busy_runs(context.instance)
    if busy:
        return dg.SkipReason(f"waiting for run(s) {', '.join(busy)} to finish")
    context.update_cursor(json.dumps({"storage_id": newest}))
    return dg.RunRequest(run_key=f"maintenance-after-{newest}")
