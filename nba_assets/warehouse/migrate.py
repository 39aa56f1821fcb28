"""`nba-assets migrate`: a daily-file warehouse (the layout before Delta) as Delta tables.

The old layout: `<table>/<YYYY-MM-DD>.parquet` (box scores, play-by-play), their season copies
`<table>_by_season/<season>.parquet`, `schedule/<season>.parquet`, `teams.parquet`,
`players.parquet` and `_revisions/<asset>/*.parquet`; each file's provenance in its Parquet
key-value metadata (`nba_assets.provenance`).

Each table becomes one Delta commit (`nba_assets.migration` in its commit info) written
beside the old files: the dated files share the table's directory, where Delta ignores
them (it reads only what its log names; nothing here vacuums unreferenced files). Daily
files are the truth; a season file only fills days no daily file has. `source_sha256` comes
from the provenance: the request whose window, season type (game id kind) or game id
covers the row. The rows are counted against the old files' own counts. Re-running finds the
migration commit, verifies it again and writes nothing. The old files stay until
`--remove-old`, which deletes them only for tables whose migration verified.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import CommitProperties, write_deltalake
from upath import UPath

from nba_assets.io import delta
from nba_assets.io.storage import as_upath
from nba_assets.partitions import GAME_ID_KINDS, season_of
from nba_assets.warehouse.revisions import REVISION_SCHEMA, REVISIONS_TABLE
from nba_assets.schemas import TABLES, TableSpec
from nba_assets.warehouse.versions import rows_in_version

PROVENANCE_KEY = b"nba_assets.provenance"
#: Commit-info key (after `nba_assets.`) that marks a table's migration commit.
MIGRATION = "migration"
DAILY_TABLES = ("team_boxscores", "player_boxscores", "play_by_play")
WHOLE_TABLES = ("teams", "players")
SEASON_SUFFIX = "_by_season"
OLD_REVISIONS = "_revisions"
DAY_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}\.parquet$")
SEASON_FILE = re.compile(r"^\d{4}-\d{2}\.parquet$")


class MigrationError(RuntimeError):
    """A table that cannot be migrated as asked: named, with the reason."""


@dataclass
class OldTable:
    """One table's files in the old layout: `files` hold its rows, `copies` only fill gaps."""

    table: str
    files: list[UPath] = field(default_factory=list)
    copies: list[UPath] = field(default_factory=list)

    @property
    def all_files(self) -> list[UPath]:
        return [*self.files, *self.copies]


@dataclass
class Migrated:
    """What migrating one table did (or found already done)."""

    table: str
    delta_version: int
    rows: int
    files: int
    already: bool = False
    removed: int = 0

    def __str__(self) -> str:
        done = "already migrated" if self.already else "migrated"
        line = f"{self.table}: {done} in version {self.delta_version}: {self.rows} rows from {self.files} files (verified)"
        return line + (f"; removed {self.removed} old files" if self.removed else "")


# -- finding the old layout ----------------------------------------------------------------------


def find_old_layout(warehouse: str) -> dict[str, OldTable]:
    """Every table with files in the old layout, by table name (empty: nothing to migrate)."""
    root = as_upath(warehouse)
    if not root.exists():
        raise MigrationError(f"warehouse {warehouse} does not exist")
    found: dict[str, OldTable] = {}
    for table in DAILY_TABLES:
        old = OldTable(table, _matching(root / table, DAY_FILE))
        old.copies = _matching(root / f"{table}{SEASON_SUFFIX}", SEASON_FILE)
        found[table] = old
    found["schedule"] = OldTable("schedule", _matching(root / "schedule", SEASON_FILE))
    for table in WHOLE_TABLES:
        path = root / f"{table}.parquet"
        found[table] = OldTable(table, [path] if path.exists() else [])
    revisions = root / OLD_REVISIONS
    found[REVISIONS_TABLE] = OldTable(
        REVISIONS_TABLE,
        [p for d in _dirs(revisions) for p in _matching(d, re.compile(r".*\.parquet$"))],
    )
    return {name: old for name, old in found.items() if old.all_files}


