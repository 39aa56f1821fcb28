"""Game night automation: box scores minutes after the final buzzer, scores and odds captured.

`game_night_sensor` polls the live scoreboard inside game windows only (from 30 minutes before
a date's first tip-off to 3 hours after its last, tip-offs from the `schedule`); outside them
it sends nothing and says when the next window opens. When games go final it asks the stats
game log (one request per date) whether it holds them yet: stats.nba.com can lag the buzzer,
and a run launched too early would publish an incomplete day. While it lags, the sensor asks
again with backoff (1, 2, 4, 8 polls). Once it holds them, one run per date materializes both
box-score tables and the day's play-by-play; the sensor follows that run in the instance and,
if it fails, launches it again after 2, then 4 polls (3 attempts in all). Each poll's scoreboard is archived; the sensor
hands the archived documents to a `live_scoreboard` run (0 requests) every
`SNAPSHOT_FLUSH_POLLS` polls and whenever games go final. Everything it must remember is in
its cursor, so a daemon restart mid-night loses no game. The morning box-score schedule stays
the backstop.

`odds_snapshots_schedule` captures odds hourly on game days and every 10 minutes in the
2 hours before a tip-off, and re-derives `closing_lines` after each capture.
"""

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import dagster as dg
import pandas as pd
from nba_api.stats.endpoints import LeagueGameLog

from nba_assets.assets.boxscores import player_boxscores, team_boxscores
from nba_assets.assets.game_night import (
    closing_lines_asset,
    live_scoreboard,
    odds_snapshots,
    scheduled_tips,
    scoreboard_rows,
)
from nba_assets.assets.play_by_play import play_by_play
from nba_assets.partitions import (
    GAME_DATE_TIMEZONE,
    GAME_ID_KINDS,
    REGULAR_SEASON,
    season_of,
)
from nba_assets.source.client import NbaStatsClient
from nba_assets.source.live import NbaLiveClient
from nba_assets.source.protocol import api_date

EASTERN = ZoneInfo(GAME_DATE_TIMEZONE)
BEFORE_FIRST_TIP = dt.timedelta(minutes=30)
AFTER_LAST_TIP = dt.timedelta(hours=3)
#: scoreboard snapshots handed to a live_scoreboard run at least this often (in polls)
SNAPSHOT_FLUSH_POLLS = 10
#: longest wait between two asks of a lagging stats game log, in polls
MAX_BACKOFF_POLLS = 8
#: how far ahead the sensor looks for the next window
LOOKAHEAD_DAYS = 14
GAME_NIGHT_TAG = "nba_assets/game_night"
FINAL_GAMES_TAG = "nba_assets/final_games"
#: the sensor's name for a box-score run it launched; it follows the run by this tag
RUN_KEY_TAG = "nba_assets/game_night_run"
#: a box-score run that fails is launched again, at most this many times in a night
MAX_RUN_ATTEMPTS = 3
_KIND_TO_SEASON_TYPE = {kind: season_type for season_type, kind in GAME_ID_KINDS.items()}
_BOXSCORE_STEPS = (team_boxscores, player_boxscores, play_by_play)


@dataclass(frozen=True)
class Window:
    day: dt.date
    opens: dt.datetime
    closes: dt.datetime
    games: int
    first_tip: dt.datetime

    def holds(self, now: dt.datetime) -> bool:
        return self.opens <= now <= self.closes


def window_of(day: dt.date, tips: Mapping[str, dt.datetime]) -> Window | None:
    if not tips:
        return None
    first, last = min(tips.values()), max(tips.values())
    return Window(day, first - BEFORE_FIRST_TIP, last + AFTER_LAST_TIP, len(tips), first)


