"""The synthetic league's game nights as the NBA's live feed shows them, on a settable clock.

Games tip at their scheduled time and end `game_minutes` later (2 h 15 min, 12 more per
overtime); the scoreboard shows status, period, clock and a score that only grows. Odds follow
team strength (records and home court) and drift over the day until tip-off, when they freeze:
the last line before tip is the closing line. A slate is shown from 06:00 US/Eastern on its
day until 06:00 the next morning, so late games stay on the scoreboard after midnight.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any
from zoneinfo import ZoneInfo

from nba_assets.partitions import GAME_DATE_TIMEZONE, season_of, season_start_year
from nba_assets.source.protocol import NotServed
from nba_assets.source.synthetic.league import Game

#: the synthetic league that answers requests (responses.py, which imports this module):
#: its `schedule_team` gives a scoreboard side the schedule's own entry
SyntheticLeague = Any

EASTERN = ZoneInfo(GAME_DATE_TIMEZONE)
GAME_MINUTES = 135
OVERTIME_MINUTES = 12
#: the slate on the scoreboard changes at this hour (US/Eastern)
SLATE_HOUR = 6
#: books quoting every game (ids and names are the synthetic league's own)
BOOKS = (("sr:book:900001", "Synthetic Book One"), ("sr:book:900002", "Synthetic Book Two"))
#: a line moves at most once per step, from its opening at SLATE_HOUR until tip-off
ODDS_STEP = dt.timedelta(minutes=10)
#: the books' margin: a 2-way market's implied probabilities sum to this
OVERROUND = 1.045
_MARGIN_SD = 12.0
_PTS = 15

SCOREBOARD = "live/scoreboard/todaysscoreboard_00.json"
ODDS = "live/odds/odds_todaysgames.json"
BOXSCORE = re.compile(r"^live/boxscore/boxscore_(\d{10})\.json$")
#: the fields of a player's line (`synthetic.Line`) the live box score shows, by position
_LINE_FIELDS = {
    "fieldGoalsMade": 2,
    "fieldGoalsAttempted": 3,
    "threePointersMade": 4,
    "threePointersAttempted": 5,
    "freeThrowsMade": 6,
    "freeThrowsAttempted": 7,
    "reboundsOffensive": 8,
    "reboundsDefensive": 9,
    "assists": 10,
    "steals": 11,
    "blocks": 12,
    "turnovers": 13,
    "foulsPersonal": 14,
    "points": _PTS,
}


@dataclass(frozen=True)
class Timeline:
    tip: dt.datetime
    final: dt.datetime
    periods: int

    def status(self, now: dt.datetime) -> int:
        return 1 if now < self.tip else 2 if now < self.final else 3

    def progress(self, now: dt.datetime) -> float:
        span = (self.final - self.tip).total_seconds()
        return min(max((now - self.tip).total_seconds() / span, 0.0), 1.0)


def timeline(game: Game) -> Timeline:
    tip = dt.datetime.combine(game.day, dt.time(game.tip // 60, game.tip % 60), EASTERN)
    minutes = GAME_MINUTES + OVERTIME_MINUTES * game.ot
    return Timeline(tip, tip + dt.timedelta(minutes=minutes), 4 + game.ot)


def slate_day(now: dt.datetime) -> dt.date:
    return (now.astimezone(EASTERN) - dt.timedelta(hours=SLATE_HOUR)).date()


def slate(league: SyntheticLeague, day: dt.date) -> list[Game]:
    year = season_start_year(season_of(day))
    if not league.first_year <= year <= league.last_year:
        return []
    return [g for g in league.season(year).games if g.day == day]


def respond_live(league: SyntheticLeague, endpoint: str, now: dt.datetime) -> dict:
    """The live document at `endpoint` (a `live/...` request name) as of `now`."""
    if endpoint == SCOREBOARD:
        return scoreboard_body(league, now)
    if endpoint == ODDS:
        return odds_body(league, now)
    match = BOXSCORE.match(endpoint)
    if match:
        return boxscore_body(league, match.group(1), now)
    raise NotServed(
        f"the synthetic live feed serves {SCOREBOARD}, {ODDS} and "
        f"live/boxscore/boxscore_<game id>.json, not {endpoint!r}"
    )


def live_points(game: Game, side: int, progress: float) -> int:
    """A side's score so far: its players' points so far (each only grows)."""
    return sum(math.floor(line[_PTS] * progress) for line in game.lines[side])


def _find_game(league: SyntheticLeague, game_id: str) -> Game:
    year = 2000 + int(game_id[3:5]) if int(game_id[3:5]) < 90 else 1900 + int(game_id[3:5])
    if not league.first_year <= year <= league.last_year:
        raise NotServed(f"game {game_id}: season {year} is not served")
    for game in league.season(year).games:
        if game.game_id == game_id:
            return game
    raise NotServed(f"no game {game_id} in the synthetic league")


def boxscore_body(league: SyntheticLeague, game_id: str, now: dt.datetime) -> dict:
    """The live box score of one game as of `now`: every player's line so far."""
    game = _find_game(league, game_id)
    line = timeline(game)
    status = line.status(now)
    if status == 1:
        raise NotServed(f"game {game_id} has not started: no box score yet")
    progress = line.progress(now)
    sides = []
    for side in (0, 1):
        players = [
            {
                "status": "ACTIVE",
                "order": order,
                "personId": player[0],
                "starter": "1" if order <= 5 else "0",
                "played": "1",
                "statistics": {
                    name: math.floor(player[index] * progress)
                    for name, index in _LINE_FIELDS.items()
                },
            }
            for order, player in enumerate(game.lines[side], start=1)
        ]
        sides.append(
            {
                **league.schedule_team(game, side),
                "score": live_points(game, side, progress),
                "players": players,
            }
        )
    return {
        "meta": {
            "version": 1,
            "code": 200,
            "time": now.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
        },
        "game": {
            "gameId": game_id,
            "gameTimeUTC": line.tip.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "gameEt": line.tip.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "gameStatus": status,
            "gameStatusText": "Final" if status == 3 else "In Progress",
            "period": min(line.periods, int(progress * line.periods) + 1),
            "homeTeam": sides[0],
            "awayTeam": sides[1],
        },
    }


