"""PlayByPlayV3 bodies to typed event rows, and the box-score counts those events imply."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from nba_assets.schemas import PLAY_BY_PLAY
from nba_assets.source.parsing import ParseError, to_table

#: V3 camelCase field -> our column (the rest are plain snake_case conversions).
V3_FIELDS = {
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


#: Each game of a batch: (game_id, game_date, number of its actions), in input order.
Sizes = list[tuple[str, dt.date, int]]


def parse_play_by_play_games(
    games: Sequence[tuple[Mapping, str, dt.date]],
) -> pd.DataFrame:
    """PlayByPlayV3 bodies of several games as one typed frame: clock in seconds, scores carried
    forward, team events given their team. Typing once per batch (a day), column-wise in Arrow
    (`typed_table`), keeps re-deriving fast; `generic_table` types what that path declines."""
    records, sizes = collect_actions(games)
    if not records:
        return PLAY_BY_PLAY.empty()
    fast = typed_table(records, sizes)
    return fast if fast is not None else generic_table(records, sizes)


def collect_actions(games: Sequence[tuple[Mapping, str, dt.date]]) -> tuple[list[dict], Sizes]:
    """Every game's actions in one list; a game without any, or another game's, fails naming it."""
    records: list[dict] = []
    sizes: Sizes = []
    for body, game_id, game_date in games:
        actions = play_by_play_actions(body)
        if not actions:
            raise NoPlayByPlay(f"play_by_play: game {game_id} ({game_date}) has no events")
        served = str((body.get("game") or {}).get("gameId", game_id))
        if served.zfill(10) != game_id:
            raise ParseError(f"play_by_play: asked for game {game_id}, the response is {served!r}")
        records += actions
        sizes.append((game_id, game_date, len(actions)))
    return records, sizes


def generic_table(records: list[dict], sizes: Sizes) -> pd.DataFrame:
    """The actions as a frame of objects, typed value by value through `to_table`."""
    frame = pd.DataFrame.from_records(records).rename(columns=V3_FIELDS)
    frame["game_id"] = [g for g, _, n in sizes for _ in range(n)]
    frame["game_date"] = [d for _, d, n in sizes for _ in range(n)]
    for name in V3_FIELDS.values():
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


#: Our column -> the Arrow types its V3 field may carry in JSON for the column-wise path.
_JSON_TYPES = {
    c.name: (pa.string(),) if c.kind == "string" else (pa.int64(),)
    for c in PLAY_BY_PLAY.columns
    if c.name in V3_FIELDS.values()
}
_JSON_TYPES |= {"clock": (pa.string(),), "score_home": (pa.string(), pa.int64())}
_JSON_TYPES["score_away"] = _JSON_TYPES["score_home"]
_CLOCK = r"PT(?P<minutes>[0-9]+)M(?P<seconds>[0-9.]+)S"
_INT64 = {pa.int64(): pd.Int64Dtype()}


def typed_table(records: list[dict], sizes: Sizes) -> pd.DataFrame | None:
    """The same table as `generic_table`, built column-wise in Arrow; None when a value is not
    of its field's usual JSON type (the generic path then types it, or names what does not fit)."""
    dates_plain = all(type(d) is dt.date for _, d, _ in sizes)
    if not dates_plain or len({g for g, _, _ in sizes}) < len(sizes):
        return None  # datetimes for dates, a game twice: rare, left to the generic path
    raw = {}
    for field, name in V3_FIELDS.items():
        try:
            array = pa.array([action.get(field) for action in records])
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            return None
        if array.type == pa.null():
            array = array.cast(_JSON_TYPES[name][0])
        if array.type not in _JSON_TYPES[name]:
            return None  # floats in an int field, numbers in a text one, booleans, ...
        raw[name] = array
    try:
        columns = _derive(raw, sizes)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if columns is None or any(
        columns[c.name].null_count for c in PLAY_BY_PLAY.columns if not c.nullable
    ):
        return None  # the generic path raises, naming the column
    table = pa.table([columns[c.name] for c in PLAY_BY_PLAY.columns], names=PLAY_BY_PLAY.names)
    return table.to_pandas(types_mapper=_INT64.get)


