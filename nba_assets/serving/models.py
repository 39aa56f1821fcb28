"""SQLAlchemy models generated from `nba_assets.schemas.TABLES`: no second schema by hand.

Tables carry no schema name: every connection of the serving engine sets `search_path` to the
configured schema (`nba` by default), so the same models and migrations serve any schema.
What only PostgreSQL needs (indexes for the usual queries, the `season` column the warehouse
keeps as its partition) is added here; columns, types, nullability, keys and comments come
from the one declaration.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase

from nba_assets.io.delta import SEASON, layout
from nba_assets.schemas import TABLES, Column, TableSpec

#: The warehouse tables the serving database mirrors, in load order.
SERVED = ("teams", "players", "schedule", "team_boxscores", "player_boxscores", "play_by_play")

#: Indexes for the usual queries (player by date, team by season) and for range replacement
#: (every dated table is replaced by game_date window); games are the primary keys' prefix.
INDEXES: dict[str, tuple[tuple[str, ...], ...]] = {
    "schedule": (("season",), ("game_date",)),
    "team_boxscores": (("game_date",), ("team_id", SEASON)),
    "player_boxscores": (("game_date",), ("player_id", "game_date"), ("team_id", SEASON)),
    "play_by_play": (("game_date",),),
}

_TYPES = {
    "string": sa.Text,
    "int": sa.BigInteger,
    "float": sa.Double,
    "date": sa.Date,
    "bool": sa.Boolean,
}
_SEASON_COMMENT = "NBA season of the game date, e.g. 2024-25 (the warehouse's partition)"

metadata = sa.MetaData(
    naming_convention={"pk": "pk_%(table_name)s", "ix": "ix_%(table_name)s_%(column_0_N_name)s"}
)


class Base(DeclarativeBase):
    metadata = metadata


def columns(spec: TableSpec) -> list[str]:
    """The served columns of a table, in order: the declared ones, then `season` if stored."""
    return [c.name for c in served_columns(spec)]


def served_columns(spec: TableSpec) -> tuple[Column, ...]:
    extra = ()
    if layout(spec).partition_by and SEASON not in spec.names:
        extra = (Column(SEASON, "string", _SEASON_COMMENT, nullable=False, source=False),)
    return (*spec.columns, *extra)


def _column(column: Column, key: tuple[str, ...]) -> sa.Column:
    return sa.Column(
        column.name,
        _TYPES[column.kind](),
        nullable=column.nullable and column.name not in key,
        comment=column.description or None,
        autoincrement=False,
    )


def _table(spec: TableSpec) -> sa.Table:
    table = sa.Table(
        spec.name,
        metadata,
        *(_column(c, spec.key) for c in served_columns(spec)),
        sa.PrimaryKeyConstraint(*spec.key),  # in key order: a game's rows are one index range
        comment=spec.description,
    )
    for names in INDEXES.get(spec.name, ()):
        sa.Index(None, *(table.c[n] for n in names))
    return table


def _model(spec: TableSpec) -> type[Base]:
    """A declarative class over the generated table (`TeamBoxscores`, `PlayByPlay`, ...)."""
    name = "".join(part.title() for part in spec.name.split("_"))
    return type(name, (Base,), {"__table__": _table(spec), "__doc__": spec.description})


MODELS: dict[str, type[Base]] = {name: _model(TABLES[name]) for name in SERVED}
TeamBoxscores = MODELS["team_boxscores"]
PlayerBoxscores = MODELS["player_boxscores"]
PlayByPlay = MODELS["play_by_play"]
Schedule = MODELS["schedule"]
Teams = MODELS["teams"]
Players = MODELS["players"]