@dataclass
class NightState:
    """The sensor's cursor: what it must not forget across evaluations and daemon restarts."""

    #: game id -> {"date", "final_seen", "tries", "next_check"} for games final on the
    #: scoreboard whose box scores are not launched yet
    pending: dict[str, dict] = field(default_factory=dict)
    #: game ids whose box-score run was launched
    launched: list[str] = field(default_factory=list)
    #: game date -> archived scoreboard documents not yet handed to a live_scoreboard run
    snapshots: dict[str, list[str]] = field(default_factory=dict)
    #: run key -> {"date", "games", "attempt"} of box-score runs not yet seen succeed
    runs: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def load(cls, cursor: str | None) -> "NightState":
        data = json.loads(cursor) if cursor else {}
        return cls(
            pending=data.get("pending", {}),
            launched=data.get("launched", []),
            snapshots=data.get("snapshots", {}),
            runs=data.get("runs", {}),
        )

    def dump(self) -> str:
        # a game launched more than a few nights ago cannot come back: keep the cursor small
        return json.dumps(
            {
                "pending": self.pending,
                "launched": self.launched[-200:],
                "snapshots": self.snapshots,
                "runs": self.runs,
            },
            sort_keys=True,
        )


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def boxscore_run(day: str, games: list[str], attempt: int = 0) -> dg.RunRequest:
    """Both box-score tables and the play-by-play of one date, counting `day` as today (so
    a later game of the night is not yet due, and the day is never answered as settled)."""
    config = {"config": {"today": day, "refresh": True}}
    key = f"game_night:{day}:{'+'.join(sorted(games))}" + (f":retry{attempt}" if attempt else "")
    return dg.RunRequest(
        run_key=key,
        partition_key=day,
        asset_selection=[a.key for a in _BOXSCORE_STEPS],
        run_config={"ops": {"team_boxscores": config, "player_boxscores": config}},
        tags={GAME_NIGHT_TAG: day, FINAL_GAMES_TAG: ",".join(sorted(games)), RUN_KEY_TAG: key},
    )


_FAILED = (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)


def follow_runs(
    instance: dg.DagsterInstance, state: NightState, now: dt.datetime, poll: dt.timedelta
) -> list[str]:
    """Box-score runs the sensor launched: forget those that succeeded; put the games of a
    failed one back to wait (with backoff) for another run. Reads the instance, no request."""
    notes = []
    for key, record in list(state.runs.items()):
        found = instance.get_runs(filters=dg.RunsFilter(tags={RUN_KEY_TAG: key}), limit=1)
        if not found or found[0].status not in (dg.DagsterRunStatus.SUCCESS, *_FAILED):
            continue
        del state.runs[key]
        if found[0].status == dg.DagsterRunStatus.SUCCESS:
            continue
        attempt = record["attempt"] + 1
        if attempt >= MAX_RUN_ATTEMPTS:
            notes.append(f"{key} failed {attempt} times: left to the morning schedule")
            continue
        notes.append(f"{key} failed: launched again after {2**attempt} poll(s)")
        for game_id in record["games"]:
            if game_id in state.launched:
                state.launched.remove(game_id)
            state.pending[game_id] = {
                "date": record["date"],
                "final_seen": _iso(now),
                "tries": 0,
                "next_check": _iso(now + poll * 2**attempt),
                "attempt": attempt,
            }
    return notes


def scoreboard_run(day: str, paths: list[str]) -> dg.RunRequest:
    return dg.RunRequest(
        run_key=f"live_scoreboard:{day}:{len(paths)}:{paths[-1].rsplit('/', 1)[-1][:16]}",
        partition_key=day,
        asset_selection=[live_scoreboard.key],
        run_config={"ops": {"live_scoreboard": {"config": {"snapshots": paths}}}},
        tags={GAME_NIGHT_TAG: day},
    )


def game_log_holds(nba: NbaStatsClient, day: dt.date, games: list[str]) -> set[str]:
    """Which of `games` (all dated `day`) the stats team game log lists: one request per
    season type among them."""
    held: set[str] = set()
    by_type: dict[str, list[str]] = {}
    for game in games:
        by_type.setdefault(_KIND_TO_SEASON_TYPE.get(game[2], REGULAR_SEASON), []).append(game)
    for season_type in by_type:
        fetched = nba.fetch(
            LeagueGameLog,
            required={"LeagueGameLog": ["GAME_ID"]},
            league_id="00",
            season=season_of(day),
            season_type_all_star=season_type,
            player_or_team_abbreviation="T",
            date_from_nullable=api_date(day),
            date_to_nullable=api_date(day),
            counter=0,
            sorter="DATE",
            direction="ASC",
        )
        sets = fetched.body.get("resultSets") or []
        entry = next((s for s in sets if s.get("name") == "LeagueGameLog"), None)
        if entry is None:
            continue
        column = entry["headers"].index("GAME_ID")
        rows = pd.Series([str(r[column]).zfill(10) for r in entry["rowSet"]])
        counts = rows.value_counts()
        held.update(g for g in by_type[season_type] if counts.get(g, 0) >= 2)
    return held


