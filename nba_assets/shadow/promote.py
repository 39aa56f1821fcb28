"""`nba-assets shadow promote` and `discard`: publish a shadow's rows, or drop the shadow.

A promote replaces the range's rows of each published table with the shadow's in **one Delta
commit per table** (an overwrite with the range as predicate, Delta's `replaceWhere`, streamed a
season at a time), with the shadow's schema merged in (a column the new code adds appears; a
retyped column is refused by Delta). Before anything is written, every table is checked: one
whose published rows moved since the shadow started (a commit other than optimize/vacuum after
the recorded base version) refuses the whole promote unless `force`. A table whose shadow rows
equal the published ones is left alone (no commit). `nba-assets rollback TABLE --to-version N`
undoes a promote: N is the `previous_version` it reports.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow as pa
from deltalake import CommitProperties, write_deltalake

from nba_assets.io import delta
from nba_assets.schemas import TABLES
from nba_assets.shadow import store
from nba_assets.shadow.diff import diff, season_parts
from nba_assets.shadow.store import ShadowError
from nba_assets.source import index
from nba_assets.warehouse.revisions import append_revisions, detect_revisions


def moved_since(warehouse: str, table: str, base: int | None) -> list[int]:
    """Versions after `base` that changed the published rows (maintenance does not count)."""
    try:
        entries = delta.history(warehouse, table)
    except delta.TableMissingError:
        return []
    return sorted(
        e["version"]
        for e in entries
        if (base is None or e["version"] > base)
        and e["operation"] not in delta.MAINTENANCE_OPERATIONS
    )


def promote(
    warehouse: str, label: str, force: bool = False, instance: dg.DagsterInstance | None = None
) -> dict[str, Any]:
    """Publish every table of the shadow; returns per table its new version (or unchanged)."""
    manifest = store.read_manifest(warehouse, label)
    if manifest["status"] != "derived":
        raise ShadowError(
            f"shadow {label} is {manifest['status']}: only a shadow whose every table was "
            "derived and passed its audit can be promoted (`nba-assets shadow run` again)"
        )
    if manifest.get("promoted"):
        raise ShadowError(f"shadow {label} was promoted at {manifest['promoted']['at']}")
    # tables an interrupted promote already committed: done, and their own commit is no move
    done: dict[str, Any] = manifest.setdefault("promoting", {})
    moved = {
        t: v
        for t, f in manifest["tables"].items()
        if t not in done and (v := moved_since(warehouse, t, f["base_version"]))
    }
    if moved and not force:
        said = "; ".join(
            f"{t}: version(s) {', '.join(map(str, v))} after {manifest['tables'][t]['base_version']}"
            for t, v in moved.items()
        )
        raise ShadowError(
            f"shadow {label} not promoted: the published tables moved since it started ({said}). "
            f"Re-run the shadow on the new versions, or --force to replace them anyway"
        )
    report = diff(warehouse, label)
    for table in manifest["tables"]:
        if table not in done:
            changed = bool(report["tables"][table]["differences"] or moved.get(table))
            done[table] = _promote_table(warehouse, manifest, table, changed, instance)
            store.write_manifest(warehouse, label, manifest)  # kept if a later table fails
    manifest["promoted"] = {
        "at": _now(),
        "forced": bool(moved),
        "tables": manifest.pop("promoting"),
    }
    store.write_manifest(warehouse, label, manifest)
    return manifest["promoted"]


def _promote_table(
    warehouse: str,
    manifest: dict[str, Any],
    table: str,
    changed: bool,
    instance: dg.DagsterInstance | None,
) -> dict[str, Any]:
    """One table's commit, its archive verdicts, revisions and observation; or none."""
    previous = (
        delta.open_table(warehouse, table).version() if delta.exists(warehouse, table) else None
    )
    if not changed:
        return {"unchanged": True, "version": previous, "previous_version": previous}
    label = manifest["label"]
    version = _commit(warehouse, manifest, table, manifest["tables"][table]["shadow_version"])
    _record_verdicts(warehouse, manifest["shadow"], table, version, label)
    revisions = _log_revisions(warehouse, manifest, table, previous, version)
    if instance is not None:
        instance.report_runless_asset_event(
            dg.AssetObservation(
                asset_key=table,
                description=f"shadow {label} promoted",
                metadata={
                    "table_uri": delta.table_uri(warehouse, table),
                    "delta_version": version,
                    "previous_version": previous,
                    "shadow_label": label,
                    "shadow_code": manifest["code"]["commit"][:12],
                    "partition_range": "...".join(manifest["range"]),
                    "operation": "SHADOW PROMOTE",
                    "revisions": revisions,
                },
            )
        )
    return {
        "unchanged": False,
        "version": version,
        "previous_version": previous,
        "revisions": revisions,
    }


