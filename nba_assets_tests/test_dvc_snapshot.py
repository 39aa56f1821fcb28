"""The training snapshot through the real `dvc` CLI on real git repositories in temporary dirs.

A session fixture runs `nba-assets demo` once (synthetic league, the README's four weeks); every
test clones a one-commit copy of this checkout and copies the demo's box-score Delta tables into
the clone's ./warehouse, exactly where params.yaml expects them after `make demo`. The pipeline
pins a Delta version of each table (`pin`), so the lock holds version numbers, not warehouse
bytes: a commit reruns `extract`, a run that committed nothing does not.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import boto3
import dagster as dg
import pandas as pd
import pytest
import yaml

import nba_assets
from nba_assets.io import delta
from nba_assets.schemas import TEAM_BOXSCORES
from nba_assets.snapshot.extract import OPTIONAL_TABLES, TABLES
from nba_assets_tests.conftest import table_version
from nba_assets_tests.moto_process import CREDENTIALS, create_bucket, moto_server

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
BIN = REPO / ".venv" / "bin"
TIMEOUT = 300
BASE_ENV = {"DVC_NO_ANALYTICS": "1", "GIT_TERMINAL_PROMPT": "0", "NBA_ASSETS_SOURCE": "synthetic"}
STAGES = ("pin", "extract", "features", "split")
GIT_METRICS = {"data/snapshots/metrics.json", "data/snapshots/features_report.json"}


def run(
    args: Sequence[str | Path], cwd: Path, env: Mapping[str, str] | None = None, check: bool = True
):
    proc = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env={**os.environ, **BASE_ENV, **(env or {})},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    if check:
        assert proc.returncode == 0, (
            f"{proc.args} exited {proc.returncode}\n{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}"
        )
    return proc


def dvc(repo: Path, *args: str, env: Mapping[str, str] | None = None, check: bool = True):
    return run([BIN / "dvc", *args], repo, env, check)


def lock_md5s(repo: Path) -> dict[str, str]:
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    return {o["path"]: o["md5"] for s in lock["stages"].values() for o in s.get("outs", [])}


def file_md5s(repo: Path, paths: Sequence[str]) -> dict[str, str]:
    return {p: hashlib.md5((repo / p).read_bytes()).hexdigest() for p in paths}


def ran(output: str) -> set[str]:
    return {s for s in STAGES if f"Running stage '{s}'" in output}


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """`nba-assets demo` once: its Dagster home and warehouse."""
    root = tmp_path_factory.mktemp("demo")
    env = {"DAGSTER_HOME": str(root / "home"), "NBA_ASSETS_WAREHOUSE": str(root / "warehouse")}
    run([BIN / "nba-assets", "demo"], root, env)
    return {"home": root / "home", "warehouse": root / "warehouse"}


@pytest.fixture(scope="session")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This checkout's tracked files (as on disk) committed to a fresh repository."""
    repo = tmp_path_factory.mktemp("origin")
    listed = run(["git", "ls-files"], REPO).stdout.splitlines()
    for name in listed:
        if (REPO / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, repo / name)
    run(["git", "init", "-q"], repo)
    run(["git", "add", "-A"], repo)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@x.invalid", "commit", "-qm", "c"], repo)
    return repo


@pytest.fixture
def clone(origin: Path, demo: dict[str, Path], tmp_path: Path):
    """make_clone(name, warehouse=True): a fresh clone, with the demo's partitions if asked."""

    def make(name: str, warehouse: bool = True) -> Path:
        dest = tmp_path / name
        run(["git", "clone", "-q", origin, dest], tmp_path)
        run(["git", "config", "user.name", "t"], dest)
        run(["git", "config", "user.email", "t@x.invalid"], dest)
        if warehouse:
            for spec in (*TABLES, *OPTIONAL_TABLES):
                shutil.copytree(demo["warehouse"] / spec.name, dest / "warehouse" / spec.name)
        return dest

    return make


