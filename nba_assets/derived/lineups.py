"""Who is on the floor, stint by stint, and every possession, from play-by-play alone.

PlayByPlayV3 names the player leaving in a substitution (personId) and the one entering only
by last name in its text ("SUB: Osman FOR Stevens"); players also change between periods with
no event at all. So each period's five a side are inferred: everyone who acts in the period
before entering it was on the floor when it began, then whoever ended the last period and did
not act, then (rarely) the box score's players by minutes. The inference is checked against
each player's box-score minutes and, for the recorded game, against GameRotation.

Possessions follow the ball: the team of each field-goal attempt, free throw, turnover and
rebound has it. A possession ends when the next such event is the other team's, at the end of a
period, and at a made basket (not an and-one), a made last free throw or a turnover: the next
ball event starts a new one even for the same team, which is how the NBA counts a free throw
for a foul away from the play after a basket, or a technical free throw while the ball is dead
between possessions (during a possession a technical free throw changes nothing).
"""

from __future__ import annotations

import contextlib
import gc
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import pandas as pd

from nba_assets.derived.names import plain_name
from nba_assets.derived.season_stats import with_season
from nba_assets.schemas import LINEUP_STINTS, POSSESSIONS, TableSpec, conform

REGULATION_PERIOD = 720
OVERTIME_PERIOD = 300
_SUB = re.compile(r"^SUB: (?P<incoming>.+?) FOR (?P<outgoing>.+)$")
#: Events that say who has the ball (technical free throws only between possessions).
_BALL_EVENTS = ("Made Shot", "Missed Shot", "Free Throw", "Turnover", "Rebound")


def period_start(period: int) -> int:
    """Seconds from tip-off when `period` begins (12-minute quarters, 5-minute overtimes)."""
    if period <= 4:
        return (period - 1) * REGULATION_PERIOD
    return 4 * REGULATION_PERIOD + (period - 5) * OVERTIME_PERIOD


def period_length(period: int) -> int:
    return REGULATION_PERIOD if period <= 4 else OVERTIME_PERIOD


def elapsed(period: int, clock: float) -> float:
    """Seconds from tip-off of a moment `clock` seconds before the end of `period`."""
    return period_start(period) + period_length(period) - clock


class Event(NamedTuple):
    """One play_by_play row as plain Python values (None for nulls): a game is walked event by
    event, and pandas per event would cost more than the walk."""

    game_id: str
    action_id: int
    period: int
    clock: float
    team_id: int | None
    person_id: int | None
    player_name: str | None
    location: str | None
    action_type: str | None
    sub_type: str | None
    description: str | None
    score_home: int | None
    score_away: int | None


#: The play_by_play columns the lineups and possessions read (the step reads no others).
EVENT_COLUMNS = (*Event._fields, "game_date")


class BoxLine(NamedTuple):
    team_id: int
    player_id: int
    player_name: str | None
    min: float


def _plain(series: pd.Series) -> list:
    return series.to_numpy(dtype=object, na_value=None).tolist()


