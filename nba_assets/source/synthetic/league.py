"""The synthetic league's simulation: franchises, players and rosters that evolve season to
season, and every game of a season played out as internally consistent box lines.

Simplifications, on purpose: the 30 current franchises play every season under their current
names and conferences; every playoff series is best of 7. The calendar (shortened seasons, the
2020 bubble's pause, the NBA Cup final from 2023-24) is the platform's one season calendar,
`nba_assets.partitions.season_calendar`; the bubble's single play-in game is not simulated.
Box scores are internally consistent (team rows are the sums of player rows, one winner per
game, minutes and plus-minus add up) and a season is identical whatever season range the
league is configured with. How the league answers requests is `responses.py` (stats.nba.com),
`pbp.py` (play-by-play) and `live.py` (the live feed).
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import math
import random
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist

from nba_api.stats.static import teams as static_teams

from nba_assets.partitions import FIRST_PLAY_IN_SEASON, season_calendar

DEFAULT_SEED = 2026
#: The league's first season; rosters evolve from here so any season is range-independent.
ORIGIN_YEAR = 1996
#: Synthetic person ids start far above every real NBA person id.
FIRST_PLAYER_ID = 3_000_000

#: SeasonType -> SEASON_ID / GAME_ID prefix digit; the types listed with None never have games.
SEASON_TYPES: dict[str, str | None] = {
    "Regular Season": "2",
    "Playoffs": "4",
    "PlayIn": "5",
    "IST": "6",
    "Pre Season": None,
    "All Star": None,
    "All-Star": None,
}
REGULAR, PLAYOFFS, PLAY_IN, CUP_FINAL = "2", "4", "5", "6"

_SEASON_RE = re.compile(r"^(\d{4})-(\d{2})$")


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_EAST = frozenset(_words("ATL BOS BKN CHA CHI CLE DET IND MIA MIL NYK ORL PHI TOR WAS"))
_SLUG_OVERRIDES = {"PHI": "sixers", "POR": "blazers"}
_FIRST_NAMES = _words(
    "Aaron Adrian Alonzo Andre Antoine Austin Brandon Bryce Caleb Cameron Carlos Cedric Chris "
    "Corey Damon Darius Derek Devin Dominic Elijah Emmett Felix Gavin Grant Hakeem Isaac Jalen "
    "Jamal Jerome Jordan Julian Keenan Kendall Lamar Lionel Malik Marcus Miles Nolan Omar "
    "Quentin Rashad Reggie Russell Terrence Tobias Victor Xavier"
)
_LAST_NAMES = _words(
    "Abbott Alvarez Barnett Bishop Blackwell Bradford Calloway Carver Chambers Dalton Dawson "
    "Ellison Fairbanks Fletcher Garrison Gentry Hadley Harmon Hollis Ingram Jennings Kendrick "
    "Kessler Lockhart Lowry Maddox Mercer Monroe Nash Oakley Okafor Pennington Prescott Quarles "
    "Ramsey Redding Rollins Sampson Sheffield Sinclair Stroud Sutton Talbot Thornton Underwood "
    "Vance Wakefield Waller Whitaker Winslow Yates Zeller Ashby Brantley Cordell Delaney "
    "Eastman Fontaine Goodwin Holloway Irving Jarrett Kimble"
)
_NAME_SUFFIXES = ("", " II", " III", " IV", " V")

#: Per-36-minute profiles by role: usage (FGA), 3PA share (modern era), FTA/FGA, 2P%, 3P%, FT%,
#: OREB, DREB, AST, STL, BLK, TOV, PF.
_ROLES = (
    (14.0, 0.50, 0.22, 0.48, 0.36, 0.82, 0.6, 3.2, 6.0, 1.3, 0.3, 2.4, 2.4),
    (13.0, 0.48, 0.23, 0.50, 0.36, 0.78, 1.1, 4.6, 2.8, 1.1, 0.5, 1.7, 2.8),
    (11.5, 0.15, 0.30, 0.56, 0.32, 0.68, 3.0, 7.5, 2.0, 0.8, 1.5, 1.8, 3.6),
)
_ROLE_WEIGHTS = (0.38, 0.34, 0.28)
#: Relative minutes by rotation slot (starters first).
_MINUTE_WEIGHTS = (34, 33, 32, 31, 30, 24, 22, 18, 14, 10, 8, 6)
#: Era curves (start year -> value), linearly interpolated and flat outside.
_ERA_PACE = ((1996, 80.0), (2004, 80.0), (2012, 81.5), (2018, 86.0), (2021, 88.0), (2025, 89.0))
_ERA_THREES = ((1996, 0.45), (2005, 0.50), (2012, 0.58), (2017, 0.80), (2021, 0.97), (2025, 1.03))
_ERA_TWO_PCT = ((1996, -0.045), (2010, -0.025), (2018, 0.005), (2025, 0.02))
_ERA_FT_RATE = ((1996, 1.15), (2010, 1.08), (2025, 1.0))

_TIP_TIMES = (19 * 60, 19 * 60 + 30, 20 * 60, 20 * 60 + 30, 22 * 60, 22 * 60 + 30)
_ROUND_NAMES = ("First Round", "Conf. Semifinals", "Conf. Finals", "NBA Finals")


# --------------------------------------------------------------------------- seasons


def season_start(season: str) -> int:
    """The start year of a 'YYYY-YY' season; ValueError for anything else."""
    match = _SEASON_RE.match(season.strip())
    if not match or (int(match[1]) + 1) % 100 != int(match[2]):
        raise ValueError(f"not a season like '2024-25': {season!r}")
    return int(match[1])


def season_name(year: int) -> str:
    """'2024-25' for 2024."""
    return f"{year}-{(year + 1) % 100:02d}"


def parse_season_range(text: str) -> tuple[str, str]:
    """'1996-97:2025-26' -> ('1996-97', '2025-26'); a single season is a range of one."""
    parts = [part.strip() for part in text.split(":")]
    if len(parts) not in (1, 2) or not all(parts):
        raise ValueError(f"not a season range like '1996-97:2025-26': {text!r}")
    first, last = parts[0], parts[-1]
    if season_start(first) > season_start(last):
        raise ValueError(f"season range runs backwards: {text!r}")
    return first, last


def _era(curve: Sequence[tuple[int, float]], year: int) -> float:
    """Piecewise-linear value of an era curve."""
    if year <= curve[0][0]:
        return curve[0][1]
    for (y0, v0), (y1, v1) in itertools.pairwise(curve):
        if year <= y1:
            return v0 + (v1 - v0) * (year - y0) / (y1 - y0)
    return curve[-1][1]


# --------------------------------------------------------------------------- teams


@dataclass(frozen=True, slots=True)
class Team:
    team_id: int
    abbreviation: str
    full_name: str
    nickname: str
    city: str
    state: str
    year_founded: int
    east: bool

    @property
    def slug(self) -> str:
        return _SLUG_OVERRIDES.get(self.abbreviation, self.nickname.lower().replace(" ", ""))


def league_teams() -> tuple[Team, ...]:
    """The 30 current franchises from nba_api's static data, ordered by TEAM_ID."""
    rows = sorted(static_teams.get_teams(), key=lambda t: t["id"])
    return tuple(
        Team(
            t["id"],
            t["abbreviation"],
            t["full_name"],
            t["nickname"],
            t["city"],
            t["state"],
            int(t["year_founded"]),
            t["abbreviation"] in _EAST,
        )
        for t in rows
    )