def test_committed_lock_reproduces_in_two_fresh_clones(clone) -> None:
    first, second = clone("a"), clone("b")
    committed = lock_md5s(first)
    for repo in (first, second):
        assert ran(dvc(repo, "repro").stdout) == set(STAGES)
        # the lock `git` holds is exactly what a fresh repro after `nba-assets demo` writes
        diff = run(["git", "diff", "--exit-code", "--", "dvc.lock"], repo, check=False)
        assert diff.returncode == 0, f"dvc.lock differs from the committed one:\n{diff.stdout}"
        assert file_md5s(repo, list(committed)) == committed
    # twice in one clone: only `pin` runs (it always does), and a forced rerun gives the same bytes
    again = dvc(first, "repro").stdout
    assert ran(again) == {"pin"} and "Stage 'extract' didn't change" in again, again
    assert ran(dvc(first, "repro", "--force").stdout) == set(STAGES)
    assert lock_md5s(first) == committed == file_md5s(first, list(committed))
    status = run(["git", "status", "--porcelain"], first).stdout
    assert "data/snapshots/split/train.parquet" not in status and "warehouse" not in status


def test_second_demo_commits_nothing_and_leaves_dvc_lock_unchanged(clone, tmp_path: Path) -> None:
    repo = clone("again")
    dvc(repo, "repro")
    before = (repo / "dvc.lock").read_text()
    versions = {t.name: table_version(repo / "warehouse", t.name) for t in TABLES}
    env = {"DAGSTER_HOME": str(tmp_path / "home"), "NBA_ASSETS_WAREHOUSE": str(repo / "warehouse")}
    run([BIN / "nba-assets", "demo"], repo, env)
    assert {t.name: table_version(repo / "warehouse", t.name) for t in TABLES} == versions
    out = dvc(repo, "repro").stdout
    assert ran(out) == {"pin"} and (repo / "dvc.lock").read_text() == before, out


def test_changed_param_reruns_features_and_split_only(clone) -> None:
    repo = clone("params")
    dvc(repo, "repro")
    run(["git", "commit", "-qam", "snapshot"], repo, check=False)
    before = lock_md5s(repo)
    out = dvc(repo, "exp", "run", "-S", "features.window=2").stdout
    assert ran(out) == {"pin", "features", "split"}, out
    after = lock_md5s(repo)
    extract_outs = [p for p in before if p.startswith("data/snapshots/extract/")]
    assert {p: after[p] for p in extract_outs} == {p: before[p] for p in extract_outs}
    assert after["data/snapshots/features.parquet"] != before["data/snapshots/features.parquet"]
    assert "window: 2" in (repo / "params.yaml").read_text()
    shown = dvc(repo, "exp", "show", "--json").stdout
    assert "features.window" in shown or '"window": 2' in shown
    dvc(repo, "metrics", "diff")


def correct_day(warehouse: Path | str, day: str, points: int = 30) -> delta.Commit:
    """A stat correction for one day, committed the way a run commits (one replace)."""
    date = dt.date.fromisoformat(day)
    frame = nba_assets.read(
        "team_boxscores", filters=[("game_date", "=", date)], warehouse=str(warehouse)
    )
    frame.loc[0, "pts"] = frame.loc[0, "pts"] + points
    rows = delta.to_stored(TEAM_BOXSCORES, frame, "c" * 64)
    selection = delta.Selection.days(date, date)
    return delta.replace(str(warehouse), TEAM_BOXSCORES, rows, selection, {"run_id": "correction"})


