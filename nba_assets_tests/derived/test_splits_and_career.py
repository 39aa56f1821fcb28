"""team_splits and player_career_stats on real recordings."""

import pandas as pd

from nba_assets.derived.career import career_totals, player_career_stats
from nba_assets.derived.season_stats import player_season_stats
from nba_assets.derived.splits import location, team_splits
from nba_assets.schemas import PLAYER_BOXSCORES, PLAYER_CAREER_STATS, TEAM_BOXSCORES, TEAM_SPLITS
from nba_assets.source.parsing import parse_boxscores, rows_frame
from nba_assets_tests.conftest import fixture_body

ATLANTA = 1610612737
SUMMED = ["gp", "gs", "fgm", "fga", "fg3m", "fg3a", "ftm", "fta", "oreb", "dreb"]
SUMMED += ["reb", "ast", "stl", "blk", "tov", "pf", "pts"]


def test_atlanta_2023_24_splits_add_up():
    box = parse_boxscores(
        TEAM_BOXSCORES, fixture_body("leaguegamefinder-66e5da9b12.json"), "LeagueGameFinderResults"
    )
    splits = team_splits(box)
    assert list(splits.columns) == TEAM_SPLITS.names
    atl = splits[splits["team_id"] == ATLANTA].set_index(["group_set", "group_value"])
    assert atl.loc[("Location", "Home"), ["gp", "w", "l"]].tolist() == [41, 21, 20]
    assert atl.loc[("Location", "Road"), ["gp", "w", "l"]].tolist() == [41, 15, 26]
    for group_set in ("Location", "Month", "Opponent"):
        part = atl.loc[group_set]
        assert (part["gp"].sum(), part["w"].sum(), part["pts"].sum()) == (82, 36, 9703)
        assert part["opp_pts"].sum() == 9882
    assert len(atl.loc["Opponent"]) == 29 and atl.loc["Month"].index.size == 7
    boston = atl.loc[("Opponent", "BOS")]
    assert boston["vs_team_id"] == 1610612738 and boston["gp"] == 4


def test_location_from_matchup():
    assert location(pd.Series(["ATL vs. BOS", "ATL @ BOS"])).tolist() == ["Home", "Road"]


def _nba_season_rows(body: dict, result_set: str, season_type: str) -> pd.DataFrame:
    rows = rows_frame(body, result_set).rename(columns={"season_id": "season"})
    return rows.assign(
        season_type=season_type, w=None, l=None, plus_minus=None, player_name=None, teams=1
    )


def test_career_totals_of_the_nba_season_rows_equal_its_career_rows():
    """The career code over PlayerCareerStats' own season rows gives its career rows."""
    body = fixture_body("playercareerstats-9d81b1e8da.json")
    for seasons, career, kind in (
        ("SeasonTotalsRegularSeason", "CareerTotalsRegularSeason", "Regular Season"),
        ("SeasonTotalsPostSeason", "CareerTotalsPostSeason", "Playoffs"),
    ):
        [ours] = career_totals(_nba_season_rows(body, seasons, kind)).to_dict("records")
        nba = rows_frame(body, career).iloc[0]
        assert {c: ours[c] for c in SUMMED} == {c: nba[c] for c in SUMMED}
        # the NBA rounds each season's minutes, then sums seconds for the career: 2321 vs 2319
        assert abs(ours["min"] - nba["min"]) <= ours["seasons"]
        for pct in ("fg_pct", "fg3_pct", "ft_pct"):
            assert abs(ours[pct] - nba[pct]) < 1e-9


def test_career_table_from_a_real_game_log():
    log = parse_boxscores(
        PLAYER_BOXSCORES, fixture_body("playergamelog-18eedc2bbb.json"), "PlayerGameLog"
    )
    table = player_career_stats(player_season_stats(log))
    assert list(table.columns) == PLAYER_CAREER_STATS.names
    assert table["season_id"].tolist() == ["2025-26", "career"]
    assert table["pts"].tolist() == [1527, 1527] and table["seasons"].tolist() == [1, 1]


def test_career_games_started_are_unknown_if_one_seasons_are():
    """A season whose lineups were never derived has gs null: the career's is null, not the sum
    of the known seasons (which would pass for the whole career)."""
    body = fixture_body("playercareerstats-9d81b1e8da.json")
    seasons = _nba_season_rows(body, "SeasonTotalsRegularSeason", "Regular Season")
    known = career_totals(seasons)["gs"].iloc[0]
    assert known == seasons["gs"].sum() > 0
    partly = seasons.astype({"gs": "Int64"})
    partly.loc[partly.index[0], "gs"] = pd.NA
    assert pd.isna(career_totals(partly)["gs"].iloc[0])
