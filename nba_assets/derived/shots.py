"""Every field-goal attempt from play-by-play, with its assist and block, reconciled with the
box score: pure pandas over `play_by_play` rows, 0 requests.

PlayByPlayV3 names the assisting player only in the made shot's text ("(Love 1 AST)") and the
blocker in a separate BLOCK event at the same clock; both are resolved to player ids here. V3
carries no shot area or zone (ShotChartDetail does); `shot_zone_range` is derived from the
distance with the NBA's bands.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from nba_assets.derived.lineups import in_stints
from nba_assets.derived.names import plain_name
from nba_assets.derived.season_stats import with_season
from nba_assets.schemas import SHOTS, conform

_ASSIST = r"\((?P<name>[^()]+?) \d+ AST\)\s*$"
_BLOCK = r"^(?P<name>.+?) BLOCK \(\d+ BLK\)"
#: The NBA's SHOT_ZONE_RANGE bands by distance in feet (upper bound exclusive).
ZONE_RANGES = ((8, "Less Than 8 ft."), (16, "8-16 ft."), (24, "16-24 ft."))
BACK_COURT_FEET = 47
#: The play_by_play columns shots read (the step reads no others).
EVENT_COLUMNS = (
    *("game_id", "game_date", "action_id", "period", "clock", "team_id", "team_tricode"),
    *("person_id", "player_name", "action_type", "sub_type", "description", "is_field_goal"),
    *("shot_value", "shot_result", "shot_distance", "x_legacy", "y_legacy"),
)


def zone_range(distance: pd.Series, y_legacy: pd.Series) -> pd.Series:
    """SHOT_ZONE_RANGE from the distance; beyond half court (y > 47 ft) it is a back-court shot."""
    feet = distance.astype("float64")
    out = pd.Series("24+ ft.", index=distance.index, dtype="object")
    for bound, label in reversed(ZONE_RANGES):
        out = out.mask(feet < bound, label)
    out = out.mask(y_legacy.astype("float64") > BACK_COURT_FEET * 10, "Back Court Shot")
    return out.where(distance.notna(), None)


def _names(events: pd.DataFrame) -> pd.DataFrame:
    """(game, team, last name as the feed writes it) -> player id, from the players' own events."""
    named = events[["game_id", "team_id", "player_name", "person_id"]].dropna()
    named = named.drop_duplicates(["game_id", "team_id", "player_name"])
    plain = {name: plain_name(name) for name in pd.unique(named["player_name"])}
    named = named.assign(player_name=named["player_name"].map(plain))
    return named.drop_duplicates(["game_id", "team_id", "player_name"])


def _assists(shots: pd.DataFrame, names: pd.DataFrame) -> pd.Series:
    """The assisting player of each made shot, by name within the shooter's team and game."""
    named = shots["description"].str.extract(_ASSIST)["name"]
    named = named.map({name: plain_name(name) for name in pd.unique(named.dropna())})
    asked = pd.DataFrame(
        {"game_id": shots["game_id"], "team_id": shots["team_id"], "player_name": named}
    )
    found = asked.merge(names, on=["game_id", "team_id", "player_name"], how="left")
    return found["person_id"].set_axis(shots.index)


def _blocks(events: pd.DataFrame, shots: pd.DataFrame) -> pd.Series:
    """The blocker of each missed shot: a BLOCK event of the other team at the same clock."""
    maybe = events["description"].str.contains(" BLOCK (", regex=False, na=False)
    is_block = maybe & events["description"].where(maybe).str.match(_BLOCK, na=False)
    blocks = events.loc[is_block, ["game_id", "period", "clock", "action_id", "person_id"]]
    blocks = blocks.rename(columns={"action_id": "block_action", "person_id": "blocker"})
    missed = shots.loc[
        shots["shot_result"] == "Missed", ["game_id", "period", "clock", "action_id"]
    ]
    pairs = missed.reset_index().merge(blocks, on=["game_id", "period", "clock"])
    # the block follows its shot: the nearest later BLOCK event, each used once (in its game:
    # action ids repeat across games)
    pairs = pairs[pairs["block_action"] > pairs["action_id"]]
    block = ["game_id", "block_action"]
    pairs = pairs.sort_values([*block, "action_id"]).drop_duplicates(block)
    pairs = pairs.sort_values(["index", "block_action"]).drop_duplicates("index")
    return pairs.set_index("index")["blocker"].reindex(shots.index)


