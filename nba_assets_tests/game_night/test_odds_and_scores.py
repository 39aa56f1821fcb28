"""Odds snapshots, closing lines and live scores: materialized from the synthetic feed, and each
check failing on its corruption."""

import dagster as dg
import pandas as pd
import pytest

from nba_assets.assets.game_night import (
    american_odds,
    closing_lines_asset,
    live_scoreboard,
    odds_snapshots,
)
from nba_assets.assets.game_night_checks import (
    LIVE_SCOREBOARD_CHECKS,
    ODDS_SNAPSHOTS_CHECKS,
)
from nba_assets.quality.checks import AuditInput, run_checks
from nba_assets.schemas import LIVE_SCOREBOARD, ODDS_SNAPSHOTS
from nba_assets_tests.conftest import published
from nba_assets_tests.game_night.conftest import NIGHT, at

DAY = NIGHT.isoformat()


def _materialize(night, assets, **kwargs):
    result = dg.materialize(
        assets, partition_key=DAY, resources=night.resources(), raise_on_error=False, **kwargs
    )
    return result


def test_odds_accumulate_with_movement_and_close_at_the_last_capture_before_tip(night):
    night.publish_schedule()
    captures = [at(h, m) for h, m in ((9, 0), (12, 0), (17, 0), (18, 50), (19, 40), (21, 50))]
    for moment in captures:
        night.set_clock(moment)
        assert _materialize(night, [odds_snapshots]).success
    odds = published(night.warehouse, "odds_snapshots", first=DAY, last=DAY)
    assert odds["captured_at"].nunique() == len(captures)
    assert odds["game_id"].nunique() == 3
    assert (odds["odds"] > 1.0).all()
    two_way = odds[odds["market"] == "2way"]
    assert two_way["american_odds"].notna().all()
    # the line moved during the day for some game and book
    home_spread = odds[(odds["market"] == "spread") & (odds["outcome"] == "home")]
    assert (home_spread.groupby(["game_id", "book_id"])["spread"].nunique() > 1).any()

    # a scoreboard snapshot at 23:00: all three games (19:00, 20:00, 22:00) have tipped
    night.set_clock(at(23, 0))
    assert _materialize(night, [live_scoreboard]).success
    assert _materialize(night, [closing_lines_asset]).success
    closing = published(night.warehouse, "closing_lines", first=DAY, last=DAY)
    assert closing["game_id"].nunique() == 3
    for row in closing.itertuples():
        before = odds[
            (odds["game_id"] == row.game_id)
            & (odds["book_id"] == row.book_id)
            & (odds["market"] == row.market)
            & (odds["outcome"] == row.outcome)
            & (odds["captured_at"] < row.tip_off)
        ].sort_values("captured_at")
        assert row.closing_captured_at == before["captured_at"].iloc[-1]
        assert row.closing_odds == before["odds"].iloc[-1]
        assert row.snapshots == len(before)
        assert row.odds_movement == pytest.approx(row.closing_odds - row.opening_odds)


def test_live_scoreboard_appends_and_never_rewrites(night):
    for moment in (at(19, 30), at(20, 30), at(22, 45)):
        night.set_clock(moment)
        assert _materialize(night, [live_scoreboard]).success
    first = published(night.warehouse, "live_scoreboard", first=DAY, last=DAY)
    assert first["captured_at"].nunique() == 3
    assert len(first) == 9
    # the same instant again adds nothing and changes nothing
    assert _materialize(night, [live_scoreboard]).success
    again = published(night.warehouse, "live_scoreboard", first=DAY, last=DAY)
    pd.testing.assert_frame_equal(first, again)


def _odds_frame() -> pd.DataFrame:
    rows = []
    for n, (game, spread, p) in enumerate(
        (("0022300001", -5.5, 0.66), ("0022300002", 3.0, 0.40), ("0022300003", -1.5, 0.55))
    ):
        for outcome, sign, prob in (("home", 1, p), ("away", -1, 1 - p)):
            base = {
                "captured_at": "2023-12-29T20:00:00Z",
                "game_id": game,
                "game_date": NIGHT,
                "book_id": "b1",
                "book_name": "Book",
                "odds_trend": "neutral",
            }
            rows.append(
                {
                    **base,
                    "market": "2way",
                    "outcome": outcome,
                    "odds": round(1 / (prob * 1.05), 3),
                    "opening_odds": round(1 / (prob * 1.05), 3),
                    "spread": None,
                    "opening_spread": None,
                }
            )
            rows.append(
                {
                    **base,
                    "market": "spread",
                    "outcome": outcome,
                    "odds": 1.909,
                    "opening_odds": 1.909,
                    "spread": sign * spread,
                    "opening_spread": sign * spread,
                }
            )
        del n
    frame = pd.DataFrame(rows)
    odds = frame["odds"]
    frame["american_odds"] = american_odds(odds)
    frame["implied_probability"] = 1 / odds
    return frame[ODDS_SNAPSHOTS.names]


