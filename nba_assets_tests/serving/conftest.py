"""The serving tests' real parts: a fresh database on the local PostgreSQL for the session, a
schema of its own for each test, and a synthetic warehouse (a season of box scores) built once."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy.engine import Engine

from nba_assets.assets.boxscores import player_boxscores, team_boxscores
from nba_assets.assets.play_by_play import play_by_play
from nba_assets.assets.reference import teams
from nba_assets.assets.schedule import schedule
from nba_assets.serving import database
from nba_assets_tests.conftest import resources
from nba_assets_tests.production.conftest import PG, scratch_database

SEASON = "2024-25"
SEASON_DAYS = ("2024-10-22", "2025-06-22")
PBP_DAYS = ("2024-10-22", "2024-10-24")


def range_tags(first: str, last: str) -> dict[str, str]:
    return {
        "dagster/asset_partition_range_start": first,
        "dagster/asset_partition_range_end": last,
    }


@pytest.fixture(scope="session")
def serving_dsn() -> Iterator[str]:
    """A database created for this session, dropped (connections and all) afterwards."""
    with scratch_database("nba_serving") as name:
        try:
            yield f"postgresql://{PG['user']}@{PG['host']}:{PG['port']}/{name}"
        finally:
            database.dispose_all()


@pytest.fixture
def schema() -> str:
    """A schema of the test's own: every test starts from an empty, freshly migrated one."""
    return f"t_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def engine(serving_dsn: str, schema: str) -> Engine:
    return database.ready(serving_dsn, schema)


@pytest.fixture(scope="session")
def season_warehouse(synthetic_server, tmp_path_factory) -> Path:
    """Teams, the 2024-25 schedule and box scores, and three days of play-by-play."""
    synthetic_server.reset()
    warehouse = tmp_path_factory.mktemp("serving") / "warehouse"
    res = resources(synthetic_server, warehouse)
    runs = [
        dg.materialize([teams], resources=res),
        dg.materialize([schedule], resources=res, partition_key=SEASON),
        dg.materialize(
            [team_boxscores, player_boxscores], resources=res, tags=range_tags(*SEASON_DAYS)
        ),
        dg.materialize(
            [play_by_play, team_boxscores.to_source_asset()],
            resources=res,
            tags=range_tags(*PBP_DAYS),
        ),
    ]
    assert all(run.success for run in runs)
    synthetic_server.reset()
    return warehouse


@pytest.fixture
def warehouse_copy(season_warehouse: Path, tmp_path: Path) -> Path:
    """The season warehouse for a test that commits to it."""
    copy = tmp_path / "warehouse"
    shutil.copytree(season_warehouse, copy)
    return copy