def _derive(raw: dict[str, pa.Array], sizes: Sizes) -> dict[str, pa.Array] | None:
    """`generic_table`'s rules on Arrow arrays; None where only the generic path agrees."""
    out = dict(raw)
    game = pa.array(np.repeat(np.arange(len(sizes)), [n for _, _, n in sizes]))
    out["game_id"] = pa.array([g for g, _, _ in sizes], pa.string()).take(game)
    out["game_date"] = pa.array([d for _, d, _ in sizes], pa.date32()).take(game)
    clock = raw["clock"]
    parts = pc.extract_regex(clock, _CLOCK).flatten()
    if parts[0].null_count != clock.null_count:
        return None  # a clock not of the usual form: the generic reading decides
    minutes, seconds = (part.cast(pa.float64()) for part in parts)
    out["clock"] = pc.add(pc.multiply(minutes, 60.0), seconds)
    for side in ("score_home", "score_away"):
        out[side] = _carried_score(raw[side], sizes)
        if out[side] is None:
            return None
    team, person = raw["team_id"], raw["person_id"]
    team_event = pc.and_(
        pc.fill_null(pc.equal(team, 0), True),
        pc.fill_null(
            pc.and_(pc.greater_equal(person, _TEAM_IDS[0]), pc.less_equal(person, _TEAM_IDS[1])),
            False,
        ),
    )
    team = pc.if_else(team_event, person, team)
    person = pc.if_else(team_event, pa.scalar(None, pa.int64()), person)
    for name, ids in (("team_id", team), ("person_id", person)):
        out[name] = pc.if_else(
            pc.fill_null(pc.equal(ids, 0), False), pa.scalar(None, pa.int64()), ids
        )
    for name in _BLANK_AS_NULL:
        blank = pc.fill_null(pc.equal(raw[name], ""), False)
        out[name] = pc.if_else(blank, pa.scalar(None, pa.string()), raw[name])
    shot = pc.fill_null(pc.equal(raw["is_field_goal"], 1), False)
    for name in _SHOT_ONLY:
        out[name] = pc.if_else(shot, raw[name], pa.scalar(None, pa.int64()))
    return out


def _carried_score(score: pa.Array, sizes: Sizes) -> pa.Array | None:
    """The score after each event: blanks carry the game's last score forward (0 before any)."""
    if score.type == pa.string():
        score = pc.if_else(
            pc.fill_null(pc.equal(score, ""), False), pa.scalar(None, pa.string()), score
        )
        if pc.any(pc.invert(pc.match_substring_regex(score, "^[0-9]+$"))).as_py():
            return None  # '3.0', ' 3': to_numeric's reading, through the generic path
        score = score.cast(pa.int64())
    offsets = itertools.accumulate((n for _, _, n in sizes), initial=0)
    games = [
        pc.fill_null(pc.fill_null_forward(score.slice(lo, hi - lo)), 0)
        for lo, hi in itertools.pairwise(offsets)
    ]
    return pa.concat_arrays(games)


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
    (no player) is not in the box score. Counted in numpy: the check runs on every day.
    """
    events = pd.DataFrame(events)  # without attrs, which pandas deep-copies on every access
    kind = events["action_type"].to_numpy(dtype=object)
    fg = events["is_field_goal"].to_numpy(dtype="int64", na_value=0) == 1
    made = fg & (events["shot_result"].to_numpy(dtype=object) == "Made")
    three = events["shot_value"].to_numpy(dtype="int64", na_value=0) == 3
    ft = kind == "Free Throw"
    ft_made = ft.copy()
    missed = [isinstance(d, str) and d.startswith("MISS") for d in events["description"][ft]]
    ft_made[ft] = ~np.array(missed, dtype=bool)
    counted = {
        "fgm": made,
        "fga": fg,
        "fg3m": made & three,
        "fg3a": fg & three,
        "ftm": ft_made,
        "fta": ft,
        "reb": (kind == "Rebound") & events["person_id"].notna().to_numpy(),
        "tov": kind == "Turnover",
    }
    team = events["team_id"]
    keep = team.notna().to_numpy()
    stats = pd.DataFrame(np.column_stack(list(counted.values()))[keep].astype("int64"))
    stats.columns = list(counted)
    keys = [events["game_id"][keep].reset_index(drop=True), team[keep].reset_index(drop=True)]
    summed = stats.groupby(keys, sort=True).sum()
    summed["pts"] = 2 * summed["fgm"] + summed["fg3m"] + summed["ftm"]
    return summed.reset_index()


def final_scores(events: pd.DataFrame) -> pd.DataFrame:
    """Per game: the home and away score after its last event (the highest action_id)."""
    events = pd.DataFrame(events)  # without attrs, which pandas deep-copies on every access
    columns = ["game_id", "score_home", "score_away"]
    if not len(events):
        return events[columns].reset_index(drop=True)
    games, _ = pd.factorize(events["game_id"], sort=True)
    order = np.lexsort((events["action_id"].to_numpy(dtype="int64", na_value=-1), games))
    last = np.append(np.flatnonzero(np.diff(games[order])), len(order) - 1)
    return events[columns].iloc[order[last]].reset_index(drop=True)