def _matching(folder: UPath, pattern: re.Pattern[str]) -> list[UPath]:
    if not folder.is_dir():
        return []
    return sorted(
        (p for p in folder.iterdir() if p.is_file() and pattern.match(p.name)),
        key=lambda p: p.name,
    )


def _dirs(folder: UPath) -> list[UPath]:
    return (
        sorted((p for p in folder.iterdir() if p.is_dir()), key=lambda p: p.name)
        if folder.is_dir()
        else []
    )


# -- reading old files ---------------------------------------------------------------------------


def read_old_file(path: UPath) -> tuple[pa.Table, list[dict[str, Any]]]:
    """A file's rows (without schema metadata) and the provenance records it carries."""
    with path.open("rb") as handle:
        table = pq.ParquetFile(handle).read(use_threads=False)
    records = json.loads((table.schema.metadata or {}).get(PROVENANCE_KEY, b"[]"))
    return table.replace_schema_metadata(None), records


def conform_old(spec: TableSpec, table: pa.Table, where: str) -> pa.Table:
    """The old rows with the table's declared columns and types (absent columns as nulls)."""
    schema = spec.arrow_schema()
    columns = [
        table.column(f.name) if f.name in table.schema.names else pa.nulls(table.num_rows, f.type)
        for f in schema
    ]
    try:
        return pa.Table.from_arrays(columns, names=schema.names).cast(schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise MigrationError(f"{where}: does not fit {spec.name}'s columns ({exc})") from None


def source_hashes(table: pa.Table, records: list[dict[str, Any]]) -> pa.Array:
    """Per row, the sha256 of the one response whose request covers it (null if none or many).

    A request covers a row when its `covers` window holds the row's game_date, its
    SeasonType's game-id kind is the row's, and its GameID (play-by-play) is the row's.
    """
    shas = {str(r["sha256"]) for r in records if r.get("sha256")}
    if len(shas) <= 1 or "game_id" not in table.schema.names:
        only = shas.pop() if len(shas) == 1 else None
        return pa.array([only] * table.num_rows, pa.string())
    dates = table.column("game_date") if "game_date" in table.schema.names else None
    text_dates = (
        pc.cast(dates, pa.string()) if dates is not None else pa.array([""] * table.num_rows)
    )
    keys = pc.binary_join_element_wise(table.column("game_id"), text_dates, "|")
    encoded = pc.dictionary_encode(keys).combine_chunks()
    chosen = [_covering(records, *key.split("|")) for key in encoded.dictionary.to_pylist()]
    return pa.array(chosen, pa.string()).take(encoded.indices)


def _covering(records: list[dict[str, Any]], game_id: str, day: str) -> str | None:
    found = {str(r["sha256"]) for r in records if r.get("sha256") and _covers(r, game_id, day)}
    return found.pop() if len(found) == 1 else None


def _covers(record: dict[str, Any], game_id: str, day: str) -> bool:
    params = record.get("params") or {}
    window = record.get("covers")
    if window and day and not window[0] <= day <= window[1]:
        return False
    if params.get("GameID") and params["GameID"] != game_id:
        return False
    kind = GAME_ID_KINDS.get(params.get("SeasonType", ""))
    return not (kind and game_id[2:3] != kind)


def stored_rows(spec: TableSpec, path: UPath) -> pa.Table:
    """One old file as the Delta table stores it: typed, `season`, `source_sha256`."""
    table, records = read_old_file(path)
    table = conform_old(spec, table, str(path))
    stored = delta.layout(spec).schema()
    if delta.SEASON in stored.names and delta.SEASON not in table.schema.names:
        table = table.append_column(delta.SEASON, _seasons(table.column("game_date")))
    table = table.append_column(delta.SOURCE_SHA256, source_hashes(table, records))
    return table.select(stored.names).cast(stored)


def _seasons(days: pa.ChunkedArray) -> pa.Array:
    distinct = pc.unique(days)
    names = pa.array([season_of(d) for d in distinct.to_pylist()], pa.string())
    return names.take(pc.index_in(days, value_set=distinct))


# -- what each table's rows are ------------------------------------------------------------------


def season_batches(spec: TableSpec, old: OldTable) -> Iterator[tuple[str, pa.Table]]:
    """Each season's rows (daily files, then season-file rows of days without a daily file)."""
    by_season: dict[str, list[UPath]] = {}
    for path in old.files:
        by_season.setdefault(_season_of_file(path), []).append(path)
    copies = {path.name.removesuffix(".parquet"): path for path in old.copies}
    order = delta.layout(spec).order
    for season in sorted(set(by_season) | set(copies)):
        parts = [stored_rows(spec, p) for p in by_season.get(season, [])]
        if season in copies:
            parts.append(_gap_rows(spec, copies[season], by_season.get(season, [])))
        rows = pa.concat_tables(parts).combine_chunks()
        yield season, delta.sort_rows(rows, order)


def _season_of_file(path: UPath) -> str:
    name = path.name.removesuffix(".parquet")
    return name if SEASON_FILE.match(path.name) else season_of(dt.date.fromisoformat(name))


def _gap_rows(spec: TableSpec, copy: UPath, daily: list[UPath]) -> pa.Table:
    """A season file's rows dated on days that have no daily file."""
    rows = stored_rows(spec, copy)
    days = pa.array(
        [dt.date.fromisoformat(p.name.removesuffix(".parquet")) for p in daily], pa.date32()
    )
    return rows.filter(pc.invert(pc.is_in(rows.column("game_date"), value_set=days)))


def whole_rows(spec: TableSpec, old: OldTable) -> pa.Table:
    rows = pa.concat_tables([stored_rows(spec, p) for p in old.files])
    return delta.sort_rows(rows.combine_chunks(), delta.layout(spec).order)


def revision_rows(old: OldTable) -> pa.Table:
    """Old revision files (no delta_version or run_id: they predate the commits) in file order."""
    parts = []
    for path in old.files:
        table, _ = read_old_file(path)
        columns = [
            table.column(f.name)
            if f.name in table.schema.names
            else pa.nulls(table.num_rows, f.type)
            for f in REVISION_SCHEMA
        ]
        parts.append(pa.Table.from_arrays(columns, schema=REVISION_SCHEMA))
    return pa.concat_tables(parts).combine_chunks()


# -- migrating ----------------------------------------------------------------------------------


def migration_commit(warehouse: str, table: str) -> dict[str, Any] | None:
    """The history entry of the table's migration commit, if it has one."""
    if not delta.exists(warehouse, table):
        return None
    for entry in delta.history(warehouse, table):
        if MIGRATION in entry["meta"]:
            return entry
    return None


def rows_added(warehouse: str, table: str, version: int) -> int:
    """Rows version `version` holds beyond version `version - 1` (from the log's statistics)."""
    before = rows_in_version(warehouse, table, version - 1) if version else 0
    return rows_in_version(warehouse, table, version) - before


def migrate_table(warehouse: str, old: OldTable) -> Migrated:
    """Write one table's old rows as one Delta commit and verify the count (or re-verify)."""
    done = migration_commit(warehouse, old.table)
    if done is not None:
        return _verify(warehouse, old, int(done["version"]), already=True)
    if old.table != REVISIONS_TABLE and delta.exists(warehouse, old.table):
        raise MigrationError(
            f"{old.table}: already a Delta table written since the move to Delta "
            f"(version {delta.open_table(warehouse, old.table).version()}); its {len(old.all_files)} "
            "old files were not migrated over it (move the table aside to migrate them)"
        )
    version = _write(warehouse, old)
    return _verify(warehouse, old, version, already=False)


def _write(warehouse: str, old: OldTable) -> int:
    uri = delta.table_uri(warehouse, old.table)
    commit_id = uuid.uuid4().hex
    meta = {
        MIGRATION: "daily-file layout",
        "migrated_files": str(len(old.all_files)),
        "range": "migration",
        "commit_id": commit_id,
    }
    if old.table == REVISIONS_TABLE:
        data: pa.Table | pa.RecordBatchReader = revision_rows(old)
        partition_by, mode = ["asset"], "append"
    else:
        spec = TABLES[old.table]
        stored = delta.layout(spec)
        partition_by, mode = stored.partition_by or None, "error"
        if old.table in WHOLE_TABLES:
            data = whole_rows(spec, old)
        else:  # a season at a time: play-by-play of 25 seasons never sits in memory at once
            data = delta.stream(stored.schema(), (rows for _, rows in season_batches(spec, old)))
    write_deltalake(
        uri,
        data,
        mode=mode,
        partition_by=partition_by,
        storage_options=delta.storage_options(uri),
        commit_properties=CommitProperties(
            custom_metadata={delta.META_PREFIX + k: v for k, v in meta.items()}
        ),
    )
    table = delta.open_table(warehouse, old.table)
    return int(delta.find_commit(table, commit_id)["version"])


def expected_rows(old: OldTable) -> int:
    """Rows the old layout holds for the table, counted from the files' own metadata."""
    total = sum(_num_rows(p) for p in old.files)
    if old.copies:
        spec = TABLES[old.table]
        files_by_season: dict[str, list[UPath]] = {}
        for path in old.files:
            files_by_season.setdefault(_season_of_file(path), []).append(path)
        for copy in old.copies:
            season = copy.name.removesuffix(".parquet")
            total += _gap_rows(spec, copy, files_by_season.get(season, [])).num_rows
    return total


def _num_rows(path: UPath) -> int:
    with path.open("rb") as handle:
        return pq.ParquetFile(handle).metadata.num_rows


def _verify(warehouse: str, old: OldTable, version: int, already: bool) -> Migrated:
    expected, found = expected_rows(old), rows_added(warehouse, old.table, version)
    if expected != found:
        raise MigrationError(
            f"{old.table}: version {version} holds {found} migrated rows, the old files {expected}"
            + (" (the old files changed since the migration)" if already else "")
        )
    return Migrated(old.table, version, found, len(old.all_files), already)


def remove_old(warehouse: str, old: OldTable) -> int:
    """Delete a migrated table's old files, and the old-only folders they leave empty."""
    for path in old.all_files:
        path.unlink()
    root = as_upath(warehouse)
    for folder in {p.parent.path: p.parent for p in old.copies}.values():
        _remove_if_empty(folder)
    if old.table == REVISIONS_TABLE:
        for folder in _dirs(root / OLD_REVISIONS):
            _remove_if_empty(folder)
        _remove_if_empty(root / OLD_REVISIONS)
    return len(old.all_files)


def _remove_if_empty(folder: UPath) -> None:
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


def migrate(warehouse: str, remove: bool = False) -> tuple[list[Migrated], list[str]]:
    """Migrate (or re-verify) every table of the old layout; optionally delete its old files.

    Returns what was migrated and one message per table that could not be (its files stay).
    """
    results, errors = [], []
    for old in find_old_layout(warehouse).values():
        try:
            result = migrate_table(warehouse, old)
        except MigrationError as exc:
            errors.append(str(exc))
            continue
        if remove:
            result.removed = remove_old(warehouse, old)
        results.append(result)
    return results, errors


def record(instance: dg.DagsterInstance, warehouse: str, results: list[Migrated]) -> None:
    """One AssetObservation per newly migrated asset table: its `delta_version` and rows."""
    for result in results:
        if result.already or result.table not in TABLES:
            continue
        metadata = {
            "table_uri": delta.table_uri(warehouse, result.table),
            "delta_version": result.delta_version,
            "migrated_rows": result.rows,
            "migrated_files": result.files,
            "operation": "MIGRATE",
        }
        instance.report_runless_asset_event(
            dg.AssetObservation(asset_key=result.table, metadata=metadata)
        )
