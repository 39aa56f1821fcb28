"""Stints and possessions of game 0022200552 against the NBA's GameRotation, box score and
BoxScoreAdvancedV3 (all real recordings)."""

import datetime as dt
import itertools

import pandas as pd
import pytest

from nba_assets.derived import checks
from nba_assets.derived.lineups import (
    game_possessions,
    game_stints,
    lineups_and_possessions,
    player_seconds,
    rotation,
)
from nba_assets.schemas import LINEUP_STINTS, POSSESSIONS
from nba_assets.source.parsing_pbp import parse_play_by_play
from nba_assets_tests.conftest import fixture_body

GAME, DAY = "0022200552", dt.date(2023, 1, 2)
CLE, CHI = 1610612739, 1610612741


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return parse_play_by_play(fixture_body("playbyplayv3-d416713a83.json"), GAME, DAY)


@pytest.fixture(scope="module")
def box() -> pd.DataFrame:
    """BoxScoreTraditionalV3 players: whole minutes (as the game logs) and exact seconds."""
    body = fixture_body("boxscoretraditionalv3-ac7cd2cc40.json")["boxScoreTraditional"]
    rows = []
    for side in ("homeTeam", "awayTeam"):
        for player in body[side]["players"]:
            minutes, seconds = (player["statistics"]["minutes"] or "0:00").split(":")
            rows.append(
                {
                    "game_id": GAME,
                    "team_id": body[side]["teamId"],
                    "player_id": player["personId"],
                    "player_name": f"{player['firstName']} {player['familyName']}",
                    "min": int(minutes),
                    "seconds": 60 * int(minutes) + int(seconds),
                    "pts": player["statistics"]["points"],
                }
            )
    return pd.DataFrame(rows)


def nba_rotation() -> dict[int, list[tuple[int, int]]]:
    spans: dict[int, list[tuple[int, int]]] = {}
    for result in fixture_body("gamerotation-0b24275ae4.json")["resultSets"]:
        for values in result["rowSet"]:
            row = dict(zip(result["headers"], values, strict=True))
            spans.setdefault(row["PERSON_ID"], []).append(
                (int(row["IN_TIME_REAL"]), int(row["OUT_TIME_REAL"]))
            )
    return {player: sorted(times) for player, times in spans.items()}


def test_every_stint_equals_game_rotation_to_the_tenth(events, box):
    ours = rotation(game_stints(events, CLE, CHI, box))
    theirs = nba_rotation()
    assert len(theirs) == 19 and sum(len(v) for v in theirs.values()) == 72
    assert ours == theirs


def test_minutes_equal_the_box_score_within_a_second(events, box):
    seconds = player_seconds(game_stints(events, CLE, CHI, box))
    played = box[box["seconds"] > 0].set_index("player_id")["seconds"]
    assert set(seconds) == set(played.index)
    assert max(abs(seconds[p] - s) for p, s in played.items()) <= 1
    assert sum(seconds.values()) == 10 * 53 * 60  # ten players for 53 minutes


def test_without_the_box_score_the_lineups_still_hold(events):
    """Names resolve from the events alone; only the OT's silent starter needs minutes."""
    stints = game_stints(events, CLE, CHI)
    assert all(len(lineup) == 5 for s in stints for lineup in s.lineups.values())


def test_possessions_points_and_the_nba_advanced_box(events):
    found = game_possessions(events, CLE, CHI)
    points = {t: sum(p.points for p in found if p.offense == t) for t in (CLE, CHI)}
    assert points == {CLE: 145, CHI: 134}  # the final score
    count = {t: sum(p.offense == t for p in found) for t in (CLE, CHI)}
    advanced = fixture_body("boxscoreadvancedv3-ac7cd2cc40.json")["boxScoreAdvanced"]
    nba = {
        advanced[side]["teamId"]: advanced[side]["statistics"]["possessions"]
        for side in ("homeTeam", "awayTeam")
    }
    assert nba == {CLE: 108.0, CHI: 109.0}
    assert count == nba
    # a turnover with 8.2 s left (2nd) and 0.3 s left (3rd): Chicago held the ball to the end
    held = [p for p in found if p.end_reason == "end of period" and p.start_clock in (8.2, 0.3)]
    assert [(p.period, p.offense) for p in held] == [(2, CHI), (3, CHI)]


