"""The replay server as users run it: the CLI, real recordings, the unmodified nba_api client."""

import json
import os
import subprocess
import sys
import urllib.request

import pytest
from nba_api.stats.endpoints import LeagueGameFinder, LeagueGameLog
from nba_api.stats.library.http import NBAStatsHTTP

from nba_assets.source.protocol import NotServed
from nba_assets.source.recordings import RecordingsBackend
from nba_assets_tests.conftest import FIXTURES, REPO, fixture_body


@pytest.fixture(scope="module")
def backend() -> RecordingsBackend:
    return RecordingsBackend(FIXTURES)


def test_iso_dated_recording_answers_nba_api_style_dates(backend):
    params = {
        "PlayerOrTeam": "T",
        "LeagueID": "00",
        "DateFrom": "01/01/2021",
        "DateTo": "01/31/2021",
    }
    reply = backend.respond("leaguegamefinder", params)
    assert len(json.loads(reply.text)["resultSets"][0]["rowSet"]) == 444
    narrower = backend.respond(
        "leaguegamefinder", {**params, "DateFrom": "01/10/2021", "DateTo": "01/10/2021"}
    )
    rows = json.loads(narrower.text)["resultSets"][0]["rowSet"]
    recorded = fixture_body("leaguegamefinder-7e8ad22238.json")["resultSets"][0]["rowSet"]
    assert rows == [r for r in recorded if r[5] == "2021-01-10"] and rows


def test_season_recording_answers_any_sub_range_and_ignores_paging(backend):
    params = {
        "LeagueID": "00",
        "PlayerOrTeam": "T",
        "Season": "2025-26",
        "SeasonType": "Regular Season",
        "Counter": "1000",
        "Sorter": "PTS",
    }
    whole = json.loads(backend.respond("leaguegamelog", params).text)["resultSets"][0]["rowSet"]
    assert len(whole) == 1688
    dec = json.loads(
        backend.respond(
            "leaguegamelog", {**params, "DateFrom": "12/01/2025", "DateTo": "12/31/2025"}
        ).text
    )
    assert {r[5][:7] for r in dec["resultSets"][0]["rowSet"]} == {"2025-12"}
    assert dec["parameters"]["DateFrom"] == "12/01/2025"


def test_unknown_request_says_what_is_recorded(backend):
    with pytest.raises(NotServed) as info:
        backend.respond(
            "leaguegamelog",
            {
                "Season": "1999-00",
                "PlayerOrTeam": "T",
                "SeasonType": "Regular Season",
                "LeagueID": "00",
            },
        )
    detail = json.loads(str(info.value))
    assert (
        detail["recorded"][0]["Season"] == "2025-26" and "commonallplayers" in detail["endpoints"]
    )


def test_cli_server_prints_its_url_and_serves_the_unmodified_client(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nba_assets.cli",
            "replay-server",
            "--recordings",
            str(FIXTURES),
            "--port",
            "0",
            "--fault-5xx",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=env,
    )
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/stats")
        first = urllib.request.Request(f"{url}/leaguegamelog?Season=2025-26")
        with pytest.raises(urllib.error.HTTPError, match="503"):
            urllib.request.urlopen(first, timeout=10)
        # the stock nba_api classes, pointed at the server through their own base_url
        http = type("Http", (NBAStatsHTTP,), {"base_url": url + "/{endpoint}"})
        response = http().send_api_request(
            endpoint="leaguegamelog",
            parameters=LeagueGameLog(
                season="2025-26", season_type_all_star="Regular Season", get_request=False
            ).parameters,
            headers={},
            timeout=10,
        )
        assert len(response.get_dict()["resultSets"][0]["rowSet"]) == 1688
        finder = LeagueGameFinder(
            player_or_team_abbreviation="P",
            player_id_nullable="2544",
            season_nullable="2023-24",
            get_request=False,
        )
        found = http().send_api_request(
            endpoint="leaguegamefinder", parameters=finder.parameters, headers={}, timeout=10
        )
        assert len(found.get_dict()["resultSets"][0]["rowSet"]) == 82
        with urllib.request.urlopen(
            f"{url.removesuffix('/stats')}/__replay__/log", timeout=10
        ) as log:
            assert [e["endpoint"] for e in json.load(log)] == [
                "leaguegamelog",
                "leaguegamelog",
                "leaguegamefinder",
            ]
    finally:
        proc.terminate()
        _, logged = proc.communicate(timeout=10)
    assert '"GET /stats/leaguegamelog?Season=2025-26 HTTP/1.1" 503' in logged
    assert logged.count("GET /stats/leaguegamefinder?") == 1