# --------------------------------------------------------------------------- players


@dataclass(frozen=True, slots=True)
class Player:
    """A synthetic player; immutable so any season can be regenerated identically."""

    pid: int
    first: str
    last: str
    debut: int  # start year of his first season
    career: int  # seasons he plays at most
    talent: float
    profile: tuple[float, ...]  # a _ROLES row with personal noise

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"

    def skill(self, year: int) -> float:
        """Talent with a simple age curve: growth over four years, decline after ten."""
        exp = year - self.debut
        return self.talent + 0.25 * min(exp, 4) / 4 - 0.08 * max(0, exp - 9)


class _PlayerFactory:
    """Mints players with sequential ids and names that are unique until the name grid wraps."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.next_index = 0
        self.by_id: dict[int, Player] = {}

    def _name(self, index: int) -> tuple[str, str]:
        size = len(_FIRST_NAMES) * len(_LAST_NAMES)
        cell = (index * 7919 + self.seed) % size
        suffix = _NAME_SUFFIXES[min(index // size, len(_NAME_SUFFIXES) - 1)]
        first, last = divmod(cell, len(_LAST_NAMES))
        return _FIRST_NAMES[first], _LAST_NAMES[last] + suffix

    def new(self, rng: random.Random, debut: int, min_career: int = 1) -> Player:
        index = self.next_index
        self.next_index += 1
        role = rng.choices(_ROLES, _ROLE_WEIGHTS)[0]
        talent = rng.gauss(0.0, 1.0)
        noisy = [v * (1.0 + rng.gauss(0.0, 0.12)) for v in role]
        noisy[0] *= max(0.5, 1.0 + 0.15 * talent)  # better players shoot more
        for i in (3, 4, 5):  # percentages: small absolute noise instead
            noisy[i] = role[i] + rng.gauss(0.0, 0.025)
        career = max(min_career, 1 + int(rng.expovariate(1 / (5.0 + 1.5 * max(talent, 0.0)))))
        first, last = self._name(index)
        player = Player(
            FIRST_PLAYER_ID + index, first, last, debut, min(career, 20), talent, tuple(noisy)
        )
        self.by_id[player.pid] = player
        return player


Roster = tuple[Player, ...]


def _initial_rosters(rng: random.Random, factory: _PlayerFactory, n_teams: int) -> list[Roster]:
    """The 1996-97 league: veterans with backstories before 1996."""
    rosters = []
    for _ in range(n_teams):
        players = []
        for _ in range(rng.randint(13, 15)):
            exp = rng.choice((0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12))
            players.append(factory.new(rng, ORIGIN_YEAR - exp, min_career=exp + 1))
        rosters.append(_rotation(players, ORIGIN_YEAR))
    return rosters


def _rotation(players: list[Player], year: int) -> Roster:
    """Rotation order: best first, ties broken by id so the order never depends on input order."""
    return tuple(sorted(players, key=lambda p: (-p.skill(year), p.pid)))


def _next_rosters(
    previous: list[Roster], year: int, rng: random.Random, factory: _PlayerFactory
) -> list[Roster]:
    """An offseason: retirements, ~20% movement through free agency, rookies fill the gaps."""
    pool: list[Player] = []
    kept: list[list[Player]] = []
    for roster in previous:
        stay = []
        for player in roster:
            if year - player.debut >= player.career:
                continue
            (stay if rng.random() < 0.8 else pool).append(player)
        kept.append(stay)
    targets = [rng.randint(13, 15) for _ in previous]
    for stay, target in zip(kept, targets, strict=True):
        stay.sort(key=lambda p: (-p.skill(year), p.pid))
        while len(stay) > target:
            pool.append(stay.pop())
    keys = {p.pid: p.skill(year) + rng.gauss(0.0, 0.5) for p in pool}
    pool.sort(key=lambda p: (-keys[p.pid], p.pid))
    order = list(range(len(kept)))
    rng.shuffle(order)
    free = iter(pool)
    while True:
        needy = [i for i in order if len(kept[i]) < targets[i]]
        if not needy:
            break
        for i in needy:
            signed = next(free, None)
            kept[i].append(signed if signed is not None else factory.new(rng, year))
    return [_rotation(stay, year) for stay in kept]


# --------------------------------------------------------------------------- games


#: A box line: (id, MIN, FGM, FGA, FG3M, FG3A, FTM, FTA, OREB, DREB, AST, STL, BLK, TOV, PF, PTS,
#: PLUS_MINUS) with id a PLAYER_ID for player lines and a TEAM_ID for team totals.
Line = tuple[int, ...]
_PTS, _PM = 15, 16


@dataclass(slots=True)
class Game:
    game_id: str
    day: dt.date
    kind: str  # REGULAR, PLAYOFFS or PLAY_IN
    home: int  # team index
    away: int
    tip: int  # minutes after midnight, US Eastern
    ot: int = 0
    lines: tuple[list[Line], list[Line]] = field(default_factory=lambda: ([], []))
    totals: tuple[Line, Line] = ((), ())
    records: tuple[tuple[int, int], tuple[int, int]] = ((0, 0), (0, 0))
    seeds: tuple[int | None, int | None] = (None, None)
    label: str = ""
    series_game: int = 0
    series_text: str = ""

    @property
    def home_won(self) -> bool:
        return self.totals[0][_PTS] > self.totals[1][_PTS]


@dataclass
class Season:
    """One generated season: its games in (date, id) order and the rosters it used."""

    year: int
    games: list[Game]
    rosters: list[Roster]
    opening: dt.date
    by_kind: dict[str, list[Game]] = field(default_factory=dict)
    days_by_kind: dict[str, list[dt.date]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.games.sort(key=lambda g: (g.day, g.game_id))
        for kind in (REGULAR, PLAY_IN, PLAYOFFS, CUP_FINAL):
            chosen = [g for g in self.games if g.kind == kind]
            self.by_kind[kind] = chosen
            self.days_by_kind[kind] = [g.day for g in chosen]

    def window(self, kind: str, start: dt.date | None, end: dt.date | None) -> list[Game]:
        """Games of one kind with start <= GAME_DATE <= end (open bounds allowed)."""
        games, days = self.by_kind[kind], self.days_by_kind[kind]
        lo = 0 if start is None else bisect.bisect_left(days, start)
        hi = len(days) if end is None else bisect.bisect_right(days, end)
        return games[lo:hi]


#: Standard-normal quantiles on a fine grid: a table lookup is ~10x cheaper than rng.gauss.
_NORMAL = tuple(NormalDist().inv_cdf((i + 0.5) / 4096) for i in range(4096))
#: Counting stats are a little under-dispersed next to Poisson, like real team totals.
_SPREAD = 0.7


def _count(rng: random.Random, mean: float) -> int:
    """A fast, Poisson-like non-negative count."""
    if mean <= 0.0:
        return 0
    value = mean + _NORMAL[rng.getrandbits(12)] * _SPREAD * math.sqrt(mean)
    return int(value + 0.5) if value > 0.0 else 0


def _binom(rng: random.Random, n: int, p: float) -> int:
    """Successes in n tries: exact for a few tries, a rounded normal for more (it is hot)."""
    if n < 8:
        draw = rng.random
        return sum(1 for _ in range(n) if draw() < p)
    made = int(n * p + _NORMAL[rng.getrandbits(12)] * math.sqrt(n * p * (1.0 - p)) + 0.5)
    return 0 if made < 0 else n if made > n else made


def _split_minutes(total: int, weights: list[float], cap: int) -> list[int]:
    """Integer minutes proportional to weights, each in [1, cap], summing exactly to total."""
    scale = total / sum(weights)
    raw = [w * scale for w in weights]
    minutes = [max(1, min(cap, int(r))) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: raw[i] - int(raw[i]), reverse=True)
    i = 0
    while (gap := total - sum(minutes)) != 0:
        j = order[i % len(order)]
        step = 1 if gap > 0 else -1
        if 1 <= minutes[j] + step <= cap:
            minutes[j] += step
        i += 1
    return minutes


@dataclass(frozen=True, slots=True)
class _Era:
    pace: float
    threes: float
    two_pct: float
    ft_rate: float

    @classmethod
    def of(cls, year: int) -> _Era:
        return cls(
            _era(_ERA_PACE, year),
            _era(_ERA_THREES, year),
            _era(_ERA_TWO_PCT, year),
            _era(_ERA_FT_RATE, year),
        )


def _team_profiles(roster: Roster, year: int, era: _Era, form: float) -> list[tuple]:
    """Per-minute rates of a team-season's players, in rotation order, era and form applied."""
    out = []
    for p in roster:
        use, three, ftr, p2, p3, pft, oreb, dreb, ast, stl, blk, tov, pf = p.profile
        skill = p.skill(year)
        out.append(
            (
                p.pid,
                use / 36.0,
                min(0.9, three * era.threes),
                ftr * era.ft_rate,
                p2 + era.two_pct + 0.012 * skill + 0.025 * form,
                p3 + 0.005 * skill + 0.02 * form,
                min(0.95, pft),
                tuple(
                    (r / 36.0, math.sqrt(r / 36.0)) for r in (oreb, dreb, ast, stl, blk, tov, pf)
                ),
            )
        )
    return out


