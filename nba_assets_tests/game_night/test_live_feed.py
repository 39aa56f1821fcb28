"""The live client and the synthetic league's game night, through nba_api's own parsers."""

import json
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from nba_api.live.nba.endpoints import BoxScore

from nba_assets.assets.game_night import scoreboard_rows
from nba_assets.settings import LIVE_FEED_URL, Settings
from nba_assets.source.live import LIVE_HEADERS, NbaLiveClient
from nba_assets.source.recordings import RecordingsBackend
from nba_assets.source.replay import ReplayServer
from nba_assets_tests.game_night.conftest import NIGHT, SEASON, at


def test_scoreboard_follows_the_clock(night):
    live = night.live()
    states = []
    for hour, minute in ((18, 0), (19, 30), (21, 30), (23, 0), (1, 30)):
        day = NIGHT if hour > 6 else NIGHT.replace(day=NIGHT.day + 1)
        night.set_clock(at(hour, minute, day))
        board, fetched = live.scoreboard()
        assert board.score_board_date == NIGHT.isoformat()
        states.append(scoreboard_rows(board, "x").sort_values("game_time_utc"))
        assert fetched.endpoint == "live/scoreboard/todaysscoreboard_00.json"
    assert [list(s["game_status"]) for s in states] == [
        [1, 1, 1],
        [2, 1, 1],
        [3, 2, 1],
        [3, 3, 2],
        [3, 3, 3],
    ]
    # scores only grow
    for side in ("home_score", "away_score"):
        for game in range(3):
            values = [int(s[side].iloc[game]) for s in states]
            assert values == sorted(values)
    assert live.stats.requests == 5
    assert [r["endpoint"] for r in night.requests()] == [
        "live/scoreboard/todaysscoreboard_00.json"
    ] * 5


def test_odds_follow_strength_and_move_until_tip(night):
    live = night.live()
    seen = []
    for hour in (9, 14, 18, 23):
        night.set_clock(at(hour))
        odds, _ = live.odds()
        seen.append({g["gameId"]: g for g in odds.games.get_dict()})
    assert all(len(s) == 3 for s in seen)
    game = min(seen[0])
    lines = [float(s[game]["markets"][1]["books"][0]["outcomes"][0]["spread"]) for s in seen]
    opening = [s[game]["markets"][0]["books"][0]["outcomes"][0]["opening_odds"] for s in seen]
    assert len(set(opening)) == 1  # the opening line stays the opening line
    assert lines[2] == lines[3]  # frozen at tip-off
    # stronger favourite (lower spread) has the shorter price
    for g in seen[0].values():
        spread = float(g["markets"][1]["books"][0]["outcomes"][0]["spread"])
        home = float(g["markets"][0]["books"][0]["outcomes"][0]["odds"])
        away = float(g["markets"][0]["books"][0]["outcomes"][1]["odds"])
        assert (home < away) == (spread < 0) or spread == 0


def test_the_client_sends_the_headers_the_cdn_needs(night):
    headers = night.live().request_headers()
    assert headers["Referer"] == LIVE_HEADERS["Referer"] == "https://www.nba.com/"
    assert headers["Origin"] == "https://www.nba.com"
    assert "br" not in headers["Accept-Encoding"]


def test_recorded_live_answers_replay(night, tmp_path):
    night.set_clock(at(21, 30))
    live = night.live()
    board, fetched = live.scoreboard()
    record = json.loads(Path(fetched.archive_path).read_text())
    assert record["request"]["endpoint"] == "live/scoreboard/todaysscoreboard_00.json"
    # the warehouse's raw archive is a recordings directory the replay server answers from
    replay = ReplayServer(RecordingsBackend(night.warehouse / "raw")).start()
    try:
        again = night.live().model_copy(
            update={"base_url": replay.live_url, "warehouse": str(tmp_path / "other")}
        )
        board_again, fetched_again = again.scoreboard()
        assert fetched_again.sha256 == fetched.sha256
        assert board_again.games.get_dict() == board.games.get_dict()
    finally:
        replay.stop()


CLI = (sys.executable, "-m", "nba_assets.cli")


def test_replay_server_cli_prints_the_live_url_second_and_takes_a_clock():
    process = subprocess.Popen(
        [*CLI, "replay-server", "--synthetic", "--seasons", SEASON, "--port", "0", "--quiet"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        stats_url = process.stdout.readline().strip()
        live_url = process.stdout.readline().strip()
        assert stats_url.endswith("/stats")
        assert live_url == stats_url.removesuffix("/stats") + "/live"
        root = live_url.removesuffix("/live")
        request = urllib.request.Request(
            root + "/__replay__/clock",
            data=json.dumps({"now": "2023-12-29T21:30:00-05:00"}).encode(),
            method="POST",
        )
        urllib.request.urlopen(request).read()
        board, _ = NbaLiveClient(
            base_url=live_url, warehouse=tempfile.mkdtemp(), min_request_interval=0
        ).scoreboard()
        assert sorted(g["gameStatus"] for g in board.games.get_dict()) == [1, 2, 3]
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_settings_read_the_live_feed_and_poll_interval():
    settings = Settings.from_env(
        {"NBA_LIVE_BASE_URL": "http://127.0.0.1:1/live/", "NBA_ASSETS_LIVE_POLL_SECONDS": "30"}
    )
    assert settings.live_base_url == "http://127.0.0.1:1/live"
    assert settings.live_poll_seconds == 30
    defaults = Settings.from_env({})
    assert defaults.live_poll_seconds == 60
    assert NbaLiveClient(base_url=defaults.live_base_url).resolved_base_url() == LIVE_FEED_URL


def test_live_box_score_adds_up_to_the_scoreboard_and_the_final(night):
    live = night.live()
    night.set_clock(at(21, 30))
    board, _ = live.scoreboard()
    running = next(g for g in board.games.get_dict() if g["gameStatus"] == 2)
    box, fetched = live.fetch(BoxScore, game_id=running["gameId"])
    assert fetched.endpoint == f"live/boxscore/boxscore_{running['gameId']}.json"
    for side in ("home", "away"):
        players = getattr(box, f"{side}_team_player_stats").get_dict()
        team = getattr(box, f"{side}_team_stats").get_dict()
        assert sum(p["statistics"]["points"] for p in players) == team["score"]
        assert team["score"] == running[f"{side}Team"]["score"]
    night.set_clock(at(23, 30))
    final, _ = live.fetch(BoxScore, game_id=running["gameId"])
    assert final.game_details.get_dict()["gameStatus"] == 3
    assert final.home_team_stats.get_dict()["score"] > box.home_team_stats.get_dict()["score"]
