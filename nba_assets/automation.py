"""Schedules with per-asset cadence: box scores and the season schedule daily, players weekly,
teams yearly.

Every schedule reads the one season calendar (`nba_assets.partitions`): nothing runs in the
off-season, and the box-score run covers yesterday plus the correction window in ONE ranged
run of both box-score assets (settled days inside it cost nothing: see `source/settled.py`).
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from nba_assets.assets.boxscores import BOXSCORES_GROUP
from nba_assets.assets.reference import players, teams
from nba_assets.assets.schedule import schedule
from nba_assets.partitions import (
    GAME_DATE_TIMEZONE,
    current_season,
    in_season,
    season_of,
)

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
DEFAULT_MORNING_HOUR = 6


def boxscores_range(today: dt.date, correction_days: int) -> tuple[str, str] | None:
    """Partition keys yesterday-minus-window .. yesterday (game days only); None off-season.

    The range ends yesterday: today's games are not over when the schedule runs.
    """
    yesterday = today - dt.timedelta(days=1)
    if not in_season(yesterday):
        return None
    days = [yesterday - dt.timedelta(days=n) for n in range(correction_days, -1, -1)]
    keys = [d.isoformat() for d in days if in_season(d)]
    return (keys[0], keys[-1]) if keys else None


def _local_date(context: dg.ScheduleEvaluationContext) -> dt.date:
    return context.scheduled_execution_time.date()


def build_daily_boxscores_schedule(
    hour: int = DEFAULT_MORNING_HOUR, correction_days: int = 7
) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="daily_boxscores_schedule",
        # every day at `hour`:00 New York time, after the night's last games are final
        cron_schedule=f"0 {hour} * * *",
        execution_timezone=GAME_DATE_TIMEZONE,
        target=dg.AssetSelection.groups(BOXSCORES_GROUP),
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description="Yesterday's box scores plus the correction window, one ranged run.",
    )
    def daily_boxscores_schedule(context: dg.ScheduleEvaluationContext):
        today = _local_date(context)
        window = boxscores_range(today, correction_days)
        if window is None:
            yesterday = today - dt.timedelta(days=1)
            return dg.SkipReason(
                f"off-season: no season type of {season_of(yesterday)} can have games on "
                f"{yesterday} or the {correction_days} days before it"
            )
        start, end = window
        return dg.RunRequest(
            run_key=f"boxscores:{start}...{end}",
            tags={RANGE_START: start, RANGE_END: end},
        )

    return daily_boxscores_schedule


def build_players_schedule(hour: int = DEFAULT_MORNING_HOUR) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="weekly_players_schedule",
        # every Monday at `hour`:00 New York time
        cron_schedule=f"0 {hour} * * 1",
        execution_timezone=GAME_DATE_TIMEZONE,
        target=dg.AssetSelection.assets(players),
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description="The player list, weekly while a season is on.",
    )
    def weekly_players_schedule(context: dg.ScheduleEvaluationContext):
        today = _local_date(context)
        if not in_season(today):
            return dg.SkipReason(
                f"off-season: {today} is outside every window of {season_of(today)}"
            )
        season = current_season(today)
        return dg.RunRequest(
            run_key=f"players:{today}",
            run_config={"ops": {"players": {"config": {"season": season}}}},
        )

    return weekly_players_schedule


def build_teams_schedule(hour: int = DEFAULT_MORNING_HOUR) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="yearly_teams_schedule",
        # every 15 September at `hour`:00 New York time, a month before opening night
        cron_schedule=f"0 {hour} 15 9 *",
        execution_timezone=GAME_DATE_TIMEZONE,
        target=dg.AssetSelection.assets(teams),
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description="Franchises, once a year before the season.",
    )
    def yearly_teams_schedule(context: dg.ScheduleEvaluationContext):
        return dg.RunRequest(run_key=f"teams:{_local_date(context).year}")

    return yearly_teams_schedule


def build_schedule_refresh(hour: int = DEFAULT_MORNING_HOUR) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="daily_schedule_refresh",
        # every day at (`hour` - 1):00 New York time, before the box-score run audits against it
        cron_schedule=f"0 {(hour - 1) % 24} * * *",
        execution_timezone=GAME_DATE_TIMEZONE,
        target=dg.AssetSelection.assets(schedule),
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description="The season schedule (one request) every in-season morning: the "
        "box-score audit's yardstick of completeness stays current.",
    )
    def daily_schedule_refresh(context: dg.ScheduleEvaluationContext):
        today = _local_date(context)
        yesterday = today - dt.timedelta(days=1)
        if not (in_season(today) or in_season(yesterday)):
            return dg.SkipReason(f"off-season: no games on {yesterday} or {today}")
        season = season_of(yesterday if in_season(yesterday) else today)
        return dg.RunRequest(run_key=f"schedule:{today}", partition_key=season)

    return daily_schedule_refresh


def build_schedules(hour: int, correction_days: int) -> list[dg.ScheduleDefinition]:
    return [
        build_daily_boxscores_schedule(hour, correction_days),
        build_schedule_refresh(hour),
        build_players_schedule(hour),
        build_teams_schedule(hour),
    ]
