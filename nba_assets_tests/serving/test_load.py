"""Ranges of the warehouse replaced in PostgreSQL: counts, values, corrections, readers, views."""

from __future__ import annotations

import datetime as dt
import time

import dagster as dg
import pandas as pd
import pytest

import nba_assets
from nba_assets.assets.boxscores import team_boxscores
from nba_assets.assets.play_by_play import play_by_play
from nba_assets.assets.reference import teams
from nba_assets.assets.schedule import schedule
from nba_assets.cli import main
from nba_assets.io import delta
from nba_assets.io.delta import Selection
from nba_assets.schemas import TEAM_BOXSCORES
from nba_assets.serving import load
from nba_assets.serving.assets import COUNT_CHECK, ServingDatabase, build_serving_asset
from nba_assets.serving.models import columns
from nba_assets_tests.serving.conftest import PBP_DAYS, SEASON, SEASON_DAYS, range_tags

SEASON_RANGE = Selection.days(*(dt.date.fromisoformat(d) for d in SEASON_DAYS))


def served(engine, table: str, order: list[str]) -> pd.DataFrame:
    names = ", ".join(f'"{c}"' for c in columns(nba_assets.query.reader.TABLES[table]))
    sql = f"SELECT {names} FROM {table} ORDER BY {', '.join(order)}"
    with engine.connect() as connection:
        return pd.read_sql_query(sql, connection)


def count(engine, table: str, where: str = "TRUE") -> int:
    with engine.connect() as connection:
        return connection.exec_driver_sql(f"SELECT count(*) FROM {table} WHERE {where}").scalar()


def test_a_season_loads_equal_to_the_warehouse_and_a_rerun_duplicates_nothing(
    engine, season_warehouse
):
    for table in ("team_boxscores", "player_boxscores"):
        first = load.replace_range(engine, table, SEASON_RANGE, warehouse=str(season_warehouse))
        assert first.rows > 1000 and first.removed == 0
        assert first.mismatched == {} and set(first.served_counts) == {SEASON}
        again = load.replace_range(engine, table, SEASON_RANGE, warehouse=str(season_warehouse))
        assert (again.rows, again.removed) == (first.rows, first.rows)
        assert again.served_counts == first.warehouse_counts == {SEASON: first.rows}
    warehouse = nba_assets.read("team_boxscores", warehouse=str(season_warehouse))
    rows = served(engine, "team_boxscores", ["game_date", "game_id", "team_id"])
    expected = warehouse.assign(season=SEASON)[rows.columns]
    pd.testing.assert_frame_equal(
        rows.astype(object).where(rows.notna(), None),
        expected.astype(object).where(expected.notna(), None),
        check_dtype=False,
    )


def test_the_serving_assets_replace_their_partitions_and_pass_the_count_check(
    serving_dsn, schema, engine, season_warehouse
):
    serving = ServingDatabase(dsn=serving_dsn, schema_name=schema, warehouse=str(season_warehouse))
    daily = [build_serving_asset("team_boxscores"), build_serving_asset("play_by_play")]
    result = dg.materialize(
        [*daily, team_boxscores.to_source_asset(), play_by_play.to_source_asset()],
        resources={"serving": serving},
        tags=range_tags(*PBP_DAYS),
        selection=["pg_team_boxscores", "pg_play_by_play"],
        raise_on_error=False,
    )
    events_by_day = result.get_asset_materialization_events()
    where = {e.materialization.metadata["postgres_table"].value for e in events_by_day}
    assert where == {
        f"127.0.0.1:5432/{serving_dsn.rsplit('/', 1)[1]} (user postgres) {schema}.{table}"
        for table in ("team_boxscores", "play_by_play")
    }
    days = sorted({e.partition for e in events_by_day})
    assert days == pd.date_range(*PBP_DAYS).strftime("%Y-%m-%d").tolist()
    events = nba_assets.read("play_by_play", warehouse=str(season_warehouse))
    assert count(engine, "play_by_play") == len(events) > 1000
    window = f"game_date BETWEEN '{PBP_DAYS[0]}' AND '{PBP_DAYS[1]}'"
    assert count(engine, "team_boxscores") == count(engine, "team_boxscores", window) > 0
    checks = {c.asset_key.to_user_string(): c for c in result.get_asset_check_evaluations()}
    # play-by-play holds only these days: its season matches; box scores hold the whole
    # season, so three days of it fail the blocking check (and the step), naming the season
    assert checks["pg_play_by_play"].check_name == COUNT_CHECK and checks["pg_play_by_play"].passed
    assert not checks["pg_team_boxscores"].passed
    failed = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failed == ["pg_team_boxscores"]
    mismatched = checks["pg_team_boxscores"].metadata["mismatched"].value
    assert mismatched[SEASON]["postgres"] == count(engine, "team_boxscores")

    others = [build_serving_asset("schedule"), build_serving_asset("teams")]
    result = dg.materialize(
        [*others, schedule.to_source_asset(), teams.to_source_asset()],
        resources={"serving": serving},
        partition_key=SEASON,
        selection=["pg_schedule"],
    )
    assert result.success and result.get_asset_check_evaluations()[0].passed
    result = dg.materialize(
        [build_serving_asset("teams"), teams.to_source_asset()],
        resources={"serving": serving},
    )
    assert result.success and result.get_asset_check_evaluations()[0].passed
    assert count(engine, "teams") == len(nba_assets.read("teams", warehouse=str(season_warehouse)))
    assert count(engine, "schedule") > 1000


