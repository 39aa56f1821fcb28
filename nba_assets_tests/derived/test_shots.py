"""Shots from the real play-by-play of game 0022200552 against its real box score."""

import datetime as dt

import pandas as pd

from nba_assets.derived.names import plain_name
from nba_assets.derived.shots import box_score_counts, reconcile, shots, zone_range
from nba_assets.schemas import SHOTS
from nba_assets.source.parsing_pbp import parse_play_by_play
from nba_assets_tests.conftest import fixture_body

GAME, DAY = "0022200552", dt.date(2023, 1, 2)
_STATS = {
    "fga": "fieldGoalsAttempted",
    "fgm": "fieldGoalsMade",
    "fg3a": "threePointersAttempted",
    "fg3m": "threePointersMade",
    "ast": "assists",
    "blk": "blocks",
}


def real_shots() -> pd.DataFrame:
    events = parse_play_by_play(fixture_body("playbyplayv3-d416713a83.json"), GAME, DAY)
    return shots(events)


def real_player_box() -> pd.DataFrame:
    """BoxScoreTraditionalV3's player lines in player_boxscores' column names."""
    box = fixture_body("boxscoretraditionalv3-ac7cd2cc40.json")["boxScoreTraditional"]
    rows = [
        {
            "game_id": GAME,
            "player_id": player["personId"],
            "team_id": box[side]["teamId"],
            **{ours: player["statistics"][theirs] for ours, theirs in _STATS.items()},
        }
        for side in ("homeTeam", "awayTeam")
        for player in box[side]["players"]
    ]
    return pd.DataFrame(rows)


def test_every_shot_of_the_real_game_reconciles_with_its_box_score():
    table = real_shots()
    box = real_player_box()
    assert list(table.columns) == SHOTS.names
    assert len(table) == box["fga"].sum() == 187
    assert table["shot_made_flag"].sum() == box["fgm"].sum() == 95
    assert reconcile(table, box).empty
    counted = box_score_counts(table).set_index("player_id")
    mitchell = box.set_index("player_id").loc[1628378]
    assert counted.loc[1628378, ["fga", "fgm", "fg3a", "fg3m"]].tolist() == [
        mitchell["fga"],
        mitchell["fgm"],
        mitchell["fg3a"],
        mitchell["fg3m"],
    ]


def test_assists_and_blocks_resolve_to_the_box_score_players():
    table = real_shots()
    box = real_player_box().set_index("player_id")
    assists = table["assist_player_id"].value_counts()
    blocks = table["block_player_id"].value_counts()
    assert assists.sum() == box["ast"].sum() == 49  # "(Vucevic 1 AST)" for Vučević too
    assert blocks.sum() == box["blk"].sum() == 5
    assert assists.to_dict() == box.loc[assists.index, "ast"].to_dict()
    assert blocks.to_dict() == box.loc[blocks.index, "blk"].to_dict()
    # a block is of the other team's missed shot
    blocked = table[table["block_player_id"].notna()]
    assert (blocked["shot_made_flag"] == 0).all()
    blocker_team = box.loc[blocked["block_player_id"], "team_id"].to_numpy()
    assert (blocker_team != blocked["team_id"].to_numpy()).all()


def test_a_shot_missing_from_the_events_is_named():
    table = real_shots()
    differs = reconcile(table.iloc[1:], real_player_box())
    assert len(differs) == 1 and differs["player_id"].iloc[0] == table["player_id"].iloc[0]


def test_zone_ranges_and_names():
    distance = pd.Series([0, 7, 8, 23, 24, 60], dtype="Int64")
    y = pd.Series([0, 10, 50, 200, 100, 600], dtype="Int64")
    assert zone_range(distance, y).tolist() == [
        "Less Than 8 ft.",
        "Less Than 8 ft.",
        "8-16 ft.",
        "16-24 ft.",
        "24+ ft.",
        "Back Court Shot",
    ]
    assert plain_name("Vučević") == plain_name("Vucevic") == "vucevic"


def test_every_shooter_is_on_the_floor_in_his_stint():
    from nba_assets.derived import checks
    from nba_assets.derived.lineups import lineups_and_possessions

    events = parse_play_by_play(fixture_body("playbyplayv3-d416713a83.json"), GAME, DAY)
    stints, _, failed = lineups_and_possessions(events)
    assert failed == []
    table = shots(events, stints)
    assert table["stint"].notna().all() and table["stint"].between(1, len(stints)).all()
    assert checks.shooters_on_floor(table).passed
    home = table[[f"home_player_{n}" for n in range(1, 6)]].eq(table["player_id"], axis=0)
    assert (home.any(axis=1) == (table["team_id"] == 1610612739)).all()
    elsewhere = table.copy()
    slots = [f"{side}_player_{n}" for side in ("home", "away") for n in range(1, 6)]
    elsewhere.loc[0, slots] = 0  # nobody the shooter knows
    assert len(checks.shooters_on_floor(elsewhere).bad) == 1


def test_blocks_are_found_in_every_game_and_parts_give_the_same_rows():
    """Action ids repeat across games: a second game with the same events keeps its blocks
    (a run of many games once kept ~4% of a season's). Days handed a part at a time give
    the rows of one call."""
    from nba_assets.derived.shots import shots_of_parts

    first = parse_play_by_play(fixture_body("playbyplayv3-d416713a83.json"), GAME, DAY)
    second = first.assign(game_id="0022200553", game_date=DAY + dt.timedelta(days=1))
    both = shots(pd.concat([first, second], ignore_index=True))
    blocks = both.groupby("game_id")["block_player_id"].count()
    assert blocks.tolist() == [real_player_box()["blk"].sum()] * 2
    pd.testing.assert_frame_equal(shots_of_parts([first, second], None), both)
