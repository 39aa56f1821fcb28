"""Requests per second the client sustains against a local replay server, and what validation
and archiving add per request. Prints numbers; asserts nothing.

    .venv/bin/python bench/client_throughput.py [--requests 200]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from nba_api.stats.endpoints import LeagueGameLog
from nba_api.stats.library.http import NBAStatsHTTP

from nba_assets.io.storage import as_upath
from nba_assets.source.archive import RawArchive, sha256_text
from nba_assets.source.client import NbaStatsClient
from nba_assets.source.recordings import RecordingsBackend
from nba_assets.source.replay import ReplayServer
from nba_assets.source.validation import validate_body

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "stats_nba"
SEASON = {
    "league_id": "00",
    "season": "2025-26",
    "season_type_all_star": "Regular Season",
    "player_or_team_abbreviation": "T",
}
REQUIRED = {"LeagueGameLog": ["GAME_ID", "GAME_DATE", "TEAM_ID", "PTS"]}


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:8.1f} req/s  ({seconds / n * 1000:6.2f} ms/req)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    n = parser.parse_args().requests
    server = ReplayServer(RecordingsBackend(FIXTURES)).start()
    with tempfile.TemporaryDirectory() as tmp:
        for label, dates in (
            ("one day  (28 rows)", ("11/01/2025", "11/01/2025")),
            ("season (1688 rows)", ("", "")),
        ):
            params = {**SEASON, "date_from_nullable": dates[0], "date_to_nullable": dates[1]}
            http = type("Http", (NBAStatsHTTP,), {"base_url": server.url + "/{endpoint}"})
            raw_params = LeagueGameLog(**params, get_request=False).parameters
            started = time.perf_counter()
            for _ in range(n):
                text = (
                    http()
                    .send_api_request("leaguegamelog", raw_params, headers={}, timeout=10)
                    .get_response()
                )
            bare = time.perf_counter() - started
            client = NbaStatsClient(base_url=server.url, warehouse=tmp, min_request_interval=0)
            started = time.perf_counter()
            for _ in range(n):
                client.fetch(LeagueGameLog, required=REQUIRED, **params)
            full = time.perf_counter() - started
            started = time.perf_counter()
            for _ in range(n):
                validate_body(text, endpoint="leaguegamelog", params={}, required=REQUIRED)
            validation = (time.perf_counter() - started) / n
            archive = RawArchive(as_upath(tmp) / "bench-raw")
            started = time.perf_counter()
            for i in range(n):  # distinct requests: every store is a real atomic write
                archive.store(
                    "leaguegamelog",
                    {"i": str(i)},
                    status=200,
                    content_type="application/json",
                    body_text=text,
                    sha256=sha256_text(text),
                    url="",
                )
            archiving = (time.perf_counter() - started) / n
            print(f"{label}: {len(text) / 1024:7.1f} KiB body")
            print(f"  bare nba_api HTTP          {rate(n, bare)}")
            print(
                f"  NbaStatsClient.fetch       {rate(n, full)}   stats={json.dumps(client.stats.as_metadata())}"
            )
            print(f"  validation                 {validation * 1000:6.2f} ms/req")
            print(
                f"  sha256 + atomic archive    {archiving * 1000:6.2f} ms/req (first time a body is seen)"
            )
    server.stop()


if __name__ == "__main__":
    main()
