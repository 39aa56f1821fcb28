"""A simulated game night of 12 games through the real game-night sensor: the synthetic league
plays the night on its clock, the sensor is evaluated every poll interval, the runs it asks for
are executed as they come, and the stats game log lags each final by `--lag-polls` polls.

Prints the live and stats requests the night spent (the sensor's and its runs'), the runs, and
for each game the time from its final buzzer to its published box scores, in poll intervals.
Odds are captured on their own cadence (hourly, then every 10 minutes in the 2 hours before a
tip-off) and the closing lines derived after the last tip. Asserts nothing.

    .venv/bin/python bench/game_night.py [--night 2024-11-14] [--poll-seconds 60] [--lag-polls 2]
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import tempfile
import time
import urllib.request
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg

from nba_assets.assets.boxscores import player_boxscores, team_boxscores
from nba_assets.assets.game_night import closing_lines_asset, live_scoreboard, odds_snapshots
from nba_assets.assets.game_night_sensor import (
    FINAL_GAMES_TAG,
    build_game_night_sensor,
    night_windows,
    odds_due,
    scheduled_tips,
)
from nba_assets.assets.play_by_play import play_by_play
from nba_assets.assets.schedule import schedule
from nba_assets.io.manager import DeltaIOManager
from nba_assets.partitions import season_of
from nba_assets.source.client import NbaStatsClient
from nba_assets.source.live import NbaLiveClient
from nba_assets.source.replay import ReplayServer, SyntheticBackend
from nba_assets.source.synthetic import SyntheticLeague, season_start
from nba_assets.source.synthetic.live import timeline

EASTERN = ZoneInfo("US/Eastern")
ASSETS = [
    team_boxscores,
    player_boxscores,
    play_by_play,
    live_scoreboard,
    odds_snapshots,
    closing_lines_asset,
    schedule,
]


def set_clock(server: ReplayServer, now: dt.datetime, lag: dt.timedelta) -> None:
    payload = {"now": now.isoformat(), "game_log_lag_seconds": lag.total_seconds()}
    request = urllib.request.Request(
        server.root + "/__replay__/clock", data=json.dumps(payload).encode(), method="POST"
    )
    urllib.request.urlopen(request).read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--night", default="2024-11-14", help="a synthetic night (12 games)")
    parser.add_argument("--poll-seconds", type=float, default=60.0)
    parser.add_argument("--lag-polls", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    night = dt.date.fromisoformat(args.night)
    season = season_of(night)
    poll = dt.timedelta(seconds=args.poll_seconds)
    lag = poll * args.lag_polls

    league = SyntheticLeague(seed=args.seed, first_season=season, last_season=season)
    games = [g for g in league.season(season_start(season)).games if g.day == night]
    finals = {g.game_id: timeline(g).final for g in games}

    server = ReplayServer(SyntheticBackend(args.seed, f"{season}:{season}")).start()
    warehouse = Path(tempfile.mkdtemp(prefix="game-night-")) / "warehouse"
    common = {"warehouse": str(warehouse), "request_timeout": 10.0}
    stats = NbaStatsClient(base_url=server.url, min_request_interval=0.0, **common)
    live = NbaLiveClient(base_url=server.live_url, min_request_interval=0.0, **common)
    resources = {"nba": stats, "nba_live": live, "io_manager": DeltaIOManager(**common)}
    with dg.instance_for_test() as instance:
        dg.materialize([schedule], partition_key=season, resources=resources, instance=instance)
        tips = scheduled_tips(str(warehouse), night, night)[night]
        window = next(w for w in night_windows(str(warehouse), night) if w.day == night)
        clock = [window.opens - 2 * poll]
        sensor = build_game_night_sensor(poll.total_seconds(), clock=lambda: clock[0])
        definitions = dg.Definitions(assets=ASSETS, sensors=[sensor], resources=resources)
        cursor, launched, runs = None, {}, collections.Counter()
        requests_outside = 0
        sensor_seconds = run_seconds = 0.0
        server.reset()
        odds_tick = dt.datetime.combine(night, dt.time(9), EASTERN)
        while clock[0] <= window.closes + 2 * poll:
            now = clock[0]
            set_clock(server, now, lag)
            # odds on their own cadence, every 10 minutes of the simulated day before the clock
            while odds_tick <= now:
                if odds_due(odds_tick, tips):
                    set_clock(server, odds_tick, lag)
                    dg.materialize(
                        [odds_snapshots],
                        partition_key=night.isoformat(),
                        resources=resources,
                        instance=instance,
                    )
                    runs["odds_snapshots"] += 1
                odds_tick += dt.timedelta(minutes=10)
            set_clock(server, now, lag)
            seen = len(server.requests_for())
            began = time.perf_counter()
            with dg.build_sensor_context(
                instance=instance, cursor=cursor, resources=resources, definitions=definitions
            ) as context:
                data = sensor.evaluate_tick(context)
            sensor_seconds += time.perf_counter() - began
            cursor = data.cursor
            if not window.holds(now):
                requests_outside += len(server.requests_for()) - seen
            for request in data.run_requests or []:
                for game in filter(None, request.tags.get(FINAL_GAMES_TAG, "").split(",")):
                    launched[game] = now
                began = time.perf_counter()
                result = dg.materialize(
                    ASSETS,
                    selection=request.asset_selection,
                    partition_key=request.partition_key,
                    run_config=request.run_config,
                    tags=request.tags,
                    resources=resources,
                    instance=instance,
                    raise_on_error=False,
                )
                run_seconds += time.perf_counter() - began
                kind = "box scores" if FINAL_GAMES_TAG in request.tags else "live_scoreboard"
                runs[kind + ("" if result.success else " (failed)")] += 1
            clock[0] = now + poll
        set_clock(server, clock[0], lag)
        dg.materialize(
            [closing_lines_asset],
            partition_key=night.isoformat(),
            resources=resources,
            instance=instance,
        )

    log = server.requests_for()
    by_endpoint = collections.Counter(r["endpoint"] for r in log)
    live_requests = sum(n for e, n in by_endpoint.items() if e.startswith("live/"))
    stats_requests = sum(n for e, n in by_endpoint.items() if not e.startswith("live/"))
    delays = {
        g: (launched[g] - finals[g]) / poll if g in launched else None for g in sorted(finals)
    }
    print(
        f"night {night} ({season}): {len(games)} games, tips {sorted({f'{t.astimezone(EASTERN):%H:%M}' for t in tips.values()})} ET"
    )
    print(
        f"window {window.opens.astimezone(EASTERN):%H:%M} .. {window.closes.astimezone(EASTERN):%H:%M} ET, "
        f"poll {poll.total_seconds():g} s, stats log lag {args.lag_polls} polls"
    )
    print(
        f"live requests:  {live_requests}  ({dict((e, n) for e, n in by_endpoint.items() if e.startswith('live/'))})"
    )
    print(
        f"stats requests: {stats_requests}  ({dict((e, n) for e, n in by_endpoint.items() if not e.startswith('live/'))})"
    )
    print(f"requests outside the window: {requests_outside}")
    print(f"runs: {dict(runs)}")
    published = [d for d in delays.values() if d is not None]
    print(
        f"final -> box scores published, in polls: min {min(published):g}, "
        f"median {sorted(published)[len(published) // 2]:g}, max {max(published):g} "
        f"({len(published)}/{len(finals)} games)"
    )
    for game, delay in delays.items():
        print(f"  {game}  final {finals[game].astimezone(EASTERN):%H:%M} ET  +{delay:g} polls")
    print(f"wall: sensor evaluations {sensor_seconds:.1f} s, runs {run_seconds:.1f} s")
    server.stop()


if __name__ == "__main__":
    main()
