"""The data dictionary, generated from the one schema (`schemas.TABLES`): every table and
column with its type, unit, nullability, description and the API field it comes from.

`nba-assets dictionary` writes `docs/data-dictionary.md` (people) and `docs/schema.json`
(machines); a test fails when either differs from what this module renders, so the
dictionary cannot drift from the code.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from nba_assets.io.delta import SEASON, SOURCE_SHA256, layout
from nba_assets.schemas import TABLES, Column, TableSpec
from nba_assets.source.parsing import PLAYER_ALIASES
from nba_assets.source.parsing_pbp import V3_FIELDS

#: Where each API table's rows come from (derived tables say what they are built from).
ENDPOINTS = {
    "teams": "CommonTeamYears + nba_api static teams",
    "players": "CommonAllPlayers",
    "team_boxscores": "LeagueGameLog (PlayerOrTeam=T)",
    "player_boxscores": "LeagueGameLog (PlayerOrTeam=P)",
    "schedule": "ScheduleLeagueV2",
    "play_by_play": "PlayByPlayV3",
}
#: The schedule's columns in ScheduleLeagueV2's game objects (see `assets.schedule.parse_schedule`).
SCHEDULE_FIELDS = {
    "game_id": "gameId",
    "game_date": "gameDateEst",
    "game_status": "gameStatus",
    "game_status_text": "gameStatusText",
    "home_team_id": "homeTeam.teamId",
    "away_team_id": "awayTeam.teamId",
    "matchup": "awayTeam.teamTricode, homeTeam.teamTricode",
    "game_label": "gameLabel",
}
#: Units by column-name convention, first match wins (the NBA's own names, snake_case).
UNITS: tuple[tuple[str, str], ...] = (
    (r"(^|_)pct$", "fraction 0-1"),
    (r"_id$", "identifier"),
    (r"^(min|minutes)$", "minutes"),
    (r"^(clock|start_clock|end_clock|seconds|.*_seconds)$", "seconds"),
    (r"(^|_)(rating)$", "points per 100 possessions"),
    (r"^pace$", "possessions per 48 minutes"),
    (r"^(shot_distance|distance)$", "feet"),
    (r"^(x|y)(_legacy)?$", "court units (tenths of a foot)"),
    (r"^(pts|plus_minus|score_home|score_away|.*_pts|margin|.*_margin)$", "points"),
    (
        r"^(fgm|fga|fg3m|fg3a|ftm|fta|oreb|dreb|reb|ast|stl|blk|tov|pf|gp|gs|w|l|poss|.*_poss)$",
        "count",
    ),
)


def unit(column: Column) -> str:
    if column.kind in ("date", "bool"):
        return ""
    for pattern, name in UNITS:
        if re.search(pattern, column.name):
            return name
    return ""


def source_field(spec: TableSpec, column: Column) -> str:
    """The API field a column is read from, or `derived` where we compute it."""
    if not column.source:
        return "nba_api static teams" if spec.name == "teams" else "derived"
    if spec.name == "play_by_play":
        by_name = {v: k for k, v in V3_FIELDS.items()}
        return by_name.get(column.name, "derived")
    if spec.name == "schedule":
        return SCHEDULE_FIELDS.get(column.name, "derived")
    if spec.name not in ENDPOINTS:
        return "derived"
    aliases = {v: k for k, v in PLAYER_ALIASES.items()} if spec.name == "players" else {}
    return aliases.get(column.name, column.name.upper())


def describe(spec: TableSpec) -> dict[str, Any]:
    stored, arrow = layout(spec), spec.arrow_schema()
    return {
        "name": spec.name,
        "description": spec.description,
        "source": ENDPOINTS.get(spec.name, "derived from the warehouse (docs/derived.md)"),
        "key": list(spec.key),
        "partitioned_by": list(stored.partition_by),
        "columns": [
            {
                "name": c.name,
                "type": str(arrow.field(c.name).type),
                "unit": unit(c),
                "nullable": c.nullable,
                "description": c.description,
                "source_field": source_field(spec, c),
            }
            for c in spec.columns
        ],
    }


def schema_json() -> str:
    tables = [describe(spec) for spec in TABLES.values()]
    stored = {
        SOURCE_SHA256: "sha256 of the raw response each row was parsed from (dated tables)",
        SEASON: "the season a row's game date falls in: the Delta partition column",
    }
    return json.dumps({"tables": tables, "stored_columns": stored}, indent=2) + "\n"


def markdown() -> str:
    lines = [
        "# Data dictionary",
        "",
        "Generated from `nba_assets/schemas.py` by `nba-assets dictionary`; do not edit by hand",
        "(a test fails when this page is stale). Machine-readable: [schema.json](schema.json).",
        "",
        f"Dated tables also store `{SOURCE_SHA256}` (the sha256 of the raw response each row "
        f"was parsed from) and are partitioned by `{SEASON}`.",
        "",
    ]
    for table in (describe(spec) for spec in TABLES.values()):
        lines += [
            f"## {table['name']}",
            "",
            table["description"],
            "",
            f"Source: {table['source']}. Key: `{', '.join(table['key'])}`."
            + (
                f" Partitioned by `{table['partitioned_by'][0]}`."
                if table["partitioned_by"]
                else ""
            ),
            "",
            "| column | type | unit | null | source field | description |",
            "|---|---|---|---|---|---|",
        ]
        for c in table["columns"]:
            cells = [
                f"`{c['name']}`",
                c["type"],
                c["unit"],
                "yes" if c["nullable"] else "no",
                c["source_field"]
                if " " in c["source_field"] or c["source_field"] == "derived"
                else f"`{c['source_field']}`",
                c["description"].replace("|", "\\|"),
            ]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def write(docs: Path) -> list[Path]:
    """Write both renderings under `docs`; returns the files written."""
    targets = {docs / "data-dictionary.md": markdown(), docs / "schema.json": schema_json()}
    for path, text in targets.items():
        path.write_text(text)
    return list(targets)
