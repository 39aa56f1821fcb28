"""`nba-assets health` reads the Delta log: damaged files, orphans, unreachable versions, and
tables behind what the instance recorded."""

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from nba_assets import cli
from nba_assets.assets.boxscores import team_boxscores
from nba_assets.assets.reference import teams
from nba_assets.io import delta
from nba_assets.quality import health
from nba_assets.schemas import TEAM_BOXSCORES
from nba_assets_tests.conftest import resources

TABLE = "team_boxscores"
HOUR = 3600


def days(start: str, end: str) -> dict[str, str]:
    return {
        "dagster/asset_partition_range_start": start,
        "dagster/asset_partition_range_end": end,
    }


@pytest.fixture
def instance_home(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NBA_ASSETS_RETENTION_DAYS", raising=False)
    cli.ensure_instance_home()
    return tmp_path / "home"


@pytest.fixture
def materialized(replay, warehouse, instance_home, tmp_path) -> Path:
    """teams (v0); team_boxscores v0 (Nov 1-2) and v1 (Nov 3-4): two data files.

    v1 is committed through `delta.replace` (the path that adds a file per commit): a
    box-score run would rewrite the season as one file.
    """
    scratch = tmp_path / "scratch"
    with dg.DagsterInstance.get() as instance:
        res = resources(replay, warehouse)
        assert dg.materialize([teams], resources=res, instance=instance).success
        first = days("2025-11-01", "2025-11-02")
        assert dg.materialize(
            [team_boxscores], resources=res, instance=instance, tags=first
        ).success
    later = days("2025-11-03", "2025-11-04")
    assert dg.materialize(
        [team_boxscores], resources=resources(replay, scratch), tags=later
    ).success
    nov_3_4 = delta.Selection.days(dt.date(2025, 11, 3), dt.date(2025, 11, 4))
    rows = delta.read_rows(str(scratch), TEAM_BOXSCORES, nov_3_4)
    delta.replace(str(warehouse), TEAM_BOXSCORES, rows, nov_3_4, {"run_id": "second"})
    return warehouse


def run_cli(warehouse, capsys, *extra) -> tuple[int, str]:
    code = cli.main(["health", "--warehouse", str(warehouse), *extra])
    return code, capsys.readouterr().out


def current_files(warehouse, table) -> list[Path]:
    return [Path(uri) for uri in delta.open_table(str(warehouse), table).file_uris()]


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_healthy_warehouse_exits_zero_in_every_fresh_process(materialized, capsys):
    code, out = run_cli(materialized, capsys)
    assert code == 0, out
    assert out.startswith("healthy: 3 tables")  # teams, team_boxscores, raw_responses
    assert "team_boxscores: version 1, 2 files" in out

    env = {**os.environ, "NBA_ASSETS_WAREHOUSE": str(materialized)}
    command = [sys.executable, "-m", "nba_assets.cli", "health"]
    codes = [subprocess.run(command, env=env, capture_output=True).returncode for _ in range(8)]
    assert codes == [0] * 8


def test_missing_resized_unreadable_and_orphan_files_are_named(materialized, capsys):
    first, second = sorted(current_files(materialized, TABLE), key=lambda p: p.stat().st_mtime)
    (team_file,) = current_files(materialized, "teams")
    orphan = first.parent / "part-00000-orphan.snappy.parquet"
    shutil.copy(second, orphan)
    age(orphan, 2 * HOUR)
    shutil.copy(second, first.parent / "part-00001-in-flight.snappy.parquet")  # a commit's file
    first.unlink()
    second.write_bytes(second.read_bytes()[:300])
    damaged = bytearray(team_file.read_bytes())
    damaged[4:40] = b"\xff" * 36  # the first page header: same size, footer intact
    team_file.write_bytes(bytes(damaged))

    code, out = run_cli(materialized, capsys)

    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("5 problem(s)")
    assert f"missing       team_boxscores/season=2025-26/{first.name}" in out
    assert f"size          team_boxscores/season=2025-26/{second.name}: 300 bytes" in out
    assert f"unreadable    teams/{team_file.name}" in out and "page header" in out
    assert "orphan        team_boxscores/season=2025-26/part-00000-orphan" in out
    assert "in-flight" not in out.split("note:")[0]  # younger than an hour: only a note
    assert "1 unreferenced file(s) younger than an hour" in out
    # v0 named the deleted file too: time travel to it fails
    assert "unreachable   team_boxscores: version(s) 0 lost data files" in out

    code, out = run_cli(materialized, capsys, "--json")
    report = json.loads(out)
    assert code == 1
    assert sorted(p["kind"] for p in report["problems"]) == [
        "missing",
        "orphan",
        "size",
        "unreachable",
        "unreadable",
    ]


def test_versions_whose_files_were_vacuumed(materialized, capsys, monkeypatch):
    # v2 rewrites Nov 3-4 without its first row, replacing v1's file; vacuum(0) deletes that
    wh = str(materialized)
    nov_3_4 = delta.Selection.days(dt.date(2025, 11, 3), dt.date(2025, 11, 4))
    rows = delta.read_rows(wh, TEAM_BOXSCORES, nov_3_4)
    delta.replace(wh, TEAM_BOXSCORES, rows.slice(1), nov_3_4, {"run_id": "fix"})
    delta.vacuum(wh, TABLE, retention_days=0)

    code, out = run_cli(materialized, capsys)
    assert code == 1
    assert "unreachable   team_boxscores: version(s) 1 lost data files" in out
    assert out.startswith("1 problem(s)")  # v0's file is still current (Nov 1-2)

    monkeypatch.setenv("NBA_ASSETS_RETENTION_DAYS", "0")  # nothing promised: a note only
    code, out = run_cli(materialized, capsys)
    assert code == 0, out
    assert "note: team_boxscores: version(s) 1 are older than the 0-day retention" in out


def test_table_behind_or_missing_against_the_instance(materialized, replay, capsys, tmp_path):
    table_dir = materialized / TABLE
    saved = tmp_path / "v1-copy"
    shutil.copytree(table_dir, saved)
    with dg.DagsterInstance.get() as instance:
        res = resources(replay, materialized)
        rerun = dg.materialize(
            [team_boxscores],
            resources=res,
            instance=instance,
            tags=days("2025-11-05", "2025-11-05"),
        )
        assert rerun.success
    shutil.rmtree(table_dir)
    shutil.copytree(saved, table_dir)  # an old copy restored over the table

    code, out = run_cli(materialized, capsys)
    assert code == 1
    assert "behind        team_boxscores: at version 1, Dagster recorded version 2" in out

    shutil.rmtree(table_dir)
    code, out = run_cli(materialized, capsys)
    assert code == 1
    assert "table_missing team_boxscores: Dagster recorded version 2" in out


def test_old_layout_files_never_migrated(materialized, capsys):
    old = materialized / TABLE / "2025-11-01.parquet"
    shutil.copy(current_files(materialized, TABLE)[0], old)
    (materialized / "players.parquet").write_bytes(b"")  # an old whole-table file
    code, out = run_cli(materialized, capsys)
    assert code == 1
    assert "not_migrated  team_boxscores: 1 old-layout file(s) never migrated" in out
    assert "not_migrated  players: 1 old-layout file(s)" in out
    assert "orphan" not in out


def test_health_job_fails_with_the_report(materialized):
    for path in current_files(materialized, "teams"):
        path.unlink()
    from nba_assets.quality.health import health_job

    with dg.DagsterInstance.get() as instance:
        result = health_job.execute_in_process(
            instance=instance,
            run_config={"ops": {"warehouse_health": {"config": {"warehouse": str(materialized)}}}},
            raise_on_error=False,
        )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "missing" in failure.step_failure_data.error.message
    assert "teams/" in failure.step_failure_data.error.message


def test_a_missing_warehouse_is_a_problem(tmp_path):
    result = health.run_health(None, str(tmp_path / "nothing"))
    assert [p.kind for p in result.problems] == ["missing"]
    assert health.report(result).startswith(f"1 problem(s) in {tmp_path / 'nothing'}")
