"""Stage `features`: one training row per game; every feature uses only games strictly before its date.

Team form comes from the team box scores alone: season-to-date record and ratings (points per
100 possessions), form over the last `window` games, record at the same venue, and rest days.
Labels: `home_win` and `point_margin` (home minus away points).
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from nba_assets.partitions import season_of

SIDES = ("home", "away")
#: Per-team features; each appears as home_<name> and away_<name>.
TEAM_FEATURES: dict[str, pa.DataType] = {
    "games_before": pa.int32(),
    "win_pct": pa.float64(),
    "off_rating": pa.float64(),
    "def_rating": pa.float64(),
    "net_rating": pa.float64(),
    "form_win_pct": pa.float64(),
    "form_margin": pa.float64(),
    "venue_win_pct": pa.float64(),
    "rest_days": pa.int32(),
}
FEATURES_SCHEMA = pa.schema(
    [
        pa.field("game_id", pa.string(), nullable=False),
        pa.field("game_date", pa.date32(), nullable=False),
        pa.field("season", pa.string(), nullable=False),
        pa.field("season_type", pa.string()),
        pa.field("home_team_id", pa.int64(), nullable=False),
        pa.field("away_team_id", pa.int64(), nullable=False),
        *(
            pa.field(f"{side}_{name}", kind)
            for side in SIDES
            for name, kind in TEAM_FEATURES.items()
        ),
        pa.field("home_win", pa.bool_(), nullable=False),
        pa.field("point_margin", pa.int32(), nullable=False),
    ]
)
LABELS = ("home_win", "point_margin")
_BOX_COLUMNS = [
    "game_id",
    "game_date",
    "season_type",
    "team_id",
    "matchup",
    "pts",
    "fga",
    "fta",
    "oreb",
    "tov",
]


class FeatureInputError(ValueError):
    """Team box scores that cannot be paired into games."""


def team_games(box: pd.DataFrame) -> pd.DataFrame:
    """One row per team per game with its opponent's points and possessions, in date order per team."""
    games = box[_BOX_COLUMNS].copy()
    games["game_date"] = pd.to_datetime(games["game_date"])
    games["is_home"] = games["matchup"].str.contains(" vs. ", regex=False).astype(bool)
    _check_pairs(games)
    for column in ("pts", "fga", "fta", "oreb", "tov"):
        games[column] = games[column].astype("float64")
    # the usual possession estimate from box-score counts
    games["poss"] = games["fga"] - games["oreb"] + games["tov"] + 0.44 * games["fta"]
    opponent = games[["game_id", "team_id", "pts", "poss"]].rename(
        columns={"team_id": "opp_team_id", "pts": "opp_pts", "poss": "opp_poss"}
    )
    games = games.merge(opponent, on="game_id")
    games = games[games["team_id"] != games["opp_team_id"]].copy()
    games["season"] = [season_of(d.date()) for d in games["game_date"]]
    games["win"] = (games["pts"] > games["opp_pts"]).astype("float64")
    games["margin"] = games["pts"] - games["opp_pts"]
    games = games.sort_values(["season", "team_id", "game_date", "game_id"], kind="mergesort")
    twice = games.duplicated(["team_id", "game_date"], keep=False)
    if twice.any():
        row = games[twice].iloc[0]
        raise FeatureInputError(
            f"team {row.team_id} has two games on {row.game_date.date()}: "
            "'strictly before the date' needs one game per team per day"
        )
    return games.reset_index(drop=True)


def _check_pairs(games: pd.DataFrame) -> None:
    counts = games.groupby("game_id")["is_home"].agg(["size", "sum"])
    bad = counts[(counts["size"] != 2) | (counts["sum"] != 1)]
    if len(bad):
        raise FeatureInputError(
            f"{len(bad)} game(s) without exactly one home and one away team row, e.g. "
            f"{', '.join(bad.index[:3])}: a partition may be half-materialized"
        )


def add_team_form(games: pd.DataFrame, window: int) -> pd.DataFrame:
    """Features of each team-game from that team's earlier games of the season only."""
    if window < 1:
        raise ValueError(f"features.window must be at least 1, got {window}")
    by_team = games.groupby(["season", "team_id"], sort=False)

    def before(column: str) -> pd.Series:
        # cumulative sum through this game minus this game: everything strictly before its date
        return by_team[column].cumsum() - games[column]

    out = games.copy()
    played = by_team.cumcount()
    out["games_before"] = played
    out["win_pct"] = before("win") / played.where(played > 0)
    out["off_rating"] = 100 * before("pts") / before("poss").where(played > 0)
    out["def_rating"] = 100 * before("opp_pts") / before("opp_poss").where(played > 0)
    out["net_rating"] = out["off_rating"] - out["def_rating"]
    for name, column in (("form_win_pct", "win"), ("form_margin", "margin")):
        out[name] = by_team[column].transform(
            lambda s: s.shift(1).rolling(window, min_periods=1).mean()
        )
    by_venue = games.groupby(["season", "team_id", "is_home"], sort=False)
    venue_played = by_venue.cumcount()
    out["venue_win_pct"] = (by_venue["win"].cumsum() - games["win"]) / venue_played.where(
        venue_played > 0
    )
    out["rest_days"] = (games["game_date"] - by_team["game_date"].shift(1)).dt.days
    return out


def build_features(box: pd.DataFrame, window: int) -> pd.DataFrame:
    """Game-level rows: home and away team features side by side, plus the labels."""
    form = add_team_form(team_games(box), window)
    keep = ["game_id", "team_id", *TEAM_FEATURES]
    home = form[form["is_home"]]
    away = (
        form[~form["is_home"]][keep].add_prefix("away_").rename(columns={"away_game_id": "game_id"})
    )
    rows = home[
        [
            "game_id",
            "game_date",
            "season",
            "season_type",
            "team_id",
            "pts",
            "opp_pts",
            *TEAM_FEATURES,
        ]
    ]
    rows = rows.rename(
        columns={"team_id": "home_team_id", **{f: f"home_{f}" for f in TEAM_FEATURES}}
    )
    rows = rows.merge(away, on="game_id", validate="one_to_one")
    rows["home_win"] = rows["pts"] > rows["opp_pts"]
    rows["point_margin"] = (rows["pts"] - rows["opp_pts"]).astype("int64")
    rows["game_date"] = rows["game_date"].dt.date
    rows = rows.sort_values(["game_date", "game_id"], kind="mergesort").reset_index(drop=True)
    return rows[FEATURES_SCHEMA.names]


def features_table(box: pd.DataFrame, window: int) -> pa.Table:
    """The features as an Arrow table in the explicit schema (the stage's output)."""
    frame = build_features(box, window)
    return pa.Table.from_pandas(frame, schema=FEATURES_SCHEMA, preserve_index=False)
