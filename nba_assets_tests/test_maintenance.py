"""Table maintenance: few files per season after a backfill and after daily runs + optimize;
vacuum keeps the retention's versions; the sensor launches it after new commits."""

import datetime as dt

import dagster as dg
import pytest

from nba_assets.assets.boxscores import player_boxscores, team_boxscores
from nba_assets.definitions import defs
from nba_assets.io import delta
from nba_assets.schemas import TEAM_BOXSCORES
from nba_assets.warehouse import maintenance
from nba_assets_tests.conftest import resources

TABLE = "team_boxscores"
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def days(start: str, end: str) -> dict[str, str]:
    return {
        "dagster/asset_partition_range_start": start,
        "dagster/asset_partition_range_end": end,
    }


def files_per_season(warehouse, table=TABLE) -> dict[str, int]:
    return delta.files_per_partition(delta.open_table(str(warehouse), table))


def every_row(warehouse, version=None):
    return delta.scan(
        delta.open_table(str(warehouse), TABLE, version), order=["game_id", "team_id"]
    )


def run_maintenance(instance, warehouse, **config) -> dg.ExecuteInProcessResult:
    result = maintenance.table_maintenance_job.execute_in_process(
        instance=instance,
        run_config={
            **QUIET,
            "ops": {"table_maintenance": {"config": {"warehouse": str(warehouse), **config}}},
        },
    )
    assert result.success
    return result


def observations(result: dg.ExecuteInProcessResult) -> dict[str, dict]:
    return {
        e.asset_key.to_user_string(): {
            k: v.value for k, v in e.asset_observation_data.asset_observation.metadata.items()
        }
        for e in result.all_events
        if e.event_type_value == "ASSET_OBSERVATION"
    }


@pytest.fixture
def daily_runs(synthetic, warehouse, tmp_path, monkeypatch):
    """A week in one run, then six single-day commits of new days: seven files in 2024-25.

    The box-score assets rewrite a season's file on every run (io/staging.py), so the six
    days are committed through `delta.replace`, the path of the reference tables and of
    assets without a declared table, where every commit adds a file.
    """
    monkeypatch.delenv(maintenance.RETENTION_ENV, raising=False)
    scratch = tmp_path / "scratch"
    with dg.instance_for_test() as instance:
        later = days("2024-10-29", "2024-11-03")
        result = dg.materialize(
            [team_boxscores], resources=resources(synthetic, scratch), tags=later
        )
        assert result.success
        res = resources(synthetic, warehouse)
        week = days("2024-10-22", "2024-10-28")
        assert dg.materialize([team_boxscores], resources=res, instance=instance, tags=week).success
        for day in range(29, 35):
            when = dt.date(2024, 10, 1) + dt.timedelta(days=day - 1)
            selection = delta.Selection.days(when, when)
            rows = delta.read_rows(str(scratch), TEAM_BOXSCORES, selection)
            delta.replace(str(warehouse), TEAM_BOXSCORES, rows, selection, {"run_id": "day"})
        yield instance


def test_daily_box_score_runs_keep_one_file_per_season(synthetic, warehouse):
    """Each run rewrites the seasons it touches as one file: no small files to compact."""
    with dg.instance_for_test() as instance:
        res = resources(synthetic, warehouse)
        for key in ("2024-10-22", "2024-10-23", "2024-10-24"):
            assert dg.materialize(
                [team_boxscores], resources=res, instance=instance, partition_key=key
            ).success
    assert files_per_season(warehouse) == {"2024-25": 1}
    assert delta.open_table(str(warehouse), TABLE).version() == 2


def test_a_season_backfilled_in_one_run_is_at_most_4_files_per_table(synthetic, warehouse):
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [team_boxscores, player_boxscores],
            resources=resources(synthetic, warehouse),
            instance=instance,
            tags=days("2023-10-24", "2024-06-17"),
            run_config=QUIET,
        )
    assert result.success
    for table in (TABLE, "player_boxscores"):
        counts = files_per_season(warehouse, table)
        assert set(counts) == {"2023-24"}
        assert counts["2023-24"] <= 4, counts


