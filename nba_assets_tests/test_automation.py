"""Schedules: one ranged box-score run each in-season morning, nothing in the off-season."""

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg

from nba_assets.automation import RANGE_END, RANGE_START, build_schedules
from nba_assets.definitions import defs

EASTERN = ZoneInfo("US/Eastern")


def tick(schedule_name: str, when: dt.datetime):
    schedule = defs.resolve_schedule_def(schedule_name)
    # no instance: one passed here would stay registered as the defs-state store after it closes
    context = dg.build_schedule_context(scheduled_execution_time=when)
    return schedule.evaluate_tick(context)


def test_in_season_morning_is_one_run_of_both_boxscore_assets_over_the_window():
    result = tick("daily_boxscores_schedule", dt.datetime(2026, 1, 15, 6, tzinfo=EASTERN))
    [request] = result.run_requests
    assert (request.tags[RANGE_START], request.tags[RANGE_END]) == ("2026-01-07", "2026-01-14")
    schedule = defs.resolve_schedule_def("daily_boxscores_schedule")
    assert schedule.execution_timezone == "US/Eastern" and schedule.cron_schedule == "0 6 * * *"
    job = defs.resolve_job_def(schedule.job_name)
    selected = {k.to_user_string() for k in job.asset_layer.executable_asset_keys}
    assert selected == {"team_boxscores", "player_boxscores"}


def test_off_season_day_is_skipped_with_a_reason():
    result = tick("daily_boxscores_schedule", dt.datetime(2025, 8, 10, 6, tzinfo=EASTERN))
    assert result.run_requests == [] and "off-season" in result.skip_message
    weekly = tick("weekly_players_schedule", dt.datetime(2025, 8, 11, 6, tzinfo=EASTERN))
    assert weekly.run_requests == [] and "off-season" in weekly.skip_message


def test_window_start_skips_days_that_are_no_partitions():
    # opening week: the window reaches back into September, which holds no partitions
    result = tick("daily_boxscores_schedule", dt.datetime(2025, 10, 3, 6, tzinfo=EASTERN))
    [request] = result.run_requests
    assert (request.tags[RANGE_START], request.tags[RANGE_END]) == ("2025-10-01", "2025-10-02")


def test_players_weekly_in_season_and_teams_yearly():
    [players] = tick(
        "weekly_players_schedule", dt.datetime(2026, 1, 12, 6, tzinfo=EASTERN)
    ).run_requests
    assert players.run_config["ops"]["players"]["config"]["season"] == "2025-26"
    [teams] = tick(
        "yearly_teams_schedule", dt.datetime(2025, 9, 15, 6, tzinfo=EASTERN)
    ).run_requests
    assert teams.run_key == "teams:2025"


def test_hour_and_window_come_from_settings():
    daily = build_schedules(hour=9, correction_days=3)[0]
    assert daily.cron_schedule == "0 9 * * *"
    when = dt.datetime(2026, 1, 15, 9, tzinfo=EASTERN)
    context = dg.build_schedule_context(scheduled_execution_time=when)
    [request] = daily.evaluate_tick(context).run_requests
    assert request.tags[RANGE_START] == "2026-01-11"


def test_schedule_settings_are_read_and_checked():
    import pytest

    from nba_assets.settings import Settings

    settings = Settings.from_env(
        {"NBA_ASSETS_SCHEDULE_HOUR": "7", "NBA_ASSETS_CORRECTION_DAYS": "3"}
    )
    assert (settings.schedule_hour, settings.correction_days) == (7, 3)
    with pytest.raises(ValueError, match="NBA_ASSETS_SCHEDULE_HOUR"):
        Settings.from_env({"NBA_ASSETS_SCHEDULE_HOUR": "25"})


def test_season_schedule_refreshed_every_in_season_morning_before_the_box_scores():
    refresh = defs.resolve_schedule_def("daily_schedule_refresh")
    context = dg.build_schedule_context(
        scheduled_execution_time=dt.datetime(2026, 1, 15, 5, tzinfo=EASTERN),
        repository_def=defs.get_repository_def(),  # a partition key is checked against it
    )
    [request] = refresh.evaluate_tick(context).run_requests
    assert request.partition_key == "2025-26" and request.run_key == "schedule:2026-01-15"
    schedule = defs.resolve_schedule_def("daily_schedule_refresh")
    assert schedule.cron_schedule == "0 5 * * *"
    job = defs.resolve_job_def(schedule.job_name)
    assert {k.to_user_string() for k in job.asset_layer.executable_asset_keys} == {"schedule"}
    off = tick("daily_schedule_refresh", dt.datetime(2025, 8, 10, 5, tzinfo=EASTERN))
    assert off.run_requests == [] and "off-season" in off.skip_message
