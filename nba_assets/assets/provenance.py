"""Where each table came from: per-file provenance for the IO manager, run facts for the UI."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import dagster as dg
import pandas as pd

from nba_assets.io.parquet import PROVENANCE_ATTR
from nba_assets.source.client import Fetched, NbaStatsClient


def request_record(
    fetched: Fetched, covers: tuple[dt.date, dt.date] | None = None
) -> dict[str, Any]:
    """Run-independent facts about one response: the same response gives the same record."""
    record: dict[str, Any] = {
        "endpoint": fetched.endpoint,
        "params": fetched.params,
        "sha256": fetched.sha256,
        "archive": "raw/" + str(fetched.archive_path).rsplit("/raw/", 1)[-1],
    }
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
