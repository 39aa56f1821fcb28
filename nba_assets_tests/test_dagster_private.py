"""The Dagster internals `nba_assets/dagster_private.py` relies on are still there: an upgrade
that moves one fails here, by name, instead of a backfill getting slow or a run failing."""

import dagster as dg

from nba_assets.dagster_private import executor_requirements, merge_partition_metadata, step_key

DAYS = dg.DailyPartitionsDefinition(start_date="2024-11-01", end_date="2024-11-05")
RANGE = {
    "dagster/asset_partition_range_start": "2024-11-01",
    "dagster/asset_partition_range_end": "2024-11-04",
}


def test_the_step_metadata_accumulator_takes_every_partition_at_once():
    used: list[bool] = []

    @dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
    def tagged(context: dg.AssetExecutionContext) -> None:
        items = [(key, {"day": key}) for key in context.partition_keys]
        used.append(merge_partition_metadata(context, items))
        assert step_key(context) == "tagged"

    result = dg.materialize([tagged], tags=RANGE)
    assert result.success
    assert used == [True], "dagster moved the step's metadata accumulator"
    landed = {
        e.partition: e.materialization.metadata["day"].value
        for e in result.get_asset_materialization_events()
    }
    assert landed == {d: d for d in ("2024-11-01", "2024-11-02", "2024-11-03", "2024-11-04")}


def test_executor_definitions_still_carry_their_requirements_function():
    requirements = executor_requirements(dg.multiprocess_executor)
    assert callable(requirements), "dagster renamed ExecutorDefinition._requirements_fn"
    assert requirements({}) is not None


def test_an_in_process_run_can_carry_its_code_location(tmp_path):
    """The demo's runs: executed here, recorded as runs of a named code location."""
    from nba_assets.dagster_private import execute_in_code_location

    @dg.asset
    def one() -> int:
        return 1

    job = dg.Definitions(assets=[one], jobs=[dg.define_asset_job("one_job")]).resolve_job_def(
        "one_job"
    )
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        result = execute_in_code_location(
            job, instance, location="here", module="somewhere", run_config={}, tags={"t": "1"}
        )
        assert result.success and len(result.get_asset_materialization_events()) == 1
        run = instance.get_run_by_id(result.run_id)
        origin = run.remote_job_origin
        assert origin is not None, "dagster no longer records the origin we give the run"
        assert origin.repository_origin.code_location_origin.location_name == "here"
        assert (origin.job_name, run.tags["t"]) == ("one_job", "1")
