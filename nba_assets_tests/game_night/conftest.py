"""A synthetic league of its own for game nights: its clock and lagging game log stay here."""

import datetime as dt
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from nba_assets.assets.schedule import schedule
from nba_assets.io.manager import DeltaIOManager
from nba_assets.source.live import NbaLiveClient
from nba_assets.source.replay import ReplayServer, SyntheticBackend
from nba_assets_tests.conftest import make_client

EASTERN = ZoneInfo("US/Eastern")
#: a night of the seed-2026 league with 3 staggered games: 19:00, 20:00 and 22:00 ET
NIGHT = dt.date(2023, 12, 29)
SEASON = "2023-24"


def at(hour: int, minute: int = 0, day: dt.date = NIGHT) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), EASTERN)


class Night:
    """The server, its clock and the clients a game night uses."""

    def __init__(self, server: ReplayServer, warehouse: Path) -> None:
        self.server = server
        self.warehouse = warehouse

    def set_clock(self, now: dt.datetime, lag_seconds: float = 0.0) -> dict:
        request = urllib.request.Request(
            self.server.root + "/__replay__/clock",
            data=json.dumps({"now": now.isoformat(), "game_log_lag_seconds": lag_seconds}).encode(),
            method="POST",
        )
        with urllib.request.urlopen(request) as response:
            return json.loads(response.read())

    def live(self) -> NbaLiveClient:
        return NbaLiveClient(
            base_url=self.server.live_url,
            warehouse=str(self.warehouse),
            min_request_interval=0.0,
            backoff_base=0.01,
            request_timeout=5.0,
        )

    def stats(self):
        return make_client(self.server, self.warehouse)

    def resources(self) -> dict:
        return {
            "nba": self.stats(),
            "nba_live": self.live(),
            "io_manager": DeltaIOManager(warehouse=str(self.warehouse)),
        }

    def requests(self) -> list[dict]:
        return self.server.requests_for()

    def publish_schedule(self) -> None:
        result = dg.materialize(
            [schedule], partition_key=SEASON, resources=self.resources(), raise_on_error=True
        )
        assert result.success


@pytest.fixture(scope="module")
def night_server() -> Iterator[ReplayServer]:
    server = ReplayServer(SyntheticBackend(seed=2026, seasons=f"{SEASON}:{SEASON}")).start()
    yield server
    server.stop()


@pytest.fixture
def night(night_server: ReplayServer, tmp_path: Path) -> Night:
    night_server.reset()
    return Night(night_server, tmp_path / "warehouse")
