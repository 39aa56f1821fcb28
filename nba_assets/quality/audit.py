"""Write-audit-publish inside the asset step: check the frame, then publish it or quarantine it.

Dagster runs an asset's checks after its IO manager has written the output, so a failing
check would come too late to keep bad rows from readers. Here the step itself yields the
`audit` check's result (every rule of `nba_assets/quality/checks.py`) first; only if all blocking
rules pass does it yield the Output the IO manager publishes. Otherwise the rows go to
`<warehouse>/_quarantine/<asset>/<days>/<run_id>/` and the step fails: the published files
keep the previous good data, and nothing downstream runs.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from upath import UPath

from nba_assets.dagster_private import step_key
from nba_assets.io.delta import (
    SOURCE_SHA256,
    Commit,
    Selection,
    TableMissingError,
    read_rows,
    seasons_between,
    to_frame,
)
from nba_assets.io.manager import PROVENANCE_ATTR, publish
from nba_assets.io.memory import release_freed_memory
from nba_assets.io.storage import as_upath, write_atomic
from nba_assets.quality.checks import (
    CHECKS_BY_TABLE,
    SCHEMA_CHECK,
    AuditInput,
    BoxScoreCheck,
    Outcome,
    audit_result,
    audit_summary,
    run_checks,
)
from nba_assets.recovery import refuse_if_orphaned
from nba_assets.schemas import SCHEDULE, TABLES, TableSpec
from nba_assets.source.errors import SchemaDriftError
from nba_assets.source.index import record_confirmed, record_published, record_rejected
from nba_assets.source.parsing import ParseError

QUARANTINE = "_quarantine"


class AuditFailure(dg.Failure):
    """Blocking checks failed: nothing was published, the rows are in quarantine."""


def _published(warehouse: str, spec: TableSpec, selection: Selection) -> pd.DataFrame | None:
    """The current version's rows of `selection`; None if the table was never written."""
    try:
        return to_frame(read_rows(warehouse, spec, selection, [*spec.names, SOURCE_SHA256]))
    except TableMissingError:
        return None


def published_days(warehouse: str, table: str, start: dt.date, end: dt.date) -> pd.DataFrame | None:
    """The published rows of a daily table for [start, end]; None if the table does not exist."""
    return _published(warehouse, TABLES[table], Selection.days(start, end))


def published_table(warehouse: str, table: str) -> pd.DataFrame | None:
    return _published(warehouse, TABLES[table], Selection())


def published_schedule(
    warehouse: str, start: dt.date, end: dt.date, seasons: Sequence[str] | None = None
) -> pd.DataFrame | None:
    """The `schedule` of every season [start, end] touches (or of `seasons`); None if none of
    them is published."""
    chosen = seasons if seasons is not None else seasons_between(start, end)
    frame = _published(warehouse, SCHEDULE, Selection.of_seasons(chosen))
    return frame if frame is not None and len(frame) else None


#: Rows the produce step dropped because the API sent them dated outside the window asked for.
STRAYS_ATTR = "outside_request"


def gather(
    spec: TableSpec,
    frame: pd.DataFrame,
    start: dt.date,
    end: dt.date,
    warehouse: str,
    *,
    counterpart_in_run: bool = False,
    today: dt.date | None = None,
) -> AuditInput:
    """The frame and the published neighbours its checks compare against (both box-score
    tables check against each other, whichever one the run writes)."""
    is_player = "player_id" in spec.key
    other = "team_boxscores" if is_player else "player_boxscores"
    return AuditInput(
        frame=frame,
        spec=spec,
        start=start,
        end=end,
        counterpart=published_days(warehouse, other, start, end),
        teams=published_table(warehouse, "teams"),
        players=published_table(warehouse, "players") if is_player else None,
        schedule=published_schedule(warehouse, start, end),
        strays=pd.DataFrame(frame.attrs[STRAYS_ATTR]) if frame.attrs.get(STRAYS_ATTR) else None,
        counterpart_in_run=counterpart_in_run,
        today=today,
    )


