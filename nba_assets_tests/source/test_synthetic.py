"""The synthetic league answers like stats.nba.com and its seasons are internally consistent."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable

import pytest
from nba_api.stats.endpoints.leaguegamelog import LeagueGameLog
from nba_api.stats.endpoints.scheduleleaguev2 import ScheduleLeagueV2
from nba_api.stats.library.http import NBAStatsResponse
from nba_api.stats.static import teams as static_teams

from nba_assets.source.protocol import NotServed
from nba_assets.source.synthetic import DEFAULT_SEED, SyntheticLeague, parse_season_range
from nba_assets_tests.conftest import fixture_body

SEASON = "2024-25"


def _real_headers(name: str) -> list[str]:
    return fixture_body(name)["resultSets"][0]["headers"]


#: Real layouts, from the recordings: the 2025-26 league game log (team rows), and the player
#: layout = team layout + PLAYER_ID, PLAYER_NAME after SEASON_ID + FANTASY_PTS before VIDEO_AVAILABLE.
TEAM_HEADERS = _real_headers("leaguegamelog-d25cde14d9.json")
PLAYER_HEADERS = [
    *TEAM_HEADERS[:1],
    *_real_headers("leaguegamefinder-373ac7ae49.json")[1:3],
    *TEAM_HEADERS[1:-1],
    "FANTASY_PTS",
    TEAM_HEADERS[-1],
]
SUMMED = [
    "MIN",
    "FGM",
    "FGA",
    "FG3M",
    "FG3A",
    "FTM",
    "FTA",
    "OREB",
    "DREB",
    "REB",
    "AST",
    "STL",
    "BLK",
    "TOV",
    "PF",
    "PTS",
]
SEASON_TYPES = ("Regular Season", "PlayIn", "Playoffs", "IST")  # IST: the NBA Cup final


def log_params(
    season: str = SEASON,
    who: str = "T",
    season_type: str = "Regular Season",
    date_from: str = "",
    date_to: str = "",
) -> dict[str, str]:
    """Exactly what nba_api's LeagueGameLog sends."""
    return {
        "Counter": "0",
        "DateFrom": date_from,
        "DateTo": date_to,
        "Direction": "ASC",
        "LeagueID": "00",
        "PlayerOrTeam": who,
        "Season": season,
        "SeasonType": season_type,
        "Sorter": "DATE",
    }


def records(body: dict) -> list[dict]:
    (result,) = body["resultSets"]
    return [dict(zip(result["headers"], row, strict=True)) for row in result["rowSet"]]


@pytest.fixture(scope="module")
def league() -> SyntheticLeague:
    return SyntheticLeague(first_season="2023-24", last_season=SEASON)


@pytest.fixture(scope="module")
def bodies(league: SyntheticLeague) -> dict[tuple[str, str], dict]:
    return {
        (who, kind): league.respond("leaguegamelog", log_params(who=who, season_type=kind))
        for who in ("T", "P")
        for kind in SEASON_TYPES
    }


@pytest.fixture(scope="module")
def teams(bodies: dict) -> dict[str, list[dict]]:
    return {kind: records(bodies["T", kind]) for kind in SEASON_TYPES}


@pytest.fixture(scope="module")
def players(bodies: dict) -> dict[str, list[dict]]:
    return {kind: records(bodies["P", kind]) for kind in SEASON_TYPES}


def every(rows_by_kind: dict[str, list[dict]]) -> Iterable[dict]:
    for rows in rows_by_kind.values():
        yield from rows


def by_game(rows: Iterable[dict]) -> dict[str, list[dict]]:
    games: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        games[row["GAME_ID"]].append(row)
    return games


# --------------------------------------------------------------------------- shapes


def test_headers_and_result_set_name_are_exact(bodies: dict) -> None:
    for (who, _), body in bodies.items():
        (result,) = body["resultSets"]
        assert body["resource"] == "leaguegamelog"
        assert result["name"] == "LeagueGameLog"
        assert result["headers"] == (TEAM_HEADERS if who == "T" else PLAYER_HEADERS)
        assert all(len(row) == len(result["headers"]) for row in result["rowSet"])


