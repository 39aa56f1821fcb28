"""A webserver and daemon over the real recordings, shared by the backfill and browser tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from nba_assets.source.replay import ReplayServer
from nba_assets_tests.ui.dagster_ui import DagsterUI

#: The recorded 2025-26 team game log covers these game dates.
# The recorded league game log runs to 2026-02-21, but the range stops before 2025-12-16: that
# day's NBA Cup final is its own request (SeasonType=IST), and the fixtures hold no recording
# of it, so a run over that day rightly fails (test_end_to_end covers both sides of it).
RECORDED_START, RECORDED_END = "2025-10-21", "2025-12-15"


def days(start: str, end: str) -> list[str]:
    first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    return [str(first + dt.timedelta(n)) for n in range((last - first).days + 1)]


def running_ui(root: Path, server: ReplayServer) -> Iterator[DagsterUI]:
    ui = DagsterUI(root, {"NBA_STATS_BASE_URL": server.url})
    try:
        yield ui.start()
    finally:
        ui.stop()


@pytest.fixture(scope="package")
def recorded_ui(
    tmp_path_factory: pytest.TempPathFactory, recordings_server: ReplayServer
) -> Iterator[DagsterUI]:
    yield from running_ui(tmp_path_factory.mktemp("recorded_ui"), recordings_server)


@pytest.fixture(scope="package")
def recorded_backfill(recorded_ui: DagsterUI, recordings_server: ReplayServer) -> dict:
    """`team_boxscores` over every recorded game date, launched as the UI launches it."""
    recordings_server.reset()
    backfill_id = recorded_ui.launch_backfill(
        ["team_boxscores"], days(RECORDED_START, RECORDED_END)
    )
    backfill = recorded_ui.wait_for_backfill(backfill_id)
    return {**backfill, "id": backfill_id, "requests": recordings_server.requests_for()}
