"""The column-wise (Arrow) typing of play-by-play gives exactly the generic `to_table` frame;
the numpy counting behind the consistency check."""

import copy
import datetime as dt

import pandas as pd
import pytest

from nba_assets.quality.pbp_checks import box_score_mismatches
from nba_assets.source.parsing import ParseError
from nba_assets.source.parsing_pbp import (
    COUNTED,
    collect_actions,
    generic_table,
    parse_play_by_play_games,
    typed_table,
)
from nba_assets.source.synthetic import SyntheticLeague
from nba_assets_tests.conftest import fixture_body
from nba_assets_tests.test_play_by_play import real_box

REAL_GAME, REAL_DAY = "0022200552", dt.date(2023, 1, 2)
SYNTHETIC_DAY = dt.date(2024, 10, 22)


def real_games() -> list[tuple[dict, str, dt.date]]:
    return [(fixture_body("playbyplayv3-d416713a83.json"), REAL_GAME, REAL_DAY)]


def synthetic_games(day: dt.date = SYNTHETIC_DAY) -> list[tuple[dict, str, dt.date]]:
    """One day of the synthetic league: several games, so scores carry forward per game."""
    league = SyntheticLeague(seed=7, first_season="2024-25", last_season="2024-25")
    games = sorted(g.game_id for g in league.season(2024).games if g.day == day)
    assert len(games) > 1
    return [(league.respond("playbyplayv3", {"GameID": g}), g, day) for g in games]


def assert_fast_equals_generic(games: list[tuple[dict, str, dt.date]], fast_taken: bool) -> None:
    records, sizes = collect_actions(games)
    fast = typed_table(records, sizes)
    assert (fast is not None) == fast_taken
    generic = generic_table(records, sizes)
    pd.testing.assert_frame_equal(parse_play_by_play_games(games), generic)
    if fast is not None:
        pd.testing.assert_frame_equal(fast, generic)


@pytest.mark.parametrize("games", [real_games, synthetic_games], ids=["real", "synthetic"])
def test_column_wise_typing_equals_the_generic_path(games):
    assert_fast_equals_generic(games(), fast_taken=True)


def with_actions(change) -> list[tuple[dict, str, dt.date]]:
    [(body, game_id, day)] = real_games()
    body = copy.deepcopy(body)
    for index, action in enumerate(body["game"]["actions"]):
        change(index, action)
    return [(body, game_id, day)]


#: Changes to the real recording the Arrow path still types itself.
KEPT = {
    "missing keys": lambda i, a: i % 7 or [a.pop("shotDistance"), a.pop("subType")],
    "nulls": lambda i, a: i % 5 or a.update(teamId=None, scoreHome=None, description=None),
    "team event without team": lambda i, a: i != 40 or a.update(teamId=0, personId=1610612739),
    "bad clock": lambda i, a: i != 3 or a.update(clock=None),
}
#: Changes it leaves to the generic path, which must still give the same frame.
DECLINED = {
    "float coordinates": lambda i, a: i != 6 or a.update(xLegacy=230.0),
    "numeric text": lambda i, a: i != 6 or a.update(actionNumber="7"),
    "boolean": lambda i, a: i != 6 or a.update(isFieldGoal=True),
    "score with a point": lambda i, a: i != 6 or a.update(scoreAway="3.0"),
    "clock of another form": lambda i, a: i != 6 or a.update(clock="11:41"),
}


@pytest.mark.parametrize("change", KEPT.values(), ids=KEPT.keys())
def test_unusual_but_typed_values_stay_on_the_fast_path(change):
    assert_fast_equals_generic(with_actions(change), fast_taken=True)


@pytest.mark.parametrize("change", DECLINED.values(), ids=DECLINED.keys())
def test_odd_json_types_go_the_generic_way_to_the_same_frame(change):
    assert_fast_equals_generic(with_actions(change), fast_taken=False)


def test_batches_the_fast_path_declines_give_the_same_frame():
    [(body, game_id, day)] = real_games()
    assert_fast_equals_generic([(body, game_id, day), (body, game_id, day)], fast_taken=False)
    noon = dt.datetime.combine(day, dt.time(12))
    assert_fast_equals_generic([(body, game_id, noon)], fast_taken=False)


def test_a_value_that_fits_no_type_still_fails_naming_the_column():
    games = with_actions(lambda i, a: i != 9 or a.update(period=None))
    with pytest.raises(ParseError, match="period"):
        parse_play_by_play_games(games)


def test_check_reads_shuffled_events_with_provenance_attrs():
    """The numpy counting takes the last event by action_id, not by row, and ignores attrs."""
    events = parse_play_by_play_games(real_games()).sample(frac=1.0, random_state=3)
    events.attrs["provenance"] = [{"params": {"GameID": REAL_GAME}}]
    assert box_score_mismatches(events, real_box(), COUNTED) == []
    wrong = real_box().assign(pts=lambda box: box["pts"] + 1)
    failures = box_score_mismatches(events, wrong)
    assert [f["game_id"] for f in failures] == [REAL_GAME]
    assert any(p.startswith("final score 145-134") for p in failures[0]["problems"])
