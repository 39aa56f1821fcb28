"""Season stats against the NBA's own season numbers (real recordings), by the tables' code."""

import datetime as dt

import pandas as pd
import pytest

from nba_assets.derived.lineups import lineups_and_possessions
from nba_assets.derived.season_stats import (
    counted_possessions,
    four_factors_and_ratings,
    game_minutes,
    player_season_stats,
    team_season_stats,
)
from nba_assets.schemas import PLAYER_BOXSCORES, TEAM_BOXSCORES, TEAM_SEASON_STATS
from nba_assets.source.parsing import parse_boxscores, rows_frame
from nba_assets.source.parsing_pbp import parse_play_by_play
from nba_assets_tests.conftest import fixture_body

ATLANTA = 1610612737
GAME, DAY = "0022200552", dt.date(2023, 1, 2)
#: Columns LeagueDashTeamStats and team_season_stats define alike (NBA name -> ours).
TEAM_SAME = {
    "GP": "gp",
    "W": "w",
    "L": "l",
    "FGM": "fgm",
    "FGA": "fga",
    "FG3M": "fg3m",
    "FG3A": "fg3a",
    "FTM": "ftm",
    "FTA": "fta",
    "OREB": "oreb",
    "DREB": "dreb",
    "REB": "reb",
    "AST": "ast",
    "STL": "stl",
    "BLK": "blk",
    "PF": "pf",
    "PTS": "pts",
    "PLUS_MINUS": "plus_minus",
    # team minutes, the NBA's way (48 a game + 5 per overtime), rounded from player minutes
    "MIN": "min",
    # blocks against = the opponents' blocks; fouls drawn = the opponents' fouls
    "BLKA": "opp_blk",
    "PFD": "opp_pf",
}
PCTS = {"W_PCT": "w_pct", "FG_PCT": "fg_pct", "FG3_PCT": "fg3_pct", "FT_PCT": "ft_pct"}


@pytest.fixture(scope="module")
def finder_2023_24() -> pd.DataFrame:
    body = fixture_body("leaguegamefinder-66e5da9b12.json")
    return parse_boxscores(TEAM_BOXSCORES, body, "LeagueGameFinderResults")


def test_atlanta_2023_24_equals_league_dash_team_stats(finder_2023_24):
    nba = rows_frame(fixture_body("leaguedashteamstats-586ce86bfa.json"), "LeagueDashTeamStats")
    nba = nba.iloc[0]
    stats = team_season_stats(finder_2023_24)
    assert len(stats) == 30 and set(stats["season"]) == {"2023-24"}
    ours = stats.set_index("team_id").loc[ATLANTA]
    assert ours["season_type"] == "Regular Season"
    assert {k: ours[v] for k, v in TEAM_SAME.items()} == {k: nba[k.lower()] for k in TEAM_SAME}
    assert (ours["gp"], ours["w"], ours["pts"], ours["fgm"], ours["min"]) == (
        82,
        36,
        9703,
        3529,
        3971,
    )
    for theirs, mine in PCTS.items():
        assert round(ours[mine], 3) == nba[theirs.lower()], mine
    # differs by definition: the game logs credit turnovers to players only; the NBA's team
    # total adds team turnovers (shot clock, 8-second, too many players)
    assert (ours["tov"], nba["tov"]) == (1046, 1110)


def test_team_minutes_the_nba_way():
    assert game_minutes(pd.Series([240, 241, 239, 265, 266, 290, None], dtype="Int64")).tolist()[
        :6
    ] == [48, 48, 48, 53, 53, 58]


def test_every_team_season_passes_its_own_sums(finder_2023_24):
    stats = team_season_stats(finder_2023_24)
    assert stats["gp"].sum() == len(finder_2023_24) == 2460
    assert stats["pts"].sum() == stats["opp_pts"].sum() == finder_2023_24["pts"].sum()
    assert list(stats.columns) == TEAM_SEASON_STATS.names
    assert stats["pace"].between(95, 105).all() and stats["off_rating"].between(100, 125).all()
    assert (stats["net_rating"] - (stats["off_rating"] - stats["def_rating"])).abs().max() < 1e-9


def test_player_1628378_2025_26_equals_his_career_stats_row():
    log = parse_boxscores(
        PLAYER_BOXSCORES, fixture_body("playergamelog-18eedc2bbb.json"), "PlayerGameLog"
    )
    [ours] = player_season_stats(log).to_dict("records")
    career = rows_frame(
        fixture_body("playercareerstats-9d81b1e8da.json"), "SeasonTotalsRegularSeason"
    )
    nba = career[career["season_id"] == "2025-26"].iloc[0]
    shared = ["gp", *(c for c in ("fgm", "fga", "fg3m", "fg3a", "ftm", "fta", "oreb", "dreb"))]
    shared += ["reb", "ast", "stl", "blk", "tov", "pf", "pts"]
    assert {c: ours[c] for c in shared} == {c: nba[c] for c in shared}
    assert (ours["gp"], ours["pts"], ours["fgm"]) == (53, 1527, 532)
    for pct in ("fg_pct", "fg3_pct", "ft_pct"):
        assert round(ours[pct], 3) == nba[pct], pct
    # the game log rounds each game's minutes; the NBA's season row sums seconds
    assert (ours["min"], nba["min"]) == (1773, 1774)
    assert ours["season"] == "2025-26" and ours["season_type"] == "Regular Season"