def evaluate_night(
    now: dt.datetime,
    state: NightState,
    windows: list[Window],
    nba_live: NbaLiveClient,
    nba: NbaStatsClient,
    poll: dt.timedelta,
) -> tuple[list[dg.RunRequest], str]:
    """One poll inside a window: the runs to launch and a line on what the poll saw."""
    board, fetched = nba_live.scoreboard()
    rows = scoreboard_rows(board, _iso(now))
    open_days = {w.day for w in windows if w.holds(now)}
    runs: list[dg.RunRequest] = []
    finals = rows[rows["game_status"] == 3]
    for game_id, day in zip(finals["game_id"], finals["game_date"], strict=True):
        if game_id not in state.launched and game_id not in state.pending:
            state.pending[game_id] = {
                "date": day.isoformat(),
                "final_seen": _iso(now),
                "tries": 0,
                "next_check": _iso(now),
            }
    for day in sorted(
        {d.isoformat() for d in rows["game_date"]} & {d.isoformat() for d in open_days}
    ):
        state.snapshots.setdefault(day, []).append(str(fetched.archive_path))
    due: dict[str, list[str]] = {}
    for game_id, entry in state.pending.items():
        if _when(entry["next_check"]) <= now:
            due.setdefault(entry["date"], []).append(game_id)
    launched_days = set()
    for day, games in sorted(due.items()):
        held = game_log_holds(nba, dt.date.fromisoformat(day), games)
        ready = sorted(g for g in games if g in held)
        for game_id in games:
            if game_id in held:
                continue
            entry = state.pending[game_id]
            entry["tries"] += 1
            wait = min(2 ** (entry["tries"] - 1), MAX_BACKOFF_POLLS)
            entry["next_check"] = _iso(now + poll * wait)
        if ready:
            attempt = max(state.pending[g].get("attempt", 0) for g in ready)
            request = boxscore_run(day, ready, attempt)
            state.runs[str(request.run_key)] = {"date": day, "games": ready, "attempt": attempt}
            runs.append(request)
            launched_days.add(day)
            for game_id in ready:
                del state.pending[game_id]
                state.launched.append(game_id)
    for day, paths in list(state.snapshots.items()):
        day_over = day not in {d.isoformat() for d in open_days}
        if paths and (len(paths) >= SNAPSHOT_FLUSH_POLLS or day in launched_days or day_over):
            runs.append(scoreboard_run(day, paths))
            del state.snapshots[day]
    live = int((rows["game_status"] == 2).sum())
    waiting = sorted(state.pending)
    return runs, (
        f"{len(rows)} game(s) on the scoreboard, {live} live, {len(finals)} final; "
        f"{len(runs)} run(s) launched; waiting for the stats log: {waiting or 'none'}"
    )


def night_windows(warehouse: str, today: dt.date) -> list[Window]:
    """Yesterday's (late games run past midnight) and the coming days' windows."""
    tips = scheduled_tips(
        warehouse, today - dt.timedelta(days=1), today + dt.timedelta(days=LOOKAHEAD_DAYS)
    )
    windows = [window_of(day, games) for day, games in sorted(tips.items())]
    return [w for w in windows if w is not None]