def test_a_stat_correction_in_the_warehouse_reaches_postgres_on_the_next_run(
    engine, warehouse_copy
):
    load.replace_range(engine, "team_boxscores", SEASON_RANGE, warehouse=str(warehouse_copy))
    day = dt.date(2024, 11, 5)
    published = delta.read_rows(str(warehouse_copy), TEAM_BOXSCORES, Selection.days(day, day))
    frame = delta.to_frame(published)
    game, team = frame.loc[0, "game_id"], int(frame.loc[0, "team_id"])
    frame.loc[0, "pts"] += 2
    corrected = delta.to_stored(TEAM_BOXSCORES, frame.drop(columns=["season", "source_sha256"]))
    commit = delta.replace(
        str(warehouse_copy), TEAM_BOXSCORES, corrected, Selection.days(day, day), {}
    )
    assert not commit.unchanged
    result = load.replace_range(
        engine, "team_boxscores", Selection.days(day, day), warehouse=str(warehouse_copy)
    )
    assert result.delta_version == commit.version and result.mismatched == {}
    with engine.connect() as connection:
        pts = connection.exec_driver_sql(
            "SELECT pts FROM team_boxscores WHERE game_id = %s AND team_id = %s", (game, team)
        ).scalar_one()
    assert pts == int(frame.loc[0, "pts"])


def test_a_reader_sees_the_old_rows_or_the_new_never_a_gap(engine, season_warehouse, monkeypatch):
    load.replace_range(engine, "player_boxscores", SEASON_RANGE, warehouse=str(season_warehouse))
    before = count(engine, "player_boxscores")
    seen = []
    copy = load._copy

    def copy_and_look(connection, spec, rows, freeze):
        seen.append(count(engine, "player_boxscores"))  # another connection, mid-transaction
        copied = copy(connection, spec, rows, freeze)
        seen.append(count(engine, "player_boxscores"))
        return copied

    monkeypatch.setattr(load, "_copy", copy_and_look)
    november = Selection.days(dt.date(2024, 11, 1), dt.date(2024, 11, 30))
    result = load.replace_range(
        engine, "player_boxscores", november, warehouse=str(season_warehouse)
    )
    assert result.removed == result.rows > 0
    assert seen == [before, before]
    assert count(engine, "player_boxscores") == before


def test_the_count_check_names_a_season_that_diverged(engine, season_warehouse):
    load.replace_range(engine, "team_boxscores", SEASON_RANGE, warehouse=str(season_warehouse))
    with engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM team_boxscores WHERE game_date = '2024-12-25'")
    day = dt.date(2025, 1, 2)
    result = load.replace_range(
        engine, "team_boxscores", Selection.days(day, day), warehouse=str(season_warehouse)
    )
    assert list(result.mismatched) == [SEASON]
    warehouse_rows, postgres_rows = result.mismatched[SEASON]
    christmas = nba_assets.read(
        "team_boxscores",
        warehouse=str(season_warehouse),
        filters=[("game_date", "=", dt.date(2024, 12, 25))],
    )
    assert warehouse_rows - postgres_rows == len(christmas) > 0