def _v3_team_line(side: dict) -> dict:
    """A BoxScoreTraditionalV3 team as a game-log line (names as in team_boxscores)."""
    s = side["statistics"]
    minutes = int(s["minutes"].split(":")[0])
    names = {
        "fgm": "fieldGoalsMade",
        "fga": "fieldGoalsAttempted",
        "fg3m": "threePointersMade",
        "fg3a": "threePointersAttempted",
        "ftm": "freeThrowsMade",
        "fta": "freeThrowsAttempted",
        "oreb": "reboundsOffensive",
        "dreb": "reboundsDefensive",
        "reb": "reboundsTotal",
        "ast": "assists",
        "stl": "steals",
        "blk": "blocks",
        "tov": "turnovers",
        "pf": "foulsPersonal",
        "pts": "points",
    }
    return {"team_id": side["teamId"], "min": minutes // 5, **{k: s[v] for k, v in names.items()}}


def test_real_game_four_factors_from_the_box_score():
    """Game 0022200552 (CLE 145, CHI 134, OT): the box-score formulas against the NBA's own."""
    box = fixture_body("boxscoretraditionalv3-ac7cd2cc40.json")["boxScoreTraditional"]
    factors = fixture_body("boxscorefourfactorsv3-ac7cd2cc40.json")["boxScoreFourFactors"]
    home, away = _v3_team_line(box["homeTeam"]), _v3_team_line(box["awayTeam"])
    rows = pd.DataFrame(
        [
            {**home, **{f"opp_{k}": v for k, v in away.items()}},
            {**away, **{f"opp_{k}": v for k, v in home.items()}},
        ]
    )
    ours = four_factors_and_ratings(rows)
    for i, side in enumerate(("homeTeam", "awayTeam")):
        nba = factors[side]["statistics"]
        assert round(ours["efg_pct"][i], 3) == nba["effectiveFieldGoalPercentage"]
        assert round(ours["fta_rate"][i], 3) == nba["freeThrowAttemptRate"]
        assert round(ours["opp_efg_pct"][i], 3) == nba["oppEffectiveFieldGoalPercentage"]
        assert round(ours["opp_fta_rate"][i], 3) == nba["oppFreeThrowAttemptRate"]
    # the estimate FGA + 0.44 FTA - OREB + TOV against the NBA's counted possessions (108, 109)
    assert [round(p, 2) for p in ours["poss"]] == [108.8, 110.96]
    assert [round(r, 1) for r in ours["off_rating"]] == [133.3, 120.8]  # NBA: 134.3, 122.9


def test_real_game_ratings_and_pace_from_counted_possessions():
    """Game 0022200552: possessions counted from the real play-by-play, joined to the box-score
    lines, give BoxScoreAdvancedV3's possessions, pace and ratings (each a ratio of its count)."""
    box = fixture_body("boxscoretraditionalv3-ac7cd2cc40.json")["boxScoreTraditional"]
    advanced = fixture_body("boxscoreadvancedv3-ac7cd2cc40.json")["boxScoreAdvanced"]
    events = parse_play_by_play(fixture_body("playbyplayv3-d416713a83.json"), GAME, DAY)
    _, possession_rows, _ = lineups_and_possessions(events)
    home, away = _v3_team_line(box["homeTeam"]), _v3_team_line(box["awayTeam"])
    rows = pd.DataFrame(
        [
            {**home, **{f"opp_{k}": v for k, v in away.items()}},
            {**away, **{f"opp_{k}": v for k, v in home.items()}},
        ]
    ).drop(columns="opp_team_id")
    counted = counted_possessions(possession_rows).drop(columns="game_id")
    ours = four_factors_and_ratings(rows.merge(counted, on="team_id", validate="1:1"))
    for i, side in enumerate(("homeTeam", "awayTeam")):
        nba = advanced[side]["statistics"]
        assert (ours["poss"][i], ours["opp_poss"][i]) == (
            nba["possessions"],
            advanced["awayTeam" if i == 0 else "homeTeam"]["statistics"]["possessions"],
        )
        assert round(ours["pace"][i], 2) == nba["pace"] == 98.26  # 48 · (108 + 109) / 2 / 53
        for ours_col, nba_col in (
            ("off_rating", "offensiveRating"),
            ("def_rating", "defensiveRating"),
            ("net_rating", "netRating"),
        ):
            assert abs(ours[ours_col][i] - nba[nba_col]) < 0.06, ours_col  # NBA rounds to .1


def test_the_cup_final_is_its_own_season_type():
    """LeBron James 2023-24 (the real game finder, every season type): the Cup final
    (0062300001) is its own row and is not in his regular-season totals (71 GP, 1,822 PTS)."""
    rows = parse_boxscores(
        PLAYER_BOXSCORES,
        fixture_body("leaguegamefinder-373ac7ae49.json"),
        "LeagueGameFinderResults",
    )
    kept = rows[rows["season_type"].isin(["Regular Season", "PlayIn", "Playoffs", "NBA Cup"])]
    stats = player_season_stats(kept).set_index("season_type")
    assert sorted(stats.index) == ["NBA Cup", "PlayIn", "Playoffs", "Regular Season"]
    assert stats.loc["NBA Cup", ["gp", "w", "pts"]].tolist() == [1, 1, 24]
    assert stats.loc["Regular Season", ["gp", "pts"]].tolist() == [71, 1822]
    assert stats["gp"].sum() == len(kept) == 78
