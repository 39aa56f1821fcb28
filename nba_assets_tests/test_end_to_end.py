"""What users run: `nba-assets demo`, `dagster asset materialize`, `nba-assets recover`, as
subprocesses against loopback servers."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from nba_assets.cli import LOCAL_INSTANCE_YAML
from nba_assets.io import delta
from nba_assets_tests.conftest import FIXTURES, REPO, fixture_body, published, table_version

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
MINIMAL_INSTANCE_YAML = "telemetry:\n  enabled: false\n"


def clean_environ() -> dict[str, str]:
    """This process's environment without any of our settings: each test states its own."""
    prefixes = ("NBA_ASSETS_", "NBA_STATS_", "DAGSTER_HOME")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        args, cwd=cwd, env={**clean_environ(), **env}, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, f"{args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def instance_env(tmp_path: Path, base_url: str, instance_yaml: str) -> dict[str, str]:
    """A DAGSTER_HOME created up front (concurrent first use of SQLite races) and settings."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(instance_yaml)
    env = {
        "DAGSTER_HOME": str(home),
        "NBA_STATS_BASE_URL": base_url,
        "NBA_ASSETS_WAREHOUSE": str(tmp_path / "warehouse"),
        "NBA_ASSETS_MIN_REQUEST_INTERVAL": "0",
    }
    run(
        [str(BIN / "python"), "-c", "import dagster as dg; dg.DagsterInstance.get()"],
        tmp_path,
        **env,
    )
    return env


def table_files(warehouse: Path, table: str) -> dict[str, int]:
    """Every file under a table's directory (data and log) with its size."""
    root = warehouse / table
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*") if p.is_file()}


