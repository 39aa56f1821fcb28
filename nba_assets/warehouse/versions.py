"""`nba-assets history` and `rollback`: a table's versions, and restoring an earlier one.

A rollback is a Delta `restore`: a new commit whose rows are those of the chosen version
(nothing is rewritten or lost: the versions in between stay in the log). It is recorded in
the Dagster instance as an AssetObservation of the table's asset with `delta_version` (the
new version), `restored_from` and `previous_version`.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass
from typing import Any

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from nba_assets.io import delta
from nba_assets.io.storage import as_upath
from nba_assets.schemas import TABLES
from nba_assets.source.index import record_withdrawn


class RollbackError(RuntimeError):
    """A rollback that cannot be done: named, with what to do instead."""


def history_rows(warehouse: str, table: str, limit: int | None = None) -> list[dict[str, Any]]:
    """Newest first, JSON-ready: version, time (UTC ISO), operation, run_id, range, rows, ..."""
    rows = []
    for entry in delta.history(warehouse, table, limit or None):
        rows.append(
            {
                "version": entry["version"],
                "time": entry["timestamp"].isoformat(timespec="seconds"),
                "operation": entry["operation"],
                "run_id": entry["run_id"],
                "range": entry["range"],
                "rows": _number(entry["rows"]),
                "files_added": _number(entry["files_added"]),
                "files_removed": _number(entry["files_removed"]),
                "meta": entry["meta"],
            }
        )
    return rows


def _number(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def format_history(table: str, rows: list[dict[str, Any]], limited: bool) -> str:
    """A fixed-width table, one version a line; run ids shortened to 8 characters."""
    cells = [
        [
            str(r["version"]),
            r["time"].replace("T", " ").removesuffix("+00:00"),
            r["operation"],
            r["run_id"][:8],
            r["range"],
            "" if r["rows"] is None else str(r["rows"]),
        ]
        for r in rows
    ]
    header = ["version", "time (UTC)", "operation", "run", "range", "rows"]
    widths = [max(len(c[i]) for c in [header, *cells]) for i in range(len(header))]
    lines = [f"{table}:", *("  " + _line(c, widths) for c in [header, *cells])]
    if limited and rows and rows[-1]["version"] > 0:
        lines.append(f"  ... older versions: --limit {rows[0]['version'] + 1} (0 lists all)")
    return "\n".join(lines)


def _line(cells: list[str], widths: list[int]) -> str:
    """Version and rows right-aligned, the rest left-aligned."""
    numeric = (0, len(cells) - 1)
    padded = [
        c.rjust(w) if i in numeric else c.ljust(w)
        for i, (c, w) in enumerate(zip(cells, widths, strict=True))
    ]
    return "  ".join(padded).rstrip()


@dataclass(frozen=True)
class Rollback:
    table: str
    table_uri: str
    previous_version: int
    restored_from: int
    delta_version: int
    recorded: bool
    #: responses of the undone commits the archive no longer answers settled windows from
    withdrawn: int = 0

    def as_metadata(self) -> dict[str, Any]:
        return {
            "table_uri": self.table_uri,
            "delta_version": self.delta_version,
            "restored_from": self.restored_from,
            "previous_version": self.previous_version,
            "operation": "RESTORE",
            "responses_withdrawn": self.withdrawn,
        }


def missing_files(warehouse: str, table: str, version: int) -> list[str]:
    """Data files of `version` that are gone (vacuumed): time travel to it would fail."""
    return [
        uri
        for uri in delta.open_table(warehouse, table, version).file_uris()
        if not as_upath(uri).exists()
    ]


def rows_in_version(warehouse: str, table: str, version: int) -> int:
    """Rows of `version`, from the log's per-file statistics (no data file is read)."""
    actions = pa.table(delta.open_table(warehouse, table, version).get_add_actions(flatten=True))
    return int(pc.sum(actions.column("num_records")).as_py() or 0)


def rollback(
    warehouse: str, table: str, version: int, instance: dg.DagsterInstance | None = None
) -> Rollback:
    """Restore `version`'s rows as a new commit and record it in `instance` (asset tables)."""
    current = delta.open_table(warehouse, table).version()
    if not 0 <= version <= current:
        raise RollbackError(f"{table}: no version {version} (versions 0..{current})")
    if version == current:
        raise RollbackError(f"{table}: version {version} is already the current version")
    gone = missing_files(warehouse, table, version)
    if gone:
        raise RollbackError(
            f"{table}: version {version} cannot be restored: {len(gone)} of its data files were "
            f"vacuumed (e.g. {gone[0]}); `nba-assets history {table}` lists the versions"
        )
    new = delta.restore(
        warehouse,
        table,
        version,
        {
            "restored_from": version,
            "previous_version": current,
            "rows": rows_in_version(warehouse, table, version),
            "user": _user(),
        },
    )
    withdrawn = record_withdrawn(
        warehouse,
        table,
        undone_responses(warehouse, table, version, current),
        f"rolled back to version {version}",
        run_id=f"rollback-{new}",
    )
    result = Rollback(table, delta.table_uri(warehouse, table), current, version, new, False)
    result = Rollback(**{**result.__dict__, "withdrawn": withdrawn})
    if instance is not None and table in TABLES:
        instance.report_runless_asset_event(
            dg.AssetObservation(asset_key=table, metadata=result.as_metadata())
        )
        result = Rollback(**{**result.__dict__, "recorded": True})
    return result


def undone_responses(warehouse: str, table: str, version: int, current: int) -> set[str]:
    """The sha256 of every response the commits after `version` (up to `current`) published."""
    found: set[str] = set()
    for entry in delta.history(warehouse, table, current - version + 1):
        if version < entry["version"] <= current and entry["meta"].get("responses"):
            found.update(json.loads(entry["meta"]["responses"]))
    return found


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def describe(result: Rollback) -> str:
    recorded = "recorded in Dagster as an observation" if result.recorded else "not an asset"
    return (
        f"{result.table}: restored version {result.restored_from} as version "
        f"{result.delta_version} (was {result.previous_version}); {recorded}"
    )