def _wall_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def build_game_night_sensor(
    poll_seconds: float = 60.0, clock: Callable[[], dt.datetime] = _wall_clock
) -> dg.SensorDefinition:
    """The sensor; `clock` is what it takes for now (a test drives a simulated night with it)."""
    poll = dt.timedelta(seconds=poll_seconds)

    @dg.sensor(
        name="game_night_sensor",
        # every `poll_seconds` (NBA_ASSETS_LIVE_POLL_SECONDS); idle outside game windows
        minimum_interval_seconds=max(int(poll_seconds), 1),
        target=dg.AssetSelection.assets(*_BOXSCORE_STEPS, live_scoreboard),
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Box scores and play-by-play of games as they go final; live score "
        "snapshots. Polls the live scoreboard only inside game windows.",
    )
    def game_night_sensor(
        context: dg.SensorEvaluationContext, nba_live: NbaLiveClient, nba: NbaStatsClient
    ):
        now = clock()
        today = now.astimezone(EASTERN).date()
        state = NightState.load(context.cursor)
        windows = night_windows(nba_live.warehouse, today)
        if not any(w.holds(now) for w in windows):
            upcoming = [w for w in windows if w.opens > now]
            flushed = [
                scoreboard_run(day, paths) for day, paths in state.snapshots.items() if paths
            ]
            state.snapshots = {}
            left = sorted(state.pending)
            tail = (
                f"; {len(left)} final game(s) the stats log never showed are left to the "
                f"morning schedule: {left[:5]}"
                if left
                else ""
            )
            state.pending, state.runs = {}, {}
            if flushed:
                return dg.SensorResult(run_requests=flushed, cursor=state.dump())
            if upcoming:
                nxt = upcoming[0]
                says = (
                    f"outside game windows (0 requests); next window opens {_iso(nxt.opens)} "
                    f"({nxt.games} game(s) on {nxt.day}, first tip {_iso(nxt.first_tip)})"
                )
            else:
                says = (
                    f"outside game windows (0 requests); the published schedule lists no games "
                    f"from {today} to {today + dt.timedelta(days=LOOKAHEAD_DAYS)}"
                )
            return dg.SensorResult(skip_reason=says + tail, cursor=state.dump())
        notes = follow_runs(context.instance, state, now, poll)
        runs, says = evaluate_night(now, state, windows, nba_live, nba, poll)
        says = "; ".join([says, *notes])
        context.log.info(says)
        if not runs:
            return dg.SensorResult(skip_reason=says, cursor=state.dump())
        return dg.SensorResult(run_requests=runs, cursor=state.dump())

    return game_night_sensor


def odds_due(now: dt.datetime, tips: Mapping[str, dt.datetime]) -> str | None:
    """Why a capture is due at `now` (a 10-minute tick), or None: every 10 minutes in the
    2 hours before a tip-off, hourly on a game day until its last tip-off."""
    ahead = [t for t in tips.values() if t > now]
    if not ahead:
        return None
    if any(t - now <= dt.timedelta(hours=2) for t in ahead):
        return "within 2 hours of a tip-off: every 10 minutes"
    if now.astimezone(EASTERN).minute < 10:
        return "game day: hourly"
    return None


def build_odds_schedule(clock: Callable[[], dt.datetime] | None = None) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="odds_snapshots_schedule",
        # every 10 minutes; a capture only when one is due (see odds_due)
        cron_schedule="*/10 * * * *",
        execution_timezone=GAME_DATE_TIMEZONE,
        target=dg.AssetSelection.assets(odds_snapshots, closing_lines_asset),
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description="Odds of the day's games: hourly on game days, every 10 minutes in the "
        "2 hours before a tip-off; closing lines re-derived after each capture.",
    )
    def odds_snapshots_schedule(context: dg.ScheduleEvaluationContext, nba_live: NbaLiveClient):
        now = clock() if clock is not None else context.scheduled_execution_time
        day = now.astimezone(EASTERN).date()
        tips = scheduled_tips(nba_live.warehouse, day, day).get(day, {})
        if not tips:
            return dg.SkipReason(f"no games on {day} in the published schedule")
        why = odds_due(now, tips)
        if why is None:
            return dg.SkipReason(f"{day}: no capture due at {_iso(now)}")
        return dg.RunRequest(
            run_key=f"odds:{day}:{_iso(now)}",
            partition_key=day.isoformat(),
            tags={GAME_NIGHT_TAG: day.isoformat(), "nba_assets/odds_cadence": why},
        )

    return odds_snapshots_schedule
