"""Ranged runs: one commit for the whole range, while events stay per day and sized by the day."""

import json
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow.parquet as pq

from nba_assets.assets.boxscores import team_boxscores
from nba_assets.io import delta
from nba_assets_tests.conftest import day_events, published, resources, table_files, table_version

TEAM = dg.AssetKey("team_boxscores")
#: What every day's event carries of the run's one commit (the same values on each day).
COMMIT_KEYS = set(delta.Commit("", 0, False, 0).as_metadata())
DAY_KEYS = {"dagster/row_count", "requests"}
#: Run-wide facts that belong to the run summary, never to a day's event.
SUMMARY_KEYS = {"api_calls", "archive_paths", "games_per_day", "partition_range", "rows_in_run"}


def range_tags(start: str, end: str) -> dict[str, str]:
    return {
        "dagster/asset_partition_range_start": start,
        "dagster/asset_partition_range_end": end,
    }


def today_is(day: str) -> dict:
    """Run config pinning the run's today: windows that ended 8+ days before are settled."""
    return {"ops": {"team_boxscores": {"config": {"today": day}}}}


def data_files(warehouse: Path, table: str) -> list[Path]:
    """The data files of the table's current version."""
    return [Path(uri) for uri in delta.open_table(str(warehouse), table).file_uris()]


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
    assert table_version(warehouse, "team_boxscores") == 0  # the whole range: one commit
    rows = published(warehouse, "team_boxscores", first=start, last=end)
    request_sets, commits = set(), []
    for record in records:
        meta = {k: v.value for k, v in record.asset_materialization.metadata.items()}
        day_rows = rows[rows["game_date"].map(str) == record.partition_key]
        assert meta["dagster/row_count"] == len(day_rows)
        assert all(
            r["covers"][0] <= record.partition_key <= r["covers"][1] for r in meta["requests"]
        )
        # each published row names a response of its own day's requests
        assert set(day_rows["source_sha256"]) <= {r["sha256"] for r in meta["requests"]}
        # the day's own facts, plus the run's one commit; run-wide summaries stay off the day
        assert DAY_KEYS | COMMIT_KEYS <= set(meta) <= DAY_KEYS | COMMIT_KEYS | {"revisions"}
        assert not set(meta) & SUMMARY_KEYS
        commits.append({k: meta[k] for k in COMMIT_KEYS})
        request_sets.add(len(meta["requests"]))
    assert len(request_sets) > 1  # March days lie in fewer request windows than April days
    assert all(c == commits[0] for c in commits)
    assert commits[0]["delta_version"] == 0 and commits[0]["commit"] == "committed"
    assert commits[0]["table_uri"] == str(warehouse / "team_boxscores")
    assert commits[0]["rows_in_range"] == len(rows) > 0
    # run-wide facts once per run: the run summary, and what the commit changed
    [summary] = [r for r in summaries if r.asset_observation.description.startswith("run summary")]
    assert len(summaries) == 2
    meta = summary.asset_observation.metadata
    assert (
        meta["api_calls"].value == requests and meta["partition_range"].value == f"{start}...{end}"
    )
    assert (
        meta["rows_in_run"].value
        == len(rows)
        == sum(r.asset_materialization.metadata["dagster/row_count"].value for r in records)
    )


def test_a_ranged_run_is_one_commit_naming_its_run_range_and_responses(synthetic, warehouse):
    res = resources(synthetic, warehouse)
    first = dg.materialize(
        [team_boxscores], resources=res, tags=range_tags("2024-03-20", "2024-03-31")
    )
    before = published(warehouse, "team_boxscores", first="2024-03-20", last="2024-03-31")
    synthetic.reset()
    # regular season, play-in and playoffs: several responses, still one commit
    second = dg.materialize(
        [team_boxscores], resources=res, tags=range_tags("2024-04-01", "2024-04-25")
    )
    assert first.success and second.success
    assert len(synthetic.requests_for("leaguegamelog")) == 3
    assert table_version(warehouse, "team_boxscores") == 1
    newest, oldest = delta.history(str(warehouse), "team_boxscores")
    assert (oldest["version"], oldest["run_id"], oldest["range"]) == (
        0,
        first.run_id,
        "2024-03-20...2024-03-31",
    )
    assert (newest["version"], newest["run_id"], newest["range"]) == (
        1,
        second.run_id,
        "2024-04-01...2024-04-25",
    )
    events = day_events(second)
    assert len(events) == 25 and {e["delta_version"] for e in events.values()} == {1}
    named = {r["sha256"] for e in events.values() for r in e["requests"] if r["endpoint"]}
    assert len(named) == 3 and set(json.loads(newest["meta"]["responses"])) == named
    rows = published(warehouse, "team_boxscores", first="2024-04-01", last="2024-04-25")
    assert set(rows["season_type"]) == {"Regular Season", "PlayIn", "Playoffs"}
    assert set(rows["source_sha256"]) == named and int(newest["rows"]) == len(rows)
    # the commit replaced its own range only: the first run's days are as it left them
    after = published(warehouse, "team_boxscores", first="2024-03-20", last="2024-03-31")
    pd.testing.assert_frame_equal(before, after)