def shots(events: pd.DataFrame, stints: pd.DataFrame | None = None) -> pd.DataFrame:
    """play_by_play rows to one `shots` row per field-goal attempt, with the lineups on the
    floor from `lineup_stints` rows of the same games (null where a game has none)."""
    if events.empty:
        return SHOTS.empty()
    is_shot = events["is_field_goal"].fillna(0) == 1
    fg = with_season(events[is_shot])
    fg["assist_player_id"] = _assists(fg, _names(events))
    fg["block_player_id"] = _blocks(events, fg)
    three = fg["shot_value"] == 3
    table = fg.rename(
        columns={
            "person_id": "player_id",
            "team_tricode": "team_abbreviation",
            "action_type": "event_type",
            "sub_type": "action_type",
            "x_legacy": "loc_x",
            "y_legacy": "loc_y",
        }
    ).assign(
        shot_type=three.map({True: "3PT Field Goal", False: "2PT Field Goal"}),
        shot_made_flag=(fg["shot_result"] == "Made").astype("int64"),
        shot_zone_range=zone_range(fg["shot_distance"], fg["y_legacy"]),
    )
    table = on_court(table.sort_values(["game_date", "game_id", "action_id"]), stints)
    return conform(SHOTS, table)


def shots_of_parts(parts: Iterable[pd.DataFrame], stints: pd.DataFrame | None) -> pd.DataFrame:
    """`shots` over events handed a few whole days at a time, in game-date order: a season's
    run holds one part's events in pandas beside the compact rows found so far."""
    found = []
    for events in parts:
        games = None if stints is None else stints[stints["game_id"].isin(events["game_id"])]
        found.append(shots(events, games))
    rows = [part for part in found if len(part)]
    if len(rows) < 2:
        return rows[0] if rows else SHOTS.empty()
    return pd.concat(rows, ignore_index=True)


def on_court(shot_rows: pd.DataFrame, stints: pd.DataFrame | None) -> pd.DataFrame:
    """The stint and the ten players on the floor for each shot (by event order)."""
    players = [f"{side}_player_{n}" for side in ("home", "away") for n in range(1, 6)]
    if stints is None or stints.empty or shot_rows.empty:
        return shot_rows.assign(stint=None, **dict.fromkeys(players))
    located = in_stints(shot_rows, stints, "action_id")
    # a game without stints has none to fall in: merge_asof gives nothing for it
    return located.drop(columns=["home_team_id"])


def box_score_counts(shot_rows: pd.DataFrame) -> pd.DataFrame:
    """Per game and player: fga, fgm, fg3a, fg3m counted from shots."""
    three = shot_rows["shot_type"] == "3PT Field Goal"
    made = shot_rows["shot_made_flag"] == 1
    counts = pd.DataFrame(
        {
            "game_id": shot_rows["game_id"],
            "player_id": shot_rows["player_id"],
            "fga": 1,
            "fgm": made.astype(int),
            "fg3a": three.astype(int),
            "fg3m": (three & made).astype(int),
        }
    )
    return counts.groupby(["game_id", "player_id"]).sum().reset_index()


def reconcile(shot_rows: pd.DataFrame, player_box: pd.DataFrame) -> pd.DataFrame:
    """Player-games whose FGA, FGM, FG3A or FG3M from shots differ from the box score.

    Only games present in both are compared (a game without play-by-play has no shots).
    """
    stats = ["fga", "fgm", "fg3a", "fg3m"]
    box = player_box[player_box["game_id"].isin(shot_rows["game_id"])]
    box = box[["game_id", "player_id", *stats]].astype({s: "int64" for s in stats})
    counted = box_score_counts(shot_rows)
    both = box.merge(counted, on=["game_id", "player_id"], how="outer", suffixes=("", "_shots"))
    both = both.fillna(0)
    differs = pd.Series(False, index=both.index)
    for stat in stats:
        differs |= both[stat] != both[f"{stat}_shots"]
    return both[differs].reset_index(drop=True)