def test_value_conventions(teams: dict, players: dict) -> None:
    # the real Cup final: SEASON_ID 62023, GAME_ID 0062300001 (game finder recording)
    prefix = {"Regular Season": "2", "PlayIn": "5", "Playoffs": "4", "IST": "6"}
    game_id = {
        "Regular Season": r"^00224\d{5}$",
        "PlayIn": r"^00524000\d\d$",
        "Playoffs": r"^00424001[0-7][1-7]$|^00424002[0-3][1-7]$|^00424003[01][1-7]$|^004240040[1-7]$",
        "IST": r"^0062400001$",
    }
    for kind in SEASON_TYPES:
        for row in [*teams[kind], *players[kind]]:
            assert row["SEASON_ID"] == prefix[kind] + "2024"
            assert re.match(game_id[kind], row["GAME_ID"]), row["GAME_ID"]
            dt.date.fromisoformat(row["GAME_DATE"])
            assert row["WL"] in ("W", "L")
            assert row["VIDEO_AVAILABLE"] == 1
            assert isinstance(row["MIN"], int)
    abbreviations = {t["id"]: t["abbreviation"] for t in static_teams.get_teams()}
    for row in teams["Regular Season"]:
        assert row["TEAM_ABBREVIATION"] == abbreviations[row["TEAM_ID"]]
        assert re.match(r"^[A-Z]{3} (@|vs\.) [A-Z]{3}$", row["MATCHUP"])
        assert row["MATCHUP"].startswith(row["TEAM_ABBREVIATION"] + " ")
    assert all(r["PLAYER_ID"] >= 3_000_000 for r in players["Regular Season"])


def test_rows_are_sorted_by_date_game_team_player(teams: dict, players: dict) -> None:
    for kind in SEASON_TYPES:
        keys = [(r["GAME_DATE"], r["GAME_ID"], r["TEAM_ID"]) for r in teams[kind]]
        assert keys == sorted(keys) and len(set(keys)) == len(keys)
        keys = [(r["GAME_DATE"], r["GAME_ID"], r["TEAM_ID"], r["PLAYER_ID"]) for r in players[kind]]
        assert keys == sorted(keys) and len(set(keys)) == len(keys)


def test_nba_api_parses_the_game_log(bodies: dict) -> None:
    endpoint = LeagueGameLog(season=SEASON, get_request=False)
    endpoint.nba_response = NBAStatsResponse(json.dumps(bodies["T", "Regular Season"]), 200, "")
    endpoint.load_response()
    frame = endpoint.league_game_log.get_data_frame()
    assert list(frame.columns) == TEAM_HEADERS
    assert len(frame) == 2 * 1230


# --------------------------------------------------------------------------- consistency


def test_one_winner_per_game_and_matchups_agree(teams: dict) -> None:
    for kind in SEASON_TYPES:
        for game_id, rows in by_game(teams[kind]).items():
            assert len(rows) == 2, game_id
            a, b = rows
            assert a["PTS"] != b["PTS"]
            assert {a["WL"], b["WL"]} == {"W", "L"}
            winner = a if a["PTS"] > b["PTS"] else b
            assert winner["WL"] == "W"
            assert a["PLUS_MINUS"] == a["PTS"] - b["PTS"] == -b["PLUS_MINUS"]
            assert a["GAME_DATE"] == b["GAME_DATE"] and a["MIN"] == b["MIN"]
            home = a if " vs. " in a["MATCHUP"] else b
            away = b if home is a else a
            assert " @ " in away["MATCHUP"]
            assert home["MATCHUP"] == f"{home['TEAM_ABBREVIATION']} vs. {away['TEAM_ABBREVIATION']}"
            assert away["MATCHUP"] == f"{away['TEAM_ABBREVIATION']} @ {home['TEAM_ABBREVIATION']}"


