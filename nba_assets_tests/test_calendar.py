"""The one season calendar: irregular years, the NBA Cup final, partitions only on game days."""

import datetime as dt
import json

import dagster as dg
import pandas as pd
import pyarrow.parquet as pq
import pytest

from nba_assets.assets.boxscores import team_boxscores
from nba_assets.io.parquet import PROVENANCE_KEY
from nba_assets.parsing import parse_boxscores
from nba_assets.partitions import (
    NBA_CUP,
    NBA_CUP_FINAL_LABEL,
    PLAY_IN,
    PLAYOFFS,
    REGULAR_SEASON,
    build_game_date_partitions,
    game_date_partitions,
    in_season,
    plan_game_log_requests,
    season_calendar,
    season_name,
    season_type_windows,
)
from nba_assets.schemas import PLAYER_BOXSCORES
from nba_assets.source.replay import ReplayServer, SyntheticBackend
from nba_assets.source.synthetic import SyntheticLeague
from nba_assets_tests.conftest import FIXTURES, resources


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


@pytest.mark.parametrize("year", [1996, 1998, 2011, 2019, 2020, 2022, 2023, 2024, 2025, 2030])
def test_every_calendar_fits_the_planners_windows(year):
    calendar = season_calendar(year)
    windows = season_type_windows(season_name(year))
    first, last = windows[REGULAR_SEASON]
    assert first <= calendar.opening and calendar.closing <= last
    assert (NBA_CUP in windows) == (year >= 2023) == (calendar.cup_final is not None)
    if calendar.cup_final:
        assert windows[NBA_CUP][0] <= calendar.cup_final <= windows[NBA_CUP][1]
    assert (PLAY_IN in windows) == (year >= 2019)  # 2019-20: the bubble's one play-in game


@pytest.mark.parametrize(
    ("day", "season_types"),
    [
        ("1999-02-05", {REGULAR_SEASON}),  # lockout opening day
        ("1998-11-15", set()),  # lockout: no games in November 1998
        ("2011-11-15", set()),
        ("2011-12-25", {REGULAR_SEASON}),
        ("2020-05-15", {REGULAR_SEASON}),  # inside the window; the league was paused
        ("2020-08-15", {REGULAR_SEASON, PLAY_IN, PLAYOFFS}),  # bubble: POR-MEM play-in
        ("2020-10-11", {PLAYOFFS}),  # bubble finals
        ("2020-11-15", set()),
        ("2021-05-19", {REGULAR_SEASON, PLAY_IN, PLAYOFFS}),
        ("2023-12-09", {REGULAR_SEASON, NBA_CUP}),  # first Cup final
        ("2024-12-17", {REGULAR_SEASON, NBA_CUP}),
        ("2025-12-16", {REGULAR_SEASON, NBA_CUP}),
        ("2022-12-09", {REGULAR_SEASON}),  # before the Cup
    ],
)
def test_irregular_days_are_asked_of_every_season_type_that_can_hold_them(day, season_types):
    plan = plan_game_log_requests(d(day), d(day))
    assert {r.season_type for r in plan} == season_types


def test_off_days_can_be_excluded_from_the_partitions():
    gated = build_game_date_partitions(dt.date(2026, 11, 24), exclude_off_days=True)
    keys = set(gated.get_partition_keys(current_time=dt.datetime(2026, 11, 24)))
    assert "2025-07-15" not in keys and "2020-11-15" not in keys and "1998-11-15" not in keys
    assert {"2020-08-20", "2020-10-11", "2023-12-09", "1996-11-01"} <= keys
    season = gated.get_partition_keys_in_range(dg.PartitionKeyRange("2025-06-01", "2025-10-31"))
    assert season[:2] == ["2025-06-01", "2025-06-02"] and "2025-10-01" in season
    assert not [k for k in season if "2025-07-01" <= k <= "2025-09-30"]
    assert all(in_season(dt.date.fromisoformat(k)) for k in keys)
    # the default keeps every day a partition (see build_game_date_partitions for why)
    assert game_date_partitions.has_partition_key("2025-07-15")
    assert not in_season(d("2025-07-15")) and in_season(d("2020-09-15"))


