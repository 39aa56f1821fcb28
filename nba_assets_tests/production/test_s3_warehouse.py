"""The warehouse on S3 (moto's server on loopback, its own process) through the production code:
Delta tables whose commits are conditional PUTs, so a commit is whole or absent and two writers
can never both create one version."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import re
import time

import dagster as dg
import pandas as pd
import pytest
from botocore.exceptions import ClientError
from deltalake.exceptions import CommitFailedError

from nba_assets.assets.boxscores import team_boxscores
from nba_assets.assets.reference import players, teams
from nba_assets.io import delta
from nba_assets.io.storage import WarehouseUnavailableError, check_warehouse
from nba_assets.schemas import Column, TableSpec
from nba_assets_tests.conftest import fixture_body, published, resources, table_version
from nba_assets_tests.production.conftest import free_port, s3_client

RANGE_TAGS = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")
LOG_ENTRY = re.compile(r"/_delta_log/(\d{20})\.json$")


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


def keys(bucket: str, prefix: str) -> list[str]:
    pages = s3_client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def log_versions(bucket: str, table_prefix: str) -> list[int]:
    """The versions whose `_delta_log/N.json` exists in the bucket."""
    found = (LOG_ENTRY.search("/" + key) for key in keys(bucket, f"{table_prefix}/_delta_log/"))
    return sorted(int(match.group(1)) for match in found if match)


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


def materialization(result: dg.ExecuteInProcessResult) -> dict:
    """The commit's metadata, which every partition's materialization of the run carries."""
    events = result.get_asset_materialization_events()
    commits = {
        (
            e.materialization.metadata["table_uri"].value,
            e.materialization.metadata["delta_version"].value,
        )
        for e in events
    }
    assert len(events) >= 1 and len(commits) == 1, commits
    [(uri, version)] = commits
    return {"table_uri": uri, "delta_version": version, "partitions": len(events)}


def test_range_run_lands_the_recording_on_s3(replay, bucket, s3):
    warehouse = f"s3://{bucket}/nba"
    result = materialize_range(replay, warehouse, "2025-10-21", "2025-11-30")
    assert result.success
    assert len(replay.requests_for("leaguegamelog")) == 1
    meta = materialization(result)
    assert meta["table_uri"] == f"{warehouse}/team_boxscores" and meta["delta_version"] == 0
    assert meta["partitions"] == 41
    assert table_version(warehouse, "team_boxscores") == 0
    assert log_versions(bucket, "nba/team_boxscores") == [0]  # one run, one commit

    landed = published(warehouse, "team_boxscores", first="2025-10-21", last="2025-11-30")
    assert_equal_to_recording(landed, "2025-10-21", "2025-11-30")
    current = delta.open_table(warehouse, "team_boxscores")
    assert delta.files_per_partition(current) == {"2025-26": 1}
    assert keys(bucket, "nba/raw/"), "the raw archive lands beside the tables"


def test_commits_are_conditional_puts_even_if_the_environment_says_otherwise(
    bucket, s3, monkeypatch
):
    """Every `_delta_log/N.json` is created with `If-None-Match: *`, never copied or renamed;
    `AWS_CONDITIONAL_PUT=disabled` or `AWS_S3_ALLOW_UNSAFE_RENAME` in the environment change
    nothing (storage_options pins `etag`)."""
    monkeypatch.setenv("AWS_CONDITIONAL_PUT", "disabled")
    monkeypatch.setenv("AWS_S3_ALLOW_UNSAFE_RENAME", "true")
    warehouse = f"s3://{bucket}/nba"
    options = delta.storage_options(delta.table_uri(warehouse, SCORES.name))
    assert options["AWS_CONDITIONAL_PUT"] == "etag"
    assert not {k.lower() for k in options} & {
        "aws_s3_allow_unsafe_rename",
        "aws_s3_locking_provider",
    }
    for generation in range(3):
        scores(warehouse, DAYS, generation, {"run_id": f"run-{generation}"})
    puts = [
        r for r in s3.seen() if LOG_ENTRY.search(r["path"]) and r["method"] not in ("GET", "HEAD")
    ]
    assert [r["method"] for r in puts] == ["PUT"] * 3
    assert all(r["if_none_match"] == "*" and r["copy_source"] is None for r in puts)
    assert log_versions(bucket, "nba/scores") == [0, 1, 2]


def test_moto_refuses_a_second_create_of_one_log_entry(bucket, s3):
    """The server side of the guarantee: a conditional create of an existing key is refused."""
    client = s3_client()
    key = "nba/scores/_delta_log/00000000000000000000.json"
    client.put_object(Bucket=bucket, Key=key, Body=b"first", IfNoneMatch="*")
    with pytest.raises(ClientError) as refused:
        client.put_object(Bucket=bucket, Key=key, Body=b"second", IfNoneMatch="*")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == b"first"


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


def test_s3_failing_mid_commit_publishes_nothing_and_the_rerun_lands_exactly(replay, bucket, s3):
    warehouse = f"s3://{bucket}/nba"
    assert materialize_range(replay, warehouse, "2025-11-01", "2025-11-07").success

    # the data files upload, then S3 refuses the one PUT that would make them a version
    log_entry = rf"^/{bucket}/nba/team_boxscores/_delta_log/\d{{20}}\.json$"
    s3.fail(log_entry)
    replay.reset()
    before = len(s3.seen())
    failed = materialize_range(replay, warehouse, "2025-11-01", "2025-11-14")
    assert not failed.success
    text = failure_text(failed)
    assert "team_boxscores 2025-11-01...2025-11-14: the commit to" in text
    assert "nothing of this run is visible (the table stays at version 0" in text
    assert "403" in text  # the store's own error follows the sentence
    during = s3.seen()[before:]
    [refused] = [i for i, r in enumerate(during) if r["status"] == 403]
    assert re.search(log_entry, during[refused]["path"]) and during[refused]["method"] == "PUT"
    assert any(
        r["method"] in ("PUT", "POST") and "/team_boxscores/season=" in r["path"]
        for r in during[:refused]
    ), "the fault hit after the run's data files were uploaded"
    assert failed.get_asset_materialization_events() == []

    s3.clear_faults()
    assert table_version(warehouse, "team_boxscores") == 0 and log_versions(
        bucket, "nba/team_boxscores"
    ) == [0]
    still = published(warehouse, "team_boxscores", first="2025-11-01", last="2025-11-14")
    assert_equal_to_recording(still, "2025-11-01", "2025-11-07")  # no new row visible

    replay.reset()
    rerun = materialize_range(replay, warehouse, "2025-11-01", "2025-11-14")
    assert rerun.success
    assert materialization(rerun)["delta_version"] == 1
    assert log_versions(bucket, "nba/team_boxscores") == [0, 1]
    landed = published(warehouse, "team_boxscores", first="2025-11-01", last="2025-11-14")
    assert_equal_to_recording(landed, "2025-11-01", "2025-11-14")


# -- two writers of one range ---------------------------------------------------------------------

SCORES = TableSpec(
    "scores",
    "test table: one row per team per day",
    (
        Column("game_id", "string", nullable=False),
        Column("game_date", "date", nullable=False),
        Column("team_id", "int", nullable=False),
        Column("pts", "int"),
    ),
    ("game_id", "team_id"),
)
DAYS = [dt.date(2025, 11, 1) + dt.timedelta(days=i) for i in range(5)]
ITERATIONS = 12


def scores(warehouse: str, days: list[dt.date], pts: int, run: dict) -> delta.Commit:
    rows = pd.DataFrame(
        [
            {"game_id": f"00{d:%y%m%d}00", "game_date": d, "team_id": team, "pts": pts}
            for d in days
            for team in (1, 2)
        ]
    )
    stored = delta.to_stored(SCORES, rows, "a" * 64)
    return delta.replace(warehouse, SCORES, stored, delta.Selection.days(days[0], days[-1]), run)


def writer(warehouse: str, me: int, barrier, results) -> None:
    """In a spawned process: each iteration, wait for the other writer, then replace the range."""
    for i in range(ITERATIONS):
        barrier.wait(120)
        run = f"w{me}-{i}"
        try:
            commit = scores(warehouse, DAYS, 1000 * i + me, {"run_id": run})
            results.put(("won", run, commit.version, ""))
        except CommitFailedError as exc:
            results.put(("lost", run, None, str(exc)))
        except Exception as exc:
            results.put(("error", run, None, f"{type(exc).__name__}: {exc}"))


def test_two_concurrent_writers_one_wins_each_version_none_lost(bucket, s3):
    warehouse = f"s3://{bucket}/nba"
    scores(warehouse, DAYS, 0, {"run_id": "seed"})  # version 0
    # each log PUT answered 0.3 s late: both writers are past their last look at the log
    # before either version exists, so the loser's create reaches S3 and is refused there
    s3.delay(r"/nba/scores/_delta_log/\d{20}\.json$", 0.3)
    spawn = multiprocessing.get_context("spawn")
    barrier, results = spawn.Barrier(2), spawn.Queue()
    processes = [
        spawn.Process(target=writer, args=(warehouse, me, barrier, results)) for me in (1, 2)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=300) for _ in range(2 * ITERATIONS)]
    for process in processes:
        process.join(60)
        assert process.exitcode == 0

    assert [o for o in outcomes if o[0] == "error"] == []
    won = {run: version for kind, run, version, _ in outcomes if kind == "won"}
    lost = [(run, message) for kind, run, _, message in outcomes if kind == "lost"]
    # every iteration has a winner; overlapping losers fail cleanly, naming what happened
    assert {run.split("-")[1] for run in won} == {str(i) for i in range(ITERATIONS)}
    assert lost, "the writers never overlapped: nothing was tested"
    assert all("another writer committed to" in m and "nothing of this run" in m for _, m in lost)

    # exactly one writer per version, every winner's commit is the one at its version
    history = {e["version"]: e["run_id"] for e in delta.history(warehouse, SCORES.name)}
    assert sorted(history) == list(range(len(won) + 1))
    assert {history[version]: version for version in history if version} == won
    assert log_versions(bucket, "nba/scores") == list(range(len(won) + 1))  # contiguous

    last = history[max(history)]
    me, i = int(last[1]), int(last.split("-")[1])
    rows = delta.to_frame(delta.read_rows(warehouse, SCORES))
    assert set(rows["pts"]) == {1000 * i + me} and len(rows) == 2 * len(DAYS)

    # racing creates of one version reached S3, conditional, and S3 refused the second
    creates = [r for r in s3.seen() if LOG_ENTRY.search(r["path"]) and r["method"] == "PUT"]
    assert all(r["if_none_match"] == "*" for r in creates)
    assert sum(r["status"] == 412 for r in creates) >= max(1, len(lost) // 2)


def test_play_by_play_stages_locally_and_lands_on_s3_in_one_commit(synthetic, bucket, s3):
    """The staged path (a season spilled locally, then one transaction) against S3: one log
    entry, every game's events, and a settled rerun costs no request and no commit."""
    from nba_assets_tests.test_play_by_play import materialize_pbp, pbp_requests, synthetic_games

    warehouse, first, last = f"s3://{bucket}/nba", "2024-10-22", "2024-10-24"
    boxes = dg.materialize(
        [team_boxscores],
        resources=resources(synthetic, warehouse),
        tags={RANGE_TAGS[0]: first, RANGE_TAGS[1]: last},
    )
    assert boxes.success
    games = synthetic_games(warehouse, first, last)
    synthetic.reset()
    assert materialize_pbp(synthetic, warehouse, first, last).success
    assert sorted(pbp_requests(synthetic)) == games
    assert log_versions(bucket, "nba/play_by_play") == [0]
    events = published(warehouse, "play_by_play", first=first, last=last)
    assert sorted(events["game_id"].unique()) == games
    assert events.groupby("game_id").size().between(400, 620).all()
    synthetic.reset()
    assert materialize_pbp(synthetic, warehouse, first, last).success
    assert pbp_requests(synthetic) == [] and log_versions(bucket, "nba/play_by_play") == [0]