def _commit(warehouse: str, manifest: dict[str, Any], table: str, shadow_version: int) -> int:
    """The shadow's rows of the range replace the published ones: one commit, its version."""
    spec = TABLES[table]
    start, end = (dt.date.fromisoformat(d) for d in manifest["range"])
    selection = delta.Selection.days(start, end)
    source = delta.open_table(manifest["shadow"], table, shadow_version)
    schema = delta.scan(source, None, "1 = 0").schema
    uri = delta.table_uri(warehouse, table)
    options = delta.storage_options(uri)
    commit_id = uuid.uuid4().hex
    meta = {
        "run_id": f"shadow-{manifest['label']}",
        "step": "shadow promote",
        "asset": table,
        "commit_id": commit_id,
        "range": selection.describe(),
        "shadow_label": manifest["label"],
        "shadow_version": str(shadow_version),
        "code": manifest["code"]["commit"],
        "responses": json.dumps(_responses(manifest["shadow"], table, shadow_version)),
    }
    target = delta.open_table(warehouse, table) if delta.exists(warehouse, table) else uri
    with tempfile.TemporaryDirectory(prefix="nba-assets-promote-") as spill:
        rows = delta.stream(schema, _read_back(_spilled(source, selection, Path(spill))))
        _write(target, rows, selection, spec, options, meta)
    version = int(delta.find_commit(delta.open_table(warehouse, table), commit_id)["version"])
    delta.record_checksums(uri, options, version)
    return version


def _write(
    target: Any,
    rows: pa.RecordBatchReader,
    selection: delta.Selection,
    spec: Any,
    options: dict[str, str] | None,
    meta: dict[str, str],
) -> None:
    """Delta's replaceWhere: the range's rows overwritten in one commit, the schema merged."""
    write_deltalake(
        target,
        rows,
        mode="overwrite",
        predicate=selection.sql(True),
        partition_by=delta.layout(spec).partition_by or None,
        schema_mode="merge",
        storage_options=options,
        commit_properties=CommitProperties(
            custom_metadata={delta.META_PREFIX + k: v for k, v in meta.items()},
            max_commit_retries=5,
        ),
    )


#: The tables whose runs log stat corrections (`revisions`): a promote logs what it changed too.
REVISED = ("team_boxscores", "player_boxscores")


def _log_revisions(
    warehouse: str, manifest: dict[str, Any], table: str, previous: int | None, version: int
) -> int:
    """Values, added and removed rows of the range the promote changed, as `revisions`."""
    if table not in REVISED or previous is None:
        return 0
    spec = TABLES[table]
    selection = delta.Selection.days(*(dt.date.fromisoformat(d) for d in manifest["range"]))
    before, after = (
        delta.to_frame(delta.read_rows(warehouse, spec, selection, spec.names, version=v))
        for v in (previous, version)
    )
    found = detect_revisions(spec, before, after)
    append_revisions(warehouse, table, found, version, f"shadow-{manifest['label']}")
    return len(found)


def _spilled(source: Any, selection: delta.Selection, directory: Path) -> list[Path]:
    """The shadow's rows of the range, a season at a time, in local Arrow files: the commit
    streams them (a delta-rs read cannot run inside its write) in bounded memory."""
    paths = []
    for part in season_parts(selection):
        rows = delta.scan(source, None, part.sql(True))
        paths.append(directory / f"{part.seasons[0]}.arrows")
        with pa.ipc.new_stream(str(paths[-1]), rows.schema) as writer:
            writer.write_table(rows)
    return paths


def _read_back(paths: list[Path]) -> Iterator[pa.Table]:
    for path in paths:
        with pa.ipc.open_stream(str(path)) as reader:
            yield reader.read_all()


def _responses(shadow: str, table: str, version: int) -> list[str]:
    """The sha256 of every response the shadow's commit used (its commit metadata says)."""
    for entry in delta.history(shadow, table):
        if entry["version"] == version and entry["meta"].get("responses"):
            return sorted(json.loads(entry["meta"]["responses"]))
    return []


def _record_verdicts(warehouse: str, shadow: str, table: str, version: int, label: str) -> None:
    """The archive's index learns that the shadow's responses are published in `version`."""
    try:
        verdicts = index.read_verdicts(shadow)
    except delta.TableMissingError:
        return
    now = dt.datetime.now(dt.UTC)
    run_id = f"shadow-{label}"
    chosen = [
        index.Verdict(
            **{
                **v.__dict__,
                "delta_version": version,
                "run_id": run_id,
                "recorded_at": now,
            }
        )
        for v in verdicts
        if v.table == table and v.published
    ]
    if chosen:
        index.append(warehouse, chosen, run_id)


def discard(warehouse: str, label: str) -> str:
    """Remove the shadow (its tables, archive copy and manifest); returns where it was."""
    store.read_manifest(warehouse, label)
    where = store.shadow_warehouse(warehouse, label)
    store.remove(warehouse, label)
    return where


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