def test_a_day_no_request_covers_says_so_in_its_provenance(synthetic, warehouse):
    from nba_assets.assets.boxscores import fetch_game_logs
    from nba_assets.io.parquet import PROVENANCE_ATTR, provenance_for_day
    from nba_assets.schemas import TEAM_BOXSCORES
    from nba_assets_tests.conftest import make_client

    nba = make_client(synthetic, warehouse)
    table, _ = fetch_game_logs(nba, TEAM_BOXSCORES, "T", d("2024-06-25"), d("2024-07-05"))
    records = table.attrs[PROVENANCE_ATTR]
    [summer] = provenance_for_day(records, "2024-07-03")
    assert summer["endpoint"] is None and "no request" in summer["note"]
    assert [r["params"]["SeasonType"] for r in provenance_for_day(records, "2024-06-25")] == [
        PLAYOFFS
    ]


def test_the_real_cup_final_is_its_own_season_type():
    """stats.nba.com's game finder: LeBron's 2023 Cup final is GAME_ID 0062300001, 2023-12-09."""
    body = json.loads((FIXTURES / "leaguegamefinder-373ac7ae49.json").read_text())["response"]
    table = parse_boxscores(PLAYER_BOXSCORES, body["body"], "LeagueGameFinderResults")
    final = table[table["game_id"] == "0062300001"]
    assert list(final["game_date"]) == [d("2023-12-09")]
    assert list(final["season_type"]) == [NBA_CUP_FINAL_LABEL]
    assert NBA_CUP in {
        r.season_type for r in plan_game_log_requests(d("2023-12-09"), d("2023-12-09"))
    }


def test_synthetic_league_plays_one_cup_final_a_season_from_2023():
    league = SyntheticLeague(seed=7, first_season="2022-23", last_season="2025-26")
    for year in range(2022, 2026):
        finals = league.season(year).by_kind["6"]
        if year < 2023:
            assert finals == []
            continue
        [final] = finals
        assert final.day == season_calendar(year).cup_final
        assert final.game_id == f"006{year % 100:02d}00001"
        same_day = [g for g in league.season(year).games if g.day == final.day]
        assert same_day == [final]


def read_partition(path) -> tuple[pd.DataFrame, list]:
    meta = pq.read_schema(path).metadata
    return pd.read_parquet(path), json.loads(meta[PROVENANCE_KEY])


def test_cup_final_day_holds_its_game_once(tmp_path):
    server = ReplayServer(SyntheticBackend(seed=7, seasons="2024-25")).start()
    try:
        tags = {
            "dagster/asset_partition_range_start": "2024-12-16",
            "dagster/asset_partition_range_end": "2024-12-18",
        }
        res = resources(server, tmp_path)
        assert dg.materialize([team_boxscores], resources=res, tags=tags).success
        types = sorted(r["params"]["SeasonType"] for r in server.requests_for("leaguegamelog"))
        assert types == [NBA_CUP, REGULAR_SEASON]
    finally:
        server.stop()
    final, provenance = read_partition(tmp_path / "team_boxscores" / "2024-12-17.parquet")
    assert list(final["game_id"]) == ["0062400001", "0062400001"]
    assert set(final["season_type"]) == {NBA_CUP_FINAL_LABEL}
    assert {p["params"]["SeasonType"] for p in provenance} == {NBA_CUP, REGULAR_SEASON}
    every = pd.concat(
        [pd.read_parquet(p) for p in sorted((tmp_path / "team_boxscores").glob("*.parquet"))]
    )
    assert not every.duplicated(["game_id", "team_id"]).any()


def test_synthetic_2019_20_follows_the_bubble_and_its_playoffs_land(tmp_path):
    server = ReplayServer(SyntheticBackend(seed=7, seasons="2019-20")).start()
    try:
        tags = {
            "dagster/asset_partition_range_start": "2020-03-01",
            "dagster/asset_partition_range_end": "2020-10-31",
        }
        assert dg.materialize(
            [team_boxscores], resources=resources(server, tmp_path), tags=tags
        ).success
    finally:
        server.stop()
    files = sorted((tmp_path / "team_boxscores").glob("*.parquet"))
    table = pd.concat([pd.read_parquet(p) for p in files])
    days = table.groupby("season_type")["game_date"].agg(["min", "max"])
    assert days.loc["Playoffs", "min"] >= d("2020-08-01")
    assert days.loc["Playoffs", "max"] <= d("2020-10-31")
    assert table["season_type"].value_counts()["Playoffs"] >= 4 * 15 * 2
    paused = table[(table["game_date"] > d("2020-03-11")) & (table["game_date"] < d("2020-07-30"))]
    assert paused.empty
    # the paused days are partitions (the window allows games), asked and empty
    _, provenance = read_partition(tmp_path / "team_boxscores" / "2020-05-01.parquet")
    assert [p["params"]["SeasonType"] for p in provenance] == [REGULAR_SEASON]
