"""Response bodies to typed tables: plain functions over plain data, testable without Dagster."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from nba_api.stats.static import teams as static_teams

from nba_assets.schemas import PLAYERS, TEAMS, TableSpec, conform
from nba_assets.source.validation import result_sets

#: Where our column name is not simply the lower-cased API header.
PLAYER_ALIASES = {"PERSON_ID": "player_id"}

#: The third digit of a game id says what kind of game it is.
SEASON_TYPE_BY_GAME_ID = {
    "1": "Pre Season",
    "2": "Regular Season",
    "3": "All Star",
    "4": "Playoffs",
    "5": "PlayIn",
    "6": "NBA Cup",
}


class ParseError(ValueError):
    """A response that validated but whose values do not fit the table."""


def rows_frame(body: Mapping, name: str, aliases: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One result set as a frame with snake_case column names."""
    entry = result_sets(body)[name]
    aliases = aliases or {}
    columns = [aliases.get(h.upper(), h.lower()) for h in entry["headers"]]
    return pd.DataFrame(entry["rowSet"], columns=columns, dtype="object")


def to_table(spec: TableSpec, frame: pd.DataFrame) -> pd.DataFrame:
    """Fill optional source columns the response lacked with nulls, then type to `spec`.

    The frame's own columns go in as they are (no copy of the whole object block: a season
    of player lines copied and consolidated took longer than typing half its columns).
    """
    columns = {name: frame[name] for name in frame.columns}
    for column in spec.columns:
        if column.name not in columns:
            if column.source and column.required:
                raise ParseError(f"{spec.name}: response has no {column.name!r} column")
            columns[column.name] = pd.Series(None, index=frame.index, dtype=object)
    try:
        return conform(spec, pd.DataFrame(columns, index=frame.index, copy=False))
    except ValueError as exc:
        raise ParseError(str(exc)) from None


def parse_boxscores(spec: TableSpec, body: Mapping, name: str = "LeagueGameLog") -> pd.DataFrame:
    """Team or player game-log rows (LeagueGameLog, PlayerGameLog, LeagueGameFinder) as `spec`."""
    frame = rows_frame(body, name)
    if "game_id" in frame.columns:
        frame["game_id"] = frame["game_id"].map(_game_id, na_action="ignore")
        frame["season_type"] = frame["game_id"].map(
            lambda gid: SEASON_TYPE_BY_GAME_ID.get(gid[2], "Unknown"), na_action="ignore"
        )
    table = to_table(spec, frame)
    bad = table["game_id"].str.len() != 10
    if bad.any():
        raise ParseError(
            f"{spec.name}: game_id {table['game_id'][bad].iloc[0]!r} is not 10 characters"
        )
    return table.sort_values(["game_date", *spec.key], kind="stable").reset_index(drop=True)


def _game_id(value: object) -> str:
    text = str(value).strip()
    return text.zfill(10) if text.isdigit() else text


def parse_players(body: Mapping) -> pd.DataFrame:
    frame = rows_frame(body, "CommonAllPlayers", PLAYER_ALIASES)
    return to_table(PLAYERS, frame).sort_values("player_id").reset_index(drop=True)


def parse_teams(body: Mapping) -> pd.DataFrame:
    """Franchise history from CommonTeamYears joined with nba_api's offline identity data."""
    years = rows_frame(body, "TeamYears")
    identity = pd.DataFrame(static_teams.get_teams()).rename(columns={"id": "team_id"})
    identity = identity[["team_id", "full_name", "nickname", "city", "state", "year_founded"]]
    merged = years.drop(columns=["league_id"], errors="ignore").merge(
        identity, on="team_id", how="left"
    )
    merged["is_active"] = merged["full_name"].notna()
    return to_table(TEAMS, merged).sort_values("team_id").reset_index(drop=True)
