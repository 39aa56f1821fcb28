"""The warehouse on S3 (moto's server on loopback) through the production code path."""

from __future__ import annotations

import io
import threading
import time

import dagster as dg
import pandas as pd
import pyarrow.parquet as pq
import pytest

from nba_assets.assets.boxscores import team_boxscores
from nba_assets.assets.reference import players, teams
from nba_assets.io.storage import WarehouseUnavailableError, check_warehouse
from nba_assets_tests.conftest import fixture_body, resources
from nba_assets_tests.production.conftest import free_port, s3_client

RANGE_TAGS = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")


def recorded_rows(start: str, end: str) -> pd.DataFrame:
    entry = fixture_body("leaguegamelog-d25cde14d9.json")["resultSets"][0]
    frame = pd.DataFrame(entry["rowSet"], columns=entry["headers"]).rename(columns=str.lower)
    return frame[(frame["game_date"] >= start) & (frame["game_date"] <= end)]


def materialize_range(server, warehouse: str, start: str, end: str) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [team_boxscores],
        resources=resources(server, warehouse),
        tags={RANGE_TAGS[0]: start, RANGE_TAGS[1]: end},
        raise_on_error=False,
    )


def objects(bucket: str, prefix: str) -> dict[str, bytes]:
    client = s3_client()
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
    return {key: client.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}


def landed_rows(bucket: str, prefix: str) -> pd.DataFrame:
    files = objects(bucket, prefix)
    frames = [pq.read_table(io.BytesIO(data)).to_pandas() for data in files.values()]
    return pd.concat(frames, ignore_index=True)


def assert_equal_to_recording(landed: pd.DataFrame, start: str, end: str) -> None:
    recorded = recorded_rows(start, end)
    assert len(landed) == len(recorded) > 0
    key = ["game_id", "team_id"]
    left = landed.astype({"team_id": "int64"}).set_index(key).sort_index()
    right = recorded.astype({"team_id": "int64"}).set_index(key).sort_index()
    assert left.index.tolist() == right.index.tolist()
    for column in ("pts", "fgm", "fg3a", "ftm", "oreb", "dreb", "tov", "min"):
        assert left[column].astype("int64").tolist() == right[column].astype("int64").tolist()
    assert left["fg_pct"].tolist() == right["fg_pct"].tolist()
    assert [d.isoformat() for d in left["game_date"]] == right["game_date"].tolist()


def failure_text(result: dg.ExecuteInProcessResult) -> str:
    """Every error the run reported (a resource's setup fails before any step starts)."""
    errors = [getattr(event.event_specific_data, "error", None) for event in result.all_events]
    return "\n".join(error.to_string() for error in errors if error is not None)


def test_range_run_lands_the_recording_on_s3(replay, bucket):
    warehouse = f"s3://{bucket}/nba"
    result = materialize_range(replay, warehouse, "2025-10-21", "2025-11-30")
    assert result.success
    assert len(replay.requests_for("leaguegamelog")) == 1
    files = objects(bucket, "nba/team_boxscores/")
    assert len(files) == 41  # one object per day, empty days too
    assert_equal_to_recording(
        landed_rows(bucket, "nba/team_boxscores/"), "2025-10-21", "2025-11-30"
    )
    assert objects(bucket, "nba/raw/"), "the raw archive lands beside the tables"


@pytest.mark.parametrize("assets", [[teams, players], [team_boxscores]], ids=["teams", "boxscores"])
def test_missing_bucket_fails_before_any_request_and_is_never_created(replay, s3, assets):
    warehouse = "s3://no-such-nba-bucket/nba"
    result = dg.materialize(
        assets,
        resources=resources(replay, warehouse),
        run_config={"ops": {"players": {"config": {"season": "2025-26"}}}}
        if players in assets
        else None,
        tags={RANGE_TAGS[0]: "2025-11-01", RANGE_TAGS[1]: "2025-11-02"}
        if team_boxscores in assets
        else None,
        raise_on_error=False,
    )
    assert not result.success
    text = failure_text(result)
    assert "'no-such-nba-bucket'" in text and s3.url in text and "does not exist" in text
    assert replay.requests_for() == []
    assert "no-such-nba-bucket" not in [b["Name"] for b in s3_client().list_buckets()["Buckets"]]


def test_unreachable_endpoint_fails_fast_naming_it(monkeypatch, s3):
    dead = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", dead)
    began = time.monotonic()
    with pytest.raises(WarehouseUnavailableError) as error:
        check_warehouse("s3://some-bucket/nba")
    assert "'some-bucket'" in str(error.value) and dead in str(error.value)
    assert time.monotonic() - began < 30


def test_s3_outage_mid_run_fails_leaves_nothing_and_a_rerun_repairs(replay, bucket, s3):
    warehouse = f"s3://{bucket}/nba"
    replay.faults.update({"latency": 1.5})  # the leaguegamelog request is in flight ...

    def stop_s3_once_requested() -> None:
        deadline = time.monotonic() + 30
        while not replay.requests_for("leaguegamelog") and time.monotonic() < deadline:
            time.sleep(0.02)
        s3.stop()  # ... when S3 goes away

    watcher = threading.Thread(target=stop_s3_once_requested)
    watcher.start()
    result = materialize_range(replay, warehouse, "2025-11-01", "2025-11-07")
    watcher.join()
    assert not result.success
    assert str(s3.port) in failure_text(result)  # it failed on S3, not on something else
    s3.start()
    assert objects(bucket, "nba/team_boxscores/") == {}
    replay.reset()
    rerun = materialize_range(replay, warehouse, "2025-11-01", "2025-11-07")
    assert rerun.success
    assert len(objects(bucket, "nba/team_boxscores/")) == 7
    assert_equal_to_recording(
        landed_rows(bucket, "nba/team_boxscores/"), "2025-11-01", "2025-11-07"
    )