def scoreboard_body(league: SyntheticLeague, now: dt.datetime) -> dict:
    day = slate_day(now)
    games = [_scoreboard_game(league, g, now) for g in slate(league, day)]
    return {
        "meta": {
            "version": 1,
            "request": "https://nba-prod-us-east-1-mediaops-stats.s3.amazonaws.com/NBA/liveData/scoreboard/todaysScoreboard_00.json",
            "time": now.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
            "code": 200,
        },
        "scoreboard": {
            "gameDate": day.isoformat(),
            "leagueId": "00",
            "leagueName": "National Basketball Association",
            "games": games,
        },
    }


def _scoreboard_game(league: SyntheticLeague, game: Game, now: dt.datetime) -> dict:
    line = timeline(game)
    status = line.status(now)
    progress = line.progress(now)
    elapsed_periods = progress * line.periods
    period = 0 if status == 1 else min(line.periods, int(elapsed_periods) + 1)
    if status == 2:
        length = 12 if period <= 4 else 5
        left = length * 60 * (1 - (elapsed_periods - (period - 1)))
        clock = f"PT{int(left // 60):02d}M{left % 60:05.2f}S"
        text = f"Q{period} {int(left // 60)}:{int(left % 60):02d}" if period <= 4 else "OT"
    else:
        clock = ""
        text = (
            f"{line.tip:%-I:%M} pm ET"
            if status == 1
            else ("Final" if game.ot == 0 else f"Final/{'' if game.ot == 1 else game.ot}OT")
        )
    home, away = league.teams[game.home], league.teams[game.away]
    return {
        "gameId": game.game_id,
        "gameCode": f"{game.day:%Y%m%d}/{away.abbreviation}{home.abbreviation}",
        "gameStatus": status,
        "gameStatusText": text,
        "period": period,
        "gameClock": clock,
        "gameTimeUTC": line.tip.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "gameEt": line.tip.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "regulationPeriods": 4,
        "seriesGameNumber": "",
        "seriesText": game.series_text,
        "homeTeam": _team(league, game, 0, progress if status > 1 else 0.0),
        "awayTeam": _team(league, game, 1, progress if status > 1 else 0.0),
        "gameLeaders": {},
        "pbOdds": {"team": None, "odds": 0.0, "suspended": 0},
    }


def _team(league: SyntheticLeague, game: Game, side: int, progress: float) -> dict:
    return {
        **league.schedule_team(game, side),
        # grows with the game and never goes down; the final score at the buzzer
        "score": live_points(game, side, progress),
        "inBonus": None,
        "timeoutsRemaining": 0,
        "periods": [],
    }


def odds_body(league: SyntheticLeague, now: dt.datetime) -> dict:
    day = slate_day(now)
    return {
        # when the document was written (the real feed's scoreboard carries the same meta)
        "meta": {"time": now.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]},
        "games": [_odds_game(league, g, now) for g in slate(league, day)],
    }