def test_box_score_arithmetic_on_every_row(teams: dict, players: dict) -> None:
    for row in [*every(teams), *every(players)]:
        assert row["PTS"] == 2 * row["FGM"] + row["FG3M"] + row["FTM"]
        assert 0 <= row["FG3M"] <= row["FG3A"] <= row["FGA"]
        assert row["FG3M"] <= row["FGM"] <= row["FGA"]
        assert 0 <= row["FTM"] <= row["FTA"]
        assert row["REB"] == row["OREB"] + row["DREB"]
        for made, tried, pct in (
            ("FGM", "FGA", "FG_PCT"),
            ("FG3M", "FG3A", "FG3_PCT"),
            ("FTM", "FTA", "FT_PCT"),
        ):
            expected = round(row[made] / row[tried], 3) if row[tried] else None
            assert row[pct] == expected
    for row in every(players):
        fantasy = (
            row["PTS"]
            + 1.2 * row["REB"]
            + 1.5 * row["AST"]
            + 3 * row["STL"]
            + 3 * row["BLK"]
            - row["TOV"]
        )
        assert row["FANTASY_PTS"] == round(fantasy, 1)
        assert row["MIN"] >= 1 and row["PF"] <= 6


def test_team_rows_are_sums_of_player_rows(teams: dict, players: dict) -> None:
    for kind in SEASON_TYPES:
        lines: dict[tuple[str, int], list[dict]] = defaultdict(list)
        for row in players[kind]:
            lines[row["GAME_ID"], row["TEAM_ID"]].append(row)
        assert len(lines) == len(teams[kind])
        for team in teams[kind]:
            mine = lines[team["GAME_ID"], team["TEAM_ID"]]
            assert 8 <= len(mine) <= 12
            for column in SUMMED:
                assert sum(p[column] for p in mine) == team[column], (team["GAME_ID"], column)
            assert sum(p["PLUS_MINUS"] for p in mine) == 5 * team["PLUS_MINUS"]
            assert all(p["WL"] == team["WL"] and p["MATCHUP"] == team["MATCHUP"] for p in mine)


def test_minutes_are_regulation_or_overtime(teams: dict) -> None:
    minutes = Counter(row["MIN"] for row in every(teams))
    assert set(minutes) <= {240 + 25 * ot for ot in range(5)}
    overtime = sum(n for m, n in minutes.items() if m > 240) / sum(minutes.values())
    assert 0.02 < overtime < 0.12


def test_scores_are_plausible_for_the_era(teams: dict) -> None:
    points = [row["PTS"] for row in teams["Regular Season"]]
    assert 105 < sum(points) / len(points) < 122
    assert sum(85 <= p <= 130 for p in points) / len(points) > 0.75
    assert min(points) >= 55 and max(points) <= 200


# --------------------------------------------------------------------------- schedule


def test_regular_season_schedule(teams: dict) -> None:
    rows = teams["Regular Season"]
    assert len(by_game(rows)) == 1230
    assert set(Counter(row["TEAM_ID"] for row in rows).values()) == {82}
    per_day = Counter((row["GAME_DATE"], row["TEAM_ID"]) for row in rows)
    assert max(per_day.values()) == 1, "a team plays twice on one day"
    games_per_day = Counter(row["GAME_DATE"] for row in rows)
    assert max(games_per_day.values()) <= 2 * 15
    days = sorted(dt.date.fromisoformat(d) for d in games_per_day)
    assert dt.date(2024, 10, 15) <= days[0] <= dt.date(2024, 10, 31)
    assert dt.date(2025, 4, 5) <= days[-1] <= dt.date(2025, 4, 25)
    assert (days[-1] - days[0]).days + 1 > len(days), "no day without games"
    assert dt.date(2024, 11, 28) not in days  # Thanksgiving