def event_records(events: pd.DataFrame) -> list[Event]:
    """play_by_play rows as Events, by game and event order."""
    ordered = events.sort_values(["game_id", "action_id"], kind="stable")
    columns = [_plain(ordered[f]) for f in Event._fields]
    with _no_cycle_collection():
        return list(map(Event._make, zip(*columns, strict=True)))


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """A season's 600k events and their stints are small acyclic objects; the cyclic collector
    would wake thousands of times while they are built (several times the work) for nothing."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def box_lines(player_box: pd.DataFrame | None) -> dict[str, list[BoxLine]]:
    """player_boxscores rows per game (team, player, name, whole minutes)."""
    if player_box is None or player_box.empty:
        return {}
    frame = player_box if "player_name" in player_box else player_box.assign(player_name=None)
    out: dict[str, list[BoxLine]] = {}
    columns = ("game_id", "team_id", "player_id", "player_name", "min")
    for game, team, player, name, minutes in zip(*(_plain(frame[c]) for c in columns), strict=True):
        out.setdefault(game, []).append(BoxLine(int(team), int(player), name, float(minutes or 0)))
    return out


def _records(events: pd.DataFrame | Sequence[Event]) -> list[Event]:
    return event_records(events) if isinstance(events, pd.DataFrame) else list(events)


def _lines(box: pd.DataFrame | Sequence[BoxLine] | None) -> list[BoxLine]:
    if box is None:
        return []
    if isinstance(box, pd.DataFrame):
        return [line for lines in box_lines(box).values() for line in lines]
    return list(box)


class LineupError(ValueError):
    """A period whose five a side cannot be inferred (more than five acted before any sub)."""


@dataclass
class Roster:
    """Resolves the names substitutions give to player ids, per team of one game."""

    by_name: dict[tuple[int, str], int] = field(default_factory=dict)
    full_names: dict[int, list[tuple[str, int]]] = field(default_factory=dict)

    @classmethod
    def of_game(cls, rows: Sequence[Event], box: Sequence[BoxLine]) -> Roster:
        roster = cls()
        for row in rows:
            if row.person_id is not None and row.player_name and row.team_id is not None:
                key = (row.team_id, plain_name(row.player_name))
                roster.by_name.setdefault(key, row.person_id)
        for line in box:
            if isinstance(line.player_name, str):
                entry = (plain_name(line.player_name), line.player_id)
                roster.full_names.setdefault(line.team_id, []).append(entry)
        return roster

    def resolve(self, team: int, name: str) -> int | None:
        key = plain_name(name)
        if (team, key) in self.by_name:
            return self.by_name[(team, key)]
        names = self.full_names.get(team, [])
        matches = [p for full, p in names if full == key or full.endswith(" " + key)]
        return matches[0] if len(matches) == 1 else None


def _is_sub(row) -> bool:
    return row.action_type == "Substitution"


def _acts_on_floor(row: Event) -> bool:
    """A player event only someone on the floor can make (technicals can be on the bench)."""
    if row.person_id is None or row.team_id is None or _is_sub(row):
        return False
    text = f"{row.sub_type or ''} {row.description or ''}"
    return "Technical" not in text and "T.FOUL" not in text and row.action_type != "Ejection"


def _sub_players(row: Event, roster: Roster) -> tuple[int, int | None]:
    match = _SUB.match(row.description or "")
    incoming = roster.resolve(row.team_id, match["incoming"]) if match else None
    return row.person_id, incoming


def period_starters(
    rows: list,
    team: int,
    carried: list[int],
    roster: Roster,
    by_minutes: list[int],
    owed: dict[int, float] | None = None,
) -> list[int]:
    """The five of `team` on the floor when the period began.

    `owed`: box-score seconds not yet covered by earlier periods' stints, per player; it picks
    between silent candidates (two players who ended the last period, one of whom sat).
    """
    starters: list[int] = []
    entered: set[int] = set()
    for row in rows:
        if row.team_id != team:
            continue
        if _is_sub(row):
            out, incoming = _sub_players(row, roster)
            if out not in entered and out not in starters:
                starters.append(out)
            if incoming is not None:
                entered.add(incoming)
        elif _acts_on_floor(row):
            person = row.person_id
            if person not in entered and person not in starters:
                starters.append(person)
    unplaced = [p for p in dict.fromkeys([*carried, *by_minutes]) if p not in starters]
    # a silent player: the one the box score still owes the most seconds (carried ones first)
    if owed:
        unplaced.sort(key=lambda p: -owed.get(p, 0.0))
    for candidate in unplaced:
        if len(starters) >= 5:
            break
        if candidate not in entered:
            starters.append(candidate)
    if len(starters) != 5:
        raise LineupError(f"team {team}: {len(starters)} players on the floor at a period start")
    return starters


@dataclass
class Stint:
    period: int
    start_clock: float
    lineups: dict[int, tuple[int, ...]]
    first_action: int
    end_clock: float = 0.0
    last_action: int = 0
    points: dict[int, int] = field(default_factory=dict)


def _points(rows: Sequence[Event], home: int, away: int) -> list[dict[int, int]]:
    """Points each event scored for each team, from the carried-forward score."""
    out, last_home, last_away = [], 0, 0
    for row in rows:
        h = row.score_home if row.score_home is not None else last_home
        a = row.score_away if row.score_away is not None else last_away
        out.append({home: h - last_home, away: a - last_away})
        last_home, last_away = h, a
    return out


def game_stints(
    events: pd.DataFrame | Sequence[Event],
    home: int,
    away: int,
    box: pd.DataFrame | Sequence[BoxLine] | None = None,
) -> list[Stint]:
    """Every stretch of one game with the same ten players, in order."""
    rows = _records(events)
    lines = _lines(box)
    roster = Roster.of_game(rows, lines)
    minutes = _by_minutes(lines)
    points = _points(rows, home, away)
    stints: list[Stint] = []
    carried: dict[int, list[int]] = {home: [], away: []}
    index = 0
    for period, group in _periods(rows):
        owed = _owed(lines, stints)
        floor = {
            team: period_starters(group, team, carried[team], roster, minutes.get(team, []), owed)
            for team in (home, away)
        }
        current = Stint(period, period_length(period), _frozen(floor), group[0].action_id)
        for row in group:
            scored = points[index]
            index += 1
            if _is_sub(row) and row.team_id in floor:
                out, incoming = _sub_players(row, roster)
                lineup = floor[row.team_id]
                if out in lineup and incoming is not None and incoming not in lineup:
                    if float(row.clock) < current.start_clock:
                        stints.append(_closed(current, float(row.clock)))
                        current = Stint(period, float(row.clock), {}, row.action_id)
                    lineup[lineup.index(out)] = incoming
                    current.lineups = _frozen(floor)
                continue
            current.last_action = row.action_id
            for team, pts in scored.items():
                current.points[team] = current.points.get(team, 0) + pts
        stints.append(_closed(current, 0.0))
        carried = {team: list(lineup) for team, lineup in floor.items()}
    return stints


def _owed(box: Sequence[BoxLine], stints: list[Stint]) -> dict[int, float]:
    """Box-score seconds (whole minutes in the game logs) not yet played in `stints`."""
    if not box:
        return {}
    played = player_seconds(stints)
    return {line.player_id: 60 * line.min - played.get(line.player_id, 0.0) for line in box}


def _closed(stint: Stint, clock: float) -> Stint:
    stint.end_clock = clock
    return stint


def _frozen(floor: dict[int, list[int]]) -> dict[int, tuple[int, ...]]:
    return {team: tuple(sorted(lineup)) for team, lineup in floor.items()}


def _games(rows: list[Event]) -> Iterator[tuple[str, list[Event]]]:
    begin = 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or rows[i].game_id != rows[begin].game_id:
            yield rows[begin].game_id, rows[begin:i]
            begin = i


def _periods(rows: list) -> Iterator[tuple[int, list]]:
    group: list = []
    for row in rows:
        if group and row.period != group[0].period:
            yield int(group[0].period), group
            group = []
        group.append(row)
    if group:
        yield int(group[0].period), group


def _by_minutes(box: Sequence[BoxLine]) -> dict[int, list[int]]:
    ordered: dict[int, list[int]] = {}
    for line in sorted(box, key=lambda line: -line.min):
        ordered.setdefault(line.team_id, []).append(line.player_id)
    return ordered


def player_seconds(stints: list[Stint]) -> dict[int, float]:
    """Seconds on the floor per player, from the stints."""
    seconds: dict[int, float] = {}
    for stint in stints:
        for lineup in stint.lineups.values():
            for player in lineup:
                seconds[player] = seconds.get(player, 0.0) + stint.start_clock - stint.end_clock
    return seconds


def minutes_off(stints: list[Stint], box: Sequence[BoxLine] | None) -> list[int]:
    """Players whose stint seconds are a minute or more from the box score's whole minutes."""
    if not box:
        return []
    seconds = player_seconds(stints)
    minutes = {line.player_id: line.min for line in box}
    players = set(seconds) | {p for p, m in minutes.items() if m > 0}
    return sorted(p for p in players if abs(seconds.get(p, 0.0) / 60 - minutes.get(p, 0.0)) >= 1)


