"""Synthetic PlayByPlayV3: every event of a synthetic game, in the real layout, adding up to its box score.

Each team's made and attempted field goals and threes, free throws, player rebounds, turnovers
and points counted from the events equal its box-score line; the last event carries the final
score. Kept from the real feed (checked against the recorded playbyplayv3 fixture): a free throw
has no shotResult and a shotValue of 0 and a miss is known by its description ('MISS ...');
scoreHome/scoreAway are blank on events that do not change the score; team events (timeouts,
team rebounds) have teamId 0 and the team's id in personId; steals and blocks have no actionType.

Each team plays a rotation (`rotation`): exactly five on the floor at every moment, each
player for exactly their box-score minutes (to the second), the five highest-minute players
starting. A change inside a period is a Substitution event ('SUB: In FOR Out', personId the
player leaving); a change at a period break is, like the real feed's, sometimes silent. Every
player event happens while its player is on the floor, and every player on the floor when a
period begins acts in it or is subbed out by an event, so `derived.lineups` infers each
period's five exactly.

Simplifications, on purpose: possessions do not alternate strictly (events are placed by
who is on the floor, not by whose ball it is), assists, steals and blocks that no teammate's
or opponent's event could carry are left out, personal fouls are not the box score's, and an
overtime game is not tied after regulation.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from nba_assets.source.protocol import NotServed
from nba_assets.source.synthetic.league import season_name

if TYPE_CHECKING:
    from nba_assets.source.synthetic.league import Game, League, Line

#: A box line's columns (see synthetic.Line).
_PID, _MIN, _FGM, _FGA, _FG3M, _FG3A, _FTM, _FTA, _OREB, _DREB = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9
_AST, _STL, _BLK, _TOV, _PF = 10, 11, 12, 13, 14
_TWO_TYPES = ("Jump Shot", "Driving Layup Shot", "Pullup Jump shot", "Dunk Shot", "Hook Shot")
_TWO_TYPES += ("Floating Jump shot", "Cutting Layup Shot", "Turnaround Fadeaway shot")
_THREE_TYPES = ("Jump Shot", "Pullup Jump shot", "Step Back Jump shot", "Running Jump Shot")
_TURNOVERS = ("Bad Pass", "Lost Ball", "Traveling", "Out of Bounds Lost Ball Turnover")
_TURNOVERS += ("Offensive Foul Turnover", "Step Out of Bounds Turnover")
_ORDINAL = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th"}
#: The rotation looks again every 1-5 minutes; a player on the floor has a bonus for staying
#: that five minutes of play start to wear off (tired players sit, rested ones come back).
_LOOK_SECONDS = (120, 360)
_STAY_BONUS = 0.1
_FRESH_SECONDS = 300
_TIRED_PER_SECOND = 0.08 / 60
#: The share of period-break changes the feed names with Substitution events (the rest are silent).
_BREAK_SUBS = 0.5
#: The last minutes of a game are planned exactly rather than looked at as they come.
_CLOSING_SECONDS = 720

Stretch = tuple[int, int, tuple[int, ...]]


def play_by_play_body(league: League, params: Mapping[str, str]) -> dict:
    """The PlayByPlayV3 body for params['GameID']; NotServed for a game the league never played."""
    game_id = (params.get("GameID") or "").strip()
    game = find_game(league, game_id)
    rng = random.Random(f"{league.seed}:pbp:{game_id}")
    actions = _GameScript(league, game, rng).actions()
    return {
        "meta": {
            "version": 1,
            "request": f"http://nba.cloud/games/{game_id}/playbyplay?Format=json",
            "time": f"{game.day.isoformat()}T23:59:00.0000Z",
        },
        "game": {"gameId": game_id, "videoAvailable": 1, "actions": actions},
    }


def true_rotation(league: League, game_id: str) -> dict[int, list[tuple[int, int]]]:
    """Who the synthetic game really had on the floor: each player's (in, out) spans in tenths
    of a second from tip-off, touching spans joined, as `derived.lineups.rotation` gives them:
    what the inference from the play-by-play alone must find."""
    game = find_game(league, game_id)
    script = _GameScript(league, game, random.Random(f"{league.seed}:pbp:{game_id}"))
    spans: dict[int, list[tuple[int, int]]] = {}
    for segment in script.segments:
        for player in itertools.chain(*segment.fives):
            mine = spans.setdefault(player, [])
            if mine and mine[-1][1] == 10 * segment.start:
                mine[-1] = (mine[-1][0], 10 * segment.end)
            else:
                mine.append((10 * segment.start, 10 * segment.end))
    return spans


def find_game(league: League, game_id: str) -> Game:

    if len(game_id) != 10 or not game_id.isdigit():
        raise NotServed(f"GameID must be a 10-digit game id, got {game_id!r}")
    yy = int(game_id[3:5])
    year = 1900 + yy if yy >= 96 else 2000 + yy
    if not league.first_year <= year <= league.last_year:
        raise NotServed(f"game {game_id}: season {season_name(year)} is not served")
    for game in league.season(year).games:
        if game.game_id == game_id:
            return game
    raise NotServed(f"game {game_id} was not played in the synthetic {season_name(year)}")


# --------------------------------------------------------------------------- rotations


def period_ends(ot: int) -> list[int]:
    """Seconds from tip-off at which each period ends (12-minute quarters, 5-minute overtimes)."""
    return list(itertools.accumulate([720] * 4 + [300] * ot))


def rotation(rng: random.Random, lines: list[Line], ends: list[int]) -> list[Stretch]:
    """One team's (start, end, five) stretches, in seconds from tip-off, covering the game.

    Each player is on the floor for exactly 60 x his box-score minutes. Greedy, and never stuck:
    at each look the five are the players who most need the floor (seconds owed / seconds
    left), always with anyone owed every second left; a stretch lasts until the next look, the
    period's end, a player on the floor running out of seconds, or one on the bench being owed
    every second left. The seconds owed sum to 5 x the seconds left throughout (the box score's
    minutes sum to 5 x the game's), so five can always be found.
    """
    owed = {line[_PID]: 60 * line[_MIN] for line in lines}
    total = ends[-1]
    if sum(owed.values()) != 5 * total or max(owed.values()) > total:
        raise ValueError(f"box-score minutes {sorted(owed.values())} do not fill {total} s x 5")
    stretches: list[Stretch] = []
    five: tuple[int, ...] = ()
    since: dict[int, int] = {}
    now = 0
    while now < total:
        if now >= total - _CLOSING_SECONDS:
            return _joined(stretches, _close_out(owed, now, total), ends)
        if now == 0 or now in ends:  # a period break rests everyone
            since = dict.fromkeys(five, now)
        five = _next_five(owed, total - now, five, now, since)
        since = {p: since.get(p, now) for p in five}
        benched = max((s for p, s in owed.items() if p not in five), default=0)
        period_end = ends[bisect.bisect_right(ends, now)]
        step = min(rng.randint(*_LOOK_SECONDS), period_end - now, total - now - benched)
        step = min(step, *(owed[p] for p in five))
        for player in five:
            owed[player] -= step
        stretches = _joined(stretches, [(now, now + step, five)], ends)
        now += step
    return stretches


def _joined(stretches: list[Stretch], more: list[Stretch], ends: list[int]) -> list[Stretch]:
    """`stretches` then `more`, one stretch where the five stay the same inside a period."""
    out = list(stretches)
    for start, end, five in more:
        if out and out[-1][2] == five and out[-1][1] == start and start not in ends:
            out[-1] = (out[-1][0], end, five)
        else:
            out.append((start, end, five))
    return out


def _close_out(owed: dict[int, int], now: int, total: int) -> list[Stretch]:
    """The last minutes, planned exactly (McNaughton's wrap-around rule): the players, most
    seconds owed first, fill five slots of [now, total) one after another, a player reaching
    a slot's end going on at the next slot's start. No one is owed more than the time left, so
    a player's two pieces never overlap, and no one comes back and forth in the last seconds."""
    pieces: list[tuple[int, int, int]] = []
    slot_at = now
    for player in sorted((p for p, s in owed.items() if s), key=lambda p: (-owed[p], p)):
        need = owed[player]
        if slot_at + need > total:
            pieces.append((slot_at, total, player))
            need -= total - slot_at
            slot_at = now
        pieces.append((slot_at, slot_at + need, player))
        slot_at += need
        if slot_at == total:
            slot_at = now
        owed[player] = 0
    cuts = sorted({now, total, *(a for a, _, _ in pieces), *(b for _, b, _ in pieces)})
    return [
        (a, b, tuple(sorted(p for lo, hi, p in pieces if lo <= a and b <= hi)))
        for a, b in itertools.pairwise(cuts)
    ]


def _next_five(
    owed: dict[int, int], left: int, five: tuple[int, ...], now: int, since: dict[int, int]
) -> tuple[int, ...]:
    """The five for the next stretch: anyone owed every second left must play, one with no
    seconds left must sit, and at most two more swaps bring in whoever needs the floor most."""

    def need(player: int) -> float:
        score = owed[player] / left
        if player in five:
            tired = max(0, now - since[player] - _FRESH_SECONDS)
            score += _STAY_BONUS - _TIRED_PER_SECOND * tired
        return score

    forced = {p for p, s in owed.items() if s >= left}
    kept = [p for p in five if owed[p] > 0 and p not in forced]
    kept.sort(key=lambda p: (need(p), p))  # the first to go first
    bench = [p for p, s in owed.items() if 0 < s < left and p not in five]
    bench.sort(key=lambda p: (-need(p), p))
    while len(kept) + len(forced) > 5:
        bench.insert(0, kept.pop(0))
    swaps = 0 if not five else 2
    while bench and len(kept) + len(forced) < 5:
        kept.append(bench.pop(0))
    while bench and kept and swaps and need(bench[0]) > need(kept[0]):
        kept[0] = bench.pop(0)
        kept.sort(key=lambda p: (need(p), p))
        swaps -= 1
    return tuple(sorted([*forced, *kept]))


@dataclass(slots=True)
class _Segment:
    """A stretch of game time with the same ten on the floor, and the plays placed in it."""

    start: int
    end: int
    period: int
    fives: tuple[tuple[int, ...], tuple[int, ...]]
    plays: list[_Play] = field(default_factory=list)


def _segments(rotations: tuple[list[Stretch], list[Stretch]], ends: list[int]) -> list[_Segment]:
    """The game cut wherever either five changes or a period ends."""
    cuts = sorted({0, *ends, *(s for side in rotations for s, _, _ in side)})
    segments, at = [], [0, 0]
    for start, end in itertools.pairwise(cuts):
        fives = []
        for side in (0, 1):
            while rotations[side][at[side]][1] <= start:
                at[side] += 1
            fives.append(rotations[side][at[side]][2])
        period = bisect.bisect_right(ends, start) + 1
        segments.append(_Segment(start, end, period, (fives[0], fives[1])))
    return segments


@dataclass(slots=True)
class _Play:
    """Events that happen together (a shot, its block and rebound; a free-throw trip; a
    turnover and its steal), with the segments in which all their players are on the floor."""

    kind: str  # fg, ft, tov, reb (a rebound alone), foul, timeout
    side: int
    pid: int
    mask: int
    item: tuple = ()
    misses: bool = False
    assist: int | None = None
    block: int | None = None
    steal: int | None = None
    fouler: int | None = None
    rebounds: list[tuple[int, int]] = field(default_factory=list)

    def players(self) -> list[int]:
        named = [self.pid, self.assist, self.block, self.steal, self.fouler]
        named += [pid for _, pid in self.rebounds]
        return [p for p in named if p] if self.kind != "timeout" else []


class _Side:
    """One team's box lines as pools of events still to be placed."""

    def __init__(self, league: League, game: Game, side: int) -> None:
        team_index = (game.home, game.away)[side]
        self.team = league.teams[team_index]
        self.location = "h" if side == 0 else "v"
        self.lines = game.lines[side]
        self.players = league._factory.by_id
        self.counts: dict[tuple[int, str], int] = {}
        lasts = [self.players[line[_PID]].last for line in self.lines]
        self.shared = {last for last in lasts if lasts.count(last) > 1}

    def pool(self, column: int) -> list[int]:
        """One player id per unit of a box column (e.g. each rebound), in line order."""
        return [line[_PID] for line in self.lines for _ in range(line[column])]

    def bump(self, pid: int, what: str) -> int:
        key = (pid, what)
        self.counts[key] = self.counts.get(key, 0) + 1
        return self.counts[key]

    def text_name(self, pid: int) -> str:
        """The name a substitution's text gives: the full name when a teammate shares the last."""
        player = self.players[pid]
        return f"{player.first} {player.last}" if player.last in self.shared else player.last


class _GameScript:
    """Plays the rotations, places every box-score event where its players are on the floor,
    then writes the events in game order."""

    def __init__(self, league: League, game: Game, rng: random.Random) -> None:
        self.game, self.rng = game, rng
        self.sides = (_Side(league, game, 0), _Side(league, game, 1))
        self.score = [0, 0]
        self.ends = period_ends(game.ot)
        rotations = (
            rotation(rng, game.lines[0], self.ends),
            rotation(rng, game.lines[1], self.ends),
        )
        self.segments = _segments(rotations, self.ends)
        self.on_floor: dict[int, int] = {}  # player -> bitmask of the segments he is on the floor
        for i, segment in enumerate(self.segments):
            for pid in itertools.chain(*segment.fives):
                self.on_floor[pid] = self.on_floor.get(pid, 0) | (1 << i)

    def actions(self) -> list[dict]:
        plays = self._items(0) + self._items(1)
        self._add_rebounds(plays)
        self._add_stops(plays)
        plays += self._extras()
        for play in plays:
            self._place(play)
        subs = self._substitutions()
        self._make_starters_visible(subs)
        return self._lay_out(subs)

    # ------------------------------------------------------------------ plays

    def _items(self, side: int) -> list[_Play]:
        """The side's shots, free-throw trips and turnovers, each where its player is on the floor."""
        items: list[tuple] = []
        for line in self.sides[side].lines:
            pid = line[_PID]
            twos_made, threes_made = line[_FGM] - line[_FG3M], line[_FG3M]
            twos = line[_FGA] - line[_FG3A]
            items += [("fg", pid, 3, True)] * threes_made
            items += [("fg", pid, 3, False)] * (line[_FG3A] - threes_made)
            items += [("fg", pid, 2, True)] * twos_made
            items += [("fg", pid, 2, False)] * (twos - twos_made)
            items += [("tov", pid)] * line[_TOV]
            attempts, made = line[_FTA], line[_FTM]
            while attempts:
                trip = 3 if attempts == 3 else min(2, attempts)
                hits = min(made, trip) if self.rng.random() < 0.8 else min(made, trip - 1)
                hits = max(hits, made - (attempts - trip))  # leave no more makes than attempts
                makes = [True] * hits + [False] * (trip - hits)
                self.rng.shuffle(makes)
                items.append(("ft", pid, trip, tuple(makes)))
                attempts, made = attempts - trip, made - hits
        self.rng.shuffle(items)
        plays = []
        for item in items:
            kind, pid = item[0], item[1]
            misses = (kind == "fg" and not item[3]) or (kind == "ft" and not item[3][-1])
            plays.append(_Play(kind, side, pid, self.on_floor[pid], item, misses))
        return plays

    def _pick(self, plays: list[_Play], pid: int, fits: Callable[[_Play], bool]) -> _Play | None:
        """A random play that `fits` during which `pid` can be on the floor; narrows its segments."""
        mine = self.on_floor.get(pid, 0)
        candidates = [play for play in plays if play.mask & mine and fits(play)]
        if not candidates:
            return None
        play = self.rng.choice(candidates)
        play.mask &= mine
        return play

    def _add_rebounds(self, plays: list[_Play]) -> None:
        """Every box-score rebound follows a miss of the right side while its player is on the
        floor (a miss may have several); one that no miss can carry stands alone. The players
        with the fewest minutes choose first."""
        units = []
        for side in (0, 1):
            units += [(side, pid, True) for pid in self.sides[side].pool(_OREB)]
            units += [(side, pid, False) for pid in self.sides[side].pool(_DREB)]
        self.rng.shuffle(units)
        minutes = {line[_PID]: line[_MIN] for side in self.sides for line in side.lines}
        units.sort(key=lambda unit: minutes[unit[1]])
        misses = [[p for p in plays if p.misses and p.side == s] for s in (0, 1)]
        for side, pid, offensive in units:
            shooting = side if offensive else 1 - side
            play = self._pick(misses[shooting], pid, lambda p: not p.rebounds)
            play = play or self._pick(misses[shooting], pid, lambda p: True)
            if play is None:
                play = _Play("reb", shooting, pid, self.on_floor[pid])
                plays.append(play)
            play.rebounds.append((side, pid))

    def _add_stops(self, plays: list[_Play]) -> None:
        """Assists on made shots, blocks on misses, steals on turnovers, where the players meet."""
        for side in (0, 1):
            mine = [p for p in plays if p.side == side]
            theirs = [p for p in plays if p.side == 1 - side]
            made = [p for p in mine if p.kind == "fg" and p.item[3]]
            for pid in self.sides[side].pool(_AST):
                play = self._pick(made, pid, lambda p, pid=pid: p.assist is None and p.pid != pid)
                if play is not None:
                    play.assist = pid
            missed = [p for p in theirs if p.kind == "fg" and not p.item[3]]
            for pid in self.sides[side].pool(_BLK):
                play = self._pick(missed, pid, lambda p: p.block is None)
                if play is not None:
                    play.block = pid
            lost = [p for p in theirs if p.kind == "tov"]
            for pid in self.sides[side].pool(_STL):
                play = self._pick(lost, pid, lambda p: p.steal is None)
                if play is not None:
                    play.steal = pid

    def _extras(self) -> list[_Play]:
        """Personal fouls (by someone on the floor) and timeouts, anywhere in the game."""
        rng, everywhere = self.rng, (1 << len(self.segments)) - 1
        extras = []
        for side in (0, 1):
            extras += [_Play("foul", side, 0, everywhere) for _ in range(rng.randint(14, 22))]
            extras += [_Play("timeout", side, 0, everywhere) for _ in range(rng.randint(5, 7))]
        return extras

    def _place(self, play: _Play) -> None:
        """Put the play in one of its segments (the longer, the likelier); name its fouler."""
        chosen = [i for i in range(len(self.segments)) if play.mask >> i & 1]
        weights = [self.segments[i].end - self.segments[i].start for i in chosen]
        segment = self.segments[self.rng.choices(chosen, weights=weights)[0]]
        segment.plays.append(play)
        if play.kind == "foul" and not play.pid:
            play.pid = self.rng.choice(segment.fives[play.side])
        elif play.kind == "ft":
            play.fouler = self.rng.choice(segment.fives[1 - play.side])

    # ------------------------------------------------------------------ substitutions

    def _substitutions(self) -> dict[int, list[tuple[int, int, int]]]:
        """Segment index -> (side, out, in) Substitution events before its plays: every change
        inside a period, about half of those at a period break (the rest are silent)."""
        subs: dict[int, list[tuple[int, int, int]]] = {}
        for i in range(1, len(self.segments)):
            before, after = self.segments[i - 1], self.segments[i]
            for side in (0, 1):
                out = sorted(set(before.fives[side]) - set(after.fives[side]))
                ins = sorted(set(after.fives[side]) - set(before.fives[side]))
                if not out:
                    continue
                if after.period != before.period and self.rng.random() >= _BREAK_SUBS:
                    continue
                subs.setdefault(i, []).extend((side, o, n) for o, n in zip(out, ins, strict=True))
        return subs

    def _make_starters_visible(self, subs: dict[int, list[tuple[int, int, int]]]) -> None:
        """Each player on the floor when a period begins acts in it or leaves by a Substitution
        event: a real feed's five are inferred from exactly that. A silent one commits a foul."""
        first_of: dict[int, int] = {}
        for i, segment in enumerate(self.segments):
            first_of.setdefault(segment.period, i)
        for period, first in first_of.items():
            in_period = [i for i, s in enumerate(self.segments) if s.period == period]
            seen = {p for i in in_period for play in self.segments[i].plays for p in play.players()}
            seen |= {out for i in in_period for _, out, _ in subs.get(i, [])}
            named_at_start = {side for side, _, _ in subs.get(first, [])} if period > 1 else set()
            for side in (0, 1):
                source = first - 1 if side in named_at_start else first
                for pid in self.segments[source].fives[side]:
                    if pid in seen:
                        continue
                    mask = self.on_floor[pid] & sum(1 << i for i in in_period)
                    self._place(_Play("foul", side, pid, mask))
                    seen.add(pid)

    # ------------------------------------------------------------------ layout

    def _lay_out(self, subs: dict[int, list[tuple[int, int, int]]]) -> list[dict]:
        """Periods, substitutions and plays in game order, with clocks; then number and score."""
        actions: list[dict] = []
        for i, segment in enumerate(self.segments):
            period, period_end = segment.period, self.ends[segment.period - 1]
            length = 720 if period <= 4 else 300
            if segment.start == period_end - length:
                if period > 1:
                    actions.append(self._period_event(period - 1, "end", 0.0))
                actions.append(self._period_event(period, "start", length))
                if period == 1:
                    actions.append(self._jump_ball(segment.fives))
            for side, out, incoming in subs.get(i, []):
                event = self._substitution(side, incoming, out)
                event["period"], event["clock"] = period, _clock(period_end - segment.start)
                actions.append(event)
            actions += self._segment_events(segment, period_end)
        actions.append(self._period_event(self.segments[-1].period, "end", 0.0))
        for number, event in enumerate(actions, 1):
            event["actionId"] = number
            event["actionNumber"] = number + (number // 7)
            self._apply_score(event)
            self._number_fouls(event)
        return actions

    def _segment_events(self, segment: _Segment, period_end: int) -> list[dict]:
        """The segment's plays at random times inside it, clocks never running backwards."""
        rng = self.rng
        plays = segment.plays
        rng.shuffle(plays)
        times = sorted(rng.uniform(segment.start, segment.end) for _ in plays)
        events, previous = [], float(segment.start)
        for play, time in zip(plays, times, strict=True):
            for k, event in enumerate(self._events(play)):
                after = 2.0 if k and event["actionType"] == "Rebound" else 0.0
                previous = min(float(segment.end), max(previous, time + after))
                event["period"], event["clock"] = segment.period, _clock(period_end - previous)
                events.append(event)
        return events

    def _events(self, play: _Play) -> list[dict]:
        """The play's events, made now so that running counts (points, fouls) go in game order."""
        side, other = play.side, 1 - play.side
        if play.kind == "timeout":
            return [self._team_event(side, "Timeout", "Regular", "Timeout: Regular")]
        if play.kind == "foul":
            return [self._foul(side, play.pid, "Personal", "P.FOUL")]
        if play.kind == "tov":
            events = [self._turnover(side, play.pid)]
            if play.steal is not None:
                events.append(self._stat(other, play.steal, "STEAL", "STL", 0))
            return events
        events = []
        if play.kind == "fg":
            _, pid, value, made = play.item
            events.append(self._field_goal(side, pid, value, made, play.assist))
            if play.block is not None:
                events.append(self._stat(other, play.block, "BLOCK", "BLK", 2))
        elif play.kind == "ft":
            _, pid, trip, makes = play.item
            events.append(self._foul(other, play.fouler, "Shooting", "S.FOUL"))
            events += [self._free_throw(side, pid, k, trip, m) for k, m in enumerate(makes, 1)]
        for rebounder_side, pid in play.rebounds:
            events.append(self._rebound(rebounder_side, pid, rebounder_side == side))
        if play.misses and not play.rebounds:
            team = other if self.rng.random() < 0.75 else side
            events.append(self._team_event(team, "Rebound", "Normal Rebound", "Rebound"))
        return events

    def _number_fouls(self, event: dict) -> None:
        """'(P2.T5)': the player's and the team's count so far, in game order."""
        if "{P}" not in event["description"]:
            return
        side = self.sides[0 if event["location"] == "h" else 1]
        kind = event["actionType"]
        mine, team = side.bump(event["personId"], kind), side.bump(0, kind)
        event["description"] = event["description"].replace("{P}", f"P{mine}.T{team}")

    def _apply_score(self, event: dict) -> None:
        points = event.pop("_points", 0)
        if event["actionType"] == "period":
            event["scoreHome"], event["scoreAway"] = str(self.score[0]), str(self.score[1])
            event["pointsTotal"] = sum(self.score)
            return
        if not points:
            return
        side = 0 if event["location"] == "h" else 1
        self.score[side] += points
        event["scoreHome"], event["scoreAway"] = str(self.score[0]), str(self.score[1])
        event["pointsTotal"] = sum(self.score)
        event["description"] = event["description"].replace("{PTS}", str(event.pop("_player_pts")))

    # ------------------------------------------------------------------ events

    def _base(self, side: int | None, pid: int = 0) -> dict:
        event = {
            "actionNumber": 0,
            "clock": "PT12M00.00S",
            "period": 1,
            "teamId": 0,
            "teamTricode": "",
            "personId": 0,
            "playerName": "",
            "playerNameI": "",
            "xLegacy": 0,
            "yLegacy": 0,
            "shotDistance": 0,
            "shotResult": "",
            "isFieldGoal": 0,
            "scoreHome": "",
            "scoreAway": "",
            "pointsTotal": 0,
            "location": "",
            "description": "",
            "actionType": "",
            "subType": "",
            "videoAvailable": 1,
            "shotValue": 0,
            "actionId": 0,
        }
        if side is not None:
            team = self.sides[side].team
            event["location"] = self.sides[side].location
            if pid:
                player = self.sides[side].players[pid]
                event.update(
                    teamId=team.team_id,
                    teamTricode=team.abbreviation,
                    personId=pid,
                    playerName=player.last,
                    playerNameI=f"{player.first[0]}. {player.last}",
                )
        return event

    def _last(self, side: int, pid: int) -> str:
        return self.sides[side].players[pid].last

    def _field_goal(
        self, side: int, pid: int, value: int, made: bool, assister: int | None
    ) -> dict:
        rng = self.rng
        event = self._base(side, pid)
        distance = rng.randint(23, 28) if value == 3 else rng.choice((0, 1, 2, 4, 8, 12, 16, 19))
        angle = rng.uniform(-math.pi / 2, math.pi / 2)
        kind = rng.choice(_THREE_TYPES if value == 3 else _TWO_TYPES)
        name, label = self._last(side, pid), f"{distance}' {'3PT ' if value == 3 else ''}{kind}"
        event.update(
            xLegacy=round(10 * distance * math.sin(angle)),
            yLegacy=round(10 * distance * math.cos(angle)),
            shotDistance=distance,
            shotResult="Made" if made else "Missed",
            isFieldGoal=1,
            actionType="Made Shot" if made else "Missed Shot",
            subType=kind,
            shotValue=value,
        )
        if made:
            event["description"] = f"{name} {label} ({{PTS}} PTS)"
            if assister is not None:
                count = self.sides[side].bump(assister, "AST")
                event["description"] += f" ({self._last(side, assister)} {count} AST)"
            event["_points"] = value
            event["_player_pts"] = self._player_points(side, pid, value)
        else:
            event["description"] = f"MISS {name} {label}"
        return event

    def _player_points(self, side: int, pid: int, points: int) -> int:
        key = (pid, "PTS")
        counts = self.sides[side].counts
        counts[key] = counts.get(key, 0) + points
        return counts[key]

    def _free_throw(self, side: int, pid: int, k: int, trip: int, made: bool) -> dict:
        event = self._base(side, pid)
        name, label = self._last(side, pid), f"Free Throw {k} of {trip}"
        event.update(actionType="Free Throw", subType=label)
        if made:
            event["description"] = f"{name} {label} ({{PTS}} PTS)"
            event["_points"] = 1
            event["_player_pts"] = self._player_points(side, pid, 1)
        else:
            event["description"] = f"MISS {name} {label}"
        return event

    def _rebound(self, side: int, pid: int, offensive: bool) -> dict:
        event = self._base(side, pid)
        offense, defense = self._bump_rebound(side, pid, offensive)
        event.update(
            actionType="Rebound",
            subType="Unknown",
            description=f"{self._last(side, pid)} REBOUND (Off:{offense} Def:{defense})",
        )
        return event

    def _bump_rebound(self, side: int, pid: int, offensive: bool) -> tuple[int, int]:
        self.sides[side].bump(pid, "OREB" if offensive else "DREB")
        counts = self.sides[side].counts
        return counts.get((pid, "OREB"), 0), counts.get((pid, "DREB"), 0)

    def _turnover(self, side: int, pid: int) -> dict:
        event = self._base(side, pid)
        kind = self.rng.choice(_TURNOVERS)
        word = "" if kind.endswith("Turnover") else " Turnover"
        event.update(
            actionType="Turnover",
            subType=kind,
            description=f"{self._last(side, pid)} {kind}{word} ({{P}})",
        )
        return event

    def _stat(self, side: int, pid: int, word: str, short: str, shot_value: int) -> dict:
        event = self._base(side, pid)
        count = self.sides[side].bump(pid, short)
        event.update(description=f"{self._last(side, pid)} {word} ({count} {short})")
        event["shotValue"] = shot_value
        return event

    def _foul(self, side: int, pid: int, kind: str, code: str) -> dict:
        event = self._base(side, pid)
        event.update(
            actionType="Foul",
            subType=kind,
            description=f"{self._last(side, pid)} {code} ({{P}}) (S.Official)",
        )
        return event

    def _substitution(self, side: int, player_in: int, player_out: int) -> dict:
        event = self._base(side, player_out)
        event.update(
            actionType="Substitution",
            description=f"SUB: {self.sides[side].text_name(player_in)} FOR {self._last(side, player_out)}",
            videoAvailable=0,
        )
        return event

    def _team_event(self, side: int, action: str, sub: str, text: str) -> dict:
        event = self._base(side)
        team = self.sides[side].team
        event.update(
            personId=team.team_id,
            actionType=action,
            subType=sub,
            description=f"{team.nickname.upper()} {text}",
            videoAvailable=0,
        )
        return event

    def _period_event(self, period: int, which: str, clock: float) -> dict:
        event = self._base(None)
        name = (
            _ORDINAL[period] + " Period"
            if period <= 4
            else f"{_ORDINAL.get(period - 4, f'{period - 4}th')} OT"
        )
        tip = self.game.tip + 35 * (period - 1) + (30 if which == "end" else 0)
        time = f"{(tip // 60 - 1) % 12 + 1}:{tip % 60:02d} PM EST"
        event.update(
            period=period,
            clock=_clock(clock if which == "end" else (720.0 if period <= 4 else 300.0)),
            actionType="period",
            subType=which,
            description=f"{'Start' if which == 'start' else 'End'} of {name} ({time})",
            videoAvailable=0,
        )
        return event

    def _jump_ball(self, fives: tuple[tuple[int, ...], tuple[int, ...]]) -> dict:
        """Between two starters; the tip goes to another home starter."""
        home, away, tipped = fives[0][0], fives[1][0], fives[0][1]
        event = self._base(0, home)
        event.update(
            actionType="Jump Ball",
            description=f"Jump Ball {self._last(0, home)} vs. {self._last(1, away)}: Tip to "
            f"{self._last(0, tipped)}",
        )
        return event


def _clock(seconds: float) -> str:
    """700.5 -> 'PT11M40.50S', the V3 clock."""
    minutes, rest = divmod(round(seconds, 2), 60)
    return f"PT{int(minutes):02d}M{rest:05.2f}S"
