"""`nba-assets shadow run`: re-derive assets for a range from the raw archive into a shadow.

The published tables are only read. Before deriving, the shadow records each selected table's
published version (what the diff compares with, what promote checks has not moved) and copies
the published rows the derivation reads but does not derive (teams, players, the schedule, the
other box-score table the audit compares with, upstream tables of the range), each at the version
recorded. Then the assets run (`runner.derive`): in this process with the checkout's code, or
with a git ref's code in an environment built from that ref's lock (`envs`).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import dagster as dg

from nba_assets.io import delta
from nba_assets.partitions import is_game_date_partitioned
from nba_assets.schemas import TABLES
from nba_assets.shadow import envs, runner, store
from nba_assets.shadow.store import ShadowError

#: Published tables the audit reads beside any box-score range.
CONTEXT_TABLES = ("teams", "players", "schedule")
_COUNTERPART = {"team_boxscores": "player_boxscores", "player_boxscores": "team_boxscores"}


def daily_assets() -> dict[str, dg.AssetsDefinition]:
    """The checkout's game-date assets that are warehouse tables: what a shadow can derive."""
    from nba_assets.definitions import defs

    found = {}
    for assets_def in defs.assets or []:
        if not isinstance(assets_def, dg.AssetsDefinition):
            continue
        daily = is_game_date_partitioned(assets_def.partitions_def)
        for key in assets_def.keys:
            if daily and key.to_user_string() in TABLES:
                found[key.to_user_string()] = assets_def
    return found


def parse_range(text: str) -> tuple[str, str]:
    """`A...B` (or one day) as two ISO dates, first <= last."""
    first, _, last = text.partition("...")
    try:
        start, end = (
            dt.date.fromisoformat(first.strip()),
            dt.date.fromisoformat((last or first).strip()),
        )
    except ValueError:
        raise ShadowError(f"--partition-range {text!r}: expected YYYY-MM-DD...YYYY-MM-DD") from None
    if start > end:
        raise ShadowError(f"--partition-range {text!r}: the first day is after the last")
    return start.isoformat(), end.isoformat()


def inputs_for(select: list[str], assets: dict[str, dg.AssetsDefinition]) -> list[str]:
    """Published tables the derivation reads but does not write."""
    wanted = set(CONTEXT_TABLES)
    for name in select:
        wanted |= {k.to_user_string() for k in assets[name].dependency_keys}
        wanted |= {_COUNTERPART[name]} if name in _COUNTERPART else set()
    return sorted(t for t in wanted - set(select) if t in TABLES)


def _version_or_none(warehouse: str, table: str) -> int | None:
    try:
        return delta.open_table(warehouse, table).version()
    except delta.TableMissingError:
        return None


def copy_input(warehouse: str, shadow: str, table: str, start: str, end: str, version: int) -> int:
    """The published rows of `table` the range needs, at `version`, as the shadow's table."""
    spec = TABLES[table]
    first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    if table in ("teams", "players"):
        selection = delta.Selection()
    elif table == "schedule":
        selection = delta.Selection.of_seasons(delta.seasons_between(first, last))
    else:
        selection = delta.Selection.days(first, last)
    rows = delta.read_rows(warehouse, spec, selection, version=version)
    meta = {"run_id": "shadow-input", "copied_from_version": version}
    return delta.replace(shadow, spec, rows, selection, meta).rows