def _shot_counts(rng: random.Random, expected: list[float], total: int) -> list[int]:
    """Per-player FGA around their expectations, nudged so the team takes exactly `total`."""
    counts = [_count(rng, e) for e in expected]
    players = range(len(counts))
    while gap := total - sum(counts):
        step = 1 if gap > 0 else -1
        for j in rng.choices(players, weights=expected, k=abs(gap)):
            if counts[j] + step >= 0:
                counts[j] += step
    return counts


def _play_side(
    rng: random.Random,
    profiles: list[tuple],
    ot: int,
    fga_per_48: float,
    bonus: float,
    deep: bool,
) -> list[list[int]]:
    """One team's player lines for one game (PLUS_MINUS filled in later)."""
    available = [p for p in profiles if rng.random() > 0.07]
    if len(available) < 8:
        available = list(profiles[:8])
    size = min(len(available), rng.randint(8, 12) if deep else rng.randint(8, 10))
    active = available[:size]
    total = 240 + 25 * ot
    weights = [_MINUTE_WEIGHTS[i] * (0.8 + 0.4 * rng.random()) for i in range(size)]
    minutes = _split_minutes(total, weights, 48 + 5 * ot)
    team_fga = round(fga_per_48 * total / 240.0 * (1.0 + rng.gauss(0.0, 0.03)))
    expected = [p[1] * m for p, m in zip(active, minutes, strict=True)]
    lines = []
    shots = _shot_counts(rng, expected, team_fga)
    bits, normal = rng.getrandbits, _NORMAL
    for p, m, fga in zip(active, minutes, shots, strict=True):
        fg3a = _binom(rng, fga, p[2])
        fg3m = _binom(rng, fg3a, p[5] + bonus)
        fgm = fg3m + _binom(rng, fga - fg3a, p[4] + bonus)
        fta = _count(rng, fga * p[3])
        ftm = _binom(rng, fta, p[6])
        root = _SPREAD * math.sqrt(m)
        # OREB, DREB, AST, STL, BLK, TOV, PF: _count inlined, this is the hot loop.
        other = [
            int(v + 0.5) if (v := rate * m + normal[bits(12)] * root_rate * root) > 0.0 else 0
            for rate, root_rate in p[7]
        ]
        other[6] = min(other[6], 6)
        lines.append([p[0], m, fgm, fga, fg3m, fg3a, ftm, fta, *other, 2 * fgm + fg3m + ftm, 0])
    return lines