def test_free_throws_after_the_teams_own_basket_are_a_possession(events):
    """The two possessions a strict alternation misses, each a one-point trip to the line after
    the shooting team's own basket: a technical free throw while the ball was dead (3rd, 1:59)
    and a free throw for a foul away from the play, shot by another player (4th, 7:00)."""
    found = game_possessions(events, CLE, CHI)
    repeats = [
        (p.period, p.offense, p.start_clock, p.points, p.end_reason)
        for before, p in itertools.pairwise(found)
        if (p.period, p.offense) == (before.period, before.offense)
    ]
    assert repeats == [(3, CLE, 119.0, 1, "free throw"), (4, CHI, 420.0, 1, "free throw")]
    per_period = {
        (period, team): sum((p.period, p.offense) == (period, team) for p in found)
        for period in range(1, 6)
        for team in (CLE, CHI)
    }
    assert [per_period[(n, CLE)] for n in range(1, 6)] == [23, 24, 28, 23, 10]
    assert [per_period[(n, CHI)] for n in range(1, 6)] == [24, 24, 27, 25, 9]


def test_tables_and_their_checks_on_the_real_game(events, box):
    stints, possessions, failed = lineups_and_possessions(events, box)
    assert failed == [] and list(stints.columns) == LINEUP_STINTS.names
    assert list(possessions.columns) == POSSESSIONS.names
    assert stints[["home_pts", "away_pts"]].sum().tolist() == [145, 134]
    assert stints[["home_poss", "away_poss"]].sum().tolist() == [108, 109]
    assert stints["seconds"].sum() == 53 * 60 and len(stints) == 39
    assert checks.five_a_side(stints).passed
    minutes = checks.minutes_match_box_scores(box).run
    team_box = pd.DataFrame({"game_id": [GAME, GAME], "team_id": [CLE, CHI], "pts": [145, 134]})
    points = checks.points_match_box_scores(team_box).run
    frame_input = checks.AuditInput(frame=stints, spec=LINEUP_STINTS, start=DAY, end=DAY)
    assert minutes(frame_input).passed
    assert points(checks.AuditInput(frame=possessions, spec=POSSESSIONS, start=DAY, end=DAY)).passed
    wrong = team_box.assign(pts=[146, 134])
    failing = checks.points_match_box_scores(wrong).run(
        checks.AuditInput(frame=possessions, spec=POSSESSIONS, start=DAY, end=DAY)
    )
    assert not failing.passed


def test_a_substitution_naming_the_full_name_resolves_a_shared_last_name():
    """Two teammates named Abbott: the text names the one entering in full ('SUB: Aaron Abbott
    FOR ...'); the last name alone would be ambiguous."""
    from nba_assets.derived.lineups import BoxLine, Roster

    box = [BoxLine(1, 10, "Aaron Abbott", 20.0), BoxLine(1, 11, "Brandon Abbott", 12.0)]
    roster = Roster.of_game([], box)
    assert roster.resolve(1, "Aaron Abbott") == 10
    assert roster.resolve(1, "Brandon Abbott") == 11
    assert roster.resolve(1, "Abbott") is None


def test_five_a_side_names_a_repeated_or_missing_player(events, box):
    stints, _, _ = lineups_and_possessions(events, box)
    repeated = stints.copy()
    repeated.loc[3, "home_player_2"] = repeated.loc[3, "home_player_1"]
    repeated["away_player_5"] = repeated["away_player_5"].astype("Int64")
    repeated.loc[7, "away_player_5"] = pd.NA
    outcome = checks.five_a_side(repeated)
    assert not outcome.passed
    assert sorted(outcome.bad.index) == [3, 7]


def test_games_handed_a_part_at_a_time_give_the_rows_of_one_call(events, box):
    """The run's days a part at a time (a later day can hold a smaller game id: play-in games
    after the playoffs' first): the rows, their order and the games left out are as at once."""
    from nba_assets.derived.lineups import lineups_and_possessions_of_parts

    later = events.assign(game_id="0022200551", game_date=DAY + dt.timedelta(days=1))
    later_box = box.assign(game_id="0022200551")
    players = pd.concat([box, later_box], ignore_index=True)
    at_once = lineups_and_possessions(pd.concat([events, later], ignore_index=True), players)
    parts = lineups_and_possessions_of_parts([events, later], players)
    pd.testing.assert_frame_equal(parts[0], at_once[0])
    pd.testing.assert_frame_equal(parts[1], at_once[1])
    assert parts[2] == at_once[2]
    assert parts[0]["game_id"].iloc[0] == "0022200551"


def test_the_first_stints_ten_are_the_box_scores_starters(events, box):
    """BoxScoreTraditionalV3 gives a starter a position (F, C, G) and a reserve none: the ten
    of the game's first stint, as `season_stats.starters` reads them, are its starters."""
    from nba_assets.derived.season_stats import starters

    body = fixture_body("boxscoretraditionalv3-ac7cd2cc40.json")["boxScoreTraditional"]
    listed = {
        player["personId"]
        for side in ("homeTeam", "awayTeam")
        for player in body[side]["players"]
        if player["position"]
    }
    stints, _, _ = lineups_and_possessions(events, box)
    found = starters(stints)
    assert len(listed) == 10
    assert set(found["player_id"]) == listed and set(found["game_id"]) == {GAME}
