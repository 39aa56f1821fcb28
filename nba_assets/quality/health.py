"""`nba-assets health`: every Delta table checked against its own log and the Dagster instance.

Per table: every data file of the current version exists with the size its log records,
its bytes have the sha256 recorded when its commit added them (`io/checksums.py`), its
Parquet footer holds the rows the log counts, and every page of it decodes. Data files no
version in the log names are orphans (younger than an hour they may belong to a commit in
progress: noted, not a problem). Versions whose files are gone cannot be time-travelled to:
a problem inside the retention window (`NBA_ASSETS_RETENTION_DAYS`, vacuum promises those),
a note beyond it. A table whose version is behind the `delta_version` the instance recorded
(a copy restored over it, say) is a problem; so is a table the instance recorded that is
not there, and files of the daily-file layout (before Delta) never migrated. Exit 1 on any
problem.
"""

import datetime as dt
import hashlib
import itertools
import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import unquote

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
from upath import UPath

from nba_assets.io import checksums, delta
from nba_assets.io.storage import as_upath
from nba_assets.schemas import TABLES
from nba_assets.warehouse.maintenance import retention_days, warehouse_tables
from nba_assets.warehouse.migrate import DAY_FILE, SEASON_FILE, find_old_layout, migration_commit

LOG_DIR = "_delta_log"
#: Unreferenced files younger than this may be a commit in progress.
ORPHAN_GRACE = dt.timedelta(hours=1)
#: Newest events per asset searched for a recorded `delta_version`.
_RECENT_EVENTS = 50
_COMMIT = re.compile(r"^(\d{20})\.json$")


@dataclass(frozen=True)
class Problem:
    # missing | size | checksum | row_count | unreadable | orphan | unreachable | behind
    # | table_missing | not_migrated
    kind: str
    path: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind:<13} {self.path}: {self.detail}"


@dataclass
class TableHealth:
    """What was checked of one table."""

    table: str
    delta_version: int = -1
    files: int = 0
    rows: int = 0
    versions_in_log: int = 0
    oldest_reachable_version: int | None = None


@dataclass
class HealthResult:
    warehouse: str
    tables: list[TableHealth] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# -- the log -------------------------------------------------------------------------------------


@dataclass
class LogEntry:
    """One commit of the log: when, and which data files it added and removed."""

    version: int
    timestamp: dt.datetime
    adds: dict[str, int]
    removes: set[str]


def read_log(root: UPath) -> list[LogEntry]:
    """Every JSON commit still in `_delta_log`, oldest first."""
    log = root / LOG_DIR
    names = sorted(p.name for p in log.iterdir() if _COMMIT.match(p.name))
    return [_parse_commit(int(name[:20]), (log / name).read_text()) for name in names]


def _parse_commit(version: int, text: str) -> LogEntry:
    entry = LogEntry(version, dt.datetime.fromtimestamp(0, dt.UTC), {}, set())
    for line in filter(None, (raw.strip() for raw in text.splitlines())):
        action = json.loads(line)
        if "add" in action:
            entry.adds[unquote(action["add"]["path"])] = int(action["add"].get("size", -1))
        elif "remove" in action:
            entry.removes.add(unquote(action["remove"]["path"]))
        elif "commitInfo" in action and "timestamp" in action["commitInfo"]:
            millis = action["commitInfo"]["timestamp"]
            entry.timestamp = dt.datetime.fromtimestamp(millis / 1000, dt.UTC)
    return entry


@dataclass
class Replay:
    """What replaying the log found: every data file any version names, and versions with
    files gone (version, how many, one of them)."""

    referenced: set[str] = field(default_factory=set)
    gone: list[tuple[int, int, str]] = field(default_factory=list)
    oldest_reachable: int | None = None


