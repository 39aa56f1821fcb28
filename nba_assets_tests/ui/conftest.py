"""A webserver and daemon over the real recordings, shared by the backfill and browser tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from nba_assets.partitions import game_date_partitions, season_span
from nba_assets.source.replay import ReplayServer
from nba_assets_tests.ui.dagster_ui import DagsterUI

#: The recorded 2025-26 team game log covers these game dates.
# The recorded league game log runs to 2026-02-21, but the range stops before 2025-12-16: that
# day's NBA Cup final is its own request (SeasonType=IST), and the fixtures hold no recording
# of it, so a run over that day rightly fails (test_end_to_end covers both sides of it).
RECORDED_START, RECORDED_END = "2025-10-21", "2025-12-15"


#: The synthetic season the UI backfills whole (both box-score tables, one run).
SYNTHETIC_SEASON = "2024-25"


def days(start: str, end: str) -> list[str]:
    first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    return [str(first + dt.timedelta(n)) for n in range((last - first).days + 1)]


def season_keys(season: str) -> list[str]:
    """The season's game-date partitions: every day of its span the definition holds."""
    first, last = (day.isoformat() for day in season_span(season))
    return game_date_partitions.get_partition_keys_in_range(dg.PartitionKeyRange(first, last))


def running_ui(root: Path, server: ReplayServer | None) -> Iterator[DagsterUI]:
    """A webserver and daemon over `root`; with `server`, the API is that replay server."""
    ui = DagsterUI(root, {"NBA_STATS_BASE_URL": server.url} if server else {})
    try:
        yield ui.start()
    finally:
        ui.stop()


def backfilled(ui: DagsterUI, server: ReplayServer, assets: list[str], keys: list[str]) -> dict:
    """A backfill launched as the UI launches it, once the daemon finished it, with the
    requests the server saw."""
    server.reset()
    backfill_id = ui.launch_backfill(assets, keys)
    backfill = ui.wait_for_backfill(backfill_id)
    return {**backfill, "id": backfill_id, "requests": server.requests_for()}


@pytest.fixture(scope="package")
def recorded_ui(
    tmp_path_factory: pytest.TempPathFactory, recordings_server: ReplayServer
) -> Iterator[DagsterUI]:
    yield from running_ui(tmp_path_factory.mktemp("recorded_ui"), recordings_server)


@pytest.fixture(scope="package")
def recorded_backfill(recorded_ui: DagsterUI, recordings_server: ReplayServer) -> dict:
    """`team_boxscores` over every recorded game date, launched as the UI launches it."""
    keys = days(RECORDED_START, RECORDED_END)
    return backfilled(recorded_ui, recordings_server, ["team_boxscores"], keys)


@pytest.fixture(scope="package")
def synthetic_ui(
    tmp_path_factory: pytest.TempPathFactory, synthetic_server: ReplayServer
) -> Iterator[DagsterUI]:
    yield from running_ui(tmp_path_factory.mktemp("synthetic_ui"), synthetic_server)


@pytest.fixture(scope="package")
def season_backfill(synthetic_ui: DagsterUI, synthetic_server: ReplayServer) -> dict:
    """Both box-score tables over every partition of a synthetic season, as the UI launches it."""
    keys = season_keys(SYNTHETIC_SEASON)
    assets = ["team_boxscores", "player_boxscores"]
    return {**backfilled(synthetic_ui, synthetic_server, assets, keys), "keys": keys}
