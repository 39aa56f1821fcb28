"""Team splits: home/road, by month and head-to-head records and margins from game lines."""

from __future__ import annotations

import pandas as pd

from nba_assets.derived.season_stats import with_opponents, with_season
from nba_assets.schemas import TEAM_SPLITS, conform

_KEY = ["team_id", "season", "season_type"]


def location(matchup: pd.Series) -> pd.Series:
    """'NYK vs. BOS' is a home game, 'BOS @ NYK' a road game (the game logs' MATCHUP)."""
    return matchup.str.contains("@", regex=False).map({True: "Road", False: "Home"})


def _opponent_abbreviations(box: pd.DataFrame) -> pd.DataFrame:
    other = box[["game_id", "team_id", "team_abbreviation"]].rename(
        columns={"team_id": "vs_team_id", "team_abbreviation": "vs_abbreviation"}
    )
    paired = box[["game_id", "team_id"]].merge(other, on="game_id")
    paired = paired[paired["team_id"] != paired["vs_team_id"]]
    return paired.astype({"vs_team_id": "Int64"})


def split_lines(team_box: pd.DataFrame) -> pd.DataFrame:
    """Each team game once per group set, labelled with its group value."""
    lines = with_opponents(with_season(team_box))
    lines = lines.merge(_opponent_abbreviations(team_box), on=["game_id", "team_id"], how="left")
    months = pd.to_datetime(lines["game_date"]).dt.month_name()
    none = pd.array([pd.NA] * len(lines), dtype="Int64")
    sets = {
        "Location": lines.assign(group_value=location(lines["matchup"]), vs_team_id=none),
        "Month": lines.assign(group_value=months, vs_team_id=none),
        "Opponent": lines.assign(group_value=lines["vs_abbreviation"]),
    }
    return pd.concat(
        [frame.assign(group_set=name) for name, frame in sets.items()], ignore_index=True
    )


def team_splits(team_box: pd.DataFrame) -> pd.DataFrame:
    """team_boxscores rows to team_splits rows."""
    if team_box.empty:
        return TEAM_SPLITS.empty()
    lines = split_lines(team_box).sort_values([*_KEY, "game_date", "game_id"], kind="stable")
    key = [*_KEY, "group_set", "group_value"]
    grouped = lines.groupby(key, sort=True, dropna=False)
    table = grouped[["pts", "opp_pts"]].sum(min_count=1)
    table["gp"] = grouped.size()
    table["w"] = grouped["wl"].agg(lambda wl: int((wl == "W").sum()))
    table["l"] = grouped["wl"].agg(lambda wl: int((wl == "L").sum()))
    table["team_abbreviation"] = grouped["team_abbreviation"].last()
    table["vs_team_id"] = grouped["vs_team_id"].last()
    table = table.reset_index()
    games = table["gp"].astype("float64")
    table = table.assign(
        w_pct=table["w"] / games,
        pts_per_game=table["pts"] / games,
        opp_pts_per_game=table["opp_pts"] / games,
        margin_per_game=(table["pts"] - table["opp_pts"]) / games,
    )
    return conform(TEAM_SPLITS, table)