def later_in_run(context: dg.AssetExecutionContext, table: str) -> bool:
    """Whether this run also materializes `table` after this step (player after team)."""
    if table != "team_boxscores":
        return False
    selected = context.job_def.asset_layer.selected_asset_keys
    return dg.AssetKey("player_boxscores") in selected


#: After a commit that changed rows: (rows published before, rows now, commit) -> metadata.
AfterCommit = Callable[[pd.DataFrame | None, pd.DataFrame, Commit], Mapping[str, object]]


def audited(
    context: dg.AssetExecutionContext,
    spec: TableSpec,
    produce: Callable[[], pd.DataFrame],
    warehouse: str,
    checks: Sequence[BoxScoreCheck] | None = None,
    after_commit: AfterCommit | None = None,
    today: dt.date | None = None,
) -> Iterator[dg.AssetCheckResult | dg.MaterializeResult]:
    """Audit the frame, then publish it in one commit, or quarantine it and fail the step.

    The step publishes itself (no IO manager output) so that nothing is written before the
    audit passes and what follows the commit (archive verdicts, revisions) knows its version.
    """
    keys = context.partition_key_range
    start, end = dt.date.fromisoformat(keys.start), dt.date.fromisoformat(keys.end)
    try:
        frame = produce()
    except (SchemaDriftError, ParseError) as exc:
        yield from _drifted(context, spec, exc, warehouse)
        raise  # unreachable: _drifted raises
    # each phase hands back what it freed, which the next one's allocator could not reuse
    # (io/memory.py): the checks of 25 seasons of player lines then peak at 714 MB, not 829
    release_freed_memory()
    data = gather(
        spec,
        frame,
        start,
        end,
        warehouse,
        counterpart_in_run=later_in_run(context, spec.name),
        today=today,
    )
    release_freed_memory()
    results = run_checks(checks or CHECKS_BY_TABLE[spec.name], data)
    release_freed_memory()
    yield audit_result(spec.name, results, len(frame))
    context.log.info(f"{spec.name} audit: {audit_summary(results)}")
    failed = [(check, outcome) for check, outcome, _ in results if check.blocks(outcome)]
    requests = frame.attrs.get(PROVENANCE_ATTR, [])
    if failed:
        where = quarantine(
            as_upath(warehouse), spec, frame, keys.start, keys.end, context.run_id, failed
        )
        record_rejected(warehouse, requests, spec.name, [c.name for c, _ in failed], context.run_id)
        raise AuditFailure(
            description=failure_message(spec, keys.start, keys.end, failed, where),
            metadata={"quarantine": dg.MetadataValue.path(str(where))},
        )
    refuse_if_orphaned(context.instance, context.run_id, f"{spec.name} {keys.start}...{keys.end}")
    before = published_days(warehouse, spec.name, start, end) if after_commit else None
    run = {"run_id": context.run_id, "step": step_key(context), "asset": spec.name}
    commit = publish(warehouse, spec, frame, Selection.days(start, end), run)
    counts: dict[str, object] = {}
    if commit.unchanged:
        record_confirmed(warehouse, requests, spec.name, commit.version, context.run_id)
    else:
        record_published(warehouse, requests, spec.name, commit.version, context.run_id)
        if after_commit is not None:
            facts = dict(after_commit(before, frame, commit))
            # the detail goes once, as an observation: a materialization's metadata is copied
            # onto every day of the range; only the small counts go there
            context.log_event(
                dg.AssetObservation(
                    asset_key=context.asset_key,
                    description=f"what commit {commit.version} changed",
                    metadata={"delta_version": commit.version, **facts},
                )
            )
            counts = {k: v for k, v in facts.items() if isinstance(v, int)}
    context.log.info(_commit_line(spec, keys, commit))
    yield dg.MaterializeResult(metadata={**commit.as_metadata(), **counts})