def test_play_in_and_playoffs(teams: dict) -> None:
    play_in = by_game(teams["PlayIn"])
    playoffs = teams["Playoffs"]
    assert len(play_in) == 6
    last_regular = max(row["GAME_DATE"] for row in teams["Regular Season"])
    first_play_in = min(row["GAME_DATE"] for row in teams["PlayIn"])
    assert last_regular < first_play_in < min(row["GAME_DATE"] for row in playoffs)
    assert len({row["TEAM_ID"] for row in teams["PlayIn"]}) == 8
    series: dict[str, Counter] = defaultdict(Counter)
    for row in playoffs:
        series[row["GAME_ID"][:9]][row["TEAM_ID"]] += row["WL"] == "W"
    assert Counter(key[7] for key in series) == {"1": 8, "2": 4, "3": 2, "4": 1}
    for key, wins in series.items():
        assert len(wins) == 2 and sorted(wins.values())[1] == 4, key
        assert sum(wins.values()) == len(by_game(r for r in playoffs if r["GAME_ID"][:9] == key))
    round_one = {row["TEAM_ID"] for row in playoffs if row["GAME_ID"][7] == "1"}
    assert len(round_one) == 16
    play_in_winners = {r["TEAM_ID"] for r in teams["PlayIn"] if r["WL"] == "W"}
    assert len(round_one & {r["TEAM_ID"] for r in teams["PlayIn"]}) == 4
    assert round_one & play_in_winners
    assert max(row["GAME_DATE"] for row in playoffs) <= "2025-06-30"
    assert not max(Counter((r["GAME_DATE"], r["TEAM_ID"]) for r in playoffs).values()) > 1


def test_schedule_lists_exactly_the_logged_games(league: SyntheticLeague, teams: dict) -> None:
    body = league.respond("scheduleleaguev2", {"LeagueID": "00", "Season": SEASON})
    schedule = body["leagueSchedule"]
    assert schedule["seasonYear"] == SEASON and schedule["leagueId"] == "00"
    games = _games(body)
    logged = {(row["GAME_ID"], row["TEAM_ID"]): row for row in every(teams)}
    assert sorted(g["gameId"] for g in games) == sorted(by_game(every(teams)))
    for game in games:
        assert game["gameStatus"] == 3
        for side, where in (("homeTeam", " vs. "), ("awayTeam", " @ ")):
            row = logged[game["gameId"], game[side]["teamId"]]
            assert game[side]["score"] == row["PTS"]
            assert game[side]["teamTricode"] == row["TEAM_ABBREVIATION"]
            assert where in row["MATCHUP"]
            assert game["gameDateEst"][:10] == row["GAME_DATE"]


def test_nba_api_parses_the_schedule(league: SyntheticLeague) -> None:
    body = league.respond("scheduleleaguev2", {"LeagueID": "00", "Season": SEASON})
    # nba_api's schedule parser is quadratic in games (seconds per season): parse a slice
    # holding the opening week, the play-in and the Finals.
    days = body["leagueSchedule"]["gameDates"]
    play_in = [day for day in days if day["games"][0]["gameId"].startswith("005")]
    body["leagueSchedule"]["gameDates"] = days[:7] + play_in + days[-3:]
    endpoint = ScheduleLeagueV2(season=SEASON, get_request=False)
    endpoint.nba_response = NBAStatsResponse(json.dumps(body), 200, "")
    endpoint.load_response()
    frame = endpoint.season_games.get_data_frame()
    assert len(frame) == len(_games(body)) == frame["gameId"].nunique() > 7
    for column in ("gameId", "gameDateEst", "homeTeam_teamId", "awayTeam_score", "weekNumber"):
        assert column in frame.columns
    assert set(frame["gameStatus"]) == {3}
    assert {g[:3] for g in frame["gameId"]} == {"002", "005", "004"}
    assert endpoint.season_weeks.get_data_frame()["weekNumber"].tolist()[:2] == [1, 2]


