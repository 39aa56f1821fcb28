"""Ranged runs store per-day facts per day: events and files do not grow with the range."""

import json

import dagster as dg
import pandas as pd
import pyarrow.parquet as pq
from upath import UPath

from nba_assets.assets.boxscores import team_boxscores
from nba_assets.io.parquet import PROVENANCE_KEY, read_frame, read_provenance
from nba_assets_tests.conftest import resources

TEAM = dg.AssetKey("team_boxscores")


def range_tags(start: str, end: str) -> dict[str, str]:
    return {
        "dagster/asset_partition_range_start": start,
        "dagster/asset_partition_range_end": end,
    }


def test_ranged_run_events_carry_each_days_own_rows_and_requests(synthetic, warehouse):
    # late regular season into the play-in/playoff windows: requests covering different days
    start, end = "2024-03-28", "2024-04-03"
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [team_boxscores],
            resources=resources(synthetic, warehouse),
            tags=range_tags(start, end),
            instance=instance,
        )
        assert result.success
        records = instance.fetch_materializations(TEAM, limit=100).records
        summaries = instance.fetch_observations(TEAM, limit=10).records
    requests = len(synthetic.requests_for("leaguegamelog"))
    assert requests > 1
    days = pd.date_range(start, end).strftime("%Y-%m-%d").tolist()
    assert sorted(r.partition_key for r in records) == days
    request_sets = set()
    for record in records:
        meta = record.asset_materialization.metadata
        path = UPath(warehouse / "team_boxscores" / f"{record.partition_key}.parquet")
        assert meta["dagster/row_count"].value == len(read_frame(path))
        assert meta["requests"].value == read_provenance(path)  # the day's own, as in its file
        assert all(
            r["covers"][0] <= record.partition_key <= r["covers"][1] for r in meta["requests"].value
        )
        assert set(meta) == {"dagster/row_count", "requests"}  # nothing run-wide per day
        request_sets.add(len(meta["requests"].value))
    assert len(request_sets) > 1  # March days lie in fewer request windows than April days
    assert sum(r.asset_materialization.metadata["dagster/row_count"].value for r in records) > 0
    [summary] = summaries  # run-wide facts once per run
    meta = summary.asset_observation.metadata
    assert (
        meta["api_calls"].value == requests and meta["partition_range"].value == f"{start}...{end}"
    )
    assert meta["rows_in_run"].value == sum(
        r.asset_materialization.metadata["dagster/row_count"].value for r in records
    )


def test_a_day_written_by_a_one_day_and_a_60_day_run_differs_only_in_its_request(
    synthetic, tmp_path
):
    day, one, sixty = "2024-11-15", tmp_path / "one", tmp_path / "sixty"
    assert dg.materialize(
        [team_boxscores], resources=resources(synthetic, one), partition_key=day
    ).success
    assert dg.materialize(
        [team_boxscores],
        resources=resources(synthetic, sixty),
        tags=range_tags("2024-10-22", "2024-12-20"),
    ).success
    a = UPath(one / "team_boxscores" / f"{day}.parquet")
    b = UPath(sixty / "team_boxscores" / f"{day}.parquet")
    frame_a = read_frame(a)
    assert len(frame_a) > 0
    pd.testing.assert_frame_equal(frame_a, read_frame(b))
    meta_a, meta_b = (pq.read_schema(p.path).metadata for p in (a, b))
    assert meta_a.keys() == meta_b.keys() and b"pandas" in meta_a
    for meta in (meta_a, meta_b):  # the frame's attrs (the run's requests) stay out
        assert json.loads(meta[b"pandas"]).get("attributes", {}) == {}
    assert {k: v for k, v in meta_a.items() if k != PROVENANCE_KEY} == {
        k: v for k, v in meta_b.items() if k != PROVENANCE_KEY
    }
    [req_a], [req_b] = read_provenance(a), read_provenance(b)
    differing = {k for k in req_a if req_a[k] != req_b[k]} | {
        f"params.{k}" for k in req_a["params"] if req_a["params"][k] != req_b["params"][k]
    }
    # the request window and what identifies its response, nothing else
    assert differing <= {
        "params",
        "params.DateFrom",
        "params.DateTo",
        "covers",
        "sha256",
        "archive",
    }
    assert len(json.dumps(req_a)) == len(json.dumps(req_b))
    assert pq.read_metadata(a.path).serialized_size == pq.read_metadata(b.path).serialized_size
    assert a.stat().st_size == b.stat().st_size  # a file's size does not depend on the range
