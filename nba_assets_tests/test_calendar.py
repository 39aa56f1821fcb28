"""The one season calendar: irregular years, the NBA Cup final, partitions only on game days."""

import datetime as dt
import json

import dagster as dg
import pytest

from nba_assets.assets.boxscores import team_boxscores
from nba_assets.partitions import (
    GAME_DATE_START,
    NBA_CUP,
    NBA_CUP_FINAL_LABEL,
    PLAY_IN,
    PLAYOFFS,
    REGULAR_SEASON,
    build_game_date_partitions,
    game_date_partitions,
    in_season,
    is_game_date_partitioned,
    partition_horizon,
    plan_game_log_requests,
    season_calendar,
    season_name,
    season_type_windows,
)
from nba_assets.schemas import PLAYER_BOXSCORES
from nba_assets.source.parsing import parse_boxscores
from nba_assets.source.replay import ReplayServer, SyntheticBackend
from nba_assets.source.synthetic import SyntheticLeague
from nba_assets_tests.conftest import FIXTURES, day_events, published, resources, table_version

NO_REQUEST = "no request: no season type of the calendar can have games on these days"


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


def test_only_days_that_can_hold_games_are_partitions():
    days = build_game_date_partitions(dt.date(2026, 11, 24))
    keys = days.get_partition_keys()
    assert keys == sorted(keys) and keys[0] == GAME_DATE_START
    # through the end of next season: tonight and every scheduled day of this one are keys
    assert keys[-1] == "2028-06-30" and partition_horizon(dt.date(2026, 7, 15)).year == 2027
    assert "2025-07-15" not in keys and "2020-11-15" not in keys and "1998-11-15" not in keys
    assert {"2020-08-20", "2020-10-11", "2023-12-09", "1996-11-01", "2026-11-24"} <= set(keys)
    assert all(in_season(dt.date.fromisoformat(k)) for k in keys)
    assert (
        len(keys)
        == len(set(keys))
        == sum(
            in_season(d(GAME_DATE_START) + dt.timedelta(n))
            for n in range((d("2028-06-30") - d(GAME_DATE_START)).days + 1)
        )
    )
    # a range across a summer holds June's finals days and October's openers, nothing between
    season = days.get_partition_keys_in_range(dg.PartitionKeyRange("2025-06-01", "2025-10-31"))
    assert season[:2] == ["2025-06-01", "2025-06-02"] and "2025-10-01" in season
    assert not [k for k in season if "2025-07-01" <= k <= "2025-09-30"]
    # the 2020 bubble's August-October are partitions; lockout months are not
    assert days.has_partition_key("2020-09-15") and not days.has_partition_key("2011-11-15")
    assert not days.has_partition_key("2025-07-15") and not days.has_partition_key("2025-7-1")
    assert is_game_date_partitioned(game_date_partitions)
    assert not is_game_date_partitioned(dg.DailyPartitionsDefinition(start_date=GAME_DATE_START))
    # one definition to Dagster: equal keys, equal hash, however often it is built
    assert days == build_game_date_partitions(dt.date(2026, 12, 1))
    assert hash(days) == hash(build_game_date_partitions(dt.date(2026, 12, 1)))


def range_tags(start: str, end: str) -> dict[str, str]:
    return {
        "dagster/asset_partition_range_start": start,
        "dagster/asset_partition_range_end": end,
    }


