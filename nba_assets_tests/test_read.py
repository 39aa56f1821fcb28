"""The read API: same rows from season files, daily files and a mix; projection, filters, S3."""

import socket
import time

import dagster as dg
import pandas as pd
import pytest
from upath import UPath

import nba_assets
from nba_assets.assets.boxscores import team_boxscores
from nba_assets.assets.seasons import team_boxscores_by_season
from nba_assets.io.parquet import ParquetIOManager, read_frame
from nba_assets.reader import plan_read, warehouse_path
from nba_assets_tests.test_seasons import _fixed_day, compact, daily_concat, ingest

START, END = "2025-10-21", "2025-11-30"
LAKERS = 1610612747


def truth(warehouse) -> pd.DataFrame:
    """Every day file read on its own: what any read of 2025-26 must return."""
    return daily_concat(warehouse, "team_boxscores", "2025-26")[0]


def test_same_rows_from_daily_files_season_files_and_a_mix(replay, warehouse):
    ingest(replay, warehouse, [team_boxscores], START, END)
    daily_only = nba_assets.read("team_boxscores", ["2025-26"], warehouse=str(warehouse))
    pd.testing.assert_frame_equal(daily_only, truth(warehouse))
    assert len(plan_read(warehouse_path(str(warehouse)), "team_boxscores").daily_files) == 41

    assert compact(replay, warehouse, team_boxscores_by_season, team_boxscores, "2025-26").success
    plan = plan_read(warehouse_path(str(warehouse)), "team_boxscores", ["2025-26"])
    assert (len(plan.season_files), len(plan.daily_files)) == (1, 0)
    from_season = nba_assets.read("team_boxscores", "2025-26", warehouse=str(warehouse))
    pd.testing.assert_frame_equal(from_season, daily_only)

    day = read_frame(UPath(warehouse / "team_boxscores/2025-11-05.parquet"))
    day.loc[0, "pts"] = 999  # a correction ingested after the last compaction
    io = {"io_manager": ParquetIOManager(warehouse=str(warehouse))}
    assert dg.materialize([_fixed_day(day)], resources=io, partition_key="2025-11-05").success
    plan = plan_read(warehouse_path(str(warehouse)), "team_boxscores", ["2025-26"])
    assert [p.name for p in plan.daily_files] == ["2025-11-05.parquet"]
    mixed = nba_assets.read("team_boxscores", warehouse=str(warehouse))
    pd.testing.assert_frame_equal(mixed, truth(warehouse))
    assert (mixed["pts"] == 999).sum() == 1 and len(mixed) == len(daily_only)

    # the same files through DuckDB: the season file less the superseded day, plus that day
    from nba_assets.sql import query

    totals = query(
        "SELECT count(*) AS n, sum(pts) AS pts, max(pts) AS top FROM team_boxscores",
        warehouse=str(warehouse),
    )
    assert totals.iloc[0].tolist() == [len(mixed), int(mixed["pts"].sum()), 999]


def test_projection_and_filters_are_pushed_into_the_scan(replay, warehouse):
    ingest(replay, warehouse, [team_boxscores], START, END)
    assert compact(replay, warehouse, team_boxscores_by_season, team_boxscores, "2025-26").success
    everything = truth(warehouse)
    columns = ["game_date", "team_id", "pts"]
    lakers = nba_assets.read(
        "team_boxscores",
        ["2025-26"],
        columns=columns,
        filters=[("team_id", "=", LAKERS), ("pts", ">=", 110)],
        warehouse=str(warehouse),
    )
    expected = everything[(everything["team_id"] == LAKERS) & (everything["pts"] >= 110)]
    pd.testing.assert_frame_equal(lakers, expected[columns].reset_index(drop=True))
    assert list(lakers.columns) == columns and 0 < len(lakers) < 20
    assert nba_assets.read("team_boxscores", ["2018-19"], warehouse=str(warehouse)).empty
    with pytest.raises(ValueError, match="no column"):
        nba_assets.read("team_boxscores", columns=["points"], warehouse=str(warehouse))
    with pytest.raises(ValueError, match="no readable table"):
        nba_assets.read("teams", warehouse=str(warehouse))


@pytest.fixture
def moto_s3(monkeypatch):
    """A real S3-compatible server (moto's server mode) on a free loopback port."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for name, value in {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    import boto3

    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="nba")
    yield "s3://nba/warehouse"
    server.stop()


def test_s3_warehouse_reads_the_same_rows_from_one_object_per_season(replay, warehouse, moto_s3):
    ingest(replay, warehouse, [team_boxscores], START, END)
    ingest(replay, moto_s3, [team_boxscores], START, END)
    s3_plan = plan_read(warehouse_path(moto_s3), "team_boxscores", ["2025-26"])
    assert len(s3_plan.daily_files) == 41 and not s3_plan.season_files
    # S3 times objects to the second, and a day written in the season file's second counts as
    # newer (read again, to be safe): compact a second later, as any real compaction is
    time.sleep(1.1)
    assert compact(replay, moto_s3, team_boxscores_by_season, team_boxscores, "2025-26").success
    s3_plan = plan_read(warehouse_path(moto_s3), "team_boxscores", ["2025-26"])
    assert [str(p) for p in s3_plan.season_files] == [
        f"{moto_s3}/team_boxscores_by_season/2025-26.parquet"
    ]
    assert not s3_plan.daily_files
    from_s3 = nba_assets.read("team_boxscores", ["2025-26"], warehouse=moto_s3)
    pd.testing.assert_frame_equal(from_s3, truth(warehouse))
    projected = nba_assets.read(
        "team_boxscores",
        ["2025-26"],
        ["game_id", "pts"],
        [("team_id", "=", LAKERS)],
        warehouse=moto_s3,
    )
    assert list(projected.columns) == ["game_id", "pts"] and len(projected) > 0