def test_the_views_equal_the_same_figures_from_pandas(engine, season_warehouse):
    load.replace_range(engine, "team_boxscores", SEASON_RANGE, warehouse=str(season_warehouse))
    box = nba_assets.read("team_boxscores", warehouse=str(season_warehouse)).assign(season=SEASON)
    pairs = box.merge(box[["game_id", "team_id", "pts"]], on="game_id", suffixes=("", "_opp"))
    pairs = pairs[pairs["team_id"] != pairs["team_id_opp"]].assign(
        win=lambda f: (f["wl"] == "W").astype(int),
        loss=lambda f: (f["wl"] == "L").astype(int),
        location=lambda f: f["matchup"].str.contains("@").map({True: "away", False: "home"}),
    )
    keys = ["season", "season_type", "team_id"]
    h2h = (
        pairs.groupby([*keys, "team_id_opp"])
        .agg(
            games=("win", "size"),
            wins=("win", "sum"),
            losses=("loss", "sum"),
            points=("pts", "sum"),
            points_allowed=("pts_opp", "sum"),
        )
        .reset_index()
        .rename(columns={"team_id_opp": "opponent_team_id"})
    )
    splits = (
        pairs.groupby([*keys, "location"])
        .agg(
            games=("win", "size"),
            wins=("win", "sum"),
            losses=("loss", "sum"),
            avg_pts=("pts", "mean"),
            avg_opp_pts=("pts_opp", "mean"),
        )
        .reset_index()
    )
    for view, expected, order in (
        ("head_to_head", h2h, [*keys, "opponent_team_id"]),
        ("team_home_away_splits", splits, [*keys, "location"]),
    ):
        with engine.connect() as connection:
            got = pd.read_sql_query(f"SELECT * FROM {view} ORDER BY {', '.join(order)}", connection)
        want = expected.sort_values(order).reset_index(drop=True)[got.columns]
        assert len(got) > 100
        pd.testing.assert_frame_equal(got, want, check_dtype=False)


def test_rebuild_reloads_at_the_latest_at_a_version_and_as_of_a_time(
    serving_dsn, schema, engine, warehouse_copy, monkeypatch, capsys
):
    monkeypatch.setenv("NBA_ASSETS_SERVING_DSN", serving_dsn)
    monkeypatch.setenv("NBA_ASSETS_SERVING_SCHEMA", schema)
    monkeypatch.setenv("NBA_ASSETS_WAREHOUSE", str(warehouse_copy))
    before = delta.open_table(str(warehouse_copy), "team_boxscores").version()
    moment = dt.datetime.now(dt.UTC)
    time.sleep(0.05)
    day = dt.date(2024, 11, 5)
    delta.replace(
        str(warehouse_copy),
        TEAM_BOXSCORES,
        delta.read_rows(str(warehouse_copy), TEAM_BOXSCORES, Selection.days(day, day)).slice(2),
        Selection.days(day, day),
        {},
    )
    assert main(["db", "rebuild"]) == 0
    out = capsys.readouterr().out
    assert "play_by_play" in out and "players" in out and "skipped" in out  # never loaded
    latest = count(engine, "team_boxscores")
    assert latest == len(nba_assets.read("team_boxscores", warehouse=str(warehouse_copy)))
    assert main(["db", "rebuild", "--table", "team_boxscores", "--version", str(before)]) == 0
    assert count(engine, "team_boxscores") == latest + 2
    assert f"version {before}" in capsys.readouterr().out
    assert main(["db", "rebuild", "--version", "0"]) == 1
    assert "exactly one --table" in capsys.readouterr().err
    assert main(["db", "rebuild"]) == 0
    assert count(engine, "team_boxscores") == latest
    assert main(["db", "rebuild", "--as-of", moment.isoformat()]) == 0  # every table, then
    assert count(engine, "team_boxscores") == latest + 2
    assert f"version {before}" in capsys.readouterr().out


def test_an_unknown_table_is_refused(engine, season_warehouse):
    with pytest.raises(ValueError, match="not served"):
        load.replace_range(engine, "shots", Selection(), warehouse=str(season_warehouse))


def test_an_encoding_error_mid_copy_fails_the_load_and_leaves_the_rows(
    engine, season_warehouse, monkeypatch
):
    load.replace_range(engine, "player_boxscores", SEASON_RANGE, warehouse=str(season_warehouse))
    before = count(engine, "player_boxscores")
    encode = load.binary.encode
    calls = []

    def encode_then_fail(batch):
        calls.append(batch.num_rows)
        if len(calls) > 1:  # after one batch is on its way to the server
            raise RuntimeError("encoder broke")
        return encode(batch)

    monkeypatch.setattr(load, "BATCH_ROWS", 1000)
    monkeypatch.setattr(load.binary, "encode", encode_then_fail)
    with pytest.raises(RuntimeError, match="encoder broke"):
        load.replace_range(
            engine, "player_boxscores", SEASON_RANGE, warehouse=str(season_warehouse)
        )
    assert count(engine, "player_boxscores") == before
    with engine.connect() as connection:  # the pool's connection is usable after the abort
        assert connection.exec_driver_sql("SELECT 1").scalar() == 1
