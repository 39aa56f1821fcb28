import datetime as dt

import pytest

from nba_assets.partitions import (
    NBA_CUP,
    PLAY_IN,
    PLAYOFFS,
    REGULAR_SEASON,
    game_date_partitions,
    plan_game_log_requests,
    season_of,
    season_start_year,
)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


@pytest.mark.parametrize(
    ("day", "season"),
    [
        ("2025-10-21", "2025-26"),
        ("2026-06-15", "2025-26"),
        ("1999-02-05", "1998-99"),
        ("2020-10-11", "2019-20"),
        ("2020-12-22", "2020-21"),
    ],
)
def test_season_of_a_game_date(day, season):
    assert season_of(d(day)) == season


def test_season_names_are_validated():
    assert season_start_year("1999-00") == 1999
    with pytest.raises(ValueError, match="2025-27"):
        season_start_year("2025-27")


def test_partitions_are_us_eastern_game_days_from_1996_11_01():
    keys = game_date_partitions.get_partition_keys_in_range(
        __import__("dagster").PartitionKeyRange("1996-11-01", "1996-11-03")
    )
    assert keys == ["1996-11-01", "1996-11-02", "1996-11-03"]
    assert game_date_partitions.timezone == "US/Eastern"


def test_a_whole_season_costs_one_request_per_season_type():
    plan = plan_game_log_requests(d("2025-07-01"), d("2026-06-30"))
    assert [(r.season, r.season_type) for r in plan] == [
        ("2025-26", REGULAR_SEASON),
        ("2025-26", PLAY_IN),
        ("2025-26", PLAYOFFS),
        ("2025-26", NBA_CUP),  # the Cup final is in no other log
    ]
    assert plan[0].date_from == d("2025-10-01") and plan[2].date_to == d("2026-06-30")


def test_a_range_inside_the_regular_season_costs_one_request():
    [request] = plan_game_log_requests(d("2025-10-21"), d("2025-12-15"))
    assert (request.season_type, request.date_from, request.date_to) == (
        REGULAR_SEASON,
        d("2025-10-21"),
        d("2025-12-15"),
    )
    # the Cup final's day adds the one request that holds it
    plan = plan_game_log_requests(d("2025-10-21"), d("2026-02-21"))
    assert [(r.season_type, r.date_from, r.date_to) for r in plan] == [
        (REGULAR_SEASON, d("2025-10-21"), d("2026-02-21")),
        (NBA_CUP, d("2025-12-16"), d("2025-12-16")),
    ]


def test_off_season_days_cost_nothing_and_old_seasons_have_no_play_in():
    assert plan_game_log_requests(d("2025-07-15"), d("2025-08-31")) == []
    assert {r.season_type for r in plan_game_log_requests(d("2010-04-01"), d("2010-06-30"))} == {
        REGULAR_SEASON,
        PLAYOFFS,
    }


def test_ranges_across_seasons_and_the_bubble():
    plan = plan_game_log_requests(d("2020-10-01"), d("2020-12-31"))
    assert [(r.season, r.season_type) for r in plan] == [
        ("2019-20", PLAYOFFS),
        ("2020-21", REGULAR_SEASON),
    ]
    many = plan_game_log_requests(d("1996-11-01"), d("2026-06-30"))
    assert len(many) == len({(r.season, r.season_type) for r in many}) < 4 * 31


def test_an_inverted_range_is_an_error():
    with pytest.raises(ValueError, match="empty date range"):
        plan_game_log_requests(d("2026-01-02"), d("2026-01-01"))