def test_daily_runs_then_maintenance_back_to_at_most_4_files(daily_runs, warehouse):
    assert files_per_season(warehouse) == {"2024-25": 7}
    before, version = every_row(warehouse), delta.open_table(str(warehouse), TABLE).version()

    result = run_maintenance(daily_runs, warehouse)

    assert files_per_season(warehouse)["2024-25"] <= 4
    assert every_row(warehouse).equals(before)  # compaction rewrites files, never rows
    seen = observations(result)[TABLE]
    assert (
        seen["files_before"] == 7 and seen["files_after"] == files_per_season(warehouse)["2024-25"]
    )
    assert seen["delta_version"] == version + 1 == delta.open_table(str(warehouse), TABLE).version()
    assert seen["seasons_compacted"] == ["2024-25"] and seen["files_vacuumed"] == 0
    assert seen["retention_days"] == 30
    assert every_row(warehouse, 0).num_rows > 0  # 30-day retention: v0 still readable

    again = observations(run_maintenance(daily_runs, warehouse))[TABLE]
    assert again["delta_version"] == seen["delta_version"]  # nothing to do: no commit at all
    assert again["seasons_compacted"] == []


def test_retention_from_the_environment(daily_runs, warehouse, monkeypatch):
    run_maintenance(daily_runs, warehouse)  # compacts: v0..v6's files are now replaced
    monkeypatch.setenv(maintenance.RETENTION_ENV, "0")
    seen = observations(run_maintenance(daily_runs, warehouse))[TABLE]
    assert seen["files_vacuumed"] == 7 and seen["retention_days"] == 0
    with pytest.raises(Exception, match="not found"):  # DataFusion: the file is gone
        every_row(warehouse, 0)
    assert every_row(warehouse).num_rows > 0

    monkeypatch.setenv(maintenance.RETENTION_ENV, "a month")
    with pytest.raises(ValueError, match="NBA_ASSETS_RETENTION_DAYS='a month'"):
        maintenance.retention_days()


def test_sensor_launches_once_per_batch_of_new_commits(daily_runs):
    sensor = maintenance.table_maintenance_sensor
    context = dg.build_sensor_context(instance=daily_runs)
    request = sensor.evaluate_tick(context).run_requests
    assert len(request) == 1 and request[0].run_key.startswith("maintenance-after-")
    cursor = sensor.evaluate_tick(context).cursor
    assert cursor

    later = dg.build_sensor_context(instance=daily_runs, cursor=cursor)
    result = sensor.evaluate_tick(later)
    assert not result.run_requests and "no new materializations" in result.skip_message


def test_sensor_waits_for_a_maintenance_run_in_progress(daily_runs):
    daily_runs.create_run_for_job(
        maintenance.table_maintenance_job, status=dg.DagsterRunStatus.STARTED
    )
    result = maintenance.table_maintenance_sensor.evaluate_tick(
        dg.build_sensor_context(instance=daily_runs)
    )
    assert not result.run_requests and "waiting for run" in result.skip_message
    assert result.cursor is None  # the batch is launched once the run has finished


def test_sensor_waits_for_a_box_score_run_still_writing(daily_runs):
    writer = daily_runs.create_run_for_job(
        defs.resolve_job_def("boxscores_job"),
        status=dg.DagsterRunStatus.STARTED,
        tags=days("2024-11-04", "2024-11-05"),
        asset_selection=frozenset({dg.AssetKey(TABLE)}),
    )
    result = maintenance.table_maintenance_sensor.evaluate_tick(
        dg.build_sensor_context(instance=daily_runs)
    )
    assert not result.run_requests and writer.run_id in result.skip_message


def test_empty_warehouse_has_nothing_to_maintain(tmp_path):
    assert maintenance.maintain_warehouse(str(tmp_path / "none")) == []


def test_definitions_carry_the_job_and_a_running_sensor():
    job = defs.resolve_job_def("table_maintenance_job")
    sensor = defs.resolve_sensor_def("table_maintenance_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.job_name == job.name
    assert job.graph.node_defs[0].pool == "nba_api"