def rotation(stints: list[Stint]) -> dict[int, list[tuple[int, int]]]:
    """Each player's time on the floor as GameRotation gives it: (in, out) in tenths of a second
    from tip-off, stints that touch (across a period break too) joined."""
    spans: dict[int, list[tuple[int, int]]] = {}
    for stint in stints:
        begin = round(10 * elapsed(stint.period, stint.start_clock))
        end = round(10 * elapsed(stint.period, stint.end_clock))
        for lineup in stint.lineups.values():
            for player in lineup:
                mine = spans.setdefault(player, [])
                if mine and mine[-1][1] == begin:
                    mine[-1] = (mine[-1][0], end)
                else:
                    mine.append((begin, end))
    return spans


@dataclass
class Possession:
    period: int
    offense: int
    start_action: int
    start_clock: float
    end_action: int = 0
    end_clock: float = 0.0
    end_reason: str = "end of period"
    points: int = 0


def _ball_team(row: Event, dead: bool) -> int | None:
    """The team an event shows with the ball, or None if the event says nothing about it.

    A technical free throw says nothing during a possession (the ball goes back to the team
    that had it), but while the ball is dead between two possessions (after a made basket, a
    made last free throw or a turnover) its shooter's team has the ball, as the NBA counts.
    """
    if row.action_type not in _BALL_EVENTS or row.team_id is None:
        return None
    if _is_technical(row) and not dead:
        return None
    return row.team_id


