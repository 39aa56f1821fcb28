"""Checks of the game-night tables, run before a capture is published (see `audit.audited`).

Odds must be odds (decimal > 1.0), a 2-way market's implied probabilities carry a book's margin
(sum 1.00-1.20), home and away spreads mirror each other, a day whose every game has the same
spread is a broken feed (hoopR#140 shipped a flat 2.5 for two seasons), live scores never go
down within a game. A scheduled game with no odds is a warning, and a rule that cannot look
(no schedule published) says so and never counts as passed.
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg
import pandas as pd

from nba_assets.partitions import BOXSCORE_SEASON_TYPES
from nba_assets.quality.checks import (
    AUDIT_CHECK,
    WARN,
    AuditInput,
    BoxScoreCheck,
    Outcome,
    audit_description,
    postponed,
    row_check,
)
from nba_assets.schemas import CLOSING_LINES, LIVE_SCOREBOARD, ODDS_SNAPSHOTS, TableSpec

#: A 2-way market's implied probabilities sum to at least 1 (no book pays out more than it
#: takes) and, for a real book, not above 1.20 (a 20% margin is a broken feed or a typo).
OVERROUND_RANGE = (1.00, 1.20)
_TOLERANCE = 1e-6


def audit_spec(table: str, rules: Sequence[BoxScoreCheck]) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        AUDIT_CHECK,
        asset=dg.AssetKey(table),
        blocking=True,
        description=audit_description(rules),
    )


def _unique(spec: TableSpec) -> BoxScoreCheck:
    def run(data: AuditInput) -> Outcome:
        bad = data.frame[data.frame.duplicated(list(spec.key), keep=False)]
        return Outcome(bad, f"{len(bad)} rows repeat a key {spec.key}" if len(bad) else "")

    return BoxScoreCheck(f"unique_{'_'.join(spec.key)}", f"one row per {', '.join(spec.key)}", run)


def _odds_not_above_one(frame: pd.DataFrame) -> pd.Series:
    odds, opening = frame["odds"], frame["opening_odds"]
    return (odds.notna() & (odds <= 1.0)) | (opening.notna() & (opening <= 1.0)) | odds.isna()


def _two_way_overround(data: AuditInput) -> Outcome:
    frame = data.frame[data.frame["market"] == "2way"]
    if frame.empty:
        return Outcome(data.frame.iloc[:0])
    keys = ["captured_at", "game_id", "book_id"]
    total = frame.groupby(keys)["implied_probability"].transform("sum")
    low, high = OVERROUND_RANGE
    bad = frame[(total < low - _TOLERANCE) | (total > high + _TOLERANCE)]
    return Outcome(
        bad,
        f"{bad[keys].drop_duplicates().shape[0]} 2-way market(s) whose implied probabilities "
        f"do not sum to {low:.2f}-{high:.2f}"
        if len(bad)
        else "",
    )


def _spread_sides(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    keys = ["captured_at", "game_id", "book_id"]
    spread = frame[frame["market"] == "spread"]
    return spread.pivot_table(index=keys, columns="outcome", values=column, aggfunc="first")


def _spreads_opposite(data: AuditInput) -> Outcome:
    frame = data.frame
    bad_keys = set()
    for column in ("spread", "opening_spread"):
        sides = _spread_sides(frame, column)
        if {"home", "away"} <= set(sides.columns):
            both = sides.dropna(subset=["home", "away"])
            wrong = both[(both["home"] + both["away"]).abs() > _TOLERANCE]
            bad_keys.update(wrong.index)
    if not bad_keys:
        return Outcome(frame.iloc[:0])
    index = pd.MultiIndex.from_frame(frame[["captured_at", "game_id", "book_id"]])
    bad = frame[index.isin(list(bad_keys)) & (frame["market"] == "spread")]
    return Outcome(bad, f"{len(bad_keys)} spread market(s) whose home and away spreads differ")


def _same_spread_every_game(data: AuditInput) -> Outcome:
    """Every game of a day quoted the same home spread by a book: a constant, not a line."""
    frame = data.frame
    home = frame[(frame["market"] == "spread") & (frame["outcome"] == "home")].dropna(
        subset=["spread"]
    )
    bad_parts = []
    for (_, _), day in home.groupby(["game_date", "book_id"]):
        if day["game_id"].nunique() >= 2 and day["spread"].nunique() == 1:
            bad_parts.append(day)
    if not bad_parts:
        return Outcome(frame.iloc[:0])
    bad = pd.concat(bad_parts)
    value = bad["spread"].iloc[0]
    return Outcome(
        bad,
        f"every game of {sorted({str(d) for d in bad['game_date']})} has the same spread "
        f"({value:+g}) at book(s) {sorted(set(bad['book_id']))}: a constant, not a line",
    )


def _scheduled_games_have_odds(data: AuditInput) -> Outcome:
    if data.schedule is None:
        return Outcome(
            data.frame.iloc[:0],
            skipped="`schedule` is not materialized for these days: cannot tell which games "
            "should have odds; materialize the season's schedule partition",
        )
    schedule = data.schedule
    due = schedule[
        schedule["season_type"].isin(BOXSCORE_SEASON_TYPES)
        & (schedule["game_date"] >= data.start)
        & (schedule["game_date"] <= data.end)
        & ~postponed(schedule)
    ]
    missing = due[~due["game_id"].isin(set(data.frame["game_id"]))]
    return Outcome(
        missing[["game_id", "game_date", "matchup"]],
        f"{len(missing)} scheduled game(s) have no odds: {sorted(missing['game_id'])[:5]}"
        if len(missing)
        else "",
        extra={"scheduled_games": len(due)},
    )


def _scores_never_decrease(data: AuditInput) -> Outcome:
    frame = data.frame.sort_values(["game_id", "captured_at"], kind="stable")
    bad_games = set()
    for side in ("home_score", "away_score"):
        drop = frame.groupby("game_id")[side].diff() < 0
        bad_games.update(frame.loc[drop.fillna(False).astype(bool), "game_id"])
    bad = frame[frame["game_id"].isin(bad_games)]
    return Outcome(
        bad,
        f"{len(bad_games)} game(s) whose live score went down between snapshots: "
        f"{sorted(bad_games)[:5]}"
        if bad_games
        else "",
    )


def _closing_before_tip(frame: pd.DataFrame) -> pd.Series:
    return frame["closing_captured_at"] >= frame["tip_off"]


ODDS_SNAPSHOTS_CHECKS = [
    _unique(ODDS_SNAPSHOTS),
    row_check(
        "odds_above_one",
        "decimal odds (current and opening) are greater than 1.0",
        _odds_not_above_one,
        "{n} outcome(s) with decimal odds missing or not above 1.0",
    ),
    BoxScoreCheck(
        "two_way_overround",
        "a 2-way market's implied probabilities sum to between 1.00 and 1.20",
        _two_way_overround,
    ),
    BoxScoreCheck(
        "spreads_opposite",
        "a spread market's home and away spreads (current and opening) are opposite",
        _spreads_opposite,
    ),
    BoxScoreCheck(
        "spread_varies_by_game",
        "a book does not quote the same spread for every game of a day",
        _same_spread_every_game,
    ),
    BoxScoreCheck(
        "scheduled_games_have_odds",
        "every game the schedule lists for the day has odds",
        _scheduled_games_have_odds,
        blocking=False,
        if_skipped=WARN,
    ),
]
LIVE_SCOREBOARD_CHECKS = [
    _unique(LIVE_SCOREBOARD),
    BoxScoreCheck(
        "scores_never_decrease",
        "within a game, neither team's live score goes down from one snapshot to the next",
        _scores_never_decrease,
    ),
]
CLOSING_LINES_CHECKS = [
    _unique(CLOSING_LINES),
    row_check(
        "closing_before_tip",
        "the closing line was captured before tip-off",
        _closing_before_tip,
        "{n} closing line(s) captured at or after tip-off",
    ),
    row_check(
        "closing_odds_above_one",
        "closing decimal odds are greater than 1.0",
        lambda f: ~(f["closing_odds"] > 1.0),
        "{n} closing line(s) with decimal odds missing or not above 1.0",
    ),
]