def _schedule(games: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "game_id": games,
            "game_date": [NIGHT] * len(games),
            "season_type": ["Regular Season"] * len(games),
            "matchup": ["AAA @ BBB"] * len(games),
            "game_status_text": ["Final"] * len(games),
        }
    )


def _audit(frame: pd.DataFrame, spec, checks, schedule=None) -> dict[str, tuple[str, bool]]:
    data = AuditInput(frame=frame, spec=spec, start=NIGHT, end=NIGHT, schedule=schedule)
    return {
        rule.name: (outcome.state, rule.blocks(outcome))
        for rule, outcome, _ in run_checks(checks, data)
    }


def test_clean_odds_pass_every_check():
    frame = _odds_frame()
    results = _audit(
        frame, ODDS_SNAPSHOTS, ODDS_SNAPSHOTS_CHECKS, _schedule(list(frame["game_id"].unique()))
    )
    assert {state for state, _ in results.values()} == {"passed"}


def _corrupt_odds_not_above_one(frame):
    frame.loc[0, "odds"] = 1.0


def _corrupt_overround(frame):
    frame.loc[frame["market"] == "2way", "implied_probability"] = 0.7


def _corrupt_spread_sides(frame):
    row = frame.index[(frame["market"] == "spread") & (frame["outcome"] == "away")][0]
    frame.loc[row, "spread"] = frame.loc[row, "spread"] + 1


def _corrupt_flat_spread(frame):
    spread = frame["market"] == "spread"
    frame.loc[spread & (frame["outcome"] == "home"), ["spread", "opening_spread"]] = -2.5
    frame.loc[spread & (frame["outcome"] == "away"), ["spread", "opening_spread"]] = 2.5


@pytest.mark.parametrize(
    ("corrupt", "rule"),
    [
        (_corrupt_odds_not_above_one, "odds_above_one"),
        (_corrupt_overround, "two_way_overround"),
        (_corrupt_spread_sides, "spreads_opposite"),
        (_corrupt_flat_spread, "spread_varies_by_game"),
    ],
)
def test_each_odds_check_fails_and_blocks_on_its_corruption(corrupt, rule):
    frame = _odds_frame()
    corrupt(frame)
    results = _audit(frame, ODDS_SNAPSHOTS, ODDS_SNAPSHOTS_CHECKS, _schedule(["0022300001"]))
    assert results[rule] == ("failed", True)
    assert [r for r, (state, _) in results.items() if state == "failed"] == [rule]


def test_a_scheduled_game_without_odds_warns_and_no_schedule_is_not_a_pass():
    frame = _odds_frame()
    results = _audit(
        frame, ODDS_SNAPSHOTS, ODDS_SNAPSHOTS_CHECKS, _schedule(["0022300001", "0022300099"])
    )
    assert results["scheduled_games_have_odds"] == ("failed", False)  # WARN: not blocking
    results = _audit(frame, ODDS_SNAPSHOTS, ODDS_SNAPSHOTS_CHECKS, None)
    assert results["scheduled_games_have_odds"] == ("skipped", False)


def test_a_live_score_that_goes_down_fails():
    frame = pd.DataFrame(
        {
            "game_id": ["0022300001"] * 3,
            "game_date": [NIGHT] * 3,
            "captured_at": ["2023-12-30T00:10:00Z", "2023-12-30T00:20:00Z", "2023-12-30T00:30:00Z"],
            "game_status": [2, 2, 2],
            "game_status_text": ["Q1", "Q1", "Q2"],
            "period": [1, 1, 2],
            "game_clock": ["", "", ""],
            "game_time_utc": ["2023-12-30T00:00:00Z"] * 3,
            "home_team_id": [1] * 3,
            "away_team_id": [2] * 3,
            "home_score": [10, 14, 20],
            "away_score": [8, 12, 16],
        }
    )[LIVE_SCOREBOARD.names]
    assert _audit(frame, LIVE_SCOREBOARD, LIVE_SCOREBOARD_CHECKS)["scores_never_decrease"] == (
        "passed",
        False,
    )
    frame.loc[2, "away_score"] = 11
    assert _audit(frame, LIVE_SCOREBOARD, LIVE_SCOREBOARD_CHECKS)["scores_never_decrease"] == (
        "failed",
        True,
    )