def _is_technical(row: Event) -> bool:
    return row.action_type == "Free Throw" and "Technical" in (row.sub_type or "")


def _reason(row) -> str:
    if row.action_type == "Made Shot":
        return "made field goal"
    if row.action_type == "Free Throw":
        return "free throw"
    if row.action_type == "Turnover":
        return "turnover"
    if row.action_type == "Missed Shot":
        return "missed field goal"
    return "rebound"


def game_possessions(
    events: pd.DataFrame | Sequence[Event], home: int, away: int
) -> list[Possession]:
    """Every possession of one game: who had the ball, from which event to which, how it ended."""
    rows = _records(events)
    points = _points(rows, home, away)
    found: list[Possession] = []
    latest: dict[int, Possession] = {}
    offset = 0
    for period, group in _periods(rows):
        current: Possession | None = None
        last_ball = None
        ended = False
        for i, row in enumerate(group):
            team = _ball_team(row, ended)
            # a defensive rebound starts the rebounder's possession; any other event of the
            # other team means the ball changed hands before it; after a possession ended, the
            # next ball event starts one even for the same team (free throws for a foul away
            # from the play after its basket, a technical free throw between possessions)
            if team is not None and (current is None or ended or team != current.offense):
                if current is not None and last_ball is not None:
                    _close(current, last_ball)
                    found.append(current)
                current = Possession(period, team, row.action_id, float(row.clock))
            if current is not None:
                latest[current.offense] = current
            for scorer, pts in points[offset + i].items():
                if pts and scorer in latest:  # a technical free throw: the scorer's latest
                    latest[scorer].points += pts
            if team is not None:
                last_ball, ended = row, _ends_possession(group, i)
        if current is not None:
            found += _period_end(current, last_ball if ended else None, group[-1], home, away)
        offset += len(group)
    return found


def _close(possession: Possession, last_ball: Event) -> None:
    possession.end_action, possession.end_clock = last_ball.action_id, float(last_ball.clock)
    possession.end_reason = _reason(last_ball)


def _ends_possession(group: Sequence[Event], i: int) -> bool:
    """A turnover, a made field goal (but an and-one) or a made last free throw: the ball is
    dead and the next ball event starts a new possession."""
    row = group[i]
    if row.action_type == "Turnover":
        return True
    if row.action_type == "Made Shot":
        return not _and_one(group, i)
    trip = re.match(r"Free Throw (\d) of (\d)", row.sub_type or "")
    made = not (row.description or "").startswith("MISS")
    return row.action_type == "Free Throw" and bool(trip) and trip[1] == trip[2] and made


def _and_one(group: Sequence[Event], i: int) -> bool:
    """The shooter's own free throw 1 of 1 at the basket's clock: the possession goes on to it.
    A free throw for a foul away from the play (another player shoots) is a new possession."""
    shot = group[i]
    for row in group[i + 1 :]:
        if row.clock != shot.clock:
            return False
        if row.sub_type == "Free Throw 1 of 1" and row.person_id == shot.person_id:
            return True
    return False