def test_new_commit_reruns_every_stage_keeps_earlier_rows_and_pins_travel_back(clone) -> None:
    repo = clone("partition")
    dvc(repo, "repro")
    before = lock_md5s(repo)
    train_before = pd.read_parquet(repo / "data/snapshots/split/train.parquet")
    # a run whose rows equal the published ones commits nothing: nothing after `pin` reruns
    columns = [*TEAM_BOXSCORES.names, delta.SOURCE_SHA256]
    published = nba_assets.read(
        "team_boxscores", columns=columns, warehouse=str(repo / "warehouse")
    )
    unchanged = delta.to_stored(TEAM_BOXSCORES, published)
    same = delta.replace(
        str(repo / "warehouse"), TEAM_BOXSCORES, unchanged, delta.Selection(), {"run_id": "same"}
    )
    assert same.unchanged
    out = dvc(repo, "repro").stdout
    assert ran(out) == {"pin"} and lock_md5s(repo) == before, out

    # a stat correction for a test-period day: a new version of team_boxscores
    version = correct_day(repo / "warehouse", "2024-11-15").version
    out = dvc(repo, "repro").stdout
    assert ran(out) == set(STAGES), out
    after = lock_md5s(repo)
    for changed in (
        "versions.json",
        "extract/team_boxscores.parquet",
        "extract/manifest.json",
        "features.parquet",
        "split/test.parquet",
    ):
        assert after[f"data/snapshots/{changed}"] != before[f"data/snapshots/{changed}"], changed
    assert (
        after["data/snapshots/extract/player_boxscores.parquet"]
        == before["data/snapshots/extract/player_boxscores.parquet"]
    )
    # leakage: the games before the corrected day (the whole train split) are byte-identical
    assert (
        after["data/snapshots/split/train.parquet"] == before["data/snapshots/split/train.parquet"]
    )
    pd.testing.assert_frame_equal(
        train_before, pd.read_parquet(repo / "data/snapshots/split/train.parquet")
    )
    manifest = json.loads((repo / "data/snapshots/extract/manifest.json").read_text())
    team = manifest["tables"]["team_boxscores"]
    assert team["delta_version"] == version and team["rows"] == sum(team["partitions"].values())
    assert "data_version" not in json.dumps(manifest) and "sha256" not in json.dumps(manifest)

    # pinning the earlier version gives the first lock's bytes again (DVC's run cache knows
    # the stages' inputs, so it restores them; `--force` reads version 0 to the same bytes)
    out = dvc(repo, "exp", "run", "-S", f"extract.versions.team_boxscores={version - 1}").stdout
    assert lock_md5s(repo) == before, out
    out = dvc(repo, "repro", "--force", "extract").stdout
    assert "Running stage 'extract'" in out and lock_md5s(repo) == before, out


@pytest.fixture
def moto_s3() -> Iterator[str]:
    """moto in server mode, in its own process, on a free loopback port; yields its endpoint URL."""
    with moto_server() as endpoint:
        yield endpoint


def test_push_then_pull_into_an_empty_clone_gives_the_same_bytes(clone, moto_s3: str) -> None:
    aws = {"AWS_ENDPOINT_URL": moto_s3, **CREDENTIALS}
    create_bucket(moto_s3, "snapshots")
    producer = clone("producer")
    dvc(producer, "repro")
    # the remote is configured by name in the committed .dvc/config; the bucket goes in config.local
    dvc(producer, "remote", "modify", "--local", "storage", "url", "s3://snapshots/dvc")
    assert (
        ".dvc/config.local"
        not in run(["git", "status", "--porcelain", "--ignored=no"], producer).stdout
    )
    dvc(producer, "push", env=aws)
    expected = lock_md5s(producer)

    modeler = clone("modeler", warehouse=False)  # no warehouse, no cache: only the remote
    dvc(modeler, "remote", "modify", "--local", "storage", "url", "s3://snapshots/dvc")
    dvc(modeler, "pull", env=aws)
    assert file_md5s(modeler, list(expected)) == expected

    # and in the producer itself: cache and outputs deleted, pulled back
    shutil.rmtree(producer / ".dvc" / "cache")
    for path in expected:
        if path not in GIT_METRICS:  # metrics live in git (cache: false), not in the remote
            (producer / path).unlink()
    dvc(producer, "pull", env=aws)
    assert file_md5s(producer, list(expected)) == expected