def _commit_line(spec: TableSpec, keys: dg.PartitionKeyRange, commit: Commit) -> str:
    where = f"{spec.name} {keys.start}...{keys.end}"
    if commit.unchanged:
        return f"{where}: unchanged, version {commit.version} ({commit.rows} rows equal the published ones)"
    return f"{where}: version {commit.version}, {commit.rows} rows (replaced {commit.removed_rows})"


def _drifted(
    context: dg.AssetExecutionContext, spec: TableSpec, exc: Exception, warehouse: str
) -> Iterator[dg.AssetCheckResult]:
    """The response no longer fits the declared table: fail the schema check with its columns."""
    keys = context.partition_key_range
    columns = sorted(set(re.findall(r"'([A-Za-z0-9_]+)'", str(exc))) | _column_in(str(exc), spec))
    outcome = Outcome(
        pd.DataFrame({"column": columns or ["?"]}),
        f"{spec.name} response drifted from the declared schema: {exc}",
        extra={"columns": columns},
    )
    yield audit_result(spec.name, [(SCHEMA_CHECK, outcome, 0.0)], 0)
    failed = [(SCHEMA_CHECK, outcome)]
    where = quarantine(
        as_upath(warehouse), spec, None, keys.start, keys.end, context.run_id, failed, exc
    )
    raise AuditFailure(
        description=failure_message(spec, keys.start, keys.end, failed, where),
        metadata={"quarantine": dg.MetadataValue.path(str(where))},
    )


def _column_in(message: str, spec: TableSpec) -> set[str]:
    """`team_boxscores.pts: ...` (a value that does not fit its column) names the column."""
    found = re.match(rf"{re.escape(spec.name)}\.([a-z0-9_]+):", message)
    return {found.group(1)} if found else set()


def failure_message(
    spec: TableSpec,
    start: str,
    end: str,
    failed: Sequence[tuple[BoxScoreCheck, Outcome]],
    where: UPath,
) -> str:
    days = start if start == end else f"{start}...{end}"
    lines = [f"{spec.name} {days}: {len(failed)} blocking check(s) failed; nothing was published."]
    for check, outcome in failed:
        dates = sorted({d.isoformat() for d in outcome.bad.get("game_date", pd.Series()).dropna()})
        shown = ", ".join(dates[:5]) + (" ..." if len(dates) > 5 else "")
        said = outcome.message or f"could not run: {outcome.skipped}"
        lines.append(f"  {check.name}: {said} [dates: {shown or 'n/a'}]")
    lines.append(
        f"The rows are quarantined at {where}; the published days keep their last good data."
    )
    return "\n".join(lines)


def quarantine(
    warehouse: UPath,
    spec: TableSpec,
    frame: pd.DataFrame | None,
    start: str,
    end: str,
    run_id: str,
    failed: Sequence[tuple[BoxScoreCheck, Outcome]],
    error: Exception | None = None,
) -> UPath:
    """Keep the whole frame (or the undecodable response) and what was wrong, for inspection."""
    days = start if start == end else f"{start}...{end}"
    where = warehouse / QUARANTINE / spec.name / days / run_id
    if frame is not None:
        rows = frame.reset_index(drop=True)
        write_atomic(where / "rows.parquet", _parquet_bytes(rows))
    report = {
        "table": spec.name,
        "partition_range": [start, end],
        "run_id": run_id,
        "failed_checks": [
            {
                "check": check.name,
                "message": outcome.message or outcome.skipped,
                "failing_rows": len(outcome.bad),
                "failing_games": sorted(set(outcome.bad.get("game_id", pd.Series()).dropna()))[
                    :100
                ],
            }
            for check, outcome in failed
        ],
    }
    if error is not None:
        report["error"] = str(error)
        report["first_bytes"] = getattr(error, "first_bytes", "")
    write_atomic(where / "report.json", json.dumps(report, indent=2, default=str).encode())
    return where


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    sink = io.BytesIO()
    frame = frame.copy(deep=False)
    frame.attrs = {}
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink, compression="zstd")
    return sink.getvalue()
