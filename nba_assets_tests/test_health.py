"""`nba-assets health` against a real instance and warehouse: deleted, truncated, orphan files."""

import dagster as dg
import pytest

from nba_assets import cli
from nba_assets.assets.boxscores import team_boxscores
from nba_assets.assets.reference import teams
from nba_assets_tests.conftest import resources

DAYS = {
    "dagster/asset_partition_range_start": "2025-11-01",
    "dagster/asset_partition_range_end": "2025-11-04",
}


@pytest.fixture
def instance_home(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    cli.ensure_instance_home()
    return tmp_path / "home"


def materialize(replay, warehouse) -> None:
    with dg.DagsterInstance.get() as instance:
        res = resources(replay, warehouse)
        assert dg.materialize([teams], resources=res, instance=instance).success
        assert dg.materialize([team_boxscores], resources=res, instance=instance, tags=DAYS).success
        # a later single-day run: its own event is the latest for that day
        assert dg.materialize(
            [team_boxscores], resources=res, instance=instance, partition_key="2025-11-02"
        ).success


def health(warehouse, capsys) -> tuple[int, str]:
    code = cli.main(["health", "--warehouse", str(warehouse)])
    return code, capsys.readouterr().out


def test_healthy_warehouse_exits_zero(replay, warehouse, instance_home, capsys):
    materialize(replay, warehouse)
    code, out = health(warehouse, capsys)
    assert code == 0, out
    assert out.startswith("healthy")


def test_deleted_truncated_orphan_and_temporary_files_are_named(
    replay, warehouse, instance_home, capsys
):
    materialize(replay, warehouse)
    days = warehouse / "team_boxscores"
    (days / "2025-11-01.parquet").unlink()
    truncated = days / "2025-11-02.parquet"
    truncated.write_bytes(truncated.read_bytes()[:200])
    (days / "2025-11-09.parquet").write_bytes((days / "2025-11-03.parquet").read_bytes())
    (days / ".tmp-abc123").write_bytes(b"half")
    archived = next((warehouse / "raw" / "commonteamyears").rglob("*.json"))
    archived.unlink()

    code, out = health(warehouse, capsys)

    assert code == 1
    assert "missing         team_boxscores/2025-11-01.parquet" in out
    assert "unreadable      team_boxscores/2025-11-02.parquet" in out
    assert "orphan          team_boxscores/2025-11-09.parquet" in out
    assert "temporary       team_boxscores/.tmp-abc123" in out
    assert "archive_missing teams.parquet" in out and archived.name in out
    assert "2025-11-03" not in out and "2025-11-04" not in out  # the good days are not flagged


def test_row_count_disagreeing_with_the_materialization(replay, warehouse, instance_home, capsys):
    materialize(replay, warehouse)
    days = warehouse / "team_boxscores"
    # a fully valid file, but another day's rows: what an out-of-band copy would leave
    (days / "2025-11-04.parquet").write_bytes((days / "2025-11-03.parquet").read_bytes())
    code, out = health(warehouse, capsys)
    assert code == 1
    assert "row_count       team_boxscores/2025-11-04.parquet" in out and "recorded" in out


def test_health_job_fails_with_the_report(replay, warehouse, instance_home):
    materialize(replay, warehouse)
    (warehouse / "teams.parquet").unlink()
    from nba_assets.health import health_job

    with dg.DagsterInstance.get() as instance:
        result = health_job.execute_in_process(
            instance=instance,
            run_config={"ops": {"warehouse_health": {"config": {"warehouse": str(warehouse)}}}},
            raise_on_error=False,
        )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "missing" in failure.step_failure_data.error.message
    assert "teams.parquet" in failure.step_failure_data.error.message
