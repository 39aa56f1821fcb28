"""The synthetic league answering stats.nba.com requests in the real shapes.

The offline demo, the tests and the scale benchmarks run the real nba_api client and the real
asset code against it (through the replay server), so every body mirrors a real recording:
same result-set names, headers, value types and conventions (SEASON_ID, GAME_ID, MATCHUP...).
The games themselves are `league.py`'s; play-by-play is `pbp.py`'s, the live feed `live.py`'s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

from nba_assets.source.protocol import NotServed, date_window, result_set, stats_body
from nba_assets.source.synthetic.league import (
    _PM,
    _PTS,
    DEFAULT_SEED,
    ORIGIN_YEAR,
    REGULAR,
    SEASON_TYPES,
    Game,
    League,
    Line,
    Player,
    Team,
    season_name,
    season_start,
)
from nba_assets.source.synthetic.live import game_log_holds, respond_live
from nba_assets.source.synthetic.pbp import play_by_play_body

TEAM_LOG_HEADERS = [
    "SEASON_ID",
    "TEAM_ID",
    "TEAM_ABBREVIATION",
    "TEAM_NAME",
    "GAME_ID",
    "GAME_DATE",
    "MATCHUP",
    "WL",
    "MIN",
    "FGM",
    "FGA",
    "FG_PCT",
    "FG3M",
    "FG3A",
    "FG3_PCT",
    "FTM",
    "FTA",
    "FT_PCT",
    "OREB",
    "DREB",
    "REB",
    "AST",
    "STL",
    "BLK",
    "TOV",
    "PF",
    "PTS",
    "PLUS_MINUS",
    "VIDEO_AVAILABLE",
]
PLAYER_LOG_HEADERS = [
    *TEAM_LOG_HEADERS[:1],
    "PLAYER_ID",
    "PLAYER_NAME",
    *TEAM_LOG_HEADERS[1:-1],
    "FANTASY_PTS",
    "VIDEO_AVAILABLE",
]
ALL_PLAYERS_HEADERS = [
    "PERSON_ID",
    "DISPLAY_LAST_COMMA_FIRST",
    "DISPLAY_FIRST_LAST",
    "ROSTERSTATUS",
    "FROM_YEAR",
    "TO_YEAR",
    "PLAYERCODE",
    "PLAYER_SLUG",
    "TEAM_ID",
    "TEAM_CITY",
    "TEAM_NAME",
    "TEAM_ABBREVIATION",
    "TEAM_CODE",
    "TEAM_SLUG",
    "GAMES_PLAYED_FLAG",
    "OTHERLEAGUE_EXPERIENCE_CH",
]
TEAM_YEARS_HEADERS = ["LEAGUE_ID", "TEAM_ID", "MIN_YEAR", "MAX_YEAR", "ABBREVIATION"]

_BROADCASTER_TYPES = (
    "nationalBroadcasters",
    "nationalRadioBroadcasters",
    "nationalOttBroadcasters",
    "homeTvBroadcasters",
    "homeRadioBroadcasters",
    "homeOttBroadcasters",
    "awayTvBroadcasters",
    "awayRadioBroadcasters",
    "awayOttBroadcasters",
)


class SyntheticLeague(League):
    """Answers stats.nba.com (and live-feed) requests from a seeded league."""

    def __init__(
        self, seed: int = DEFAULT_SEED, first_season: str = "1996-97", last_season: str = "2025-26"
    ) -> None:
        super().__init__(seed, first_season, last_season)
        #: the simulated now of game nights (None: every game is over) and how long after a
        #: final buzzer the stats game log lists the game (see live.py)
        self.clock: dt.datetime | None = None
        self.game_log_lag = dt.timedelta(0)
        self._handlers: dict[str, Callable[[Mapping[str, str]], dict]] = {
            "leaguegamelog": self._league_game_log,
            "commonallplayers": self._common_all_players,
            "commonteamyears": self._common_team_years,
            "scheduleleaguev2": self._schedule,
            "playbyplayv3": self._play_by_play,
        }

    def respond(self, endpoint: str, params: Mapping[str, str]) -> dict:
        """The parsed JSON body stats.nba.com would send; NotServed for anything else."""
        if endpoint.startswith("live/"):
            return respond_live(self, endpoint, self.clock or dt.datetime.now(dt.UTC))
        handler = self._handlers.get(endpoint.strip().strip("/").lower())
        if handler is None:
            raise NotServed(
                f"the synthetic league does not serve {endpoint!r}; it serves "
                f"{', '.join(sorted(self._handlers))}"
            )
        league = params.get("LeagueID") or "00"
        if league != "00":
            raise NotServed(f"the synthetic league is the NBA (LeagueID 00), not {league!r}")
        return handler(params)

    def _served_year(self, params: Mapping[str, str], *, beyond_last: bool = False) -> int:
        text = params.get("Season") or ""
        try:
            year = season_start(text)
        except ValueError:
            raise NotServed(f"Season must look like '2024-25', got {text!r}") from None
        if year < self.first_year or (year > self.last_year and not beyond_last):
            raise NotServed(
                f"season {text} is outside the synthetic league's "
                f"{season_name(self.first_year)}:{season_name(self.last_year)}"
            )
        return min(year, self.last_year)

    # ------------------------------------------------------------------ endpoints

    def _play_by_play(self, params: Mapping[str, str]) -> dict:
        return play_by_play_body(self, params)

    def _league_game_log(self, params: Mapping[str, str]) -> dict:
        year = self._served_year(params)
        who = params.get("PlayerOrTeam") or "T"
        if who not in ("T", "P"):
            raise NotServed(f"PlayerOrTeam must be 'T' or 'P', got {who!r}")
        season_type = params.get("SeasonType") or "Regular Season"
        if season_type not in SEASON_TYPES:
            raise NotServed(
                f"SeasonType must be one of {sorted(SEASON_TYPES)}, got {season_type!r}"
            )
        try:
            start, end = date_window(params)
        except ValueError as exc:
            raise NotServed(str(exc)) from None
        kind = SEASON_TYPES[season_type]
        games = [] if kind is None else self.season(year).window(kind, start, end)
        if self.clock is not None:  # a game night: only games over (and past the lag) are logged
            games = [g for g in games if game_log_holds(g, self.clock, self.game_log_lag)]
        if who == "T":
            headers, rows = TEAM_LOG_HEADERS, self._team_rows(year, games)
        else:
            headers, rows = PLAYER_LOG_HEADERS, self._player_rows(year, games)
        return stats_body("leaguegamelog", params, [result_set("LeagueGameLog", headers, rows)])

    def _sides(self, game: Game) -> list[tuple[int, str]]:
        """(side, MATCHUP) for both teams of a game (side 0 is home), in TEAM_ID order."""
        home, away = self.teams[game.home], self.teams[game.away]
        sides = [
            (0, f"{home.abbreviation} vs. {away.abbreviation}"),
            (1, f"{away.abbreviation} @ {home.abbreviation}"),
        ]
        return sorted(sides, key=lambda s: game.totals[s[0]][0])

    def _team_rows(self, year: int, games: list[Game]) -> list[list]:
        rows = []
        for game in games:
            season_id, day = f"{game.kind}{year}", game.day.isoformat()
            for side, matchup in self._sides(game):
                team = self.teams[(game.home, game.away)[side]]
                total = game.totals[side]
                wl = "W" if total[_PM] > 0 else "L"
                rows.append(
                    [
                        season_id,
                        team.team_id,
                        team.abbreviation,
                        team.full_name,
                        game.game_id,
                        day,
                        matchup,
                        wl,
                        *_box(total),
                        1,
                    ]
                )
        return rows

    def _player_rows(self, year: int, games: list[Game]) -> list[list]:
        players = self._factory.by_id
        rows = []
        for game in games:
            season_id, day = f"{game.kind}{year}", game.day.isoformat()
            for side, matchup in self._sides(game):
                team = self.teams[(game.home, game.away)[side]]
                wl = "W" if game.totals[side][_PM] > 0 else "L"
                for line in game.lines[side]:
                    rows.append(
                        [
                            season_id,
                            line[0],
                            players[line[0]].name,
                            team.team_id,
                            team.abbreviation,
                            team.full_name,
                            game.game_id,
                            day,
                            matchup,
                            wl,
                            *_box(line),
                            _fantasy(line),
                            1,
                        ]
                    )
        return rows

    def _common_all_players(self, params: Mapping[str, str]) -> dict:
        year = self._served_year(params, beyond_last=True)
        only_current = (params.get("IsOnlyCurrentSeason") or "0") == "1"
        span: dict[int, list[int]] = {}
        for y in range(ORIGIN_YEAR, year + 1):
            for roster in self.rosters(y):
                for player in roster:
                    span.setdefault(player.pid, [y, y])[1] = y
        current = {p.pid: self.teams[i] for i, r in enumerate(self.rosters(year)) for p in r}
        players = self._factory.by_id
        rows = []
        for pid, (_, last) in span.items():
            team = current.get(pid)
            if only_current and team is None:
                continue
            rows.append(_person_row(players[pid], last, team))
        rows.sort(key=lambda r: (r[1], r[0]))
        return stats_body(
            "commonallplayers", params, [result_set("CommonAllPlayers", ALL_PLAYERS_HEADERS, rows)]
        )

    def _common_team_years(self, params: Mapping[str, str]) -> dict:
        rows = [
            [
                "00",
                t.team_id,
                str(min(t.year_founded, ORIGIN_YEAR)),
                str(self.last_year),
                t.abbreviation,
            ]
            for t in self.teams
        ]
        return stats_body(
            "commonteamyears", params, [result_set("TeamYears", TEAM_YEARS_HEADERS, rows)]
        )

    def _schedule(self, params: Mapping[str, str]) -> dict:
        """The ScheduleLeagueV2 body: every generated game (regular season, play-in, playoffs)."""
        year = self._served_year(params)
        season = self.season(year)
        name = season_name(year)
        opening_monday = season.opening - dt.timedelta(days=season.opening.weekday())
        by_day: dict[dt.date, list[dict]] = {}
        for game in season.games:
            slate = by_day.setdefault(game.day, [])
            slate.append(self._schedule_game(game, opening_monday, len(slate) + 1))
        last = max(by_day)
        weeks = [
            {
                "weekNumber": n + 1,
                "weekName": f"Week {n + 1}",
                "startDate": _iso_z(opening_monday + dt.timedelta(days=7 * n)),
                "endDate": _iso_z(opening_monday + dt.timedelta(days=7 * n + 6)),
            }
            for n in range(_week(season.by_kind[REGULAR][-1].day, opening_monday))
        ]
        return {
            "meta": {
                "version": 1,
                "request": f"https://stats.nba.com/stats/scheduleleaguev2?LeagueID=00&Season={name}",
                "time": f"{(last + dt.timedelta(days=1)).isoformat()}T12:00:00.000Z",
            },
            "leagueSchedule": {
                "seasonYear": name,
                "leagueId": "00",
                "gameDates": [
                    {"gameDate": f"{day:%m/%d/%Y} 00:00:00", "games": games}
                    for day, games in sorted(by_day.items())
                ],
                "weeks": weeks,
                "broadcasterList": [],
            },
        }

    def _schedule_game(self, game: Game, opening_monday: dt.date, sequence: int) -> dict:
        home, away = self.teams[game.home], self.teams[game.away]
        est = dt.datetime.combine(game.day, dt.time(game.tip // 60, game.tip % 60))
        utc = est + dt.timedelta(hours=_utc_offset(game.day))
        week = _week(game.day, opening_monday) if game.kind == REGULAR else 0
        return {
            "gameId": game.game_id,
            "gameCode": f"{game.day:%Y%m%d}/{away.abbreviation}{home.abbreviation}",
            "gameStatus": 3,
            "gameStatusText": _status_text(game.ot),
            "gameSequence": sequence,
            "gameDateEst": _iso_z(game.day),
            "gameTimeEst": f"1900-01-01T{est:%H:%M}:00Z",
            "gameDateTimeEst": f"{est:%Y-%m-%dT%H:%M}:00Z",
            "gameDateUTC": _iso_z(utc.date()),
            "gameTimeUTC": f"1900-01-01T{utc:%H:%M}:00Z",
            "gameDateTimeUTC": f"{utc:%Y-%m-%dT%H:%M}:00Z",
            "awayTeamTime": f"{est:%Y-%m-%dT%H:%M}:00Z",
            "homeTeamTime": f"{est:%Y-%m-%dT%H:%M}:00Z",
            "day": f"{game.day:%a}",
            "monthNum": game.day.month,
            "weekNumber": week,
            "weekName": f"Week {week}" if week else "",
            "ifNecessary": False,
            "seriesGameNumber": f"Game {game.series_game}" if game.series_game else "",
            "gameLabel": game.label,
            "gameSubLabel": "",
            "seriesText": game.series_text,
            "arenaName": f"{home.city} Arena",
            "arenaState": home.state,
            "arenaCity": home.city,
            "postponedStatus": "A",
            "branchLink": "",
            "gameSubtype": "",
            "isNeutral": False,
            "broadcasters": {kind: [] for kind in _BROADCASTER_TYPES},
            "homeTeam": _schedule_team(home, game, 0),
            "awayTeam": _schedule_team(away, game, 1),
            "pointsLeaders": [self._points_leader(game)],
        }

    def schedule_team(self, game: Game, side: int) -> dict:
        """One side of a game (0 home, 1 away) as ScheduleLeagueV2 shows it; the live
        scoreboard starts from the same entry."""
        return _schedule_team(self.teams[(game.home, game.away)[side]], game, side)

    def _points_leader(self, game: Game) -> dict:
        side, line = max(
            ((s, line) for s in (0, 1) for line in game.lines[s]),
            key=lambda sl: (sl[1][_PTS], -sl[1][0]),
        )
        team = self.teams[(game.home, game.away)[side]]
        player = self._factory.by_id[line[0]]
        return {
            "personId": player.pid,
            "firstName": player.first,
            "lastName": player.last,
            "teamId": team.team_id,
            "teamCity": team.city,
            "teamName": team.nickname,
            "teamTricode": team.abbreviation,
            "points": float(line[_PTS]),
        }


# --------------------------------------------------------------------------- row helpers


def _pct(made: int, attempts: int) -> float | None:
    """Rounded like the API; None when there were no attempts (as in league game finder rows)."""
    return round(made / attempts, 3) if attempts else None


def _box(line: Line) -> list:
    """MIN .. PLUS_MINUS of a line, in LeagueGameLog column order."""
    _, minutes, fgm, fga, fg3m, fg3a, ftm, fta, oreb, dreb, ast, stl, blk, tov, pf, pts, pm = line
    return [
        minutes,
        fgm,
        fga,
        _pct(fgm, fga),
        fg3m,
        fg3a,
        _pct(fg3m, fg3a),
        ftm,
        fta,
        _pct(ftm, fta),
        oreb,
        dreb,
        oreb + dreb,
        ast,
        stl,
        blk,
        tov,
        pf,
        pts,
        pm,
    ]


def _fantasy(line: Line) -> float:
    """NBA fantasy points: PTS + 1.2 REB + 1.5 AST + 3 STL + 3 BLK - TOV."""
    reb = line[8] + line[9]
    return round(
        line[_PTS] + 1.2 * reb + 1.5 * line[10] + 3 * line[11] + 3 * line[12] - line[13], 1
    )


def _person_row(player: Player, last_year: int, team: Team | None) -> list:
    code = f"{player.first}_{player.last}".lower().replace(" ", "_")
    return [
        player.pid,
        f"{player.last}, {player.first}",
        player.name,
        int(team is not None),
        str(player.debut),
        str(last_year),
        code,
        code,
        team.team_id if team else 0,
        team.city if team else "",
        team.nickname if team else "",
        team.abbreviation if team else "",
        team.slug if team else "",
        team.slug if team else None,
        "Y",
        "00",
    ]


def _schedule_team(team: Team, game: Game, side: int) -> dict:
    wins, losses = game.records[side]
    return {
        "teamId": team.team_id,
        "teamName": team.nickname,
        "teamCity": team.city,
        "teamTricode": team.abbreviation,
        "teamSlug": team.slug,
        "wins": wins,
        "losses": losses,
        "score": game.totals[side][_PTS],
        "seed": game.seeds[side],
    }


def _status_text(ot: int) -> str:
    """'Final', 'Final/OT', 'Final/2OT' ... as the schedule shows finished games."""
    if ot == 0:
        return "Final"
    return "Final/OT" if ot == 1 else f"Final/{ot}OT"


def _iso_z(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _week(day: dt.date, opening_monday: dt.date) -> int:
    return (day - opening_monday).days // 7 + 1


def _utc_offset(day: dt.date) -> int:
    """Hours from US Eastern to UTC: 4 in daylight saving time (roughly mid-March..October)."""
    return 4 if (3, 10) <= (day.month, day.day) < (11, 3) else 5