def replay(warehouse: str, table: str, log: list[LogEntry], present: set[str]) -> Replay:
    """Each version's files, replayed from the oldest commit the log still holds."""
    found, active, missing = Replay(), set(), set()
    if log and log[0].version > 0:  # older commits cleaned up: start from delta-rs' state
        start = delta.open_table(warehouse, table, log[0].version)
        first = pa.table(start.get_add_actions(flatten=True)).column("path").to_pylist()
        log = [
            LogEntry(log[0].version, log[0].timestamp, dict.fromkeys(first, -1), set()),
            *log[1:],
        ]
    for entry in log:
        active -= entry.removes
        missing -= entry.removes
        active |= set(entry.adds)
        missing |= {path for path in entry.adds if path not in present}
        found.referenced |= set(entry.adds)
        if missing:
            found.gone.append((entry.version, len(missing), min(missing)))
        elif found.oldest_reachable is None:
            found.oldest_reachable = entry.version
    return found


# -- the files -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Listed:
    size: int
    modified: dt.datetime


def list_data_files(root: UPath) -> dict[str, Listed]:
    """Every file under the table but its log and `_`/`.` folders, relative to the table."""
    found = root.fs.find(root.path, detail=True)
    prefix = root.path.rstrip("/") + "/"
    files = {}
    for name, info in found.items():
        relative = name.removeprefix(prefix)
        if info.get("type") == "directory" or any(
            part.startswith(("_", ".")) for part in relative.split("/")
        ):
            continue
        files[relative] = Listed(int(info.get("size", -1)), _modified(info))
    return files


def _modified(info: dict[str, Any]) -> dt.datetime:
    stamp = info.get("mtime") or info.get("LastModified") or info.get("last_modified")
    if isinstance(stamp, dt.datetime):
        return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)
    return dt.datetime.fromtimestamp(float(stamp or 0), dt.UTC)


def read_through(path: UPath) -> int:
    """Read a Parquet file's every row group; returns the rows its footer declares."""
    with path.open("rb") as handle:
        return _read_every_page(pq.ParquetFile(handle))


def _read_every_page(parquet: pq.ParquetFile) -> int:
    """Decode every column of every row group (so every data page); the footer's row count."""
    for group in range(parquet.num_row_groups):
        parquet.read_row_group(group, use_threads=False)
    return parquet.metadata.num_rows


def check_current_files(
    root: UPath,
    table: str,
    delta_table: Any,
    listed: dict[str, Listed],
    sums: dict[str, str] | None = None,
) -> tuple[list[Problem], int]:
    """Each file of the current version: there, its logged size, the sha256 recorded at its
    commit, its logged rows, every page readable."""
    actions = pa.table(delta_table.get_add_actions(flatten=True))
    problems, rows, sums = [], 0, sums or {}
    for path, size, records in zip(
        *(actions.column(c).to_pylist() for c in ("path", "size_bytes", "num_records")),
        strict=True,
    ):
        where = f"{table}/{path}"
        rows += records or 0
        if path not in listed:
            problems.append(Problem("missing", where, "in the current version, not on storage"))
        elif listed[path].size != size:
            detail = f"{listed[path].size} bytes on storage, the log records {size}"
            problems.append(Problem("size", where, detail))
        else:
            problems += _check_content(root / path, where, records, sums.get(path))
    return problems, rows


def _check_content(
    path: UPath, where: str, records: int | None, recorded: str | None
) -> list[Problem]:
    """One read: every page decodes, then the bytes' sha256 against the one recorded at commit
    (a file that still reads but whose values changed, same size and row count, is caught)."""
    data = path.read_bytes()
    try:
        declared = _read_every_page(pq.ParquetFile(pa.BufferReader(data)))
    except Exception as exc:  # pyarrow names what it could not read
        return [Problem("unreadable", where, f"does not read as Parquet ({exc})")]
    if records is not None and declared != records:
        return [Problem("row_count", where, f"holds {declared} rows, the log records {records}")]
    if recorded is not None and hashlib.sha256(data).hexdigest() != recorded:
        detail = "reads, but its bytes changed since its commit (sha256 differs from the record)"
        return [Problem("checksum", where, detail)]
    return []


# -- one table -----------------------------------------------------------------------------------


