"""`nba-assets health`: the warehouse checked against what the instance says was materialized.

Every materialized partition's file must exist and hold the rows its materialization
recorded; no file may sit in the warehouse without a materialization (orphans) or half
written (temporary files); and the raw archive must hold every response a file's provenance
names. Each problem is reported by path, so an operator knows what to re-materialize.
"""

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass

import dagster as dg
import pyarrow.parquet as pq
from upath import UPath

from nba_assets.io.parquet import PROVENANCE_KEY
from nba_assets.io.storage import as_upath

#: Warehouse areas that are not asset outputs (the archive is checked through provenance).
NOT_OUTPUTS = ("raw", "_quarantine", "_revisions", "_staging")
TEMP_PREFIX = ".tmp-"
_PAGE = 1000


@dataclass(frozen=True)
class Problem:
    kind: str  # missing | unreadable | row_count | orphan | temporary | archive_missing
    path: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind:<15} {self.path}: {self.detail}"


@dataclass(frozen=True)
class Recorded:
    """The latest materialization of one asset partition (partition None: unpartitioned)."""

    asset: str
    partition: str | None
    rows: int | None


def recorded_rows(metadata: dict, partition: str | None) -> int | None:
    """Rows a materialization recorded for its partition (single-partition or ranged event)."""
    value = metadata.get("dagster/row_count")
    if value is not None:
        return int(getattr(value, "value", value))
    by_partition = metadata.get("rows_by_partition")
    if by_partition is not None and partition is not None:
        rows = getattr(by_partition, "value", by_partition).get(partition)
        return None if rows is None else int(rows)
    return None


def latest_materializations(
    instance: dg.DagsterInstance, asset_keys: Iterable[dg.AssetKey]
) -> Iterator[Recorded]:
    """The newest materialization per partition of each asset, paging through the event log."""
    for key in asset_keys:
        latest: dict[str | None, Recorded] = {}
        cursor = None
        while True:
            page = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=key), limit=_PAGE, cursor=cursor, ascending=True
            )
            for record in page.records:
                materialization = record.asset_materialization
                if materialization is None:
                    continue
                partition = materialization.partition
                rows = recorded_rows(dict(materialization.metadata), partition)
                latest[partition] = Recorded(key.to_user_string(), partition, rows)
            if not page.has_more:
                break
            cursor = page.cursor
        yield from latest.values()


def output_path(warehouse: UPath, record: Recorded) -> UPath:
    """Where the IO manager put it: `<asset>/<partition>.parquet` or `<asset>.parquet`."""
    if record.partition is None:
        return warehouse / f"{record.asset}.parquet"
    return warehouse / record.asset / f"{record.partition}.parquet"


def check_warehouse(
    warehouse: UPath, records: Iterable[Recorded], verify_archive: bool = True
) -> list[Problem]:
    problems: list[Problem] = []
    expected: set[str] = set()
    for record in records:
        path = output_path(warehouse, record)
        expected.add(_relative(warehouse, path))
        problems += _check_file(warehouse, path, record, verify_archive)
    problems += _stray_files(warehouse, expected)
    return problems


def _check_file(
    warehouse: UPath, path: UPath, record: Recorded, verify_archive: bool
) -> list[Problem]:
    where = _relative(warehouse, path)
    if not path.exists():
        return [Problem("missing", where, "materialized, but no file is there")]
    try:
        with path.open("rb") as handle:
            meta = pq.ParquetFile(handle).metadata
    except Exception as exc:  # truncated or overwritten: pyarrow names what it could not read
        return [Problem("unreadable", where, f"not a readable Parquet file ({exc})")]
    problems = []
    if record.rows is not None and meta.num_rows != record.rows:
        problems.append(
            Problem(
                "row_count",
                where,
                f"holds {meta.num_rows} rows, materialization recorded {record.rows}",
            )
        )
    if verify_archive:
        provenance = json.loads((meta.metadata or {}).get(PROVENANCE_KEY, b"[]"))
        for request in provenance:
            archived = request.get("archive")
            if archived and not (warehouse / archived).exists():
                problems.append(
                    Problem(
                        "archive_missing",
                        where,
                        f"provenance names {archived} ({request.get('endpoint')}), not in the archive",
                    )
                )
    return problems


def _stray_files(warehouse: UPath, expected: set[str]) -> list[Problem]:
    """Temporary files anywhere; outputs no materialization accounts for."""
    problems = []
    if not warehouse.exists():
        return problems
    for path in sorted(warehouse.rglob("*")):
        if not path.is_file():
            continue
        relative = _relative(warehouse, path)
        if path.name.startswith(TEMP_PREFIX):
            problems.append(Problem("temporary", relative, "left by an interrupted write"))
        elif relative.split("/", 1)[0] not in NOT_OUTPUTS and relative not in expected:
            problems.append(
                Problem("orphan", relative, "no materialization recorded for this file")
            )
    return problems


def _relative(warehouse: UPath, path: UPath) -> str:
    return str(path.path)[len(str(warehouse.path)) :].lstrip("/")


def run_health(
    instance: dg.DagsterInstance, warehouse: str, asset_keys: Iterable[dg.AssetKey]
) -> list[Problem]:
    root = as_upath(warehouse)
    return check_warehouse(root, list(latest_materializations(instance, asset_keys)))


def report(problems: list[Problem], as_json: bool = False) -> str:
    if as_json:
        return json.dumps([asdict(p) for p in problems], indent=2)
    if not problems:
        return "healthy: every materialized partition's file is there with its recorded rows"
    lines = [f"{len(problems)} problem(s):", *(f"  {p}" for p in problems)]
    return "\n".join(lines)


class HealthConfig(dg.Config):
    warehouse: str = ""  # empty: the code location's warehouse (NBA_ASSETS_WAREHOUSE)


@dg.op
def warehouse_health(context: dg.OpExecutionContext, config: HealthConfig) -> None:
    """Fail (with the report) when the warehouse disagrees with the instance."""
    from nba_assets.definitions import defs
    from nba_assets.settings import Settings

    warehouse = config.warehouse or Settings.from_env().warehouse
    keys = [spec.key for spec in defs.resolve_all_asset_specs()]
    problems = run_health(context.instance, warehouse, keys)
    context.log.info(report(problems))
    if problems:
        raise dg.Failure(
            description=report(problems),
            metadata={"problems": dg.MetadataValue.json([asdict(p) for p in problems])},
        )


@dg.job(description="Verify the warehouse against the instance (nba-assets health)")
def health_job() -> None:
    warehouse_health()


# 06:30 US/Eastern every day: after the night's runs, before anyone reads the morning's data.
health_schedule = dg.ScheduleDefinition(
    job=health_job, cron_schedule="30 6 * * *", execution_timezone="US/Eastern"
)
