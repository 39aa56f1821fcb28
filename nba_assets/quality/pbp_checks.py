"""Play-by-play against the box scores: plain functions the blocking asset check runs per day."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from nba_assets.source.parsing_pbp import final_scores, team_counts

#: What the blocking check compares; the synthetic league also matches COUNTED in full.
CHECKED = ("pts",)


def box_score_mismatches(
    events: pd.DataFrame, team_box: pd.DataFrame, columns: Sequence[str] = CHECKED
) -> list[dict]:
    """Games whose events disagree with `team_boxscores` rows (game_id, team_id, matchup, ...).

    Per team: each of `columns` counted from the events equals the box score; per game: the
    score after the last event is the home and away `pts` (home: MATCHUP 'X vs. Y').
    """
    if not len(team_box):
        return []
    events = pd.DataFrame(events)  # without attrs, which pandas deep-copies on every access
    box = team_box[["game_id", "team_id", "matchup", *columns]].copy()
    box["team_id"] = box["team_id"].astype("int64")
    counted = team_counts(events) if len(events) else pd.DataFrame(columns=["game_id", "team_id"])
    counted = counted.reindex(columns=["game_id", "team_id", *columns]).astype({"team_id": "int64"})
    merged = box.merge(counted, on=["game_id", "team_id"], how="left", suffixes=("", "_events"))
    problems: dict[str, list[str]] = {}
    with_events = merged["game_id"].isin(set(events["game_id"]) if len(events) else set())
    for game_id in merged.loc[~with_events, "game_id"].unique():
        problems[game_id] = ["no play-by-play events"]
    merged = merged[with_events]
    for column in columns:
        got = merged[f"{column}_events"].fillna(0).astype("int64")
        bad = merged[column].isna() | (merged[column].fillna(-1).astype("int64") != got)
        for row, value in zip(merged[bad].itertuples(index=False), got[bad], strict=True):
            problems.setdefault(row.game_id, []).append(
                f"team {row.team_id} {column}: box {getattr(row, column)}, events {value}"
            )
    if "pts" in columns and len(merged):
        problems_by_final = _final_score_mismatches(events, merged)
        for game_id, text in problems_by_final:
            problems.setdefault(game_id, []).append(text)
    return [{"game_id": g, "problems": p} for g, p in sorted(problems.items())]


def _final_score_mismatches(events: pd.DataFrame, merged: pd.DataFrame) -> list[tuple[str, str]]:
    """Games whose last event's score is not (home pts, away pts); home is 'X vs. Y'."""
    home = merged["matchup"].str.contains(" vs. ", regex=False, na=False)
    expected = pd.DataFrame(
        {
            "home_pts": merged[home].set_index("game_id")["pts"],
            "away_pts": merged[~home].set_index("game_id")["pts"],
        }
    ).dropna()
    finals = final_scores(events).set_index("game_id").reindex(expected.index)
    bad = (finals["score_home"] != expected["home_pts"]) | (
        finals["score_away"] != expected["away_pts"]
    )
    return [
        (
            game_id,
            f"final score {finals.at[game_id, 'score_home']}-{finals.at[game_id, 'score_away']}, "
            f"box {expected.at[game_id, 'home_pts']}-{expected.at[game_id, 'away_pts']}",
        )
        for game_id in expected.index[bad.fillna(True)]
    ]