def _plus_minus(rng: random.Random, lines: list[list[int]], margin: int) -> None:
    """Spread 5 x the team margin over the players by minutes, with zero-sum noise."""
    total = sum(line[1] for line in lines)
    noise = [rng.gauss(0.0, 4.0 * math.sqrt(line[1] / 48.0)) for line in lines]
    drift = sum(noise)
    values = [
        round(5 * margin * line[1] / total + e - drift * line[1] / total)
        for line, e in zip(lines, noise, strict=True)
    ]
    values[0] += 5 * margin - sum(values)
    for line, value in zip(lines, values, strict=True):
        line[_PM] = value


def _total(team_id: int, lines: list[list[int]], margin: int) -> Line:
    sums = [sum(col) for col in zip(*lines, strict=True)]
    return (team_id, *sums[1:_PM], margin)


# --------------------------------------------------------------------------- schedules


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _dark_days(year: int) -> set[dt.date]:
    """Thanksgiving, Christmas Eve, the All-Star break, a pause and the Cup final's day."""
    calendar = season_calendar(year)
    thanksgiving = _nth_weekday(year, 11, 3, 4)
    all_star = _nth_weekday(year + 1, 2, 6, 3)
    days = {thanksgiving, dt.date(year, 12, 24)}
    days.update(all_star + dt.timedelta(days=d) for d in range(-2, 3))
    for first, last in calendar.paused:
        days.update(first + dt.timedelta(days=d) for d in range((last - first).days + 1))
    if calendar.cup_final is not None:  # the final is the only game of its day
        days.add(calendar.cup_final)
    return days


