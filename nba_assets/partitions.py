"""Game-date partitions and the NBA season calendar that turns a date range into API requests.

The one season calendar: the request planner, the partitions (which days can hold games), the
synthetic league's schedule and the schedules all read it from here.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import dagster as dg

GAME_DATE_START = "1996-11-01"
GAME_DATE_TIMEZONE = "US/Eastern"

REGULAR_SEASON = "Regular Season"
PLAY_IN = "PlayIn"
PLAYOFFS = "Playoffs"
#: stats.nba.com's SeasonType for the NBA Cup championship game (swar/nba_api#492). The Cup's
#: group and knockout games are Regular Season games (GAME_ID 002...); only the final (GAME_ID
#: 006...) is its own season type and appears in no other log.
NBA_CUP = "IST"
#: The `season_type` value the box-score tables give a Cup final (from its GAME_ID digit 6).
NBA_CUP_FINAL_LABEL = "NBA Cup"
#: Season types whose games become box-score rows (preseason and All-Star games are not).
BOXSCORE_SEASON_TYPES = (REGULAR_SEASON, PLAY_IN, PLAYOFFS, NBA_CUP)
#: Which GAME_ID kinds (third digit) a season type's log may hold; other rows are dropped so
#: a game never lands twice (the Cup's knockout games belong to the Regular Season log).
GAME_ID_KINDS = {REGULAR_SEASON: "2", PLAYOFFS: "4", PLAY_IN: "5", NBA_CUP: "6"}

FIRST_PLAY_IN_SEASON = 2020  # the 2019-20 bubble's one play-in game is its own exception
FIRST_CUP_FINAL_SEASON = 2023

Window = tuple[dt.date, dt.date]


def _d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


@dataclass(frozen=True)
class SeasonCalendar:
    """When one season's games are played: planned regular season, pauses, Cup final.

    `opening`/`closing` are the real dates of irregular seasons and a typical October-April
    plan otherwise; the synthetic league schedules from them, the planner's windows hold them.
    """

    year: int
    games_per_team: int
    opening: dt.date
    closing: dt.date
    paused: tuple[Window, ...] = ()
    cup_final: dt.date | None = None
    has_play_in: bool = False

    def is_paused(self, day: dt.date) -> bool:
        return any(a <= day <= b for a, b in self.paused)


# Seasons whose calendar broke the usual October-June pattern (lockouts, the 2020 bubble).
# 2019-20: suspended 2020-03-12; the bubble's eight "seeding games" (2020-07-30..08-14) are
# Regular Season games; its one play-in game (POR-MEM, 2020-08-15) is SeasonType PlayIn of
# 2019-20 (swar/nba_api#166); playoffs ran 2020-08-17..2020-10-11.
_IRREGULAR: dict[int, dict] = {
    1998: {"games": 50, "opening": "1999-02-05", "closing": "1999-05-05"},
    2011: {"games": 66, "opening": "2011-12-25", "closing": "2012-04-26"},
    2019: {
        "games": 72,
        "opening": "2019-10-22",
        "closing": "2020-08-14",
        "paused": (("2020-03-12", "2020-07-29"),),
        "play_in": True,
    },
    2020: {"games": 72, "opening": "2020-12-22", "closing": "2021-05-16"},
}
#: Real Cup final dates; later seasons get the third Tuesday of December until known.
_CUP_FINALS = {2023: "2023-12-09", 2024: "2024-12-17", 2025: "2025-12-16"}

# Generous date windows in which each season type can have games, for irregular seasons.
_UNUSUAL: dict[int, dict[str, tuple[str, str]]] = {
    1998: {REGULAR_SEASON: ("1999-02-01", "1999-05-15"), PLAYOFFS: ("1999-05-01", "1999-07-15")},
    2011: {REGULAR_SEASON: ("2011-12-20", "2012-04-30"), PLAYOFFS: ("2012-04-20", "2012-06-30")},
    2019: {
        REGULAR_SEASON: ("2019-10-01", "2020-08-31"),
        PLAY_IN: ("2020-08-01", "2020-08-31"),
        PLAYOFFS: ("2020-08-01", "2020-10-31"),
    },
    2020: {
        REGULAR_SEASON: ("2020-12-01", "2021-05-31"),
        PLAY_IN: ("2021-05-01", "2021-05-31"),
        PLAYOFFS: ("2021-05-01", "2021-07-31"),
    },
}


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def season_calendar(year: int) -> SeasonCalendar:
    """The calendar of the season starting in `year`."""
    cup = None
    if year >= FIRST_CUP_FINAL_SEASON:
        cup = _d(_CUP_FINALS[year]) if year in _CUP_FINALS else _nth_weekday(year, 12, 1, 3)
    if year in _IRREGULAR:
        facts = _IRREGULAR[year]
        return SeasonCalendar(
            year,
            facts["games"],
            _d(facts["opening"]),
            _d(facts["closing"]),
            tuple((_d(a), _d(b)) for a, b in facts.get("paused", ())),
            cup,
            facts.get("play_in", year >= FIRST_PLAY_IN_SEASON),
        )
    anchor = dt.date(year, 10, 26 if year < 2017 else 16)
    opening = anchor + dt.timedelta(days=(1 - anchor.weekday()) % 7)  # a Tuesday
    return SeasonCalendar(
        year, 82, opening, opening + dt.timedelta(days=174), (), cup, year >= FIRST_PLAY_IN_SEASON
    )


def season_name(start_year: int) -> str:
    """2025 -> '2025-26', the form stats.nba.com takes."""
    return f"{start_year}-{(start_year + 1) % 100:02d}"


def season_start_year(season: str) -> int:
    try:
        start, end = season.split("-")
        year = int(start)
    except ValueError:
        raise ValueError(f"not a season like '2025-26': {season!r}") from None
    if len(end) != 2 or (year + 1) % 100 != int(end):
        raise ValueError(f"not a season like '2025-26': {season!r}")
    return year


def season_of(day: dt.date) -> str:
    """The season a game date belongs to; the 2020 bubble ran 2019-20 into October 2020."""
    if dt.date(2020, 9, 1) <= day <= dt.date(2020, 11, 30):
        return "2019-20"
    return season_name(day.year if day.month >= 9 else day.year - 1)


def season_type_windows(season: str) -> dict[str, Window]:
    """Generous date windows in which each season type can have games."""
    year = season_start_year(season)
    if year in _UNUSUAL:
        raw = dict(_UNUSUAL[year])
    else:
        raw = {
            REGULAR_SEASON: (f"{year}-10-01", f"{year + 1}-04-30"),
            PLAY_IN: (f"{year + 1}-04-01", f"{year + 1}-05-15"),
            PLAYOFFS: (f"{year + 1}-04-01", f"{year + 1}-06-30"),
        }
        if year < FIRST_PLAY_IN_SEASON:
            raw = {k: v for k, v in raw.items() if k != PLAY_IN}
    windows = {k: (_d(a), _d(b)) for k, (a, b) in raw.items()}
    cup = season_calendar(year).cup_final
    if year in _CUP_FINALS:  # a played final: ask for exactly its day
        windows[NBA_CUP] = (cup, cup)
    elif cup is not None:  # not yet known for sure: the Cup's knockout weeks
        windows[NBA_CUP] = (dt.date(year, 12, 1), dt.date(year, 12, 20))
    return windows


def game_days(season: str) -> set[dt.date]:
    """Every day inside some season-type window of `season` (days that can hold a game)."""
    days: set[dt.date] = set()
    for first, last in season_type_windows(season).values():
        days.update(first + dt.timedelta(days=n) for n in range((last - first).days + 1))
    return days


def excluded_days(first: dt.date, last: dt.date) -> list[dt.date]:
    """Days in [first, last] outside every season-type window: never a game, never a partition."""
    possible: set[dt.date] = set()
    for year in range(season_start_year(season_of(first)), season_start_year(season_of(last)) + 1):
        possible |= game_days(season_name(year))
    span = (last - first).days + 1
    return [
        day for day in (first + dt.timedelta(days=n) for n in range(span)) if day not in possible
    ]


def partition_horizon(today: dt.date | None = None) -> dt.date:
    """The last day partitions reach: the end of next season's span, so tonight's and every
    scheduled day of this season are keys in a code server loaded today (a later load extends
    them; a server running past next June needs a reload)."""
    next_season = season_start_year(current_season(today)) + 1
    return season_span(season_name(next_season))[1]


def game_date_keys(last: dt.date) -> list[str]:
    """Every day from GAME_DATE_START through `last` that some season-type window holds."""
    first = _d(GAME_DATE_START)
    days = (first + dt.timedelta(days=n) for n in range((last - first).days + 1))
    return [day.isoformat() for day in days if in_season(day)]


class GameDatePartitionsDefinition(dg.StaticPartitionsDefinition):
    """One partition per day that can hold a game (`YYYY-MM-DD`), in date order.

    Static keys, measured against the alternatives (docs/benchmarks.md, Partitions): Dagster's
    daily definition with ~2,900 dated exclusions looks keys up 100x slower and is embedded in
    every asset-check row of a partitioned run (273 KB each: 157 MB of instance for one season
    of both box-score tables), and cron exclusions are yearless (they cannot keep the 2020
    bubble's August-October). Static keys are as small as plain keys in those rows; lookups
    here use a set and a hash computed once (Dagster's hashes the 100 KB repr on each call).
    """

    #: The calendar the keys are dates of (stats.nba.com's GAME_DATE).
    timezone = GAME_DATE_TIMEZONE

    def __init__(self, partition_keys: list[str]):
        super().__init__(partition_keys)
        self._keys = frozenset(partition_keys)
        self._hash = hash((type(self).__name__, tuple(partition_keys)))

    def has_partition_key(self, partition_key: str) -> bool:
        return partition_key in self._keys

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return self is other or super().__eq__(other)


def build_game_date_partitions(today: dt.date | None = None) -> GameDatePartitionsDefinition:
    """Game-date partitions through `partition_horizon(today)`; off-season days are none."""
    return GameDatePartitionsDefinition(game_date_keys(partition_horizon(today)))


def is_game_date_partitioned(partitions_def: dg.PartitionsDefinition | None) -> bool:
    """Whether an asset's partitions are game dates (not seasons, not unpartitioned)."""
    return isinstance(partitions_def, GameDatePartitionsDefinition)


@dataclass(frozen=True)
class GameLogRequest:
    """One LeagueGameLog call: a season type of one season narrowed to a date window."""

    season: str
    season_type: str
    date_from: dt.date
    date_to: dt.date

    def covers(self, day: dt.date) -> bool:
        return self.date_from <= day <= self.date_to


def plan_game_log_requests(start: dt.date, end: dt.date) -> list[GameLogRequest]:
    """The fewest LeagueGameLog calls that cover [start, end]: one per season type in play.

    A day no season type can have games on costs nothing; a whole season costs one call per
    season type, never one per day.
    """
    if end < start:
        raise ValueError(f"empty date range {start}..{end}")
    plan: list[GameLogRequest] = []
    for year in range(season_start_year(season_of(start)), season_start_year(season_of(end)) + 1):
        season = season_name(year)
        for season_type, (first, last) in season_type_windows(season).items():
            lo, hi = max(first, start), min(last, end)
            if lo <= hi:
                plan.append(GameLogRequest(season, season_type, lo, hi))
    return plan


def uncovered_spans(start: dt.date, end: dt.date, plan: list[GameLogRequest]) -> list[Window]:
    """Runs of days in [start, end] that no request of `plan` covers (no games possible)."""
    spans: list[Window] = []
    day = start
    while day <= end:
        if not any(r.covers(day) for r in plan):
            if spans and spans[-1][1] == day - dt.timedelta(days=1):
                spans[-1] = (spans[-1][0], day)
            else:
                spans.append((day, day))
        day += dt.timedelta(days=1)
    return spans


def game_date_today() -> dt.date:
    """Today in US/Eastern, the calendar game dates are counted in."""
    return dt.datetime.now(ZoneInfo(GAME_DATE_TIMEZONE)).date()


def current_season(today: dt.date | None = None) -> str:
    return season_of(today or game_date_today())


def in_season(day: dt.date) -> bool:
    """Whether `day` lies inside some season-type window (a day that can hold games)."""
    return day in _game_days_cached(season_of(day))


@functools.lru_cache(maxsize=64)
def _game_days_cached(season: str) -> frozenset[dt.date]:
    return frozenset(game_days(season))


#: The first season the daily partitions reach (they start on GAME_DATE_START).
FIRST_SEASON = "1996-97"


def season_keys(last: str | None = None) -> list[str]:
    """Every season from the first daily partition's through `last` (default: the current one)."""
    first, final = season_start_year(FIRST_SEASON), season_start_year(last or current_season())
    return [season_name(year) for year in range(first, final + 1)]


def season_span(season: str) -> Window:
    """First and last date any season type of `season` can have games on, from the calendar."""
    windows = season_type_windows(season).values()
    return min(first for first, _ in windows), max(last for _, last in windows)


def season_days(season: str) -> list[str]:
    """Game-date keys of a season: its span, less days the calendar gives to another season."""
    first, last = season_span(season)
    days = (first + dt.timedelta(n) for n in range((last - first).days + 1))
    return [day.isoformat() for day in days if season_of(day) == season]


#: One partition per NBA season ("2018-19"); a season file compacts the days of its season.
season_partitions = dg.StaticPartitionsDefinition(season_keys())

#: One partition per US/Eastern calendar date that can hold a game, as stats.nba.com's
#: GAME_DATE gives it.
game_date_partitions = build_game_date_partitions()


def seasons_of_days(days: Iterable[str]) -> list[str]:
    """The season partitions some game-date keys fall in (the derived season tables to redo)."""
    known = set(season_partitions.get_partition_keys())
    return sorted({season_of(dt.date.fromisoformat(day)) for day in days} & known)
