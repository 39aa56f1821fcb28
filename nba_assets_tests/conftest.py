"""Shared fixtures: the real recordings, loopback servers, and a client pointed at them."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from nba_assets.io import delta
from nba_assets.io.manager import DeltaIOManager
from nba_assets.schemas import TABLES
from nba_assets.source.client import NbaStatsClient
from nba_assets.source.recordings import RecordingsBackend
from nba_assets.source.replay import ReplayServer, SyntheticBackend

REPO = Path(__file__).resolve().parents[1]
#: Real stats.nba.com responses; used in place (../shared/fixtures), never copied into the repo.
FIXTURES = REPO.parent / "shared" / "fixtures" / "stats_nba"
LEAGUEGAMELOG_2025_26 = FIXTURES / "leaguegamelog-d25cde14d9.json"
SYNTHETIC_SEASONS = "2023-24:2024-25"


def fixture_body(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())["response"]["body"]


@pytest.fixture(scope="session", autouse=True)
def _fixtures_present() -> None:
    if not (FIXTURES / "index.json").exists():
        pytest.fail(f"recordings not found at {FIXTURES}: ../shared must sit beside the checkout")


@pytest.fixture(scope="session")
def recordings_server() -> Iterator[ReplayServer]:
    server = ReplayServer(RecordingsBackend(FIXTURES)).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def synthetic_server() -> Iterator[ReplayServer]:
    server = ReplayServer(SyntheticBackend(seed=7, seasons=SYNTHETIC_SEASONS)).start()
    yield server
    server.stop()


@pytest.fixture
def replay(recordings_server: ReplayServer) -> Iterator[ReplayServer]:
    """The recordings server with a clean request log and no faults."""
    recordings_server.reset()
    yield recordings_server
    recordings_server.reset()


@pytest.fixture
def synthetic(synthetic_server: ReplayServer) -> Iterator[ReplayServer]:
    synthetic_server.reset()
    yield synthetic_server
    synthetic_server.reset()


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return tmp_path / "warehouse"


def make_client(server: ReplayServer, warehouse: Path, **overrides) -> NbaStatsClient:
    """A client as production builds it, but fast: no spacing, short backoff and timeout."""
    config = {
        "base_url": server.url,
        "warehouse": str(warehouse),
        "min_request_interval": 0.0,
        "backoff_base": 0.01,
        "request_timeout": 5.0,
        "max_attempts": 4,
    }
    config.update(overrides)
    return NbaStatsClient(**config)


def resources(server: ReplayServer, warehouse: Path, **overrides) -> dict:
    return {
        "nba": make_client(server, warehouse, **overrides),
        "io_manager": DeltaIOManager(warehouse=str(warehouse)),
    }


def published(warehouse: Path | str, table: str, **selection) -> pd.DataFrame:
    """The current version's rows of a warehouse table (stored columns included), as pandas.

    `selection`: `first`/`last` (ISO dates) for a game-date window, or `seasons`.
    """
    if "first" in selection:
        chosen = delta.Selection.days(
            dt.date.fromisoformat(selection["first"]), dt.date.fromisoformat(selection["last"])
        )
    elif "seasons" in selection:
        chosen = delta.Selection.of_seasons(selection["seasons"])
    else:
        chosen = delta.Selection()
    return delta.to_frame(delta.read_rows(str(warehouse), TABLES[table], chosen))


def table_version(warehouse: Path | str, table: str) -> int:
    return delta.open_table(str(warehouse), table).version()


def day_events(result) -> dict[str, dict]:
    """Each game-date partition's materialization metadata, as plain values (the season
    `schedule` a box-score step refreshes for its audit is not one of them)."""
    return {
        e.partition: {k: getattr(v, "value", v) for k, v in e.materialization.metadata.items()}
        for e in result.get_asset_materialization_events()
        if e.asset_key.to_user_string() != "schedule"
    }


def table_files(warehouse: Path, table: str) -> dict[str, int]:
    """Every file under a table's directory (data and log) with its size."""
    root = warehouse / table
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*") if p.is_file()}