def check_table(
    warehouse: str, table: str, retention: float, now: dt.datetime
) -> tuple[TableHealth, list[Problem], list[str]]:
    """The current version's files, orphans, unreachable versions and old-layout files."""
    root = as_upath(delta.table_uri(warehouse, table))
    current = delta.open_table(warehouse, table)
    listed = list_data_files(root)
    sums = checksums.recorded(str(root))
    problems, rows = check_current_files(root, table, current, listed, sums)
    log = read_log(root)
    summary = TableHealth(table, current.version(), len(current.file_uris()), rows, len(log))
    unrecorded = [p for p in current.file_uris() if p.rsplit("/", 1)[-1] not in _names(sums)]
    found = replay(warehouse, table, log, set(listed))
    summary.oldest_reachable_version = found.oldest_reachable
    notes: list[str] = []
    if unrecorded:
        notes.append(
            f"{table}: {len(unrecorded)} file(s) committed without a recorded sha256 (before "
            "checksums, or by a writer that records none): read through, bytes not verified"
        )
    problems += _orphans(table, listed, found.referenced, now, notes)
    promised_from = _promised_from(log, now - dt.timedelta(days=retention))
    gone = [g for g in found.gone if g[0] != current.version()]  # its files are checked above
    problems += _unreachable_problems(table, gone, promised_from, retention, notes)
    return summary, problems, notes


def _names(sums: dict[str, str]) -> set[str]:
    return {path.rsplit("/", 1)[-1] for path in sums}


def _orphans(
    table: str, listed: dict[str, Listed], referenced: set[str], now: dt.datetime, notes: list[str]
) -> list[Problem]:
    problems, young = [], 0
    for path, info in sorted(listed.items()):
        if path in referenced or _is_old_layout(path):
            continue
        if now - info.modified < ORPHAN_GRACE:
            young += 1
            continue
        problems.append(Problem("orphan", f"{table}/{path}", "a data file no version names"))
    if young:
        notes.append(
            f"{table}: {young} unreferenced file(s) younger than an hour (a commit in progress?)"
        )
    return problems


def _promised_from(log: list[LogEntry], cutoff: dt.datetime) -> int:
    """The oldest version vacuum promises to keep: it was current at some time after `cutoff`."""
    for older, newer in itertools.pairwise(log):
        if newer.timestamp >= cutoff:
            return older.version
    return log[-1].version if log else 0


def _unreachable_problems(
    table: str,
    gone: list[tuple[int, int, str]],
    promised_from: int,
    retention: float,
    notes: list[str],
) -> list[Problem]:
    """One problem for the versions inside the retention whose files are gone; a note for
    those beyond it (vacuum deleted their files as intended)."""
    expired = [version for version, _, _ in gone if version < promised_from]
    if expired:
        notes.append(
            f"{table}: version(s) {_ranges(expired)} are older than the {retention:g}-day "
            "retention and were vacuumed (time travel to them fails, as intended)"
        )
    promised = [(version, example) for version, _, example in gone if version >= promised_from]
    if not promised:
        return []
    detail = (
        f"version(s) {_ranges([v for v, _ in promised])} lost data files (e.g. "
        f"{promised[0][1]}): time travel and rollback to them fail inside the "
        f"{retention:g}-day retention"
    )
    return [Problem("unreachable", table, detail)]


def _ranges(versions: list[int]) -> str:
    """[0, 1, 2, 5] -> '0-2, 5'."""
    spans: list[list[int]] = []
    for v in versions:
        if spans and v == spans[-1][1] + 1:
            spans[-1][1] = v
        else:
            spans.append([v, v])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def _is_old_layout(path: str) -> bool:
    return "/" not in path and bool(DAY_FILE.match(path) or SEASON_FILE.match(path))


def check_old_layout(warehouse: str) -> tuple[list[Problem], list[str]]:
    """Files of the daily-file layout: kept after a table's migration, a problem before it."""
    problems, notes = [], []
    for table, old in find_old_layout(warehouse).items():
        count = len(old.all_files)
        if migration_commit(warehouse, table) is not None:
            notes.append(
                f"{table}: {count} old-layout file(s) kept beside the Delta table "
                "(`nba-assets migrate --remove-old` deletes them)"
            )
        else:
            detail = f"{count} old-layout file(s) never migrated: run `nba-assets migrate`"
            problems.append(Problem("not_migrated", table, detail))
    return problems, notes


# -- the instance --------------------------------------------------------------------------------