def _period_end(
    current: Possession, gave_away: Event | None, last: Event, home: int, away: int
) -> list[Possession]:
    """The period's last possession, and the other team's if the ball changed hands with time
    left and nothing happened after (a turnover at 0:08: the other team held it to the end)."""
    if gave_away is not None and gave_away.clock > 0:
        _close(current, gave_away)
        other = away if current.offense == home else home
        held = Possession(current.period, other, last.action_id, gave_away.clock, last.action_id)
        return [current, held]
    current.end_action, current.end_clock, current.end_reason = last.action_id, 0.0, "end of period"
    return [current]


def game_teams(rows: Sequence[Event]) -> tuple[int, int]:
    """(home, away) team ids from the events' h/v locations."""
    by_side: dict[str, int] = {}
    for row in rows:
        if row.location in ("h", "v") and row.team_id is not None:
            by_side.setdefault(row.location, row.team_id)
            if len(by_side) == 2:
                break
    return by_side["h"], by_side["v"]


def _stint_rows(game_id: str, home: int, away: int, stints: list[Stint]) -> list[dict]:
    rows = []
    for number, stint in enumerate(stints, start=1):
        row = {
            "game_id": game_id,
            "stint": number,
            "start_action_id": stint.first_action,
            "period": stint.period,
            "start_clock": stint.start_clock,
            "end_clock": stint.end_clock,
            "start_elapsed": elapsed(stint.period, stint.start_clock),
            "seconds": stint.start_clock - stint.end_clock,
            "home_team_id": home,
            "away_team_id": away,
            "home_pts": stint.points.get(home, 0),
            "away_pts": stint.points.get(away, 0),
        }
        for side, team in (("home", home), ("away", away)):
            for slot, player in enumerate(stint.lineups[team], start=1):
                row[f"{side}_player_{slot}"] = player
        rows.append(row)
    return rows


def _possession_rows(game_id: str, home: int, away: int, found: list[Possession]) -> list[dict]:
    return [
        {
            "game_id": game_id,
            "possession": number,
            "period": p.period,
            "offense_team_id": p.offense,
            "defense_team_id": away if p.offense == home else home,
            "start_action_id": p.start_action,
            "end_action_id": p.end_action,
            "start_clock": p.start_clock,
            "end_clock": p.end_clock,
            "pts": p.points,
            "end_reason": p.end_reason,
        }
        for number, p in enumerate(found, start=1)
    ]


def _stint_possessions(stints: pd.DataFrame, possessions: pd.DataFrame) -> pd.DataFrame:
    """Possessions per stint and offense side, by the stint in which each possession began."""
    if stints.empty or possessions.empty:
        return stints.assign(home_poss=0, away_poss=0)
    located = in_stints(possessions, stints, "start_action_id")
    home = located["offense_team_id"] == located["home_team_id"]
    located["side"] = home.map({True: "home_poss", False: "away_poss"})
    counts = located.groupby(["game_id", "stint", "side"]).size().unstack(fill_value=0)
    counts = counts.reindex(columns=["home_poss", "away_poss"], fill_value=0).reset_index()
    merged = stints.merge(counts, on=["game_id", "stint"], how="left")
    return merged.fillna({"home_poss": 0, "away_poss": 0})


def in_stints(rows: pd.DataFrame, stints: pd.DataFrame, action: str) -> pd.DataFrame:
    """`rows` with the stint (number, teams and ten players) their `action` id falls in."""
    keys = ["game_id", "start_action_id"]
    players = [f"{side}_player_{n}" for side in ("home", "away") for n in range(1, 6)]
    right = stints[[*keys, "stint", "home_team_id", *players]].astype({"start_action_id": "int64"})
    left = rows.assign(_action=rows[action].astype("int64")).reset_index(names="_row")
    located = pd.merge_asof(
        left.sort_values("_action"),
        right.sort_values("start_action_id"),
        left_on="_action",
        right_on="start_action_id",
        by="game_id",
        direction="backward",
    )
    located = located.sort_values("_row").set_index("_row")
    located.index.name = None
    return located.drop(columns=["_action", "start_action_id"], errors="ignore")


