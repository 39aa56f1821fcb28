"""PlayByPlayV3 bodies to typed event rows, and the box-score counts those events imply."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from nba_assets.parsing import ParseError, to_table
from nba_assets.schemas import PLAY_BY_PLAY

#: V3 camelCase field -> our column (the rest are plain snake_case conversions).
_FIELDS = {
    "actionId": "action_id",
    "actionNumber": "action_number",
    "period": "period",
    "clock": "clock",
    "teamId": "team_id",
    "teamTricode": "team_tricode",
    "personId": "person_id",
    "playerName": "player_name",
    "playerNameI": "player_name_i",
    "location": "location",
    "actionType": "action_type",
    "subType": "sub_type",
    "description": "description",
    "scoreHome": "score_home",
    "scoreAway": "score_away",
    "isFieldGoal": "is_field_goal",
    "shotValue": "shot_value",
    "shotResult": "shot_result",
    "shotDistance": "shot_distance",
    "xLegacy": "x_legacy",
    "yLegacy": "y_legacy",
    "videoAvailable": "video_available",
}
_BLANK_AS_NULL = ("team_tricode", "player_name", "player_name_i", "location", "action_type")
_BLANK_AS_NULL += ("sub_type", "shot_result")
_SHOT_ONLY = ("shot_distance", "x_legacy", "y_legacy")
#: Every NBA franchise id lies in this block; V3 puts the team there for team events.
_TEAM_IDS = (1610612700, 1610612800)


class NoPlayByPlay(ParseError):
    """A game whose play-by-play response holds no events."""


def play_by_play_actions(body: Mapping) -> list[dict]:
    game = body.get("game") or {}
    return list(game.get("actions") or [])


def parse_play_by_play(body: Mapping, game_id: str, game_date: dt.date) -> pd.DataFrame:
    """One PlayByPlayV3 body as typed rows (see parse_play_by_play_games)."""
    return parse_play_by_play_games([(body, game_id, game_date)])


def parse_play_by_play_games(
    games: Sequence[tuple[Mapping, str, dt.date]],
) -> pd.DataFrame:
    """PlayByPlayV3 bodies of several games as one typed frame: clock in seconds, scores carried
    forward, team events given their team. Typing once per batch (a day) keeps re-deriving fast."""
    records: list[dict] = []
    game_ids: list[str] = []
    game_dates: list[dt.date] = []
    for body, game_id, game_date in games:
        actions = play_by_play_actions(body)
        if not actions:
            raise NoPlayByPlay(f"play_by_play: game {game_id} ({game_date}) has no events")
        served = str((body.get("game") or {}).get("gameId", game_id))
        if served.zfill(10) != game_id:
            raise ParseError(f"play_by_play: asked for game {game_id}, the response is {served!r}")
        records += actions
        game_ids += [game_id] * len(actions)
        game_dates += [game_date] * len(actions)
    if not records:
        return PLAY_BY_PLAY.empty()
    frame = pd.DataFrame.from_records(records).rename(columns=_FIELDS)
    frame["game_id"], frame["game_date"] = game_ids, game_dates
    for name in _FIELDS.values():
        if name not in frame.columns:
            frame[name] = None
    frame["clock"] = clock_seconds(frame["clock"])
    for side in ("score_home", "score_away"):
        # V3 leaves the score blank on events that do not change it: carry it forward per game
        score = pd.to_numeric(frame[side].replace("", np.nan), errors="raise")
        frame[side] = score.groupby(frame["game_id"], sort=False).ffill().fillna(0)
    team_event = (frame["team_id"].fillna(0) == 0) & frame["person_id"].between(*_TEAM_IDS)
    frame.loc[team_event, "team_id"] = frame.loc[team_event, "person_id"]
    frame.loc[team_event, "person_id"] = 0
    for name in ("team_id", "person_id"):
        frame[name] = frame[name].where(frame[name].fillna(0) != 0, None)
    for name in _BLANK_AS_NULL:
        frame[name] = frame[name].where(frame[name].fillna("") != "", None)
    not_shot = frame["is_field_goal"].fillna(0) != 1
    for name in _SHOT_ONLY:
        frame[name] = frame[name].astype("object").where(~not_shot, None)
    return to_table(PLAY_BY_PLAY, frame)


def clock_seconds(clock: pd.Series) -> pd.Series:
    """'PT11M41.00S' -> 701.0 seconds remaining in the period."""
    parts = clock.astype("string").str.extract(r"PT(\d+)M([\d.]+)S")
    return parts[0].astype("float64") * 60 + parts[1].astype("float64")


#: Box-score columns play-by-play events can be counted into.
COUNTED = ("fgm", "fga", "fg3m", "fg3a", "ftm", "fta", "reb", "tov", "pts")


def team_counts(events: pd.DataFrame) -> pd.DataFrame:
    """Per (game_id, team_id): shots, free throws, player rebounds, turnovers and points.

    V3's conventions: a field goal has is_field_goal 1 and a shot_result; a free throw has
    neither, and a missed one is known only by its description ('MISS ...'); a team rebound
    (no player) is not in the box score.
    """
    kind = events["action_type"]
    fg = events["is_field_goal"].fillna(0).eq(1)
    made = fg & events["shot_result"].eq("Made")
    three = events["shot_value"].fillna(0).eq(3)
    ft = kind.eq("Free Throw")
    ft_made = ft & ~events["description"].fillna("").str.startswith("MISS")
    counts = pd.DataFrame(
        {
            "game_id": events["game_id"],
            "team_id": events["team_id"],
            "fgm": made,
            "fga": fg,
            "fg3m": made & three,
            "fg3a": fg & three,
            "ftm": ft_made,
            "fta": ft,
            "reb": kind.eq("Rebound") & events["person_id"].notna(),
            "tov": kind.eq("Turnover"),
        }
    )
    counts = counts[counts["team_id"].notna()]
    summed = counts.groupby(["game_id", "team_id"], sort=True).sum().astype("int64")
    summed["pts"] = 2 * summed["fgm"] + summed["fg3m"] + summed["ftm"]
    return summed.reset_index()


def final_scores(events: pd.DataFrame) -> pd.DataFrame:
    """Per game: the home and away score after its last event."""
    ordered = events[["game_id", "action_id", "score_home", "score_away"]]
    last = ordered.sort_values(["game_id", "action_id"]).drop_duplicates("game_id", keep="last")
    return last[["game_id", "score_home", "score_away"]].reset_index(drop=True)
