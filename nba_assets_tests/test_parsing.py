"""Parsing on real recorded rows (not only our own synthetic ones)."""

import datetime as dt

import pandas as pd
import pytest

from nba_assets.schemas import PLAYER_BOXSCORES, TEAM_BOXSCORES
from nba_assets.source.parsing import ParseError, parse_boxscores, parse_players, parse_teams
from nba_assets_tests.conftest import fixture_body


def test_player_rows_of_the_real_playergamelog():
    body = fixture_body("playergamelog-18eedc2bbb.json")
    frame = parse_boxscores(PLAYER_BOXSCORES, body, "PlayerGameLog")
    raw = body["resultSets"][0]
    assert len(frame) == len(raw["rowSet"]) == 53
    first = dict(
        zip(raw["headers"], raw["rowSet"][-1], strict=True)
    )  # the recording is newest-first
    row = frame.iloc[0]
    assert row["player_id"] == first["Player_ID"] == 1628378
    assert row["game_id"] == first["Game_ID"] and row["game_date"] == dt.date(2025, 10, 22)
    assert (row["pts"], row["fgm"], row["fga"], row["fg_pct"]) == (
        first["PTS"],
        first["FGM"],
        first["FGA"],
        first["FG_PCT"],
    )
    assert row["season_type"] == "Regular Season" and row["player_name"] is None
    assert frame["game_date"].is_monotonic_increasing


def test_player_rows_of_the_real_game_finder_cover_every_season_type():
    body = fixture_body("leaguegamefinder-373ac7ae49.json")
    frame = parse_boxscores(PLAYER_BOXSCORES, body, "LeagueGameFinderResults")
    assert len(frame) == 82 and set(frame["player_name"]) == {"LeBron James"}
    assert set(frame["season_type"]) >= {"Pre Season", "Regular Season", "Playoffs"}
    cup_final = frame[frame["game_id"] == "0062300001"]
    assert list(cup_final["season_type"]) == ["NBA Cup"] and cup_final["game_date"].iloc[
        0
    ] == dt.date(2023, 12, 9)
    assert str(frame["plus_minus"].dtype) == "float64" and frame["fantasy_pts"].isna().all()


def test_team_rows_keep_nulls_and_overtime_minutes():
    body = fixture_body("leaguegamefinder-66e5da9b12.json")
    body["resultSets"][0]["rowSet"][0][8] = None  # MIN, as the API sometimes sends it
    frame = parse_boxscores(TEAM_BOXSCORES, body, "LeagueGameFinderResults")
    assert len(frame) == 2460 and frame["game_date"].min() == dt.date(2023, 10, 24)
    assert frame["min"].isna().sum() == 1 and frame["min"].max() >= 265
    assert frame["min"].dtype == "Int64"


def test_a_non_integer_count_is_a_parse_error():
    body = fixture_body("leaguegamelog-d25cde14d9.json")
    body["resultSets"][0]["rowSet"][0][26] = 101.5  # PTS
    with pytest.raises(ParseError, match=r"team_boxscores\.pts: non-integer value 101.5"):
        parse_boxscores(TEAM_BOXSCORES, body)


def _with_pts(sent: list) -> pd.DataFrame:
    """Rows as parsed JSON gives them (object columns), one per value sent as PTS."""
    rows = [{c.name: None for c in TEAM_BOXSCORES.columns} for _ in sent]
    for row, pts in zip(rows, sent, strict=True):
        row.update(team_id=1, game_id="0022400001", game_date="2024-12-01", pts=pts)
    return pd.DataFrame(rows, dtype="object")


@pytest.mark.parametrize(
    ("sent", "typed"),
    [
        ([101, None, 99], [101, pd.NA, 99]),  # JSON's ints and nulls: the Arrow path
        ([None, None], [pd.NA, pd.NA]),
        ([101.0, 99], [101, 99]),  # whole floats and numeric text: the general path
        (["101", 99], [101, 99]),
        ([True, 99], [1, 99]),  # Arrow would refuse a bool; the general path reads it as 1
    ],
)
def test_integer_columns_type_alike_whichever_path_reads_them(sent, typed):
    from nba_assets.schemas import conform

    pts = conform(TEAM_BOXSCORES, _with_pts(sent))["pts"]
    assert pts.dtype == "Int64" and pts.tolist() == typed


@pytest.mark.parametrize("sent", [[101, 99.5], [2**70]])
def test_integer_columns_refuse_fractions_and_overflow_on_both_paths(sent):
    from nba_assets.schemas import ConformError, conform

    with pytest.raises(ConformError, match=r"team_boxscores\.pts"):
        conform(TEAM_BOXSCORES, _with_pts(sent))


def test_teams_join_franchise_years_with_identity():
    frame = parse_teams(fixture_body("commonteamyears-13ba30aad7.json"))
    assert len(frame) == 45 and frame["team_id"].is_unique
    defunct = frame[~frame["is_active"]]
    assert len(defunct) == 15 and defunct["full_name"].isna().all()


def test_players_are_keyed_by_player_id():
    frame = parse_players(fixture_body("commonallplayers-37860d42e8.json"))
    assert (
        len(frame) == 5111 and frame["player_id"].is_unique and frame["from_year"].dtype == "Int64"
    )


def test_pieces_stack_into_one_frame_sorted_like_concat_then_sort():
    """Box-score pieces (one per request) stacked a column at a time, sorted stably by date
    and key, equal concat-then-sort exactly; equal strings share one object."""
    from nba_assets.assets.boxscores import _stack_sorted
    from nba_assets.schemas import conform

    def piece(days_games_teams):
        records = []
        for day, game, team in days_games_teams:
            row = {c.name: None for c in TEAM_BOXSCORES.columns}
            row.update(team_id=team, game_id=game, game_date=day, team_abbreviation="BOS", pts=team)
            records.append(row)
        return conform(TEAM_BOXSCORES, pd.DataFrame(records))

    pieces = [
        piece([("2024-12-01", "0022400002", 2), ("2024-12-17", "0022400009", 1)]),
        piece([("2024-12-17", "0062400001", 5), ("2024-12-17", "0062400001", 4)]),
        piece([("2024-12-01", "0022400002", 2)]),  # a duplicate stays for the unique-key check
    ]
    expected = pd.concat(pieces, ignore_index=True).sort_values(
        ["game_date", *TEAM_BOXSCORES.key], kind="stable", ignore_index=True
    )
    stacked = _stack_sorted([p.copy() for p in pieces], ["game_date", *TEAM_BOXSCORES.key])
    pd.testing.assert_frame_equal(stacked, expected)
    abbreviations = stacked["team_abbreviation"]
    assert abbreviations.iloc[0] is abbreviations.iloc[1]  # one object per distinct value
