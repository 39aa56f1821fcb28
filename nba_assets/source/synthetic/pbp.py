"""Synthetic PlayByPlayV3: every event of a synthetic game, in the real layout, adding up to its box score.

Each team's made and attempted field goals and threes, free throws, player rebounds, turnovers
and points counted from the events equal its box-score line; the last event carries the final
score. Kept from the real feed (checked against the recorded playbyplayv3 fixture): a free throw
has no shotResult and a shotValue of 0 and a miss is known by its description ('MISS ...');
scoreHome/scoreAway are blank on events that do not change the score; team events (timeouts,
team rebounds) have teamId 0 and the team's id in personId; steals and blocks have no actionType.

Simplifications, on purpose: possessions alternate loosely, lineups are not tracked (any player of
the box score may act at any time), and an overtime game is not tied after regulation.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import TYPE_CHECKING

from nba_assets.source.protocol import NotServed
from nba_assets.source.synthetic.league import season_name

if TYPE_CHECKING:
    from nba_assets.source.synthetic.league import Game, League

#: A box line's columns (see synthetic.Line).
_PID, _FGM, _FGA, _FG3M, _FG3A, _FTM, _FTA, _OREB, _DREB = 0, 2, 3, 4, 5, 6, 7, 8, 9
_AST, _STL, _BLK, _TOV, _PF = 10, 11, 12, 13, 14
_TWO_TYPES = ("Jump Shot", "Driving Layup Shot", "Pullup Jump shot", "Dunk Shot", "Hook Shot")
_TWO_TYPES += ("Floating Jump shot", "Cutting Layup Shot", "Turnaround Fadeaway shot")
_THREE_TYPES = ("Jump Shot", "Pullup Jump shot", "Step Back Jump shot", "Running Jump Shot")
_TURNOVERS = ("Bad Pass", "Lost Ball", "Traveling", "Out of Bounds Lost Ball Turnover")
_TURNOVERS += ("Offensive Foul Turnover", "Step Out of Bounds Turnover")
_ORDINAL = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th"}


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


class _Side:
    """One team's box lines as pools of events still to be placed."""

    def __init__(self, league: League, game: Game, side: int) -> None:
        team_index = (game.home, game.away)[side]
        self.team = league.teams[team_index]
        self.location = "h" if side == 0 else "v"
        self.lines = game.lines[side]
        self.players = league._factory.by_id
        self.counts: dict[tuple[int, str], int] = {}

    def pool(self, column: int) -> list[int]:
        """One player id per unit of a box column (e.g. each rebound), in line order."""
        return [line[_PID] for line in self.lines for _ in range(line[column])]

    def bump(self, pid: int, what: str) -> int:
        key = (pid, what)
        self.counts[key] = self.counts.get(key, 0) + 1
        return self.counts[key]


