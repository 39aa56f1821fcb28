"""What users run: `nba-assets demo`, `dagster asset materialize`, `nba-assets recover`, as
subprocesses against loopback servers."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from nba_assets.cli import LOCAL_INSTANCE_YAML
from nba_assets_tests.conftest import FIXTURES, REPO, fixture_body

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


def test_demo_materializes_every_core_asset_offline(tmp_path):
    proc = run([str(BIN / "nba-assets"), "demo"], cwd=tmp_path)
    for asset in ("teams", "players", "team_boxscores", "player_boxscores"):
        assert asset in proc.stdout
    assert (tmp_path / "warehouse" / "teams.parquet").exists()
    assert (tmp_path / ".dagster_home" / "dagster.yaml").exists()
    days = sorted(p.stem for p in (tmp_path / "warehouse" / "player_boxscores").glob("*.parquet"))
    assert days[0] == "2024-10-22" and days[-1] == "2024-11-18" and len(days) == 28
    assert "make ui" in proc.stdout
    assert any((tmp_path / "warehouse" / "raw").rglob("*.json"))


def test_dagster_cli_partition_range_lands_exact_recorded_rows(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(MINIMAL_INSTANCE_YAML)
    # NBA_ASSETS_SOURCE=replay: the code location starts its own loopback server
    # 2025-12-16 holds only the NBA Cup final (SeasonType IST), which the recordings lack:
    # the two ranges around it are everything the recorded Regular Season log can answer
    for partition_range in ("2025-10-21...2025-12-15", "2025-12-17...2026-02-21"):
        run(
            materialize_args("team_boxscores", "--partition-range", partition_range),
            cwd=REPO,
            DAGSTER_HOME=str(home),
            NBA_ASSETS_SOURCE="replay",
            NBA_ASSETS_RECORDINGS=str(FIXTURES),
            NBA_ASSETS_WAREHOUSE=str(tmp_path / "warehouse"),
            NBA_ASSETS_MIN_REQUEST_INTERVAL="0",
        )
    files = sorted((tmp_path / "warehouse" / "team_boxscores").glob("*.parquet"))
    assert len(files) == 123
    landed = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    entry = fixture_body("leaguegamelog-d25cde14d9.json")["resultSets"][0]
    recorded = pd.DataFrame(entry["rowSet"], columns=entry["headers"])
    assert len(landed) == len(recorded) == 1688
    assert landed["game_id"].nunique() == 844 and landed["game_date"].nunique() == 115
    key = ["game_id", "team_id"]
    left = landed.set_index(key).sort_index()
    right = recorded.rename(columns=str.lower).set_index(key).sort_index()
    for column in ("pts", "fgm", "fg3a", "ftm", "oreb", "dreb", "tov", "min"):
        assert left[column].astype("int64").tolist() == right[column].astype("int64").tolist(), (
            column
        )
    assert left["fg_pct"].tolist() == right["fg_pct"].tolist()


def test_killed_run_leaves_no_partition_and_a_rerun_repairs(tmp_path, replay):
    env = instance_env(tmp_path, replay.url, MINIMAL_INSTANCE_YAML)
    args = materialize_args("team_boxscores", "--partition-range", "2025-11-01...2025-11-07")
    kill_while_fetching(args, env, replay)
    boxscores = tmp_path / "warehouse" / "team_boxscores"
    assert not boxscores.exists() or not list(boxscores.glob("*.parquet"))
    run(args, REPO, **env)
    assert len(list(boxscores.glob("*.parquet"))) == 7


def test_recover_frees_the_pool_after_a_killed_run(tmp_path, replay):
    """With the local instance's nba_api pool, a SIGKILLed run would block every later run."""
    env = instance_env(tmp_path, replay.url, LOCAL_INSTANCE_YAML)
    args = materialize_args("teams")
    kill_while_fetching(args, env, replay)
    released = run([str(BIN / "nba-assets"), "recover"], tmp_path, **env)
    assert released.stdout.startswith("released ") and "pool slot freed" in released.stdout
    run(args, REPO, **env)  # would wait for the dead run's slot forever without recover
    assert (tmp_path / "warehouse" / "teams.parquet").exists()
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
