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


def _tagging_asset(days_of_run):
    """An asset that attaches `{"day": key}` to the partitions `days_of_run(keys)` names."""
    from nba_assets.assets.provenance import add_partition_metadata
    from nba_assets.partitions import game_date_partitions

    @dg.asset(partitions_def=game_date_partitions, backfill_policy=dg.BackfillPolicy.single_run())
    def tagged(context: dg.AssetExecutionContext) -> None:
        add_partition_metadata(
            context, {k: {"day": k} for k in days_of_run(context.partition_keys)}
        )

    return tagged


class _Discard(dg.IOManager):
    def handle_output(self, context, obj) -> None:
        pass

    def load_input(self, context):
        raise NotImplementedError


def test_partition_metadata_is_added_in_one_step_and_lands_on_each_days_event(monkeypatch):
    calls = []
    public = dg.AssetExecutionContext.add_asset_metadata

    def counted(self, *args, **kwargs):
        calls.append(kwargs.get("partition_key"))
        return public(self, *args, **kwargs)

    monkeypatch.setattr(dg.AssetExecutionContext, "add_asset_metadata", counted)
    start, end = "2024-01-01", "2024-03-31"
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [_tagging_asset(lambda keys: keys)],
            resources={"io_manager": _Discard()},
            tags=range_tags(start, end),
            instance=instance,
        )
        assert result.success
        records = instance.fetch_materializations(dg.AssetKey("tagged"), limit=200).records
    assert len(records) == 91
    assert all(r.asset_materialization.metadata["day"].value == r.partition_key for r in records)
    # one public call validates; the other 90 join Dagster's accumulator at once, not one by one
    assert calls == [start]


def test_partition_metadata_for_a_day_outside_the_run_fails_the_step():
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [_tagging_asset(lambda keys: [*keys, "2030-01-01"])],
            resources={"io_manager": _Discard()},
            tags=range_tags("2024-01-01", "2024-01-05"),
            instance=instance,
            raise_on_error=False,
        )
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert "2030-01-01" in failure.step_failure_data.error.message