def test_a_day_no_request_covers_says_so_in_its_provenance(synthetic, warehouse):
    from nba_assets.assets.boxscores import fetch_game_logs
    from nba_assets.io.manager import PROVENANCE_ATTR, provenance_for_day
    from nba_assets.schemas import TEAM_BOXSCORES
    from nba_assets_tests.conftest import make_client

    nba = make_client(synthetic, warehouse)
    table, _ = fetch_game_logs(nba, TEAM_BOXSCORES, "T", d("2024-06-25"), d("2024-07-05"))
    records = table.attrs[PROVENANCE_ATTR]
    [summer] = provenance_for_day(records, "2024-07-03")
    assert summer["endpoint"] is None and summer["note"] == NO_REQUEST
    assert [r["params"]["SeasonType"] for r in provenance_for_day(records, "2024-06-25")] == [
        PLAYOFFS
    ]
    # materialized from the last synthetic finals games (to 2024-06-03) across the summer to
    # October: the summer's days are no partitions, every other day says it was asked
    synthetic.reset()
    result = dg.materialize(
        [team_boxscores],
        resources=resources(synthetic, warehouse),
        tags=range_tags("2024-05-30", "2024-10-02"),
    )
    assert result.success
    events = day_events(result)
    assert len(events) == 32 + 2 and "2024-07-03" not in events
    [asked] = events["2024-06-25"]["requests"]  # asked, and no game came back
    assert asked["params"]["SeasonType"] == PLAYOFFS and asked["endpoint"] == "leaguegamelog"
    [october] = events["2024-10-02"]["requests"]
    assert october["params"]["Season"] == "2024-25" and october["endpoint"] == "leaguegamelog"
    assert (
        events["2024-10-02"]["dagster/row_count"] == events["2024-06-25"]["dagster/row_count"] == 0
    )
    rows = published(warehouse, "team_boxscores", first="2024-05-30", last="2024-10-02")
    assert len(rows) == sum(e["dagster/row_count"] for e in events.values()) > 0
    assert set(rows["season_type"]) == {PLAYOFFS} and max(rows["game_date"]) == d("2024-06-03")
    assert set(rows["source_sha256"]) == {asked["sha256"]}  # the one playoffs response


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


def test_cup_final_day_holds_its_game_once(tmp_path):
    server = ReplayServer(SyntheticBackend(seed=7, seasons="2024-25")).start()
    try:
        res = resources(server, tmp_path)
        result = dg.materialize(
            [team_boxscores], resources=res, tags=range_tags("2024-12-16", "2024-12-18")
        )
        assert result.success
        types = sorted(r["params"]["SeasonType"] for r in server.requests_for("leaguegamelog"))
        assert types == [NBA_CUP, REGULAR_SEASON]
    finally:
        server.stop()
    final = published(tmp_path, "team_boxscores", first="2024-12-17", last="2024-12-17")
    assert list(final["game_id"]) == ["0062400001", "0062400001"]
    assert set(final["season_type"]) == {NBA_CUP_FINAL_LABEL}
    requests = day_events(result)["2024-12-17"]["requests"]
    assert {p["params"]["SeasonType"] for p in requests} == {NBA_CUP, REGULAR_SEASON}
    # the final's rows came from the Cup log, not the Regular Season one
    [cup] = [p for p in requests if p["params"]["SeasonType"] == NBA_CUP]
    assert set(final["source_sha256"]) == {cup["sha256"]}
    every = published(tmp_path, "team_boxscores")
    assert len(every) == sum(e["dagster/row_count"] for e in day_events(result).values())
    assert not every.duplicated(["game_id", "team_id"]).any()
    assert table_version(tmp_path, "team_boxscores") == 0  # two responses, one commit


def test_synthetic_2019_20_follows_the_bubble_and_its_playoffs_land(tmp_path):
    server = ReplayServer(SyntheticBackend(seed=7, seasons="2019-20")).start()
    try:
        result = dg.materialize(
            [team_boxscores],
            resources=resources(server, tmp_path),
            tags=range_tags("2020-03-01", "2020-10-31"),
        )
        assert result.success
    finally:
        server.stop()
    table = published(tmp_path, "team_boxscores", seasons=["2019-20"])
    assert len(table) == len(published(tmp_path, "team_boxscores"))
    days = table.groupby("season_type")["game_date"].agg(["min", "max"])
    assert days.loc["Playoffs", "min"] >= d("2020-08-01")
    assert days.loc["Playoffs", "max"] <= d("2020-10-31")
    assert table["season_type"].value_counts()["Playoffs"] >= 4 * 15 * 2
    paused = table[(table["game_date"] > d("2020-03-11")) & (table["game_date"] < d("2020-07-30"))]
    assert paused.empty
    # the paused days are partitions (the window allows games), asked and empty
    events = day_events(result)
    assert len(events) == (d("2020-10-31") - d("2020-03-01")).days + 1
    paused_day = events["2020-05-01"]
    assert paused_day["dagster/row_count"] == 0
    assert [p["params"]["SeasonType"] for p in paused_day["requests"]] == [REGULAR_SEASON]