def expected_margin(game: Game) -> float:
    """Home team's expected margin: 2.5 points of home court plus the record difference."""
    pct = [won / (won + lost) if won + lost else 0.5 for won, lost in game.records]
    return 2.5 + 30.0 * (pct[0] - pct[1])


def _drift(league: SyntheticLeague, game: Game, book: int, steps: int) -> float:
    """The line's movement after `steps` steps: a seeded random walk of half points."""
    total = 0.0
    for step in range(1, steps + 1):
        rng = random.Random(f"{league.seed}:odds:{game.game_id}:{book}:{step}")
        total += rng.choice((-0.5, 0.0, 0.0, 0.0, 0.5))
    return total


def _steps(game: Game, now: dt.datetime) -> int:
    opening = dt.datetime.combine(game.day, dt.time(SLATE_HOUR), EASTERN)
    until = min(now, timeline(game).tip)
    return max(0, int((until - opening) / ODDS_STEP))


def _line(league: SyntheticLeague, game: Game, book: int, steps: int) -> tuple[float, float]:
    """(home spread, home win probability) after `steps` steps."""
    margin = expected_margin(game) + 0.5 * book + _drift(league, game, book, steps)
    spread = -round(margin * 2) / 2
    probability = NormalDist(0.0, _MARGIN_SD).cdf(margin)
    return spread, min(max(probability, 0.02), 0.98)


def _decimal(probability: float) -> str:
    return f"{1 / (probability * OVERROUND):.3f}"


def _trend(now: float, before: float) -> str:
    return "up" if now > before else "down" if now < before else "neutral"


def _odds_game(league: SyntheticLeague, game: Game, now: dt.datetime) -> dict:
    steps = _steps(game, now)
    home, away = league.teams[game.home], league.teams[game.away]
    two_way, spread = [], []
    for index, (book_id, book_name) in enumerate(BOOKS):
        open_spread, open_p = _line(league, game, index, 0)
        cur_spread, cur_p = _line(league, game, index, steps)
        _, prev_p = _line(league, game, index, max(steps - 1, 0))
        prev_spread, _ = _line(league, game, index, max(steps - 1, 0))
        book = {"id": book_id, "name": book_name, "url": "", "countryCode": "US"}
        two_way.append(
            {
                **book,
                "outcomes": [
                    _outcome(1, "home", _decimal(cur_p), _decimal(open_p), cur_p, prev_p),
                    _outcome(2, "away", _decimal(1 - cur_p), _decimal(1 - open_p), prev_p, cur_p),
                ],
            }
        )
        spread.append(
            {
                **book,
                "outcomes": [
                    {
                        **_outcome(10, "home", "1.909", "1.909", 0, 0),
                        "odds_trend": _trend(prev_spread, cur_spread),
                        "spread": f"{cur_spread:+.1f}",
                        "opening_spread": open_spread,
                    },
                    {
                        **_outcome(12, "away", "1.909", "1.909", 0, 0),
                        "odds_trend": _trend(cur_spread, prev_spread),
                        "spread": f"{-cur_spread:+.1f}",
                        "opening_spread": -open_spread,
                    },
                ],
            }
        )
    return {
        "gameId": game.game_id,
        "sr_id": f"sr:match:{game.game_id}",
        "srMatchId": game.game_id,
        "homeTeamId": str(home.team_id),
        "awayTeamId": str(away.team_id),
        "markets": [
            {"name": "2way", "odds_type_id": 1, "group_name": "regular", "books": two_way},
            {"name": "spread", "odds_type_id": 4, "group_name": "regular", "books": spread},
        ],
    }


def _outcome(field: int, side: str, odds: str, opening: str, now: float, before: float) -> dict:
    # a shorter price for the side the money moves to: its decimal odds went down
    return {
        "odds_field_id": field,
        "type": side,
        "odds": odds,
        "opening_odds": opening,
        "odds_trend": _trend(before, now),
    }


def game_log_holds(game: Game, now: dt.datetime | None, lag: dt.timedelta) -> bool:
    """Whether stats.nba.com's game log lists the game at `now` (`lag` after its final)."""
    return now is None or timeline(game).final + lag <= now


def parse_clock(payload: Mapping[str, object]) -> tuple[dt.datetime, dt.timedelta]:
    """`{"now": ISO with offset, "game_log_lag_seconds": n}` as (now, lag)."""
    raw = str(payload.get("now", ""))
    try:
        now = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"clock: 'now' must be an ISO datetime with offset, got {raw!r}") from None
    if now.tzinfo is None:
        raise ValueError(f"clock: 'now' needs a UTC offset, got {raw!r}")
    lag = dt.timedelta(seconds=float(payload.get("game_log_lag_seconds", 0) or 0))
    return now, lag