def _games(body: dict) -> list[dict]:
    return [game for day in body["leagueSchedule"]["gameDates"] for game in day["games"]]


# --------------------------------------------------------------------------- requests


def test_date_window_in_both_forms(league: SyntheticLeague, teams: dict) -> None:
    full = teams["Regular Season"]
    expected = [r for r in full if "2024-12-01" <= r["GAME_DATE"] <= "2024-12-07"]
    assert 0 < len(expected) < len(full)
    for start, end in (("12/01/2024", "12/07/2024"), ("2024-12-01", "2024-12-07")):
        body = league.respond("leaguegamelog", log_params(date_from=start, date_to=end))
        assert records(body) == expected
    one_day = records(
        league.respond("leaguegamelog", log_params(date_from="12/25/2024", date_to="12/25/2024"))
    )
    assert one_day and {r["GAME_DATE"] for r in one_day} == {"2024-12-25"}
    only_from = records(league.respond("leaguegamelog", log_params(date_from="2025-04-01")))
    assert only_from == [r for r in full if r["GAME_DATE"] >= "2025-04-01"]
    players = records(
        league.respond(
            "leaguegamelog", log_params(who="P", date_from="12/25/2024", date_to="12/25/2024")
        )
    )
    assert {r["GAME_ID"] for r in players} == {r["GAME_ID"] for r in one_day}


def test_season_types_without_games_are_empty(league: SyntheticLeague) -> None:
    for kind in ("Pre Season", "All Star"):
        for who in ("T", "P"):
            (result,) = league.respond("leaguegamelog", log_params(who=who, season_type=kind))[
                "resultSets"
            ]
            assert result["rowSet"] == [] and result["headers"]
    older = SyntheticLeague(first_season="2018-19", last_season="2018-19")
    (result,) = older.respond("leaguegamelog", log_params("2018-19", season_type="PlayIn"))[
        "resultSets"
    ]
    assert result["rowSet"] == [] and result["headers"] == TEAM_HEADERS


def test_not_served(league: SyntheticLeague) -> None:
    with pytest.raises(NotServed, match="leaguegamelog"):
        league.respond("boxscoretraditionalv2", {"GameID": "0022400001"})
    for season in ("2022-23", "2025-26"):
        with pytest.raises(NotServed, match="outside"):
            league.respond("leaguegamelog", log_params(season))
        with pytest.raises(NotServed):
            league.respond("scheduleleaguev2", {"LeagueID": "00", "Season": season})
    with pytest.raises(NotServed):
        league.respond("leaguegamelog", log_params("2024"))
    with pytest.raises(NotServed):
        league.respond("commonallplayers", {"LeagueID": "00", "Season": "2022-23"})


# --------------------------------------------------------------------------- reference data


def test_every_logged_player_is_in_commonallplayers(league: SyntheticLeague, players: dict) -> None:
    params = {"IsOnlyCurrentSeason": "0", "LeagueID": "00", "Season": SEASON}
    body = league.respond("commonallplayers", params)
    (result,) = body["resultSets"]
    assert result["name"] == "CommonAllPlayers"
    assert result["headers"] == _real_headers("commonallplayers-37860d42e8.json")
    people = {row["PERSON_ID"]: row for row in records(body)}
    logged = {(r["PLAYER_ID"], r["PLAYER_NAME"], r["TEAM_ID"]) for r in every(players)}
    for pid, name, team_id in logged:
        person = people[pid]
        assert person["DISPLAY_FIRST_LAST"] == name
        assert person["TO_YEAR"] == "2024" and person["FROM_YEAR"] <= "2024"
        assert person["ROSTERSTATUS"] == 1 and person["TEAM_ID"] == team_id
    assert all(
        isinstance(p["FROM_YEAR"], str) and isinstance(p["TO_YEAR"], str) for p in people.values()
    )
    current = records(league.respond("commonallplayers", {**params, "IsOnlyCurrentSeason": "1"}))
    assert {r["PERSON_ID"] for r in current} == {p for p, r in people.items() if r["ROSTERSTATUS"]}
    assert 30 * 13 <= len(current) <= 30 * 15
    later = records(league.respond("commonallplayers", {**params, "Season": "2030-31"}))
    assert later == records(body)


