"""Play-by-play against the box scores: plain functions the blocking asset check runs per day."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from nba_assets.parsing_pbp import final_scores, team_counts

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
    box = team_box[["game_id", "team_id", "matchup", *columns]].copy()
    box["team_id"] = box["team_id"].astype("int64")
    counted = team_counts(events) if len(events) else pd.DataFrame(columns=["game_id", "team_id"])
    counted = counted[["game_id", "team_id", *columns]].astype({"team_id": "int64"})
    merged = box.merge(counted, on=["game_id", "team_id"], how="left", suffixes=("", "_events"))
    problems: dict[str, list[str]] = {}
    with_events = set(events["game_id"]) if len(events) else set()
    for row in merged.itertuples(index=False):
        row = row._asdict()
        if row["game_id"] not in with_events:
            problems.setdefault(row["game_id"], ["no play-by-play events"])
            continue
        for column in columns:
            expected, got = row[column], row[f"{column}_events"]
            got = 0 if pd.isna(got) else int(got)
            if pd.isna(expected) or int(expected) != got:
                problems.setdefault(row["game_id"], []).append(
                    f"team {row['team_id']} {column}: box {expected}, events {got}"
                )
    finals = final_scores(events).set_index("game_id") if len(events) else None
    for game_id, rows in box.groupby("game_id", sort=True):
        if finals is None or game_id not in finals.index or "pts" not in rows:
            continue
        home = rows[rows["matchup"].str.contains(" vs. ", regex=False, na=False)]
        away = rows[rows["matchup"].str.contains(" @ ", regex=False, na=False)]
        if len(home) != 1 or len(away) != 1:
            continue
        final = finals.loc[game_id]
        expected = (int(home["pts"].iloc[0]), int(away["pts"].iloc[0]))
        got = (int(final["score_home"]), int(final["score_away"]))
        if expected != got:
            problems.setdefault(game_id, []).append(
                f"final score {got[0]}-{got[1]}, box {expected[0]}-{expected[1]}"
            )
    return [{"game_id": g, "problems": p} for g, p in sorted(problems.items())]