class _GameScript:
    """Builds the possession groups of a game, then lays them out over the periods."""

    def __init__(self, league: League, game: Game, rng: random.Random) -> None:
        self.game, self.rng = game, rng
        self.sides = (_Side(league, game, 0), _Side(league, game, 1))
        self.score = [0, 0]

    def actions(self) -> list[dict]:
        rng = self.rng
        queues = [self._items(0), self._items(1)]
        rebounds = [self._rebound_pools(0), self._rebound_pools(1)]
        stops = [
            (self.sides[s].pool(_STL), self.sides[s].pool(_BLK), self.sides[s].pool(_AST))
            for s in (0, 1)
        ]
        for pools in stops:
            for pool in pools:
                rng.shuffle(pool)
        groups: list[list[dict]] = []
        turn = rng.randrange(2)
        while queues[0] or queues[1]:
            side = turn if queues[turn] else 1 - turn
            item = queues[side].pop()
            groups.append(self._group(side, item, rebounds, stops))
            turn = 1 - side
        self._spread_leftover_rebounds(groups, rebounds)
        return self._lay_out(groups, self._extras())

    def _items(self, side: int) -> list[tuple]:
        """('fg', pid, value, made) and ('ft', pid, n_attempts, n_made) and ('tov', pid)."""
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
                items.append(("ft", pid, trip, hits))
                attempts, made = attempts - trip, made - hits
        self.rng.shuffle(items)
        return items

    def _rebound_pools(self, side: int) -> tuple[list[int], list[int]]:
        """(offensive rebounders of this side, defensive rebounders of the other side)."""
        offense, defense = self.sides[side].pool(_OREB), self.sides[1 - side].pool(_DREB)
        self.rng.shuffle(offense)
        self.rng.shuffle(defense)
        return offense, defense

    def _group(self, side: int, item: tuple, rebounds: list, stops: list) -> list[dict]:
        rng, other = self.rng, 1 - side
        events: list[dict] = []
        if item[0] == "tov":
            events.append(self._turnover(side, item[1]))
            if stops[other][0] and rng.random() < 0.6:
                events.append(self._stat(other, stops[other][0].pop(), "STEAL", "STL", 0))
            return events
        if item[0] == "ft":
            fouler = self._any_player(other)
            events.append(self._foul(other, fouler, "Shooting", "S.FOUL"))
            _, pid, trip, hits = item
            makes = [True] * hits + [False] * (trip - hits)
            rng.shuffle(makes)
            for k, made in enumerate(makes, 1):
                events.append(self._free_throw(side, pid, k, trip, made))
            if not makes[-1]:
                events.append(self._rebound(side, rebounds))
            return events
        _, pid, value, made = item
        assister = None
        if made and stops[side][2] and rng.random() < 0.75:
            assister = stops[side][2].pop()
        events.append(self._field_goal(side, pid, value, made, assister))
        if not made:
            if stops[other][1] and rng.random() < 0.12:
                events.append(self._stat(other, stops[other][1].pop(), "BLOCK", "BLK", 2))
            events.append(self._rebound(side, rebounds))
        return events

    def _spread_leftover_rebounds(self, groups: list[list[dict]], rebounds: list) -> None:
        """Box scores may hold more rebounds than misses: the rest follow random misses."""
        for side in (0, 1):
            offense, defense = rebounds[side]
            misses = [g for g in groups if g[-1]["actionType"] == "Rebound" and g[0]["location"]]
            while offense or defense:
                group = self.rng.choice(misses) if misses else groups[-1]
                group.append(self._rebound(side, rebounds))

    def _extras(self) -> list[list[dict]]:
        """Non-scoring events: personal fouls, substitutions, timeouts."""
        rng, extras = self.rng, []
        for side in (0, 1):
            for _ in range(rng.randint(14, 22)):
                extras.append([self._foul(side, self._any_player(side), "Personal", "P.FOUL")])
            lines = self.sides[side].lines
            for _ in range(rng.randint(18, 26)):
                out_line, in_line = rng.sample(lines, 2)
                extras.append([self._substitution(side, in_line[_PID], out_line[_PID])])
            for _ in range(rng.randint(5, 7)):
                extras.append([self._team_event(side, "Timeout", "Regular", "Timeout: Regular")])
        return extras

    def _lay_out(self, groups: list[list[dict]], others: list[list[dict]]) -> list[dict]:
        """Shuffle non-scoring groups in, cut into periods, give clocks, number and score."""
        rng = self.rng
        order = list(groups)
        for group in others:
            order.insert(rng.randrange(len(order) + 1), group)
        periods = 4 + self.game.ot
        lengths = [720.0] * 4 + [300.0] * self.game.ot
        total = sum(lengths)
        bounds, start = [], 0
        for p, length in enumerate(lengths):
            end = len(order) if p == periods - 1 else start + round(len(order) * length / total)
            bounds.append((start, end))
            start = end
        actions: list[dict] = []
        for p, ((lo, hi), length) in enumerate(zip(bounds, lengths, strict=True), 1):
            actions.append(self._period_event(p, "start", length))
            if p == 1:
                actions.append(self._jump_ball())
            chunk = order[lo:hi]
            times = sorted((rng.uniform(1.0, length - 5.0) for _ in chunk), reverse=True)
            previous = length
            for group, clock in zip(chunk, times, strict=True):
                for k, event in enumerate(group):
                    after = 2.0 if k and event["actionType"] == "Rebound" else 0.0
                    previous = max(0.0, min(previous, clock - after))
                    event["period"], event["clock"] = p, _clock(previous)
                    actions.append(event)
            actions.append(self._period_event(p, "end", 0.0))
        for number, event in enumerate(actions, 1):
            event["actionId"] = number
            event["actionNumber"] = number + (number // 7)
            self._apply_score(event)
            self._number_fouls(event)
        return actions

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

    def _any_player(self, side: int) -> int:
        lines = self.sides[side].lines
        return self.rng.choices(lines, weights=[max(1, line[1]) for line in lines])[0][_PID]

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

    def _rebound(self, shooting_side: int, rebounds: list) -> dict:
        """Offensive or defensive from the box-score pools; a team rebound when both are spent."""
        offense, defense = rebounds[shooting_side]
        other = 1 - shooting_side
        share = len(offense) / (len(offense) + len(defense)) if offense or defense else 0.0
        if offense and (not defense or self.rng.random() < share):
            side, pid = shooting_side, offense.pop()
        elif defense:
            side, pid = other, defense.pop()
        else:
            side = other if self.rng.random() < 0.75 else shooting_side
            return self._team_event(side, "Rebound", "Normal Rebound", "Rebound")
        event = self._base(side, pid)
        offensive, defensive = self._bump_rebound(side, pid, side == shooting_side)
        event.update(
            actionType="Rebound",
            subType="Unknown",
            description=f"{self._last(side, pid)} REBOUND (Off:{offensive} Def:{defensive})",
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
            description=f"SUB: {self._last(side, player_in)} FOR {self._last(side, player_out)}",
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

    def _jump_ball(self) -> dict:
        home, away = (self.sides[s].lines[0][_PID] for s in (0, 1))
        event = self._base(0, home)
        event.update(
            actionType="Jump Ball",
            description=f"Jump Ball {self._last(0, home)} vs. {self._last(1, away)}: Tip to "
            f"{self._last(0, self.sides[0].lines[1][_PID])}",
        )
        return event


def _clock(seconds: float) -> str:
    """700.5 -> 'PT11M40.50S', the V3 clock."""
    minutes, rest = divmod(round(seconds, 2), 60)
    return f"PT{int(minutes):02d}M{rest:05.2f}S"
