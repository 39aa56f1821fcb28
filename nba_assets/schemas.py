"""Every table's columns, declared once: Arrow schema, Dagster table schema and type come from here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa
from dagster_pandas import PandasColumn, create_dagster_pandas_dataframe_type

_ARROW = {
    "string": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "date": pa.date32(),
    "bool": pa.bool_(),
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # string | int | float | date | bool
    description: str = ""
    nullable: bool = True
    source: bool = True  # False: derived by us, not an API header
    required: bool = True  # the API must send it (else SchemaDriftError); optional ones become null

    def pandas_check(self) -> PandasColumn:
        # nulls are legal in nullable columns: value checks skip them, non-null ones forbid them
        options = {"non_nullable": not self.nullable, "ignore_missing_vals": self.nullable}
        if self.kind == "int":
            return PandasColumn.integer_column(self.name, **options)
        if self.kind == "float":
            return PandasColumn.float_column(self.name, **options)
        if self.kind == "bool":
            return PandasColumn.boolean_column(self.name, **options)
        return PandasColumn.exists(self.name, **options)


@dataclass(frozen=True)
class TableSpec:
    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def required_headers(self, aliases: dict[str, str] | None = None) -> list[str]:
        """API headers (upper case) the source must send for this table."""
        back = {v: k for k, v in (aliases or {}).items()}
        return [back.get(c.name, c.name.upper()) for c in self.columns if c.source and c.required]

    def arrow_schema(self) -> pa.Schema:
        return pa.schema(
            [pa.field(c.name, _ARROW[c.kind], nullable=c.nullable) for c in self.columns]
        )

    def table_schema(self) -> dg.TableSchema:
        return dg.TableSchema(
            columns=[
                dg.TableColumn(c.name, str(_ARROW[c.kind]), description=c.description or None)
                for c in self.columns
            ]
        )

    def dagster_type(self) -> dg.DagsterType:
        return create_dagster_pandas_dataframe_type(
            name=f"{self.name}_frame",
            description=self.description,
            columns=[c.pandas_check() for c in self.columns],
        )

    def empty(self) -> pd.DataFrame:
        return conform(self, pd.DataFrame({c.name: [] for c in self.columns}))


class ConformError(ValueError):
    """A value that does not fit its declared column type."""


def conform(spec: TableSpec, frame: pd.DataFrame) -> pd.DataFrame:
    """Order, type and null-normalize `frame` to `spec`; raises ConformError naming the column."""
    missing = [n for n in spec.names if n not in frame.columns]
    if missing:
        raise ConformError(f"{spec.name}: missing column(s) {missing}")
    out = {}
    for column in spec.columns:
        try:
            out[column.name] = _cast(frame[column.name], column.kind)
        except (ValueError, TypeError) as exc:
            raise ConformError(f"{spec.name}.{column.name}: {exc}") from None
        if not column.nullable and out[column.name].isna().any():
            raise ConformError(f"{spec.name}.{column.name}: nulls in a non-null column")
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def _cast(series: pd.Series, kind: str) -> pd.Series:
    series = series.reset_index(drop=True)
    if kind == "int":
        exact = _python_ints(series)
        if exact is not None:
            return exact
        numbers = pd.to_numeric(series.astype("object").where(series.notna(), None), errors="raise")
        numbers = numbers.astype("float64")
        fractional = numbers.notna() & (numbers % 1 != 0)
        if fractional.any():
            raise ValueError(f"non-integer value {float(numbers[fractional].iloc[0])!r}")
        return numbers.astype("Int64")
    if kind == "float":
        return pd.to_numeric(series, errors="raise").astype("float64")
    if kind == "bool":
        return series.astype("bool")
    if kind == "date":
        return _one_object_per_value(series, _as_date)
    return _one_object_per_value(series, _as_string)


def _python_ints(series: pd.Series) -> pd.Series | None:
    """Parsed JSON's integer column (ints and nulls) as Int64 in one pass through Arrow, or
    None when anything else is in it (floats, text, bools), which the general path judges.

    The general path boxes, tests and copies each value four times over: on 25 seasons of
    player lines it was most of the parse. Arrow infers the column's type first, so 1.5 is
    never truncated and True never counts as 1.
    """
    if series.dtype != object:
        return None
    try:
        values = pa.array(series.to_numpy(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return None
    if values.type == pa.null():
        values = values.cast(pa.int64())
    if values.type != pa.int64():
        return None
    return pd.Series(pd.Int64Dtype().__from_arrow__(values), index=series.index)


def _as_string(value: object) -> str:
    return value if isinstance(value, str) else str(value)


def _one_object_per_value(series: pd.Series, convert: Callable[[object], object]) -> pd.Series:
    """`convert` applied once per distinct value; equal values share one object; nulls None.

    A season of player lines repeats each game id, date, team and name dozens of times, and
    parsed JSON makes every repeat its own ~55-byte object: sharing them cuts a 25-season
    player frame from 476 MB to about a third (same values, dtype and Parquet bytes), and
    converting distinct values only makes typing several times faster.
    """
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    distinct = np.asarray(uniques, dtype=object)
    if not all(isinstance(v, (str, dt.date)) for v in distinct):
        # 1 and 1.0 are one key to factorize but differ as text: convert value by value
        codes, uniques = pd.factorize(series.map(convert, na_action="ignore"))
        distinct = np.asarray(uniques, dtype=object)
    else:
        converted = np.empty(len(distinct), dtype=object)
        converted[:] = [convert(v) for v in distinct]
        distinct = converted
    values = np.empty(len(codes), dtype=object)
    present = codes >= 0
    values[present] = distinct[codes[present]]
    values[~present] = None
    return pd.Series(values, index=series.index, dtype="object")


#: Every date form stats.nba.com uses or accepts.
_DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d", "%b %d, %Y", "%Y-%m-%dT%H:%M:%S")


def parse_api_date(value: str) -> dt.date:
    """Parse every date form stats.nba.com uses or accepts (MM/DD/YYYY, ISO, 'Feb 20, 2026')."""
    text = value.strip()
    if len(text) == 10 and text[4] == "-":  # ISO, the common case: skip strptime's cost
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"not a stats.nba.com date: {value!r}")


def _as_date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return parse_api_date(str(value))


#: What each box-score statistic counts (the NBA's own abbreviations, snake_case).
STAT_DESCRIPTIONS = {
    "fgm": "field goals made",
    "fga": "field goals attempted",
    "fg_pct": "fgm / fga (null without attempts)",
    "fg3m": "three-pointers made",
    "fg3a": "three-pointers attempted",
    "fg3_pct": "fg3m / fg3a (null without attempts)",
    "ftm": "free throws made",
    "fta": "free throws attempted",
    "ft_pct": "ftm / fta (null without attempts)",
    "oreb": "offensive rebounds",
    "dreb": "defensive rebounds",
    "reb": "total rebounds (oreb + dreb)",
    "ast": "assists",
    "stl": "steals",
    "blk": "blocks",
    "tov": "turnovers credited to players (team turnovers not included)",
    "pf": "personal fouls",
    "pts": "points scored",
    "plus_minus": "point margin while on the floor (team rows: the final margin)",
}


def _stat_columns(prefix: tuple[Column, ...], suffix: tuple[Column, ...]) -> tuple[Column, ...]:
    """The box-score columns in the API's order, between a table's own leading/trailing ones."""
    shooting = []
    for made, attempted, pct in (
        ("fgm", "fga", "fg_pct"),
        ("fg3m", "fg3a", "fg3_pct"),
        ("ftm", "fta", "ft_pct"),
    ):
        shooting += [
            Column(made, "int", STAT_DESCRIPTIONS[made]),
            Column(attempted, "int", STAT_DESCRIPTIONS[attempted]),
            Column(pct, "float", STAT_DESCRIPTIONS[pct]),
        ]
    counts = [
        Column(n, "int", STAT_DESCRIPTIONS[n])
        for n in ("oreb", "dreb", "reb", "ast", "stl", "blk", "tov", "pf", "pts")
    ]
    # float: real game-finder team rows carry fractional values (-27.6)
    plus_minus = Column("plus_minus", "float", STAT_DESCRIPTIONS["plus_minus"])
    return (*prefix, *shooting, *counts, plus_minus, *suffix)


_GAME = (
    Column("game_id", "string", "10-character stats.nba.com game id", nullable=False),
    Column("game_date", "date", "US/Eastern calendar date of the game", nullable=False),
    Column("matchup", "string", "'BOS @ NYK' (away) or 'NYK vs. BOS' (home)"),
    Column("wl", "string", "W or L"),
    Column("min", "int", "minutes played (team: 240 + 25 per overtime)"),
)

TEAM_BOXSCORES = TableSpec(
    name="team_boxscores",
    description="One row per team per game (LeagueGameLog, PlayerOrTeam=T).",
    key=("game_id", "team_id"),
    columns=_stat_columns(
        (
            Column("season_id", "string", "season type digit + start year, e.g. 22025"),
            Column("team_id", "int", nullable=False),
            Column("team_abbreviation", "string"),
            Column("team_name", "string"),
            *_GAME,
        ),
        (
            Column("video_available", "int", required=False),
            Column("season_type", "string", "Regular Season, PlayIn or Playoffs", source=False),
        ),
    ),
)

PLAYER_BOXSCORES = TableSpec(
    name="player_boxscores",
    description="One row per player per game (LeagueGameLog, PlayerOrTeam=P).",
    key=("game_id", "player_id"),
    columns=_stat_columns(
        (
            Column("season_id", "string", required=False),
            Column("player_id", "int", nullable=False),
            Column("player_name", "string", required=False),
            Column("team_id", "int", required=False),
            Column("team_abbreviation", "string", required=False),
            Column("team_name", "string", required=False),
            *_GAME,
        ),
        (
            Column("fantasy_pts", "float", required=False),
            Column("video_available", "int", required=False),
            Column("season_type", "string", "Regular Season, PlayIn or Playoffs", source=False),
        ),
    ),
)

TEAMS = TableSpec(
    name="teams",
    description="Every franchise the league has had (CommonTeamYears), with nba_api's static identity data.",
    key=("team_id",),
    columns=(
        Column("team_id", "int", nullable=False),
        Column("abbreviation", "string"),
        Column("min_year", "int", "first season's start year"),
        Column("max_year", "int", "last season's start year"),
        Column("full_name", "string", source=False),
        Column("nickname", "string", source=False),
        Column("city", "string", source=False),
        Column("state", "string", source=False),
        Column("year_founded", "int", source=False),
        Column(
            "is_active", "bool", "one of the current 30 franchises", nullable=False, source=False
        ),
    ),
)

PLAYERS = TableSpec(
    name="players",
    description="Every player in league history up to a season (CommonAllPlayers, IsOnlyCurrentSeason=0).",
    key=("player_id",),
    columns=(
        Column("player_id", "int", "PERSON_ID", nullable=False),
        Column("display_last_comma_first", "string"),
        Column("display_first_last", "string"),
        Column("rosterstatus", "int"),
        Column("from_year", "int"),
        Column("to_year", "int"),
        Column("playercode", "string"),
        Column("player_slug", "string", required=False),
        Column("team_id", "int"),
        Column("team_city", "string"),
        Column("team_name", "string"),
        Column("team_abbreviation", "string"),
        Column("team_code", "string"),
        Column("team_slug", "string", required=False),
        Column("games_played_flag", "string"),
        Column("otherleague_experience_ch", "string", required=False),
    ),
)

TABLES: dict[str, TableSpec] = {
    t.name: t for t in (TEAMS, PLAYERS, TEAM_BOXSCORES, PLAYER_BOXSCORES)
}

SCHEDULE = TableSpec(
    name="schedule",
    description="Every game of a season as scheduled (ScheduleLeagueV2), with its status.",
    key=("game_id",),
    columns=(
        Column("season", "string", "season key, e.g. 2024-25", nullable=False, source=False),
        Column("game_id", "string", "10-character stats.nba.com game id", nullable=False),
        Column("game_date", "date", "US/Eastern calendar date (gameDateEst)", nullable=False),
        Column("game_status", "int", "1 scheduled, 2 in progress, 3 final"),
        Column("game_status_text", "string"),
        Column("home_team_id", "int"),
        Column("away_team_id", "int"),
        Column("matchup", "string", "'AWY @ HOM'"),
        Column("game_label", "string", "e.g. Play-In Tournament, East First Round"),
        Column("season_type", "string", "from the game id", source=False),
    ),
)
TABLES[SCHEDULE.name] = SCHEDULE

PLAY_BY_PLAY = TableSpec(
    name="play_by_play",
    description="One row per play-by-play event of every game (PlayByPlayV3, one request per game).",
    key=("game_id", "action_id"),
    columns=(
        Column("game_id", "string", "10-character stats.nba.com game id", nullable=False),
        Column("game_date", "date", "US/Eastern date of the game", nullable=False, source=False),
        Column("action_id", "int", "event order within the game, 1, 2, ...", nullable=False),
        Column("action_number", "int", "the feed's own event number (gaps, repeats)"),
        Column("period", "int", "1-4, 5+ overtime", nullable=False),
        Column("clock", "float", "seconds remaining in the period (V3 'PT11M41.00S')"),
        Column("team_id", "int", "the event's team; for team events V3 puts it in personId"),
        Column("team_tricode", "string"),
        Column("person_id", "int", "the player; null for team and game events"),
        Column("player_name", "string"),
        Column("player_name_i", "string", "'J. Allen'"),
        Column("location", "string", "h (home) or v (visitor)"),
        Column("action_type", "string", "Made Shot, Missed Shot, Free Throw, Rebound, ..."),
        Column("sub_type", "string"),
        Column("description", "string", "the feed's text; a missed free throw starts with MISS"),
        Column("score_home", "int", "home score after the event (V3 leaves it blank if unchanged)"),
        Column("score_away", "int", "away score after the event"),
        Column("is_field_goal", "int", "1 for a field-goal attempt"),
        Column("shot_value", "int", "2 or 3 for field goals (0 for free throws, as in V3)"),
        Column("shot_result", "string", "Made or Missed for field goals"),
        Column("shot_distance", "int", "feet; field goals only"),
        Column("x_legacy", "int", "court x; field goals only"),
        Column("y_legacy", "int", "court y; field goals only"),
        Column("video_available", "int"),
    ),
)
TABLES[PLAY_BY_PLAY.name] = PLAY_BY_PLAY


# Derived tables (nba_assets/derived): built from the tables above, 0 requests. Formulas and
# how each column compares with the NBA's own numbers: docs/derived.md.

_COUNT_DOCS = {
    "fgm": "field goals made",
    "fga": "field goals attempted",
    "fg3m": "three-pointers made",
    "fg3a": "three-pointers attempted",
    "ftm": "free throws made",
    "fta": "free throws attempted",
    "oreb": "offensive rebounds (players'; team rebounds are in no game log)",
    "dreb": "defensive rebounds (players')",
    "reb": "rebounds (players')",
    "ast": "assists",
    "stl": "steals",
    "blk": "blocks",
    "tov": "turnovers credited to players (the NBA's team TOV adds team turnovers)",
    "pf": "personal fouls",
    "pts": "points",
}
#: Counting stats summed over a season's games, in the NBA's column order.
SEASON_COUNTS = tuple(_COUNT_DOCS)
#: Percentages made/attempted: (column, made, attempted).
SHOOTING_PCTS = (("fg_pct", "fgm", "fga"), ("fg3_pct", "fg3m", "fg3a"), ("ft_pct", "ftm", "fta"))
#: Columns averaged per game as `<stat>_per_game`.
PER_GAME = ("min", *SEASON_COUNTS, "plus_minus")


def _season_stat_columns(minutes: str) -> tuple[Column, ...]:
    """gp, w, l, minutes, the counting totals, percentages, plus-minus and per-game averages."""
    columns = [
        Column("gp", "int", "games played", nullable=False, source=False),
        Column("w", "int", "games won", source=False),
        Column("l", "int", "games lost", source=False),
        Column("w_pct", "float", "w / gp", source=False),
        Column("min", "int", minutes, source=False),
    ]
    after_attempts = {attempted: (pct, made) for pct, made, attempted in SHOOTING_PCTS}
    for stat, doc in _COUNT_DOCS.items():
        columns.append(Column(stat, "int", f"total {doc}", source=False))
        if stat in after_attempts:  # the NBA's order: FGM, FGA, FG_PCT, ...
            pct, made = after_attempts[stat]
            columns.append(Column(pct, "float", f"{made} / {stat} (null if none)", source=False))
    columns.append(Column("plus_minus", "float", "sum of the games' plus-minus", source=False))
    columns += [
        Column(f"{stat}_per_game", "float", f"{stat} / gp", source=False) for stat in PER_GAME
    ]
    return tuple(columns)


_SEASON_KEY = (
    Column("season", "string", "season key, e.g. 2023-24", nullable=False, source=False),
    Column(
        "season_type",
        "string",
        "Regular Season, PlayIn, Playoffs or NBA Cup (the Cup final only), as in the box scores",
        nullable=False,
        source=False,
    ),
)
#: Opponent totals a team season carries as `opp_<stat>` (what the NBA's Opponent view sums).
OPPONENT_COUNTS = SEASON_COUNTS

TEAM_SEASON_STATS = TableSpec(
    name="team_season_stats",
    description=(
        "One row per team, season and season type from team_boxscores: totals, per-game "
        "averages, opponent totals, box-score possessions, pace, ratings and four factors."
    ),
    key=("team_id", "season", "season_type"),
    columns=(
        Column("team_id", "int", nullable=False, source=False),
        Column("team_abbreviation", "string", "as of the team's last game", source=False),
        Column("team_name", "string", "as of the team's last game", source=False),
        *_SEASON_KEY,
        *_season_stat_columns(
            "team minutes as the NBA counts them (48 a game + 5 per overtime), rounded from the "
            "game logs' player-minute sum (240 + 25 per overtime)"
        ),
        *(
            Column(f"opp_{stat}", "int", f"opponents' total {doc}", source=False)
            for stat, doc in _COUNT_DOCS.items()
        ),
        Column("poss", "float", "possessions estimated: FGA + 0.44·FTA - OREB + TOV", source=False),
        Column("opp_poss", "float", "the opponents' possessions, same estimate", source=False),
        Column("pace", "float", "48 · (poss + opp_poss) / 2 / min", source=False),
        Column("off_rating", "float", "100 · pts / poss", source=False),
        Column("def_rating", "float", "100 · opp_pts / opp_poss", source=False),
        Column("net_rating", "float", "off_rating - def_rating", source=False),
        Column("efg_pct", "float", "(FGM + 0.5·FG3M) / FGA", source=False),
        Column("fta_rate", "float", "FTA / FGA", source=False),
        Column("tm_tov_pct", "float", "TOV / poss", source=False),
        Column("oreb_pct", "float", "OREB / (OREB + opponents' DREB)", source=False),
        Column("opp_efg_pct", "float", "the opponents' efg_pct", source=False),
        Column("opp_fta_rate", "float", "the opponents' fta_rate", source=False),
        Column("opp_tov_pct", "float", "the opponents' tm_tov_pct", source=False),
        Column("opp_oreb_pct", "float", "the opponents' oreb_pct", source=False),
    ),
)
TABLES[TEAM_SEASON_STATS.name] = TEAM_SEASON_STATS

_PLAYER_SEASON_HEAD = (
    Column("player_id", "int", nullable=False, source=False),
    Column("player_name", "string", "as of the player's last game", source=False),
    Column("team_id", "int", "the team of the player's last game of the season", source=False),
    Column("team_abbreviation", "string", "the team of the player's last game", source=False),
    Column(
        "teams", "int", "how many teams the player played for (NBA: a TOT row if > 1)", source=False
    ),
)
_PLAYER_MINUTES = (
    "minutes: the sum of the game logs' whole minutes (the NBA sums seconds, so it can be 1-2 "
    "higher over a season)"
)

PLAYER_SEASON_STATS = TableSpec(
    name="player_season_stats",
    description=(
        "One row per player, season and season type from player_boxscores: totals, "
        "shooting percentages and per-game averages (PlayerCareerStats' season rows)."
    ),
    key=("player_id", "season", "season_type"),
    columns=(
        *_PLAYER_SEASON_HEAD,
        *_SEASON_KEY,
        Column(
            "gs",
            "int",
            "games started: the games the player was on the floor at tip-off (each game's first "
            "stint in lineup_stints; the game logs carry no starter flag); null unless every "
            "one of the player's games of the season type has lineup stints (its play-by-play "
            "derived and its lineups inferred)",
            source=False,
        ),
        *_season_stat_columns(_PLAYER_MINUTES),
    ),
)
TABLES[PLAYER_SEASON_STATS.name] = PLAYER_SEASON_STATS

#: `season_id` of the career-total rows of player_career_stats.
CAREER = "career"

PLAYER_CAREER_STATS = TableSpec(
    name="player_career_stats",
    description=(
        "PlayerCareerStats from the warehouse: per player and season type, a row per season "
        "(as player_season_stats) and a career-total row (season_id 'career')."
    ),
    key=("player_id", "season_type", "season_id"),
    columns=(
        *_PLAYER_SEASON_HEAD,
        Column(
            "season_id",
            "string",
            "the season (2025-26), or 'career' for the totals over every season",
            nullable=False,
            source=False,
        ),
        _SEASON_KEY[1],
        Column("seasons", "int", "seasons summed in the row (1 for a season row)", source=False),
        Column(
            "gs",
            "int",
            "games started (player_season_stats.gs); a career row's is their sum, null if any "
            "season's is unknown",
            source=False,
        ),
        *_season_stat_columns(_PLAYER_MINUTES),
    ),
)
TABLES[PLAYER_CAREER_STATS.name] = PLAYER_CAREER_STATS

#: team_splits' group sets, as the NBA's dashboards name them (GROUP_SET).
SPLIT_GROUP_SETS = ("Location", "Month", "Opponent")

TEAM_SPLITS = TableSpec(
    name="team_splits",
    description=(
        "Per team, season and season type: records and scoring margins at home and on the "
        "road, by month and against each opponent (from team_boxscores)."
    ),
    key=("team_id", "season", "season_type", "group_set", "group_value"),
    columns=(
        Column("team_id", "int", nullable=False, source=False),
        Column("team_abbreviation", "string", "as of the team's last game", source=False),
        *_SEASON_KEY,
        Column("group_set", "string", "Location, Month or Opponent", nullable=False, source=False),
        Column(
            "group_value",
            "string",
            "Home/Road; a month (October); the opponent's abbreviation",
            nullable=False,
            source=False,
        ),
        Column("vs_team_id", "int", "the opponent (group_set Opponent only)", source=False),
        Column("gp", "int", "games played", nullable=False, source=False),
        Column("w", "int", "games won", source=False),
        Column("l", "int", "games lost", source=False),
        Column("w_pct", "float", "w / gp", source=False),
        Column("pts", "int", "points scored", source=False),
        Column("opp_pts", "int", "points allowed", source=False),
        Column("pts_per_game", "float", "pts / gp", source=False),
        Column("opp_pts_per_game", "float", "opp_pts / gp", source=False),
        Column(
            "margin_per_game", "float", "(pts - opp_pts) / gp: the scoring margin", source=False
        ),
    ),
)
TABLES[TEAM_SPLITS.name] = TEAM_SPLITS

SHOTS = TableSpec(
    name="shots",
    description=(
        "Every field-goal attempt from play_by_play (PlayByPlayV3), with location, distance, "
        "result and the assisting and blocking players; names as in ShotChartDetail."
    ),
    key=("game_id", "action_id"),
    columns=(
        Column("game_id", "string", "10-character stats.nba.com game id", nullable=False),
        Column("game_date", "date", "US/Eastern date of the game", nullable=False),
        Column("season", "string", "season key, e.g. 2022-23", nullable=False, source=False),
        Column("action_id", "int", "the shot's event in play_by_play", nullable=False),
        Column("period", "int", "1-4, 5+ overtime", nullable=False),
        Column("clock", "float", "seconds remaining in the period"),
        Column("team_id", "int", "the shooting team"),
        Column("team_abbreviation", "string", "the shooting team (V3 teamTricode)"),
        Column("player_id", "int", "the shooter"),
        Column("player_name", "string", "the shooter's last name as the feed writes it"),
        Column("event_type", "string", "Made Shot or Missed Shot"),
        Column("action_type", "string", "the feed's shot description, e.g. Pullup Jump shot"),
        Column("shot_type", "string", "2PT Field Goal or 3PT Field Goal", source=False),
        Column("shot_distance", "int", "feet, as the feed gives it"),
        Column("loc_x", "int", "court x in the feed's legacy units (tenths of a foot)"),
        Column("loc_y", "int", "court y from the basket (tenths of a foot)"),
        Column(
            "shot_zone_range",
            "string",
            "Less Than 8 ft., 8-16 ft., 16-24 ft., 24+ ft. or Back Court Shot, from the "
            "distance (V3 carries no zone or area)",
            source=False,
        ),
        Column("shot_made_flag", "int", "1 made, 0 missed", nullable=False, source=False),
        Column(
            "assist_player_id",
            "int",
            "the assisting player, resolved from the made shot's text",
            source=False,
        ),
        Column(
            "block_player_id",
            "int",
            "the blocker, from the BLOCK event at the same clock",
            source=False,
        ),
        Column("description", "string", "the feed's text"),
        Column(
            "stint",
            "int",
            "the lineup_stints row the shot was taken in (null where the game's lineups "
            "could not be inferred)",
            source=False,
        ),
        *(
            Column(f"{side}_player_{n}", "int", f"{side} player on the floor", source=False)
            for side in ("home", "away")
            for n in range(1, 6)
        ),
    ),
)
TABLES[SHOTS.name] = SHOTS

_GAME_KEYS = (
    Column("game_id", "string", "10-character stats.nba.com game id", nullable=False),
    Column("game_date", "date", "US/Eastern date of the game", nullable=False),
    Column("season", "string", "season key, e.g. 2022-23", nullable=False, source=False),
)

LINEUP_STINTS = TableSpec(
    name="lineup_stints",
    description=(
        "Every stretch of a game with the same ten players on the floor, from play_by_play: "
        "the five a side, game-clock start and end, points and possessions for each side."
    ),
    key=("game_id", "stint"),
    columns=(
        *_GAME_KEYS,
        Column("stint", "int", "1, 2, ... in game order", nullable=False, source=False),
        Column(
            "start_action_id",
            "int",
            "the stint's first event (play_by_play.action_id): a period start or a substitution",
            nullable=False,
            source=False,
        ),
        Column("period", "int", "1-4, 5+ overtime", nullable=False, source=False),
        Column("start_clock", "float", "seconds left in the period at the start", source=False),
        Column("end_clock", "float", "seconds left in the period at the end", source=False),
        Column("start_elapsed", "float", "seconds from tip-off at the start", source=False),
        Column("seconds", "float", "length of the stint in seconds", source=False),
        Column("home_team_id", "int", nullable=False, source=False),
        Column("away_team_id", "int", nullable=False, source=False),
        *(
            Column(
                f"{side}_player_{n}",
                "int",
                f"{side} player on the floor (ids sorted)",
                source=False,
            )
            for side in ("home", "away")
            for n in range(1, 6)
        ),
        Column("home_pts", "int", "points the home team scored in the stint", source=False),
        Column("away_pts", "int", "points the away team scored in the stint", source=False),
        Column("home_poss", "int", "home possessions that began in the stint", source=False),
        Column("away_poss", "int", "away possessions that began in the stint", source=False),
    ),
)
TABLES[LINEUP_STINTS.name] = LINEUP_STINTS

POSSESSIONS = TableSpec(
    name="possessions",
    description=(
        "Every possession of a game from play_by_play: offense, first and last event, "
        "points and how it ended."
    ),
    key=("game_id", "possession"),
    columns=(
        *_GAME_KEYS,
        Column("possession", "int", "1, 2, ... in game order", nullable=False, source=False),
        Column("period", "int", "1-4, 5+ overtime", nullable=False, source=False),
        Column("offense_team_id", "int", nullable=False, source=False),
        Column("defense_team_id", "int", nullable=False, source=False),
        Column("start_action_id", "int", "first event (play_by_play.action_id)", source=False),
        Column("end_action_id", "int", "last event with the ball", source=False),
        Column("start_clock", "float", "seconds left in the period at the start", source=False),
        Column(
            "end_clock", "float", "seconds left at its last event (0 at period end)", source=False
        ),
        Column("pts", "int", "points the offense scored", source=False),
        Column(
            "end_reason",
            "string",
            "made field goal, free throw, turnover, missed field goal or rebound (the ball "
            "went to the other team after it, or the same team started a new possession: free "
            "throws for a foul away from the play after its own basket), or end of period",
            source=False,
        ),
    ),
)
TABLES[POSSESSIONS.name] = POSSESSIONS


# Game night (nba_assets/assets/game_night.py): the NBA's live feed, by game date. Snapshots
# are appended, never rewritten; `captured_at` is when the feed was read (ISO 8601, UTC).

_CAPTURED_AT = Column(
    "captured_at",
    "string",
    "when the live feed was read, ISO 8601 UTC (2024-01-01T00:30:00Z)",
    nullable=False,
    source=False,
)

LIVE_SCOREBOARD = TableSpec(
    name="live_scoreboard",
    description=(
        "Append-only snapshots of the live scoreboard (ScoreBoard, cdn.nba.com) taken during "
        "game nights: status, period, clock and score of every game, the in-game score history."
    ),
    key=("game_id", "captured_at"),
    columns=(
        Column("game_id", "string", "10-character stats.nba.com game id", nullable=False),
        Column("game_date", "date", "US/Eastern date of the game", nullable=False, source=False),
        _CAPTURED_AT,
        Column("game_status", "int", "1 scheduled, 2 in progress, 3 final", nullable=False),
        Column("game_status_text", "string", "'7:30 pm ET', 'Q3 4:12', 'Final', ..."),
        Column("period", "int", "0 before tip-off, 1-4, 5+ overtime"),
        Column("game_clock", "string", "time left in the period (ISO 8601 duration, PT04M12.00S)"),
        Column("game_time_utc", "string", "scheduled tip-off, ISO 8601 UTC"),
        Column("home_team_id", "int", nullable=False),
        Column("away_team_id", "int", nullable=False),
        Column("home_score", "int", "points so far"),
        Column("away_score", "int", "points so far"),
    ),
)
TABLES[LIVE_SCOREBOARD.name] = LIVE_SCOREBOARD

_ODDS_KEY = (
    Column("game_id", "string", "10-character stats.nba.com game id", nullable=False),
    Column("game_date", "date", "US/Eastern date of the game", nullable=False, source=False),
    Column("book_id", "string", "the bookmaker's id in the feed", nullable=False),
    Column("book_name", "string", "the bookmaker"),
    Column("market", "string", "2way (moneyline), spread, totals, ...", nullable=False),
    Column("outcome", "string", "home, away, over, under, ...", nullable=False),
)

ODDS_SNAPSHOTS = TableSpec(
    name="odds_snapshots",
    description=(
        "Append-only snapshots of every game's betting odds (Odds, cdn.nba.com): one row per "
        "capture, game, book, market and outcome, with current and opening odds and spreads."
    ),
    key=("captured_at", "game_id", "book_id", "market", "outcome"),
    columns=(
        _CAPTURED_AT,
        *_ODDS_KEY,
        Column("odds", "float", "decimal odds now (payout per unit staked, stake included)"),
        Column("opening_odds", "float", "decimal odds when the book opened the market"),
        Column("odds_trend", "string", "up, down or neutral since the book's last move"),
        Column("spread", "float", "the outcome's handicap now (spread markets); null otherwise"),
        Column("opening_spread", "float", "the handicap when the market opened"),
        Column(
            "american_odds",
            "int",
            "the decimal odds as American odds (+150, -110), derived",
            source=False,
        ),
        Column(
            "implied_probability",
            "float",
            "1 / decimal odds, derived (a market's outcomes sum above 1 by the book's margin)",
            source=False,
        ),
    ),
)
TABLES[ODDS_SNAPSHOTS.name] = ODDS_SNAPSHOTS

CLOSING_LINES = TableSpec(
    name="closing_lines",
    description=(
        "Per game, book, market and outcome: the opening line, the last line captured before "
        "tip-off and the movement between them (from odds_snapshots); join on game_id."
    ),
    key=("game_id", "book_id", "market", "outcome"),
    columns=(
        *_ODDS_KEY,
        Column("tip_off", "string", "scheduled tip-off, ISO 8601 UTC", source=False),
        Column(
            "closing_captured_at",
            "string",
            "the capture the closing line comes from: the last before tip-off",
            nullable=False,
            source=False,
        ),
        Column("snapshots", "int", "captures before tip-off", source=False),
        Column("opening_odds", "float", "decimal odds when the market opened", source=False),
        Column(
            "closing_odds", "float", "decimal odds at the last capture before tip", source=False
        ),
        Column("odds_movement", "float", "closing_odds - opening_odds", source=False),
        Column("opening_spread", "float", "handicap when the market opened", source=False),
        Column("closing_spread", "float", "handicap at the last capture before tip", source=False),
        Column("spread_movement", "float", "closing_spread - opening_spread", source=False),
        Column("closing_american_odds", "int", "closing_odds as American odds", source=False),
        Column("closing_implied_probability", "float", "1 / closing_odds", source=False),
    ),
)
TABLES[CLOSING_LINES.name] = CLOSING_LINES
