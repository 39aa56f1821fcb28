"""Game-date partitions and the NBA season calendar that turns a date range into API requests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import dagster as dg

GAME_DATE_START = "1996-11-01"
GAME_DATE_TIMEZONE = "US/Eastern"

#: One partition per US/Eastern calendar date, as stats.nba.com's GAME_DATE gives it.
game_date_partitions = dg.DailyPartitionsDefinition(
    start_date=GAME_DATE_START, timezone=GAME_DATE_TIMEZONE
)

REGULAR_SEASON = "Regular Season"
PLAY_IN = "PlayIn"
PLAYOFFS = "Playoffs"
#: Season types whose games become box-score rows (preseason and All-Star games are not).
BOXSCORE_SEASON_TYPES = (REGULAR_SEASON, PLAY_IN, PLAYOFFS)

Window = tuple[dt.date, dt.date]

# Seasons whose calendar broke the usual October-June pattern (lockouts, the 2020 bubble).
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
FIRST_PLAY_IN_SEASON = 2020


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
        raw = _UNUSUAL[year]
    else:
        raw = {
            REGULAR_SEASON: (f"{year}-10-01", f"{year + 1}-04-30"),
            PLAY_IN: (f"{year + 1}-04-01", f"{year + 1}-05-15"),
            PLAYOFFS: (f"{year + 1}-04-01", f"{year + 1}-06-30"),
        }
        if year < FIRST_PLAY_IN_SEASON:
            raw = {k: v for k, v in raw.items() if k != PLAY_IN}
    return {k: (dt.date.fromisoformat(a), dt.date.fromisoformat(b)) for k, (a, b) in raw.items()}


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


def current_season(today: dt.date | None = None) -> str:
    return season_of(today or dt.date.today())


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


class SeasonPartitionMapping(dg.PartitionMapping):
    """Game dates to the season the calendar puts them in, and a season to its game dates.

    No built-in mapping fits: seasons are irregular windows (2019-20 ran to 2020-10-11) that a
    cron-based TimeWindowPartitionMapping cannot express, and StaticPartitionMapping needs static
    partitions on both sides. Days not (yet) in the daily partitions, the future or days the
    calendar excludes, are left out rather than reported as missing upstream partitions.
    """

    def validate_partition_mapping(
        self,
        upstream_partitions_def: dg.PartitionsDefinition,
        downstream_partitions_def: dg.PartitionsDefinition | None,
    ) -> None:
        if not isinstance(upstream_partitions_def, dg.TimeWindowPartitionsDefinition):
            raise dg.DagsterInvalidDefinitionError("SeasonPartitionMapping: upstream must be daily")
        if not isinstance(downstream_partitions_def, dg.StaticPartitionsDefinition):
            raise dg.DagsterInvalidDefinitionError(
                "SeasonPartitionMapping: downstream must be seasons"
            )

    def get_upstream_mapped_partitions_result_for_partitions(
        self,
        downstream_partitions_subset,
        downstream_partitions_def,
        upstream_partitions_def,
        current_time=None,
        dynamic_partitions_store=None,
    ):
        from dagster._core.definitions.partitions.mapping.partition_mapping import (
            UpstreamPartitionsResult,
        )

        seasons = (
            downstream_partitions_subset.get_partition_keys()
            if downstream_partitions_subset
            else []
        )
        with dg.partition_loading_context(current_time, dynamic_partitions_store):
            days = existing_days(
                upstream_partitions_def, [d for s in seasons for d in season_days(s)]
            )
            return UpstreamPartitionsResult(
                partitions_subset=upstream_partitions_def.empty_subset().with_partition_keys(days),
                required_but_nonexistent_subset=upstream_partitions_def.empty_subset(),
            )

    def get_downstream_partitions_for_partitions(
        self,
        upstream_partitions_subset,
        upstream_partitions_def,
        downstream_partitions_def,
        current_time=None,
        dynamic_partitions_store=None,
    ):
        days = upstream_partitions_subset.get_partition_keys()
        seasons = {season_of(dt.date.fromisoformat(day)) for day in days}
        known = set(downstream_partitions_def.get_partition_keys())
        return downstream_partitions_def.empty_subset().with_partition_keys(sorted(seasons & known))

    @property
    def description(self) -> str:
        return "Each season depends on the game dates the season calendar gives it."


def existing_days(partitions_def: dg.PartitionsDefinition, days: list[str]) -> list[str]:
    """The `days` that are partitions now: not in the future, not excluded by the calendar."""
    last = partitions_def.get_last_partition_key()
    if last is None:
        return []
    return [day for day in days if day <= last and partitions_def.has_partition_key(day)]


#: How a season partition reads its daily partitions (the daily assets are its upstream).
season_partition_mapping = SeasonPartitionMapping()
