"""Stage `features`: one training row per game; every feature uses only games strictly before its date.

Team form comes from the team box scores: season-to-date record and ratings (points per
100 possessions), form over the last `window` games, record at the same venue, and rest days.
Labels: `home_win` and `point_margin` (home minus away points).

Home and away come from the schedule, which names the home team; the box scores' matchup
string is only a fallback for games the pinned schedule does not list, and it can be wrong
(the real log lists 0022500147 as "DAL @ DET" for both teams). A game neither settles is left
out of the rows and named in the stage's report, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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


@dataclass
class HomeAway:
    """Which row of each game is the home team's, and on what authority."""

    rows: pd.DataFrame  # the box rows of the games settled, with `is_home`
    from_schedule: int = 0
    from_matchup: int = 0
    excluded: list[dict[str, Any]] = field(default_factory=list)

    def report(self) -> dict[str, Any]:
        """The stage's account of home and away (a DVC metrics file)."""
        return {
            "games": self.from_schedule + self.from_matchup,
            "home_away_from_schedule": self.from_schedule,
            "home_away_from_matchup": self.from_matchup,
            "excluded_games": len(self.excluded),
            "excluded": self.excluded,
        }


def assign_home(box: pd.DataFrame, schedule: pd.DataFrame | None = None) -> HomeAway:
    """`is_home` per team row: the schedule's home team; for a game it does not list, the
    matchup ("vs." at home) when its two rows agree. Games with a row count other than two
    are a half-materialized input and an error; games neither source settles are excluded."""
    games = box[_BOX_COLUMNS].copy()
    _check_pairs(games)
    home_team = _scheduled_home(games, schedule)
    listed = games["game_id"].isin(home_team.index)
    by_schedule = games["team_id"] == games["game_id"].map(home_team)
    by_matchup = games["matchup"].str.contains(" vs. ", regex=False).fillna(False).astype(bool)
    games["is_home"] = by_schedule.where(listed, by_matchup)
    homes = games.groupby("game_id")["is_home"].sum()
    settled = homes[homes == 1].index
    excluded = sorted(set(games["game_id"]) - set(settled))
    scheduled = set(games.loc[listed, "game_id"])
    return HomeAway(
        rows=games[games["game_id"].isin(settled)].reset_index(drop=True),
        from_schedule=len(set(settled) & scheduled),
        from_matchup=len(set(settled) - scheduled),
        excluded=[_why_excluded(games, g, g in scheduled) for g in excluded],
    )


def _scheduled_home(games: pd.DataFrame, schedule: pd.DataFrame | None) -> pd.Series:
    """game_id -> home team id, for the games the schedule lists."""
    if schedule is None or schedule.empty:
        return pd.Series(dtype="int64")
    listed = schedule.drop_duplicates("game_id").set_index("game_id")
    return listed.loc[listed.index.isin(games["game_id"]), "home_team_id"].astype("int64")


def _why_excluded(games: pd.DataFrame, game_id: str, scheduled: bool) -> dict[str, Any]:
    rows = games[games["game_id"] == game_id]
    why = (
        "neither team row is the schedule's home team"
        if scheduled
        else "not on the pinned schedule, and both rows' matchups say the same side"
    )
    return {
        "game_id": game_id,
        "game_date": str(rows["game_date"].iloc[0])[:10],
        "matchups": sorted(rows["matchup"].astype(str)),
        "why": why,
    }


def team_games(home_away: HomeAway) -> pd.DataFrame:
    """One row per team per game with its opponent's points and possessions, in date order per team."""
    games = home_away.rows.copy()
    games["game_date"] = pd.to_datetime(games["game_date"])
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
    counts = games.groupby("game_id").size()
    bad = counts[counts != 2]
    if len(bad):
        raise FeatureInputError(
            f"{len(bad)} game(s) without exactly two team rows, e.g. "
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


def build_features(
    box: pd.DataFrame, window: int, schedule: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Game-level rows: home and away team features side by side, plus the labels."""
    return _game_rows(assign_home(box, schedule), window)


def _game_rows(home_away: HomeAway, window: int) -> pd.DataFrame:
    form = add_team_form(team_games(home_away), window)
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


def features_table(
    box: pd.DataFrame, window: int, schedule: pd.DataFrame | None = None
) -> tuple[pa.Table, dict[str, Any]]:
    """The features as an Arrow table in the explicit schema (the stage's output), and the
    report of where home and away came from."""
    home_away = assign_home(box, schedule)
    frame = _game_rows(home_away, window)
    table = pa.Table.from_pandas(frame, schema=FEATURES_SCHEMA, preserve_index=False)
    return table, home_away.report()