def run(
    warehouse: str,
    label: str,
    select: list[str],
    partition_range: str,
    ref: str | None = None,
) -> dict[str, Any]:
    """Derive `select` for the range into `<warehouse>/_shadow/<label>/`; returns the manifest."""
    store.check_label(label)
    if store.exists(warehouse, label):
        raise ShadowError(
            f"shadow {label!r} exists: `nba-assets shadow discard {label}` first, or pick a label"
        )
    assets = daily_assets()
    unknown = [name for name in select if name not in assets]
    if unknown or not select:
        raise ShadowError(
            f"--select {','.join(unknown) or '(nothing)'}: a shadow derives game-date assets: "
            + ", ".join(sorted(assets))
        )
    start, end = parse_range(partition_range)
    shadow = store.shadow_warehouse(warehouse, label)
    code = envs.describe_code(ref)
    manifest: dict[str, Any] = {
        "label": label,
        "warehouse": warehouse,
        "shadow": shadow,
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "code": code,
        "select": select,
        "range": [start, end],
        "tables": {t: {"base_version": _version_or_none(warehouse, t)} for t in select},
        "inputs": {},
        "status": "deriving",
    }
    store.write_manifest(warehouse, label, manifest)
    for table in inputs_for(select, assets):
        version = _version_or_none(warehouse, table)
        if version is not None:
            rows = copy_input(warehouse, shadow, table, start, end, version)
            manifest["inputs"][table] = {"version": version, "rows": rows}
    spec = {"warehouse": warehouse, "shadow": shadow, "select": select, "start": start, "end": end}
    try:
        outcome = runner.derive(spec) if ref is None else _derive_in(code["commit"], spec)
    except Exception as exc:  # recorded in the manifest, then raised (one line, exit 1)
        manifest.update(status="failed", error=f"{type(exc).__name__}: {exc}")
        store.write_manifest(warehouse, label, manifest)
        raise
    for table, facts in outcome.get("assets", {}).items():
        manifest["tables"][table].update(
            shadow_version=facts.get("delta_version"),
            published=facts.get("published", False),
            audit=facts.get("audit", []),
            error=facts.get("error", ""),
        )
    manifest["status"] = "derived" if outcome["success"] else "failed"
    if outcome.get("error"):
        manifest["error"] = outcome["error"]
    manifest["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    store.write_manifest(warehouse, label, manifest)
    return manifest


def _derive_in(commit: str, spec: dict[str, Any]) -> dict[str, Any]:
    """`runner.derive` with the ref's code: its environment's python runs this checkout's
    runner module as a script (`-I`: nothing of this checkout is importable there)."""
    python = envs.ensure(commit)
    with tempfile.TemporaryDirectory(prefix="nba-assets-shadow-") as tmp:
        spec_path, out_path = Path(tmp) / "spec.json", Path(tmp) / "outcome.json"
        spec_path.write_text(json.dumps(spec))
        done = subprocess.run(
            [str(python), "-I", runner.__file__, str(spec_path), str(out_path)],
            capture_output=True,
            text=True,
            check=False,
        )
        if not out_path.exists():
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise ShadowError(
                f"the shadow derivation with {commit[:12]} exited {done.returncode}: "
                + " / ".join(tail)
            )
        return json.loads(out_path.read_text())


def describe(manifest: dict[str, Any]) -> str:
    """What a shadow run did, a line per table."""
    code = manifest["code"]
    lines = [
        f"shadow {manifest['label']}: {manifest['status']}, {manifest['range'][0]}..."
        f"{manifest['range'][1]}, code {code['ref']} ({code['commit'][:12]}"
        + (", uncommitted changes" if code.get("dirty") else "")
        + f"), in {manifest['shadow']}"
    ]
    for table, facts in manifest["tables"].items():
        base = facts["base_version"]
        started = "no published table" if base is None else f"published version {base}"
        if facts.get("published"):
            state = f"shadow version {facts['shadow_version']}"
        else:
            state = (
                "NOT derived: " + (facts.get("error") or "the run stopped before it").split("\n")[0]
            )
        failed = [a for a in facts.get("audit", []) if not a["passed"]]
        audit = "".join(
            f"; {a['check']} {'failed' if a['severity'] == 'ERROR' else 'warned'}: "
            f"{a['description'][:200]}"
            for a in failed
        )
        lines.append(f"  {table}: from {started}; {state}{audit}")
    if manifest.get("error"):
        lines.append(f"  error: {manifest['error']}")
    return "\n".join(lines)
