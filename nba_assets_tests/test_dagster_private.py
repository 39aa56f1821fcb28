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


def test_excluded_days_partitions_answer_as_dagster_s_own_definition():
    """The fast definition and Dagster's own, given the same exclusions, agree on every key,
    the first and last partitions and ranges (the overridden private iterator included)."""
    import datetime as dt

    from nba_assets.dagster_private import ExcludedDaysPartitionsDefinition
    from nba_assets.partitions import GAME_DATE_START, GAME_DATE_TIMEZONE, excluded_days

    days = excluded_days(dt.date(2018, 6, 1), dt.date(2021, 12, 31))
    spec = {
        "start_date": "2018-06-01",
        "end_date": "2022-01-01",
        "timezone": GAME_DATE_TIMEZONE,
        "exclusions": [dt.datetime(d.year, d.month, d.day) for d in days],
    }
    for private in ("_build_exclusion_iterator_list", "_get_current_timestamp"):
        assert hasattr(dg.TimeWindowPartitionsDefinition, private), (
            f"dagster renamed TimeWindowPartitionsDefinition.{private}"
        )
    fast, own = ExcludedDaysPartitionsDefinition(**spec), dg.DailyPartitionsDefinition(**spec)
    assert fast.get_partition_keys() == own.get_partition_keys()
    assert len(fast.get_partition_keys()) < (dt.date(2022, 1, 1) - dt.date(2018, 6, 1)).days
    assert repr(fast) == repr(own) and hash(fast) == hash(fast)
    assert fast.get_serializable_unique_identifier() == own.get_serializable_unique_identifier()
    probe = [dt.date(2018, 5, 1) + dt.timedelta(days=n) for n in range(0, 1400, 3)]
    odd = ["2019-13-01", "2019-1-05", "20190105", "", "2021-12-31", "2022-01-01", "2018-05-31"]
    for key in [day.isoformat() for day in probe] + odd:
        assert fast.has_partition_key(key) == own.has_partition_key(key), key
    # as of a day inside the range, the last partition follows Dagster's current time
    with dg.partition_loading_context(effective_dt=dt.datetime(2020, 1, 10, 12)):
        for key in ("2020-01-08", "2020-01-09", "2020-01-10", "2020-01-11"):
            assert fast.has_partition_key(key) == own.has_partition_key(key), key
        assert fast.has_partition_key("2020-01-09") and not fast.has_partition_key("2020-01-10")
    assert fast.get_first_partition_window() == own.get_first_partition_window()
    assert fast.get_last_partition_window() == own.get_last_partition_window()
    span = dg.PartitionKeyRange("2019-06-01", "2020-12-31")
    assert fast.get_partition_keys_in_range(span) == own.get_partition_keys_in_range(span)
    assert fast.get_next_partition_key("2019-06-30") == own.get_next_partition_key("2019-06-30")
    assert fast.get_prev_partition_window(
        dt.datetime(2020, 12, 1)
    ) == own.get_prev_partition_window(dt.datetime(2020, 12, 1))
    assert GAME_DATE_START < "2018-06-01"


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
