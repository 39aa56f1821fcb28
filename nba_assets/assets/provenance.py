"""Where each table came from: per-file provenance for the IO manager, run facts for the UI."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
import pandas as pd

from nba_assets.dagster_private import merge_partition_metadata
from nba_assets.io.manager import PROVENANCE_ATTR, provenance_for_day
from nba_assets.source.client import Fetched, NbaStatsClient


def request_record(
    fetched: Fetched, covers: tuple[dt.date, dt.date] | None = None
) -> dict[str, Any]:
    """Facts about one response: what was asked, its bytes' sha256, where they are archived,
    and when the API gave them (the archive's index judges settled answers by that time)."""
    record: dict[str, Any] = {
        "endpoint": fetched.endpoint,
        "params": fetched.params,
        "sha256": fetched.sha256,
        "archive": "raw/" + str(fetched.archive_path).rsplit("/raw/", 1)[-1],
    }
    if fetched.fetched_at:
        record["fetched_at"] = fetched.fetched_at
    if covers is not None:
        record["covers"] = [covers[0].isoformat(), covers[1].isoformat()]
    if fetched.attempts == 0:  # a settled window cut from an archived (wider) response
        record["from_archive"] = True
    return record


def with_provenance(frame: pd.DataFrame, records: Sequence[dict[str, Any]]) -> pd.DataFrame:
    frame.attrs[PROVENANCE_ATTR] = list(records)
    return frame


def run_metadata(nba: NbaStatsClient, fetched: Sequence[Fetched]) -> dict[str, Any]:
    """What the step cost the API and where its raw responses are archived."""
    return {
        **nba.stats.as_metadata(),
        "api_calls": sum(1 for f in fetched if f.attempts > 0),
        # settled windows answered from the raw archive: no request sent
        "archive_answers": sum(1 for f in fetched if f.attempts == 0),
        "api_requests_detail": dg.MetadataValue.json(
            [{"endpoint": f.endpoint, "params": f.params, "attempts": f.attempts} for f in fetched]
        ),
        "archive_paths": dg.MetadataValue.json([f.archive_path for f in fetched]),
    }


def partition_metadata(
    frame: pd.DataFrame, days: Sequence[str], column: str = "game_date"
) -> dict[str, dict[str, Any]]:
    """Each day's own facts: its row count and the requests whose window covered it.

    Sized by the day, never by the run, so a 25-season backfill stores what 9,000 one-day
    runs would (run-wide facts go once, in `run_summary`).
    """
    counts = frame[column].value_counts() if len(frame) else pd.Series(dtype=int)
    records = frame.attrs.get(PROVENANCE_ATTR, [])
    return {
        day: {
            "dagster/row_count": int(counts.get(dt.date.fromisoformat(day), 0)),
            "requests": dg.MetadataValue.json(provenance_for_day(records, day)),
        }
        for day in days
    }


def add_partition_metadata(
    context: dg.AssetExecutionContext, by_partition: Mapping[str, Mapping[str, Any]]
) -> None:
    """Attach each partition's own metadata to its materialization event, in one step.

    Dagster 1.13's `add_asset_metadata(partition_key=...)` lists the run's partitions and
    copies every earlier entry on each call: quadratic in the run's length (4,656 days: 2.4 s;
    9,039: 8.3 s per asset). The first entry goes through that public call, which validates the
    asset and partition; the rest are checked against the run's partitions here and merged into
    the same accumulator once. Without that accumulator (another Dagster) it loops publicly.
    """
    items = list(by_partition.items())
    if not items:
        return
    first_key, first = items[0]
    context.add_asset_metadata(first, partition_key=first_key)
    targeted = set(context.partition_keys)
    stray = [key for key, _ in items if key not in targeted]
    if stray:
        raise dg.DagsterInvariantViolationError(
            f"metadata for partitions {stray[:3]} that this run does not target"
        )
    if not merge_partition_metadata(context, items[1:]):
        for key, metadata in items[1:]:
            context.add_asset_metadata(metadata, partition_key=key)


def run_summary(
    asset_key: dg.AssetKey,
    partition_range: dg.PartitionKeyRange,
    frame: pd.DataFrame,
    nba: NbaStatsClient,
    fetched: Sequence[Fetched],
    extra: Mapping[str, Any] | None = None,
) -> dg.AssetObservation:
    """The run-wide facts of a ranged step, once per run rather than on every partition."""
    return dg.AssetObservation(
        asset_key=asset_key,
        description="run summary: what the whole partition range cost and holds",
        metadata={
            "partition_range": f"{partition_range.start}...{partition_range.end}",
            "rows_in_run": len(frame),
            "games": int(frame["game_id"].nunique()) if len(frame) else 0,
            "games_per_day": dg.MetadataValue.md(games_per_day(frame)),
            **run_metadata(nba, fetched),
            **(extra or {}),
        },
    )


def games_per_day(frame: pd.DataFrame) -> str:
    """A Markdown table the UI renders: the game days of the range and their games and rows."""
    if not len(frame):
        return "(no games in this range)"
    per_day = frame.groupby("game_date").agg(games=("game_id", "nunique"), rows=("game_id", "size"))
    lines = ["| game date | games | rows |", "|---|---|---|"]
    lines += [f"| {day} | {r.games} | {r.rows} |" for day, r in per_day.iterrows()]
    return "\n".join(lines)