def test_training_snapshot_asset_records_lock_md5s_and_demo_runs(
    clone, demo: dict[str, Path]
) -> None:
    repo = clone("asset")
    env = {"DAGSTER_HOME": str(demo["home"]), "NBA_ASSETS_WAREHOUSE": str(repo / "warehouse")}
    config = json.dumps({"ops": {"training_snapshot": {"config": {"workspace": str(repo)}}}})
    args = [
        BIN / "dagster",
        "asset",
        "materialize",
        "-m",
        "nba_assets.definitions",
        "--select",
        "training_snapshot",
        "--config-json",
        config,
    ]
    run(args, repo, env)
    with dg.DagsterInstance.from_config(str(demo["home"])) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey("training_snapshot"))
        boxscore_runs = {
            r.run_id for r in instance.get_runs(dg.RunsFilter(job_name="boxscores_job"))
        }
        (schedule_run,) = {
            r.run_id
            for r in instance.get_runs(dg.RunsFilter(tags={"dagster/partition": "2024-25"}))
        }
    meta = {k: getattr(v, "value", v) for k, v in event.asset_materialization.metadata.items()}
    md5s = lock_md5s(repo)
    assert meta["dvc_outputs_md5"] == md5s
    assert all(meta[f"md5:{path}"] == md5 for path, md5 in md5s.items())
    assert set(meta["dagster_runs"]) == boxscore_runs | {schedule_run}
    assert len(boxscore_runs) == 1
    assert meta["dagster_runs"][next(iter(boxscore_runs))] == {
        "player_boxscores": 28,
        "team_boxscores": 28,
    }
    # home and away came from the season's schedule, pinned beside the box scores
    assert meta["dagster_runs"][schedule_run] == {"schedule": 1}
    assert meta["git_revision"] == run(["git", "rev-parse", "HEAD"], repo).stdout.strip()
    assert (
        meta["params"]["features"]["window"]
        == yaml.safe_load((repo / "params.yaml").read_text())["features"]["window"]
    )
    assert set(meta["stages_run"]) == set(STAGES)
    # the join key: the versions the manifest pins, and the run whose commit made each
    (run_id,) = boxscore_runs
    assert meta["delta_versions"] == {"player_boxscores": 0, "team_boxscores": 0, "schedule": 0}
    assert meta["committed_by"] == {
        "player_boxscores": run_id,
        "team_boxscores": run_id,
        "schedule": schedule_run,
    }
    assert all(uri.endswith(f"/{t}") for t, uri in meta["table_uris"].items())

    # no git/DVC workspace (a container without .git): a clear failure, not a silent snapshot
    bare = repo.parent / "no-checkout"
    bare.mkdir()
    config = json.dumps({"ops": {"training_snapshot": {"config": {"workspace": str(bare)}}}})
    failed = run([*args[:-1], config], repo, env, check=False)
    assert failed.returncode != 0
    assert "needs a git checkout with the DVC pipeline" in failed.stdout + failed.stderr


def test_s3_warehouse_gives_the_same_snapshot(
    clone, demo: dict[str, Path], moto_s3: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """params.yaml's warehouse as s3://: the same versions pinned, the same bytes out."""
    aws = {"AWS_ENDPOINT_URL": moto_s3, **CREDENTIALS}
    create_bucket(moto_s3, "warehouse")
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_s3,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    for spec in (*TABLES, *OPTIONAL_TABLES):
        root = demo["warehouse"] / spec.name
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            key = f"nba/{spec.name}/{path.relative_to(root).as_posix()}"
            s3.put_object(Bucket="warehouse", Key=key, Body=path.read_bytes())
    repo = clone("s3", warehouse=False)
    committed = lock_md5s(repo)
    params = (repo / "params.yaml").read_text()
    (repo / "params.yaml").write_text(
        params.replace("warehouse: warehouse", "warehouse: s3://warehouse/nba", 1)
    )
    assert ran(dvc(repo, "repro", env=aws).stdout) == set(STAGES)
    assert lock_md5s(repo) == committed
    # a correction committed to the table in the bucket reruns extract
    for name, value in aws.items():
        monkeypatch.setenv(name, value)
    correct_day("s3://warehouse/nba", "2024-11-15")
    out = dvc(repo, "repro", env=aws).stdout
    assert ran(out) == set(STAGES), out
    assert (
        lock_md5s(repo)["data/snapshots/versions.json"] != committed["data/snapshots/versions.json"]
    )