def test_a_settled_rerun_of_a_range_costs_nothing_and_commits_nothing(synthetic, warehouse):
    res, tags = resources(synthetic, warehouse), range_tags("2024-03-28", "2024-04-10")
    assert dg.materialize([team_boxscores], resources=res, tags=tags).success
    version, files = (
        table_version(warehouse, "team_boxscores"),
        table_files(warehouse, "team_boxscores"),
    )
    rows = published(warehouse, "team_boxscores")
    synthetic.reset()
    rerun = dg.materialize(
        [team_boxscores], resources=res, tags=tags, run_config=today_is("2024-06-30")
    )
    assert rerun.success
    assert synthetic.requests_for() == []  # every window is settled and archived
    assert table_version(warehouse, "team_boxscores") == version
    assert table_files(warehouse, "team_boxscores") == files  # not a byte written, log included
    pd.testing.assert_frame_equal(published(warehouse, "team_boxscores"), rows)
    events = day_events(rerun)
    assert len(events) == 14
    for meta in events.values():
        assert meta["commit"] == "unchanged" and meta["delta_version"] == version
        assert meta["files_added"] == 0 and meta.get("revisions", 0) == 0
        assert all(r.get("from_archive") for r in meta["requests"] if r["endpoint"])
    [summary] = [
        e.asset_observation_data.asset_observation.metadata
        for e in rerun.all_events
        if e.event_type_value == "ASSET_OBSERVATION"
    ]
    assert summary["api_calls"].value == 0 and summary["archive_answers"].value == 3


def test_a_day_published_by_a_one_day_and_a_60_day_run_differs_only_in_its_request(
    synthetic, tmp_path
):
    day, one, sixty = "2024-11-15", tmp_path / "one", tmp_path / "sixty"
    one_run = dg.materialize(
        [team_boxscores], resources=resources(synthetic, one), partition_key=day
    )
    sixty_run = dg.materialize(
        [team_boxscores],
        resources=resources(synthetic, sixty),
        tags=range_tags("2024-10-22", "2024-12-20"),
    )
    assert one_run.success and sixty_run.success
    a = published(one, "team_boxscores", first=day, last=day)
    b = published(sixty, "team_boxscores", first=day, last=day)
    assert len(a) > 0
    # the same rows; each names the response it came from, the one request covering its day
    pd.testing.assert_frame_equal(a.drop(columns="source_sha256"), b.drop(columns="source_sha256"))
    meta_a, meta_b = day_events(one_run)[day], day_events(sixty_run)[day]
    [req_a], [req_b] = meta_a["requests"], meta_b["requests"]
    assert (
        set(a["source_sha256"]) == {req_a["sha256"]} != {req_b["sha256"]} == set(b["source_sha256"])
    )
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
        "fetched_at",
    }
    assert len(json.dumps(req_a)) == len(json.dumps(req_b))  # a day's event: sized by the day
    assert meta_a.keys() == meta_b.keys()
    assert meta_a["dagster/row_count"] == meta_b["dagster/row_count"] == len(a)
    for warehouse, meta in ((one, meta_a), (sixty, meta_b)):
        # each run one commit of one data file, whatever its range
        assert meta["delta_version"] == table_version(warehouse, "team_boxscores") == 0
        [data] = data_files(warehouse, "team_boxscores")
        assert meta["files_added"] == 1 and data.parent.name == "season=2024-25"
        # provenance lives in the rows and the commit, not in the file's bytes
        kv = pq.read_schema(data).metadata or {}
        assert not [k for k in kv if k.startswith(b"nba_assets")]
        assert json.loads(kv.get(b"pandas", b"{}")).get("attributes", {}) == {}


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