def _round_robin(rng: random.Random, n: int) -> list[list[tuple[int, int]]]:
    """Circle-method round robin: n-1 rounds, each a perfect matching of (home, away)."""
    order = list(range(n))
    rng.shuffle(order)
    rounds = []
    for r in range(n - 1):
        pairs = []
        for i in range(n // 2):
            a, b = order[i], order[n - 1 - i]
            pairs.append((a, b) if (r + i) % 2 == 0 else (b, a))
        rounds.append(pairs)
        order = [order[0], order[-1], *order[1:-1]]
    return rounds


def _matchups(rng: random.Random, n: int, games_per_team: int) -> list[tuple[int, int]]:
    """games_per_team rounds of perfect matchings: home and away vs all, then extra rounds."""
    first = _round_robin(rng, n)
    rounds = first + [[(b, a) for a, b in r] for r in first] + _round_robin(rng, n)
    rounds = rounds[:games_per_team]
    rng.shuffle(rounds)
    for r in rounds:
        rng.shuffle(r)
    return [pair for r in rounds for pair in r]


def _assign_days(
    rng: random.Random,
    queue: list[tuple[int, int]],
    opening: dt.date,
    closing: dt.date,
    dark: set[dt.date],
) -> list[tuple[dt.date, int, int]]:
    """Day-by-day slates: nobody twice a day or three days running, the queue drained in order."""
    playable = [
        opening + dt.timedelta(days=d)
        for d in range((closing - opening).days + 1)
        if opening + dt.timedelta(days=d) not in dark
    ]
    slates: list[tuple[dt.date, int, int]] = []
    day, index = opening, 0
    before: set[int] = set()
    yesterday: set[int] = set()
    while queue:
        if day in dark:
            day += dt.timedelta(days=1)
            continue
        days_left = max(1, len(playable) - index)
        mean = len(queue) / days_left
        wanted = max(1, min(15, round(rng.gauss(mean, 2.0))))
        tired = before & yesterday
        busy: set[int] = set()
        picked: list[int] = []
        for i, (home, away) in enumerate(queue[:60]):
            if home in busy or away in busy or home in tired or away in tired:
                continue
            busy.update((home, away))
            picked.append(i)
            slates.append((day, home, away))
            if len(picked) == wanted:
                break
        taken = set(picked)
        queue = [g for i, g in enumerate(queue) if i not in taken]
        before, yesterday = yesterday, busy
        day += dt.timedelta(days=1)
        index += 1
    return slates


# --------------------------------------------------------------------------- the season simulator


class _SeasonBuilder:
    """Simulates one season: regular season, play-in (from 2020-21) and playoffs."""

    def __init__(self, year: int, rng: random.Random, teams: Sequence[Team], rosters: list[Roster]):
        self.year, self.rng, self.teams, self.rosters = year, rng, teams, rosters
        self.yy = year % 100
        era = _Era.of(year)
        self.pace = era.pace
        forms = [rng.gauss(0.0, 1.0) for _ in teams]
        self.profiles = [
            _team_profiles(r, year, era, f) for r, f in zip(rosters, forms, strict=True)
        ]
        self.tiebreak = [rng.random() for _ in teams]
        self.wins = [0] * len(teams)
        self.losses = [0] * len(teams)
        self.games: list[Game] = []

    def build(self) -> Season:
        calendar = season_calendar(self.year)
        opening = calendar.opening
        last_day = self._regular_season(calendar.games_per_team, opening, calendar.closing)
        east = [i for i, t in enumerate(self.teams) if t.east]
        west = [i for i, t in enumerate(self.teams) if not t.east]
        start = last_day + dt.timedelta(days=2)
        if self.year >= FIRST_PLAY_IN_SEASON:
            seeds, start = self._play_in([self._standings(east), self._standings(west)], start)
        else:
            seeds = [self._standings(east)[:8], self._standings(west)[:8]]
        self._playoffs(seeds, start)
        if calendar.cup_final is not None:  # played last so earlier games keep their numbers
            self._cup_final(calendar.cup_final, east, west)
        return Season(self.year, self.games, self.rosters, opening)

    def _cup_final(self, day: dt.date, east: list[int], west: list[int]) -> None:
        """The NBA Cup championship: one East and one West team, outside the standings."""
        home, away = self.rng.choice(east), self.rng.choice(west)
        if self.rng.random() < 0.5:
            home, away = away, home
        game = Game(f"006{self.yy:02d}00001", day, CUP_FINAL, home, away, 20 * 60 + 30)
        game.records = (self._record(home), self._record(away))
        game.label = "Emirates NBA Cup Championship"
        self._play(game, deep=False)

    def _standings(self, conference: list[int]) -> list[int]:
        return sorted(conference, key=lambda i: (-self.wins[i], -self.tiebreak[i]))

    def _play(self, game: Game, deep: bool = True) -> Game:
        """Fill a game's box score; exactly one winner, minutes and plus-minus consistent."""
        rng = self.rng
        roll = rng.random()
        game.ot = 0 if roll > 0.06 else 1 if roll > 0.009 else 2 if roll > 0.0015 else 3
        pace = self.pace * (1.0 + rng.gauss(0.0, 0.05))  # both teams share a game's pace
        home = _play_side(rng, self.profiles[game.home], game.ot, pace, 0.008, deep)
        away = _play_side(rng, self.profiles[game.away], game.ot, pace, 0.0, deep)
        home_pts, away_pts = sum(x[_PTS] for x in home), sum(x[_PTS] for x in away)
        if home_pts == away_pts:  # the last free throw decides it
            line = rng.choice(home if rng.random() < 0.5 else away)
            line[6] += 1
            line[7] += 1
            line[_PTS] += 1
            home_pts, away_pts = sum(x[_PTS] for x in home), sum(x[_PTS] for x in away)
        margin = home_pts - away_pts
        _plus_minus(rng, home, margin)
        _plus_minus(rng, away, -margin)
        home.sort()
        away.sort()
        game.lines = ([tuple(x) for x in home], [tuple(x) for x in away])
        game.totals = (
            _total(self.teams[game.home].team_id, home, margin),
            _total(self.teams[game.away].team_id, away, -margin),
        )
        winner, loser = (game.home, game.away) if margin > 0 else (game.away, game.home)
        if game.kind == REGULAR:
            self.wins[winner] += 1
            self.losses[loser] += 1
        self.games.append(game)
        return game

    def _regular_season(self, games_per_team: int, opening: dt.date, closing: dt.date) -> dt.date:
        rng = self.rng
        queue = _matchups(rng, len(self.teams), games_per_team)
        slates = _assign_days(rng, queue, opening, closing, _dark_days(self.year))
        for seq, (day, home, away) in enumerate(slates, start=1):
            game = Game(
                f"002{self.yy:02d}{seq:05d}", day, REGULAR, home, away, rng.choice(_TIP_TIMES)
            )
            self._play(game)
            game.records = (
                (self.wins[home], self.losses[home]),
                (self.wins[away], self.losses[away]),
            )
        return slates[-1][0]

    def _record(self, team: int) -> tuple[int, int]:
        return self.wins[team], self.losses[team]

    def _play_in(
        self, standings: list[list[int]], start: dt.date
    ) -> tuple[list[list[int]], dt.date]:
        """Seeds 7-10 of each conference play for the last two playoff spots (6 games)."""
        seq = 0
        results: list[list[int]] = []
        pending = []
        for conf, table in enumerate(standings):
            day = start + dt.timedelta(days=conf)
            pair_results = []
            for hi, lo in ((6, 7), (8, 9)):
                seq += 1
                game = self._play_in_game(seq, day, table[hi], table[lo], (hi + 1, lo + 1))
                pair_results.append(game)
            pending.append(pair_results)
        for conf, (first, second) in enumerate(pending):
            table = standings[conf]
            seventh = first.home if first.home_won else first.away
            loser78 = first.away if first.home_won else first.home
            winner910 = second.home if second.home_won else second.away
            seeds = (standings[conf].index(loser78) + 1, standings[conf].index(winner910) + 1)
            seq += 1
            final = self._play_in_game(seq, start + dt.timedelta(days=3), loser78, winner910, seeds)
            eighth = final.home if final.home_won else final.away
            results.append([*table[:6], seventh, eighth])
        return results, start + dt.timedelta(days=5)

    def _play_in_game(
        self, seq: int, day: dt.date, home: int, away: int, seeds: tuple[int, int]
    ) -> Game:
        game = Game(f"005{self.yy:02d}000{seq:02d}", day, PLAY_IN, home, away, 19 * 60 + 30)
        game.records, game.seeds = (self._record(home), self._record(away)), seeds
        game.label = "Play-In Tournament"
        return self._play(game, deep=False)

    def _playoffs(self, seeds: list[list[int]], start: dt.date) -> None:
        """Four best-of-7 rounds; higher seed (or better record in the Finals) has home court."""
        seed_of = {team: i + 1 for conf in seeds for i, team in enumerate(conf)}
        bracket = [[conf[i] for i in (0, 7, 3, 4, 2, 5, 1, 6)] for conf in seeds]
        field_ = bracket[0] + bracket[1]
        for round_no in range(1, 5):
            winners, ends = [], []
            for series_no in range(len(field_) // 2):
                a, b = field_[2 * series_no], field_[2 * series_no + 1]
                if round_no < 4:
                    hi, lo = (a, b) if seed_of[a] < seed_of[b] else (b, a)
                else:
                    hi, lo = sorted((a, b), key=lambda t: (-self.wins[t], -self.tiebreak[t]))
                day = start + dt.timedelta(days=series_no % 2)
                winner, end = self._series(round_no, series_no, hi, lo, day, seed_of)
                winners.append(winner)
                ends.append(end)
            field_ = winners
            start = max(ends) + dt.timedelta(days=2 if round_no < 3 else 3)

    def _series(
        self, round_no: int, series_no: int, hi: int, lo: int, day: dt.date, seed_of: dict
    ) -> tuple[int, dt.date]:
        wins = {hi: 0, lo: 0}
        number = 0
        conf = "" if round_no == 4 else ("East " if self.teams[hi].east else "West ")
        while max(wins.values()) < 4:
            number += 1
            home, away = (hi, lo) if number in (1, 2, 5, 7) else (lo, hi)
            game = Game(
                f"004{self.yy:02d}00{round_no}{series_no}{number}",
                day,
                PLAYOFFS,
                home,
                away,
                20 * 60,
            )
            game.seeds = (seed_of[home], seed_of[away])
            game.label = conf + _ROUND_NAMES[round_no - 1]
            game.series_game = number
            self._play(game, deep=False)
            wins[home if game.home_won else away] += 1
            game.records = ((wins[home], wins[away]), (wins[away], wins[home]))
            game.series_text = self._series_text(hi, lo, wins)
            if max(wins.values()) < 4:
                day += dt.timedelta(days=self.rng.choice((1, 2, 2)))
        return (hi if wins[hi] == 4 else lo), day

    def _series_text(self, hi: int, lo: int, wins: dict[int, int]) -> str:
        lead, trail = (hi, lo) if wins[hi] >= wins[lo] else (lo, hi)
        score = f"{wins[lead]}-{wins[trail]}"
        if wins[lead] == wins[trail]:
            return f"Series tied {score}"
        verb = "wins" if wins[lead] == 4 else "leads"
        return f"{self.teams[lead].abbreviation} {verb} {score}"


# --------------------------------------------------------------------------- the league


class League:
    """A seeded league whose seasons are generated lazily and kept.

    Season X depends only on the seed (rosters evolve from 1996-97 whatever the configured
    range), so a narrow range holds exactly the same games as a wide one. A season is
    generated once (~0.5 s) and kept (~6 MB): a server that dropped the oldest of a few had
    a 25-season backfill pay for three generations of every season, charged to the run as
    server time. Thread-safe: the replay server answers from several threads.
    """

    def __init__(
        self, seed: int = DEFAULT_SEED, first_season: str = "1996-97", last_season: str = "2025-26"
    ) -> None:
        self.seed = seed
        self.first_year = season_start(first_season)
        self.last_year = season_start(last_season)
        if self.first_year < ORIGIN_YEAR:
            raise ValueError(f"the synthetic league starts in {season_name(ORIGIN_YEAR)}")
        if self.first_year > self.last_year:
            raise ValueError(f"season range runs backwards: {first_season}:{last_season}")
        self.teams = league_teams()
        self._factory = _PlayerFactory(seed)
        self._rosters: list[list[Roster]] = []
        self._seasons: dict[int, Season] = {}
        self._lock = threading.RLock()

    @property
    def seasons(self) -> list[str]:
        return [season_name(y) for y in range(self.first_year, self.last_year + 1)]

    def rosters(self, year: int) -> list[Roster]:
        """The 30 rosters (rotation order) of a season, evolving the chain from 1996-97."""
        with self._lock:
            while len(self._rosters) <= year - ORIGIN_YEAR:
                built = ORIGIN_YEAR + len(self._rosters)
                rng = random.Random(f"{self.seed}:rosters:{built}")
                if not self._rosters:
                    self._rosters.append(_initial_rosters(rng, self._factory, len(self.teams)))
                else:
                    previous = self._rosters[-1]
                    self._rosters.append(_next_rosters(previous, built, rng, self._factory))
            return self._rosters[year - ORIGIN_YEAR]

    def season(self, year: int) -> Season:
        """A generated season, generated on first use and kept."""
        with self._lock:
            cached = self._seasons.get(year)
            if cached is None:
                rng = random.Random(f"{self.seed}:season:{year}")
                cached = _SeasonBuilder(year, rng, self.teams, self.rosters(year)).build()
                self._seasons[year] = cached
            return cached