def materialized_days(home: Path, asset: str) -> list[str]:
    """The partitions of `asset` the instance at `home` records as materialized."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return sorted(instance.get_materialized_partitions(dg.AssetKey(asset)))


def days(start: str, end: str) -> list[str]:
    return pd.date_range(start, end).strftime("%Y-%m-%d").tolist()


def materialize_args(select: str, *extra: str) -> list[str]:
    return [
        str(BIN / "dagster"),
        "asset",
        "materialize",
        "-m",
        "nba_assets.definitions",
        "--select",
        select,
        *extra,
    ]


def start_run(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    """A run in its own process group (so a test can SIGKILL all of it), output discarded."""
    return subprocess.Popen(
        args,
        cwd=REPO,
        env={**clean_environ(), **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def kill_while_fetching(args: list[str], env: dict[str, str], replay) -> None:
    """Start a run, SIGKILL its whole process group once its first API request is in flight."""
    replay.faults.update({"latency": 60})
    proc = start_run(args, env)
    deadline = time.monotonic() + 120
    while not replay.requests_for() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert replay.requests_for(), "the run never reached the API"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    replay.faults.update({"latency": 0})


CORE_TABLES = ("teams", "players", "team_boxscores", "player_boxscores")


def test_demo_materializes_every_core_asset_offline_and_a_second_demo_commits_nothing(tmp_path):
    proc = run([str(BIN / "nba-assets"), "demo"], cwd=tmp_path)
    for asset in CORE_TABLES:
        assert asset in proc.stdout
    warehouse, home = tmp_path / "warehouse", tmp_path / ".dagster_home"
    assert (home / "dagster.yaml").exists()
    for table in CORE_TABLES:  # one commit each
        assert delta.exists(str(warehouse), table) and table_version(warehouse, table) == 0
    assert len(published(warehouse, "teams")) == 30
    assert materialized_days(home, "player_boxscores") == days("2024-10-22", "2024-11-18")
    lines = published(warehouse, "player_boxscores")
    assert lines["game_date"].min().isoformat() == "2024-10-22"
    assert lines["game_date"].max().isoformat() == "2024-11-18" and len(lines) > 1000
    assert "make ui" in proc.stdout
    assert any((warehouse / "raw").rglob("*.json"))
    # a second demo: box scores are settled (0 requests) and every table equals its response
    before = {table: table_files(warehouse, table) for table in CORE_TABLES}
    again = run([str(BIN / "nba-assets"), "demo"], cwd=tmp_path)
    for table in CORE_TABLES:  # no commit, not a byte written
        assert table_version(warehouse, table) == 0, table
        assert table_files(warehouse, table) == before[table], table
    boxscore_lines = [line for line in again.stdout.splitlines() if "boxscores " in line]
    assert len(boxscore_lines) == 2 and all("api_calls=0" in line for line in boxscore_lines)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        newest = instance.fetch_materializations(dg.AssetKey("player_boxscores"), limit=28)
    assert {r.asset_materialization.metadata["commit"].value for r in newest.records} == {
        "unchanged"
    }


def test_dagster_cli_partition_range_lands_exact_recorded_rows(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(MINIMAL_INSTANCE_YAML)
    warehouse = tmp_path / "warehouse"
    # NBA_ASSETS_SOURCE=replay: the code location starts its own loopback server
    # 2025-12-16 holds only the NBA Cup final (SeasonType IST), which the recordings lack:
    # the two ranges around it are everything the recorded Regular Season log can answer
    ranges = ("2025-10-21...2025-12-15", "2025-12-17...2026-02-21")
    for partition_range in ranges:
        run(
            materialize_args("team_boxscores", "--partition-range", partition_range),
            cwd=REPO,
            DAGSTER_HOME=str(home),
            NBA_ASSETS_SOURCE="replay",
            NBA_ASSETS_RECORDINGS=str(FIXTURES),
            NBA_ASSETS_WAREHOUSE=str(warehouse),
            NBA_ASSETS_MIN_REQUEST_INTERVAL="0",
        )
    # an event per day, a commit per run
    materialized = materialized_days(home, "team_boxscores")
    assert materialized == days("2025-10-21", "2025-12-15") + days("2025-12-17", "2026-02-21")
    assert len(materialized) == 123
    assert table_version(warehouse, "team_boxscores") == 1
    history = delta.history(str(warehouse), "team_boxscores")
    assert [h["range"] for h in history] == list(reversed(ranges))
    landed = published(warehouse, "team_boxscores")
    entry = fixture_body("leaguegamelog-d25cde14d9.json")["resultSets"][0]
    recorded = pd.DataFrame(entry["rowSet"], columns=entry["headers"])
    assert len(landed) == len(recorded) == 1688
    assert landed["game_id"].nunique() == 844 and landed["game_date"].nunique() == 115
    assert landed["source_sha256"].nunique() == 2  # one response per run
    key = ["game_id", "team_id"]
    left = landed.set_index(key).sort_index()
    right = recorded.rename(columns=str.lower).set_index(key).sort_index()
    for column in ("pts", "fgm", "fg3a", "ftm", "oreb", "dreb", "tov", "min"):
        assert left[column].astype("int64").tolist() == right[column].astype("int64").tolist(), (
            column
        )
    assert left["fg_pct"].tolist() == right["fg_pct"].tolist()


def test_killed_run_commits_nothing_and_a_rerun_repairs(tmp_path, replay):
    env = instance_env(tmp_path, replay.url, MINIMAL_INSTANCE_YAML)
    args = materialize_args("team_boxscores", "--partition-range", "2025-11-01...2025-11-07")
    kill_while_fetching(args, env, replay)
    warehouse = tmp_path / "warehouse"
    assert not delta.exists(str(warehouse), "team_boxscores")
    assert table_files(warehouse, "team_boxscores") == {}  # not a file, not a log entry
    assert materialized_days(Path(env["DAGSTER_HOME"]), "team_boxscores") == []
    run(args, REPO, **env)
    assert table_version(warehouse, "team_boxscores") == 0
    week = days("2025-11-01", "2025-11-07")
    assert materialized_days(Path(env["DAGSTER_HOME"]), "team_boxscores") == week
    entry = fixture_body("leaguegamelog-d25cde14d9.json")["resultSets"][0]
    recorded = pd.DataFrame(entry["rowSet"], columns=entry["headers"])
    landed = published(warehouse, "team_boxscores")
    assert len(landed) == int(recorded["GAME_DATE"].isin(week).sum()) > 0


def test_recover_frees_the_pool_after_a_killed_run(tmp_path, replay):
    """With the local instance's nba_api pool, a SIGKILLed run would block every later run."""
    env = instance_env(tmp_path, replay.url, LOCAL_INSTANCE_YAML)
    args = materialize_args("teams")
    kill_while_fetching(args, env, replay)
    released = run([str(BIN / "nba-assets"), "recover"], tmp_path, **env)
    assert released.stdout.startswith("released ") and "pool slot freed" in released.stdout
    run(args, REPO, **env)  # would wait for the dead run's slot forever without recover
    assert table_version(tmp_path / "warehouse", "teams") == 0
    assert len(published(tmp_path / "warehouse", "teams")) == 45
    assert "nothing holds" in run([str(BIN / "nba-assets"), "recover"], tmp_path, **env).stdout


def test_api_steps_of_concurrent_runs_take_turns_in_the_pool(tmp_path, replay):
    env = {**clean_environ(), **instance_env(tmp_path, replay.url, LOCAL_INSTANCE_YAML)}
    replay.faults.update({"latency": 3})
    procs = [
        subprocess.Popen(
            materialize_args("teams"),
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    first, second = sorted(r["time"] for r in replay.requests_for())
    assert second - first >= 3  # the second run's request waited for the first to finish
    # the same response twice: the second run found the table equal and made no commit
    assert table_version(tmp_path / "warehouse", "teams") == 0
