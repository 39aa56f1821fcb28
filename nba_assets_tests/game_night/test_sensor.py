"""A simulated night of 3 staggered games through the real sensor evaluation: the sensor polls
the synthetic live feed over loopback, its run requests are executed, a daemon restart happens
mid-night, the stats game log lags each final by two polls, and the night's first box-score
run fails (and is launched again)."""

import datetime as dt

import dagster as dg
import pytest

from nba_assets.assets.boxscores import player_boxscores, team_boxscores
from nba_assets.assets.game_night import live_scoreboard
from nba_assets.assets.game_night_sensor import FINAL_GAMES_TAG, build_game_night_sensor
from nba_assets.assets.play_by_play import play_by_play
from nba_assets.source.synthetic import SyntheticLeague
from nba_assets.source.synthetic.live import timeline
from nba_assets_tests.conftest import published
from nba_assets_tests.game_night.conftest import NIGHT, SEASON, at

POLL = dt.timedelta(minutes=5)
LAG = 2 * POLL
DAY = NIGHT.isoformat()
NEXT_DAY = NIGHT + dt.timedelta(days=1)
RUN_ASSETS = [team_boxscores, player_boxscores, play_by_play, live_scoreboard]


def _finals() -> dict[str, dt.datetime]:
    league = SyntheticLeague(seed=2026, first_season=SEASON, last_season=SEASON)
    games = [g for g in league.season(2023).games if g.day == NIGHT]
    return {g.game_id: timeline(g).final for g in games}


class Daemon:
    """What the sensor daemon keeps between ticks: the cursor (in the instance) and nothing else."""

    def __init__(self, night, instance, clock):
        self.night, self.instance, self.clock = night, instance, clock
        self.cursor = None
        self.restart()

    def restart(self):
        """A new process: a fresh sensor definition and clients; only the cursor survives."""
        self.sensor = build_game_night_sensor(POLL.total_seconds(), clock=lambda: self.clock[0])
        self.resources = {"nba_live": self.night.live(), "nba": self.night.stats()}
        self.definitions = dg.Definitions(
            assets=RUN_ASSETS, sensors=[self.sensor], resources=self.night.resources()
        )

    def tick(self):
        with dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursor,
            resources=self.resources,
            definitions=self.definitions,
        ) as context:
            data = self.sensor.evaluate_tick(context)
        self.cursor = data.cursor
        return data


def _execute(night, instance, request: dg.RunRequest) -> bool:
    result = dg.materialize(
        RUN_ASSETS,
        selection=request.asset_selection,
        partition_key=request.partition_key,
        run_config=request.run_config,
        tags=request.tags,
        instance=instance,
        resources=night.resources(),
        raise_on_error=False,
    )
    return result.success


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def test_a_night_of_three_games(night, instance):
    night.publish_schedule()
    finals = _finals()
    assert len(finals) == 3
    clock = [at(17, 0)]
    daemon = Daemon(night, instance, clock)
    launched: dict[str, dt.datetime] = {}
    failed: list[str] = []
    skips: list[tuple[dt.datetime, str]] = []
    requests_by_time: list[tuple[dt.datetime, int]] = []
    restarted = False
    while clock[0] <= at(2, 0, NEXT_DAY):
        now = clock[0]
        night.set_clock(now, lag_seconds=LAG.total_seconds())
        if not restarted and now >= at(21, 20):
            daemon.restart()  # mid-night, with the first final waiting on the stats log
            restarted = True
        seen = len(night.requests())
        data = daemon.tick()
        requests_by_time.append((now, len(night.requests()) - seen))
        if data.skip_message:
            skips.append((now, data.skip_message))
        for request in data.run_requests or []:
            games = request.tags.get(FINAL_GAMES_TAG, "")
            for game in filter(None, games.split(",")):
                assert game not in launched, f"{game} launched again after a run that succeeded"
            if games and not failed:
                # the first box-score run of the night fails: stats.nba.com answers 503s
                night.server.faults.update({"server_error": 4})
                assert not _execute(night, instance, request)
                failed.extend(games.split(","))
                continue
            assert _execute(night, instance, request), request.run_key
            for game in filter(None, games.split(",")):
                launched[game] = now
        clock[0] = now + POLL

    # runs only for finished games, once each, and only once the stats log holds them; the
    # failed run's game was launched again two polls after the failure was seen
    assert set(launched) == set(finals)
    assert failed and set(failed) < set(finals)
    for game, when in launched.items():
        extra = 3 * POLL if game in failed else dt.timedelta(0)
        assert finals[game] + LAG <= when <= finals[game] + LAG + 4 * POLL + extra

    # 0 requests outside the window (18:30 ET .. 01:00 ET), with a SkipReason naming it
    opens, closes = at(18, 30), at(1, 0, NEXT_DAY)
    outside = [n for t, n in requests_by_time if t < opens or t > closes]
    assert outside and sum(outside) == 0
    first_skip = skips[0][1]
    assert "next window opens 2023-12-29T23:30:00Z" in first_skip
    assert "0 requests" in first_skip

    # the lagging log was asked again, not published early
    log_checks = [r for r in night.requests() if r["endpoint"] == "leaguegamelog"]
    assert len(log_checks) > 3

    # box scores and play-by-play of all three games landed
    team = published(night.warehouse, "team_boxscores", first=DAY, last=DAY)
    assert sorted(team["game_id"].unique()) == sorted(finals)
    assert len(team) == 6
    players = published(night.warehouse, "player_boxscores", first=DAY, last=DAY)
    assert sorted(players["game_id"].unique()) == sorted(finals)
    events = published(night.warehouse, "play_by_play", first=DAY, last=DAY)
    assert sorted(events["game_id"].unique()) == sorted(finals)

    # the sensor's polls became the in-game score history
    board = published(night.warehouse, "live_scoreboard", first=DAY, last=DAY)
    polls_in_window = sum(1 for t, n in requests_by_time if opens <= t <= closes)
    assert board["captured_at"].nunique() == polls_in_window
    assert set(board.loc[board["game_status"] == 3, "game_id"]) == set(finals)
