"""The serving database at scale: N synthetic seasons of box scores and play-by-play loaded
into a fresh PostgreSQL database from scratch, a daily tick, and a full rebuild. Prints rows,
seconds and rows/s of each; asserts only that PostgreSQL's counts equal the warehouse's.

    .venv/bin/python bench/serving.py [--seasons 25] [--data DIR] [--dsn postgresql://...]

The warehouse (kept and reused with --data) holds, per season, the synthetic league's own team
and player game logs (parsed as the assets parse them) and play-by-play rows for each of those
games generated here with numpy (`--events` per game, the real table's columns and value
widths, not basketball: simulating 25 seasons of events takes the league ~17 minutes), one
commit per season and table, as the store writes them.
  load     every table from an empty database: what the serving assets do for the whole range;
  tick     the last 8 days of the last season replaced in all three tables (the morning run);
  rebuild  `nba-assets db rebuild`'s path: every table truncated and reloaded.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import tempfile
import time
import uuid

import numpy as np
import pandas as pd
import psycopg2
import pyarrow as pa

from nba_assets.io import delta
from nba_assets.io.delta import Selection
from nba_assets.partitions import BOXSCORE_SEASON_TYPES, season_name, season_start_year
from nba_assets.schemas import PLAY_BY_PLAY, PLAYER_BOXSCORES, TEAM_BOXSCORES
from nba_assets.serving import database, load
from nba_assets.source.parsing import parse_boxscores
from nba_assets.source.synthetic import SyntheticLeague

TABLES = ("team_boxscores", "player_boxscores", "play_by_play")
TABLES_BY_NAME = {t.name: t for t in (TEAM_BOXSCORES, PLAYER_BOXSCORES, PLAY_BY_PLAY)}
ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
_WORDS = np.array(
    ["Made Shot", "Missed Shot", "Free Throw", "Rebound", "Turnover", "Foul", "Substitution"]
)


def seasons_ending(last: str, count: int) -> list[str]:
    end = season_start_year(last)
    return [season_name(y) for y in range(end - count + 1, end + 1)]


def game_logs(league: SyntheticLeague, spec, side: str, season: str) -> pd.DataFrame:
    frames = [spec.empty()]
    for season_type in BOXSCORE_SEASON_TYPES:
        params = {"Season": season, "SeasonType": season_type, "PlayerOrTeam": side}
        frames.append(parse_boxscores(spec, league.respond("leaguegamelog", params)))
    return pd.concat(frames, ignore_index=True)


def events(games: pd.DataFrame, per_game: int, rng: np.random.Generator) -> pa.Table:
    """`per_game` rows per game with the stored schema of play_by_play (keys unique)."""
    n = len(games) * per_game
    game_index = np.repeat(np.arange(len(games)), per_game)
    text = pa.array(_WORDS[rng.integers(0, len(_WORDS), n)])
    names = pa.array(np.char.add("Player ", rng.integers(0, 500, n).astype(str)))
    ints = lambda high: pa.array(rng.integers(0, high, n), pa.int64())  # noqa: E731
    columns = {
        "game_id": pa.array(games["game_id"].to_numpy()[game_index], pa.string()),
        "game_date": pa.array(games["game_date"].to_numpy()[game_index], pa.date32()),
        "action_id": pa.array(np.tile(np.arange(1, per_game + 1), len(games)), pa.int64()),
        "action_number": ints(800),
        "period": ints(4),
        "clock": pa.array(rng.random(n) * 720),
        "team_id": pa.array(1610612737 + rng.integers(0, 30, n), pa.int64()),
        "team_tricode": pa.array(np.array(["BOS", "NYK", "LAL", "GSW"])[rng.integers(0, 4, n)]),
        "person_id": ints(1_700_000),
        "player_name": names,
        "player_name_i": names,
        "location": pa.array(np.array(["h", "v"])[rng.integers(0, 2, n)]),
        "action_type": text,
        "sub_type": text,
        "description": pa.array(
            np.char.add("MISS Player 3PT Jump Shot ", rng.integers(0, 30, n).astype(str))
        ),
        "score_home": ints(140),
        "score_away": ints(140),
        "is_field_goal": ints(2),
        "shot_value": ints(4),
        "shot_result": pa.array(np.array(["Made", "Missed"])[rng.integers(0, 2, n)]),
        "shot_distance": ints(30),
        "x_legacy": ints(250),
        "y_legacy": ints(400),
        "video_available": ints(2),
    }
    schema = delta.layout(PLAY_BY_PLAY).schema()
    seasons = pa.array(games["season"].to_numpy()[game_index], pa.string())
    table = pa.table({**columns, "season": seasons, "source_sha256": pa.nulls(n, pa.string())})
    return table.cast(schema)


def build(warehouse: str, seasons: list[str], per_game: int) -> None:
    league = SyntheticLeague(2026, seasons[0], seasons[-1])
    rng = np.random.default_rng(7)
    for season in seasons:
        began = time.monotonic()
        selection = Selection.of_seasons([season])
        team = game_logs(league, TEAM_BOXSCORES, "T", season)
        player = game_logs(league, PLAYER_BOXSCORES, "P", season)
        for spec, frame in ((TEAM_BOXSCORES, team), (PLAYER_BOXSCORES, player)):
            delta.replace(warehouse, spec, delta.to_stored(spec, frame), selection, {})
        games = team.drop_duplicates("game_id")[["game_id", "game_date"]].assign(season=season)
        delta.replace(warehouse, PLAY_BY_PLAY, events(games, per_game, rng), selection, {})
        print(
            f"  {season}: {len(team):,} team, {len(player):,} player, "
            f"{len(games) * per_game:,} event rows ({time.monotonic() - began:.1f} s)",
            flush=True,
        )


def fresh_database() -> tuple[str, str]:
    name = f"nba_serving_bench_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(ADMIN)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return name, f"postgresql://postgres@127.0.0.1:5432/{name}"


def drop_database(name: str) -> None:
    database.dispose_all()
    admin = psycopg2.connect(ADMIN)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def client_cpu() -> float:
    """This process's CPU seconds, every thread (the Delta scan, the encoder, psycopg2)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_pass(label: str, engine, warehouse: str, selection: Selection, truncate: bool) -> None:
    began, cpu, rows = time.monotonic(), client_cpu(), 0
    for table in TABLES:
        result = load.replace_range(
            engine, table, selection, warehouse=warehouse, truncate=truncate
        )
        assert not result.mismatched or selection.first_day is not None, result.mismatched
        rows += result.rows
        copying = result.seconds - result.index_seconds
        print(
            f"  {label:<8} {table:<17} {result.rows:>11,} rows {result.seconds:8.2f} s "
            f"{result.rows_per_second:>10,.0f} rows/s; COPY {copying:.2f} s "
            f"({result.rows / copying if copying else 0:,.0f} rows/s), "
            f"key and indexes {result.index_seconds:.2f} s",
            flush=True,
        )
    wall, cpu = time.monotonic() - began, client_cpu() - cpu
    print(
        f"  {label:<8} all{'':<15} {rows:>11,} rows {wall:8.2f} s {rows / wall:>10,.0f} rows/s "
        f"(wall: snapshots, loads and count checks); client CPU {cpu:.1f} s, "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seasons", type=int, default=25)
    parser.add_argument("--last-season", default="2025-26")
    parser.add_argument("--events", type=int, default=480, help="play-by-play rows per game")
    parser.add_argument("--data", help="warehouse directory to keep and reuse")
    parser.add_argument("--skip-rebuild", action="store_true", help="load and tick only")
    args = parser.parse_args()
    warehouse = args.data or tempfile.mkdtemp(prefix="nba-serving-bench-")
    seasons = seasons_ending(args.last_season, args.seasons)
    print(f"warehouse {warehouse}: {seasons[0]}..{seasons[-1]}, load {os.getloadavg()[0]:.1f}")
    if not delta.exists(warehouse, "play_by_play"):
        build(warehouse, seasons, args.events)
    name, dsn = fresh_database()
    try:
        engine = database.ready(dsn, "nba")
        run_pass("load", engine, warehouse, Selection(), truncate=False)
        # a mid-season morning: the 8 days up to January 15 of the last season
        last = dt.date(season_start_year(seasons[-1]) + 1, 1, 15)
        tick = Selection.days(last - dt.timedelta(days=7), last)
        run_pass("tick", engine, warehouse, tick, truncate=False)
        for table in TABLES:  # the tick's count check alone, on the loaded database
            with engine.connect() as connection:
                began = time.monotonic()
                load.served_counts(connection, TABLES_BY_NAME[table], [seasons[-1]])
                print(f"  count    {table:<17} one season {time.monotonic() - began:8.2f} s")
        if not args.skip_rebuild:
            run_pass("rebuild", engine, warehouse, Selection(), truncate=True)
        print(f"  machine load after: {os.getloadavg()[0]:.1f} (2 cores)")
    finally:
        drop_database(name)


if __name__ == "__main__":
    main()