def _walk_games(
    records: list[Event], boxes: dict[str, list[BoxLine]]
) -> tuple[list[dict], list[dict], list[str]]:
    """Stint and possession rows of every game, and the games left out (with why)."""
    stint_rows: list[dict] = []
    possession_rows: list[dict] = []
    failed: list[str] = []
    for game_id, rows in _games(records):
        home, away = game_teams(rows)
        # possessions need no lineups: every game has them
        possession_rows += _possession_rows(game_id, home, away, game_possessions(rows, home, away))
        box = boxes.get(game_id, [])
        try:
            stints = game_stints(rows, home, away, box)
        except LineupError as exc:
            failed.append(f"{game_id}: {exc}")
            continue
        off = minutes_off(stints, box)
        if off:  # never publish lineups the box score contradicts
            failed.append(f"{game_id}: minutes differ from the box score for {off}")
            continue
        stint_rows += _stint_rows(game_id, home, away, stints)
    return stint_rows, possession_rows, failed


def lineups_and_possessions(
    events: pd.DataFrame, player_box: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """play_by_play rows (and player_boxscores: names and minutes) to lineup_stints and
    possessions rows, and the games left out: lineups that could not be inferred or that the
    box-score minutes contradict are named, never published as a guess."""
    return lineups_and_possessions_of_parts([events], player_box)


def lineups_and_possessions_of_parts(
    parts: Iterable[pd.DataFrame], player_box: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The same over events handed a few whole games at a time (every game's events in one
    part): only one part's events are ever Python objects, so a season's run holds its typed
    rows, not 600k `Event`s and their row dicts at once. The rows are as from one part."""
    boxes = box_lines(player_box)
    stint_parts: list[pd.DataFrame] = []
    possession_parts: list[pd.DataFrame] = []
    failed: list[str] = []
    for events in parts:
        stints, possessions, left_out = _part(events, boxes)
        stint_parts.append(stints)
        possession_parts.append(possessions)
        failed += left_out
    failed.sort(key=lambda line: line.split(":", 1)[0])  # by game, as one part gives them
    return (
        joined(LINEUP_STINTS, stint_parts, ["game_id", "stint"]),
        joined(POSSESSIONS, possession_parts, ["game_id", "possession"]),
        failed,
    )


def joined(spec: TableSpec, parts: Sequence[pd.DataFrame], key: list[str]) -> pd.DataFrame:
    """Conformed parts as one frame in `key` order, as if derived at once."""
    rows = [part for part in parts if len(part)]
    if not rows:
        return parts[0] if parts else spec.empty()
    if len(rows) == 1:
        return rows[0]
    frame = pd.concat(rows, ignore_index=True)
    return frame.sort_values(key, kind="stable", ignore_index=True)


def _part(
    events: pd.DataFrame, boxes: dict[str, list[BoxLine]]
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Conformed stints and possessions of the games in `events`, and the games left out."""
    dates = events.drop_duplicates("game_id").set_index("game_id")["game_date"]
    with _no_cycle_collection():
        stint_rows, possession_rows, failed = _walk_games(event_records(events), boxes)
    stints_frame = pd.DataFrame(stint_rows, columns=[*LINEUP_STINTS.names])
    possessions_frame = pd.DataFrame(possession_rows, columns=[*POSSESSIONS.names])
    del stint_rows, possession_rows
    for frame in (stints_frame, possessions_frame):
        frame["game_date"] = frame["game_id"].map(dates)
    stints_frame = _stint_possessions(
        stints_frame.drop(columns=["home_poss", "away_poss"]), possessions_frame
    )
    stints_frame = (
        with_season(stints_frame) if len(stints_frame) else stints_frame.assign(season=None)
    )
    possessions_frame = (
        with_season(possessions_frame)
        if len(possessions_frame)
        else possessions_frame.assign(season=None)
    )
    return conform(LINEUP_STINTS, stints_frame), conform(POSSESSIONS, possessions_frame), failed