def test_rosters_turn_over_but_careers_span_seasons(league: SyntheticLeague) -> None:
    def roster(season: str) -> dict[int, int]:
        params = {"IsOnlyCurrentSeason": "1", "LeagueID": "00", "Season": season}
        return {
            r["PERSON_ID"]: r["TEAM_ID"]
            for r in records(league.respond("commonallplayers", params))
        }

    before, after = roster("2023-24"), roster(SEASON)
    stayed = set(before) & set(after)
    assert 0.5 < len(stayed) / len(after) < 0.95
    assert any(before[p] != after[p] for p in stayed), "nobody changed teams"
    people = records(
        league.respond(
            "commonallplayers", {"LeagueID": "00", "Season": SEASON, "IsOnlyCurrentSeason": "0"}
        )
    )
    assert max(int(p["TO_YEAR"]) - int(p["FROM_YEAR"]) for p in people) >= 8


def test_commonteamyears(league: SyntheticLeague) -> None:
    body = league.respond("commonteamyears", {"LeagueID": "00"})
    (result,) = body["resultSets"]
    assert result["name"] == "TeamYears"
    assert result["headers"] == _real_headers("commonteamyears-13ba30aad7.json")
    rows = records(body)
    assert {r["TEAM_ID"] for r in rows} == {t["id"] for t in static_teams.get_teams()}
    assert all(r["LEAGUE_ID"] == "00" and r["MAX_YEAR"] == "2024" for r in rows)
    assert all(isinstance(r["MIN_YEAR"], str) and r["MIN_YEAR"] <= "1996" for r in rows)


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_bodies_whatever_the_range(bodies: dict) -> None:
    narrow = SyntheticLeague(DEFAULT_SEED, SEASON, SEASON)
    for who in ("T", "P"):
        assert narrow.respond("leaguegamelog", log_params(who=who)) == bodies[who, "Regular Season"]
    assert (
        narrow.respond("leaguegamelog", log_params(season_type="Playoffs"))
        == bodies["T", "Playoffs"]
    )


def test_different_seed_different_league(bodies: dict) -> None:
    other = SyntheticLeague(seed=DEFAULT_SEED + 1, first_season=SEASON, last_season=SEASON)
    body = other.respond("leaguegamelog", log_params())
    assert records(body) != records(bodies["T", "Regular Season"])
    assert len(records(body)) == 2 * 1230


def test_lockout_season_is_short() -> None:
    league = SyntheticLeague(first_season="1998-99", last_season="1998-99")
    rows = records(league.respond("leaguegamelog", log_params("1998-99")))
    assert set(Counter(r["TEAM_ID"] for r in rows).values()) == {50}
    assert min(r["GAME_DATE"] for r in rows) >= "1999-02-01"
    assert all(r["SEASON_ID"] == "21998" and r["GAME_ID"].startswith("00298") for r in rows)
    points = [r["PTS"] for r in rows]
    assert 85 < sum(points) / len(points) < 105  # a low-scoring era


def test_seasons_and_range_parsing() -> None:
    assert SyntheticLeague(first_season="1999-00", last_season="2001-02").seasons == [
        "1999-00",
        "2000-01",
        "2001-02",
    ]
    assert parse_season_range("1996-97:2025-26") == ("1996-97", "2025-26")
    assert parse_season_range(" 2024-25 ") == ("2024-25", "2024-25")
    for bad in ("", "1996-98", "1996", "2025-26:1996-97", "1996-97:1997-98:1998-99", "x:y"):
        with pytest.raises(ValueError):
            parse_season_range(bad)
    with pytest.raises(ValueError):
        SyntheticLeague(first_season="1990-91")