def recorded_version(instance: dg.DagsterInstance, table: str, uri: str) -> int | None:
    """The highest `delta_version` the instance's newest events of the asset record for `uri`."""
    key = dg.AssetKey(table)
    records = [
        *instance.fetch_materializations(key, limit=_RECENT_EVENTS).records,
        *instance.fetch_observations(key, limit=_RECENT_EVENTS).records,
    ]
    versions = []
    for record in records:
        event = record.asset_materialization or record.asset_observation
        metadata = {k: getattr(v, "value", v) for k, v in (event.metadata if event else {}).items()}
        if "delta_version" in metadata and metadata.get("table_uri", uri) == uri:
            versions.append(int(metadata["delta_version"]))
    return max(versions, default=None)


def check_instance(
    instance: dg.DagsterInstance, warehouse: str, tables: Iterable[TableHealth]
) -> list[Problem]:
    """Tables behind what Dagster recorded, and recorded tables that are not there."""
    versions = {t.table: t.delta_version for t in tables}
    problems = []
    for table in sorted(TABLES):
        uri = delta.table_uri(warehouse, table)
        recorded = recorded_version(instance, table, uri)
        if recorded is None:
            continue
        if table not in versions:
            detail = f"Dagster recorded version {recorded}; there is no Delta table"
            problems.append(Problem("table_missing", table, detail))
        elif versions[table] < recorded:
            detail = f"at version {versions[table]}, Dagster recorded version {recorded}"
            problems.append(Problem("behind", table, detail))
    return problems


# -- the whole warehouse -------------------------------------------------------------------------


def run_health(
    instance: dg.DagsterInstance | None, warehouse: str, now: dt.datetime | None = None
) -> HealthResult:
    """Every Delta table of the warehouse, then the instance's record of the asset tables."""
    now = now or dt.datetime.now(dt.UTC)
    retention = retention_days()
    result = HealthResult(warehouse)
    if not as_upath(warehouse).exists():
        result.problems.append(Problem("missing", warehouse, "no warehouse here"))
        return result
    for table in warehouse_tables(warehouse):
        summary, problems, notes = check_table(warehouse, table, retention, now)
        result.tables.append(summary)
        result.problems += problems
        result.notes += notes
    problems, notes = check_old_layout(warehouse)
    result.problems += problems
    result.notes += notes
    if instance is not None:
        result.problems += check_instance(instance, warehouse, result.tables)
    return result


def report(result: HealthResult, as_json: bool = False) -> str:
    if as_json:
        return json.dumps(asdict(result), indent=2, default=str)
    files = sum(t.files for t in result.tables)
    lines = [
        f"healthy: {len(result.tables)} tables, {files} data files verified in {result.warehouse}"
        if not result.problems
        else f"{len(result.problems)} problem(s) in {result.warehouse}:",
        *(f"  {p}" for p in result.problems),
        *(
            f"  {t.table}: version {t.delta_version}, {t.files} files, {t.rows} rows"
            for t in result.tables
        ),
        *(f"  note: {n}" for n in result.notes),
    ]
    return "\n".join(lines)


class HealthConfig(dg.Config):
    warehouse: str = ""  # empty: the code location's warehouse (NBA_ASSETS_WAREHOUSE)


@dg.op
def warehouse_health(context: dg.OpExecutionContext, config: HealthConfig) -> None:
    """Fail (with the report) when a table disagrees with its log, its files or the instance."""
    from nba_assets.settings import Settings

    warehouse = config.warehouse or Settings.from_env().warehouse
    result = run_health(context.instance, warehouse)
    context.log.info(report(result))
    if result.problems:
        raise dg.Failure(
            description=report(result),
            metadata={"problems": dg.MetadataValue.json([asdict(p) for p in result.problems])},
        )


@dg.job(description="Verify every warehouse table's files and versions (nba-assets health)")
def health_job() -> None:
    warehouse_health()


# 06:30 US/Eastern every day: after the night's runs, before anyone reads the morning's data.
health_schedule = dg.ScheduleDefinition(
    job=health_job, cron_schedule="30 6 * * *", execution_timezone="US/Eastern"
)
