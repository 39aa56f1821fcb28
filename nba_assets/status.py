"""`nba-assets status`: what the platform holds, read from the Dagster instance and the archive.

Nothing is tracked by hand: partition states come from the instance's status cache, requests
from event metadata (`api_requests`, once per run and asset, failed runs included and counted
apart), bytes from the archive.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from typing import Any

import dagster as dg

from nba_assets.io.storage import as_upath
from nba_assets.partitions import game_date_today, is_game_date_partitioned, season_of
from nba_assets.source.archive import RawArchive

STATES = ("materialized", "missing", "failed")
_EVENT_LIMIT = 10_000


def collect_status(
    instance: dg.DagsterInstance, defs: dg.Definitions, warehouse: str, days: int = 7
) -> dict[str, Any]:
    """The status report as plain data (the `--json` shape)."""
    report: dict[str, Any] = {"assets": {}}
    since = time.time() - days * 86_400
    requests = failed = 0
    for node in defs.resolve_asset_graph().asset_nodes:
        key = node.key
        entry: dict[str, Any] = {}
        if node.partitions_def is not None:
            entry["seasons"] = _season_counts(instance, key, node.partitions_def)
        entry["last_materialization"] = _last(instance, key)
        by_run = _requests_since(instance, key, since)
        failed_runs = _failed_runs(instance, by_run)
        of_failed = sum(n for run_id, n in by_run.items() if run_id in failed_runs)
        entry["requests_last_days"] = sum(by_run.values())
        entry["requests_of_failed_runs"] = of_failed
        requests += entry["requests_last_days"]
        failed += of_failed
        report["assets"][key.to_user_string()] = entry
    report["requests_last_days"] = requests
    report["requests_of_failed_runs"] = failed
    report["days"] = days
    report["archive_bytes"] = RawArchive(as_upath(warehouse) / "raw").size_bytes()
    return report


def _season_counts(
    instance: dg.DagsterInstance, key: dg.AssetKey, partitions_def: dg.PartitionsDefinition
) -> dict[str, dict[str, int]]:
    keys = partitions_def.get_partition_keys(dynamic_partitions_store=instance)
    if is_game_date_partitioned(partitions_def):  # a game day still to come is not "missing"
        today = game_date_today().isoformat()
        keys = [k for k in keys if k < today]
    statuses = instance.get_status_by_partition(key, keys, partitions_def) or {}
    counts: dict[str, Counter] = {}
    for partition in keys:
        season = _season_of_key(partition)
        state = _state(statuses.get(partition))
        counts.setdefault(season, Counter({s: 0 for s in STATES}))[state] += 1
    return {season: dict(c) for season, c in sorted(counts.items())}


def _season_of_key(partition: str) -> str:
    """A game date's season; a season-partitioned asset's key is its season."""
    try:
        return season_of(dt.date.fromisoformat(partition))
    except ValueError:
        return partition


def _state(status: object) -> str:
    name = getattr(status, "value", None) or ""
    if name == "MATERIALIZED":
        return "materialized"
    if name == "FAILED":
        return "failed"
    return "missing"  # never materialized (or in progress right now)


def _last(instance: dg.DagsterInstance, key: dg.AssetKey) -> dict[str, Any] | None:
    event = instance.get_latest_materialization_event(key)
    if event is None:
        return None
    when = dt.datetime.fromtimestamp(event.timestamp, dt.UTC).isoformat(timespec="seconds")
    materialization = event.asset_materialization
    return {
        "run_id": event.run_id,
        "at": when,
        "partition": materialization.partition if materialization else None,
    }


def _requests_since(instance: dg.DagsterInstance, key: dg.AssetKey, since: float) -> dict[str, int]:
    """Requests spent since `since`, per run, whatever became of the run: ranged box-score
    steps report their cost in one run-summary observation, other assets on their
    materializations, and a step that fails on a request in an observation before it fails."""
    records_filter = dg.AssetRecordsFilter(asset_key=key, after_timestamp=since)
    records = [
        *instance.fetch_materializations(records_filter, limit=_EVENT_LIMIT).records,
        *instance.fetch_observations(records_filter, limit=_EVENT_LIMIT).records,
    ]
    by_run: dict[str, int] = {}
    for record in records:
        event = record.asset_materialization or record.asset_observation
        value = event.metadata.get("api_requests") if event is not None else None
        if value is not None:
            by_run[record.run_id] = max(by_run.get(record.run_id, 0), int(value.value))
    return by_run


def _failed_runs(instance: dg.DagsterInstance, by_run: dict[str, int]) -> set[str]:
    """Of these runs, those that failed or were canceled."""
    if not by_run:
        return set()
    records = instance.get_run_records(dg.RunsFilter(run_ids=list(by_run)))
    ended_badly = (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)
    return {r.dagster_run.run_id for r in records if r.dagster_run.status in ended_badly}


def format_status(report: dict[str, Any]) -> str:
    """Plain text: one line per asset and season, then the totals."""
    lines = []
    for asset, entry in report["assets"].items():
        last = entry.get("last_materialization")
        when = f"last {last['at']} (run {last['run_id'][:8]})" if last else "never materialized"
        failed = entry["requests_of_failed_runs"]
        of_failed = f" ({failed} by failed runs)" if failed else ""
        lines.append(f"{asset}: {when}, {entry['requests_last_days']} requests{of_failed}")
        for season, counts in entry.get("seasons", {}).items():
            if counts["materialized"] or counts["failed"]:
                lines.append(
                    f"  {season}: {counts['materialized']} materialized, "
                    f"{counts['missing']} missing, {counts['failed']} failed"
                )
        untouched = [
            s for s, c in entry.get("seasons", {}).items() if not (c["materialized"] or c["failed"])
        ]
        if untouched:
            lines.append(
                f"  {len(untouched)} seasons not started ({untouched[0]}..{untouched[-1]})"
            )
    lines.append(
        f"requests in the last {report['days']} days: {report['requests_last_days']} "
        f"({report['requests_of_failed_runs']} by failed runs)"
    )
    lines.append(f"raw archive: {report['archive_bytes']:,} bytes")
    return "\n".join(lines)


def run_status(as_json: bool, days: int) -> int:
    """The CLI command: the local instance ($DAGSTER_HOME) and the configured warehouse."""
    import json

    from nba_assets.definitions import defs
    from nba_assets.settings import Settings

    with dg.DagsterInstance.get() as instance:
        report = collect_status(instance, defs, Settings.from_env().warehouse, days)
    print(json.dumps(report, indent=1) if as_json else format_status(report))
    return 0
