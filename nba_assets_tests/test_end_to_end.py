"""What users run: `nba-assets demo`, and `dagster asset materialize --partition-range` on recordings."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from nba_assets_tests.conftest import FIXTURES, REPO, fixture_body

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("NBA_ASSETS_", "NBA_STATS_", "DAGSTER_HOME"))
    }
    proc = subprocess.run(
        args, cwd=cwd, env={**clean, **env}, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, f"{args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


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
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    run(
        [
            str(BIN / "dagster"),
            "asset",
            "materialize",
            "-m",
            "nba_assets.definitions",
            "--select",
            "team_boxscores",
            "--partition-range",
            "2025-10-21...2026-02-21",
        ],
        cwd=REPO,
        DAGSTER_HOME=str(home),
        NBA_ASSETS_SOURCE="replay",
        NBA_ASSETS_RECORDINGS=str(FIXTURES),
        NBA_ASSETS_WAREHOUSE=str(tmp_path / "warehouse"),
        NBA_ASSETS_MIN_REQUEST_INTERVAL="0",
    )
    files = sorted((tmp_path / "warehouse" / "team_boxscores").glob("*.parquet"))
    assert len(files) == 124
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
    import signal
    import time

    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("NBA_ASSETS_", "NBA_STATS_", "DAGSTER_HOME"))
    }
    env = {
        **clean,
        "DAGSTER_HOME": str(home),
        "NBA_STATS_BASE_URL": replay.url,
        "NBA_ASSETS_WAREHOUSE": str(tmp_path / "warehouse"),
        "NBA_ASSETS_MIN_REQUEST_INTERVAL": "0",
    }
    args = [
        str(BIN / "dagster"),
        "asset",
        "materialize",
        "-m",
        "nba_assets.definitions",
        "--select",
        "team_boxscores",
        "--partition-range",
        "2025-11-01...2025-11-07",
    ]
    replay.faults.update({"latency": 60})
    proc = subprocess.Popen(
        args,
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while not replay.requests_for("leaguegamelog") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert replay.requests_for("leaguegamelog"), "the run never reached the API"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    boxscores = tmp_path / "warehouse" / "team_boxscores"
    assert not boxscores.exists() or not list(boxscores.glob("*.parquet"))
    replay.faults.update({"latency": 0})
    run(args, cwd=REPO, **{k: v for k, v in env.items() if k not in clean})
    assert len(list(boxscores.glob("*.parquet"))) == 7


def test_recover_frees_the_pool_after_a_killed_run(tmp_path, replay):
    """With the local instance's nba_api pool, a SIGKILLed run would block every later run."""
    import signal
    import time

    from nba_assets.cli import LOCAL_INSTANCE_YAML

    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(LOCAL_INSTANCE_YAML)
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("NBA_ASSETS_", "NBA_STATS_", "DAGSTER_HOME"))
    }
    env = {
        "DAGSTER_HOME": str(home),
        "NBA_STATS_BASE_URL": replay.url,
        "NBA_ASSETS_WAREHOUSE": str(tmp_path / "wh"),
        "NBA_ASSETS_MIN_REQUEST_INTERVAL": "0",
    }
    run(
        [str(BIN / "python"), "-c", "import dagster as dg; dg.DagsterInstance.get()"],
        cwd=tmp_path,
        **env,
    )
    args = [
        str(BIN / "dagster"),
        "asset",
        "materialize",
        "-m",
        "nba_assets.definitions",
        "--select",
        "teams",
    ]
    replay.faults.update({"latency": 60})
    proc = subprocess.Popen(
        args,
        cwd=REPO,
        env={**clean, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while not replay.requests_for() and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    replay.faults.update({"latency": 0})
    released = run([str(BIN / "nba-assets"), "recover"], cwd=tmp_path, **env)
    assert released.stdout.startswith("released ") and "pool slot freed" in released.stdout
    run(args, cwd=REPO, **env)  # would wait for the dead run's slot forever without recover
    assert (tmp_path / "wh" / "teams.parquet").exists()
    again = run([str(BIN / "nba-assets"), "recover"], cwd=tmp_path, **env)
    assert "nothing holds" in again.stdout


def test_api_steps_of_concurrent_runs_take_turns_in_the_pool(tmp_path, replay):
    from nba_assets.cli import LOCAL_INSTANCE_YAML

    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(LOCAL_INSTANCE_YAML)
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("NBA_ASSETS_", "NBA_STATS_", "DAGSTER_HOME"))
    }
    env = {
        **clean,
        "DAGSTER_HOME": str(home),
        "NBA_STATS_BASE_URL": replay.url,
        "NBA_ASSETS_WAREHOUSE": str(tmp_path / "wh"),
        "NBA_ASSETS_MIN_REQUEST_INTERVAL": "0",
    }
    subprocess.run(
        [str(BIN / "python"), "-c", "import dagster as dg; dg.DagsterInstance.get()"],
        env=env,
        check=True,
        timeout=120,
    )
    replay.faults.update({"latency": 3})
    args = [
        str(BIN / "dagster"),
        "asset",
        "materialize",
        "-m",
        "nba_assets.definitions",
        "--select",
        "teams",
    ]
    procs = [
        subprocess.Popen(
            args, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    first, second = sorted(r["time"] for r in replay.requests_for())
    assert second - first >= 3  # the second run's request waited for the first to finish
