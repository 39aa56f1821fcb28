"""The serving assets follow their warehouse tables: every updated partition, not just the last."""

from __future__ import annotations

import dagster as dg

from nba_assets.assets.boxscores import team_boxscores
from nba_assets.assets.reference import teams
from nba_assets.serving.assets import ServingDatabase, build_serving_asset


def test_every_partition_the_morning_run_updated_is_requested_once():
    defs = dg.Definitions(
        assets=[
            build_serving_asset("team_boxscores"),
            build_serving_asset("teams"),
            team_boxscores.to_source_asset(),
            teams.to_source_asset(),
        ],
        resources={"serving": ServingDatabase(dsn="postgresql://u@h/db")},
    )
    days = ["2024-11-01", "2024-11-02", "2024-11-03"]
    with dg.instance_for_test() as instance:
        first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        assert first.total_requested == 0  # nothing published upstream yet
        for day in days:
            instance.report_runless_asset_event(
                dg.AssetMaterialization("team_boxscores", partition=day)
            )
        instance.report_runless_asset_event(dg.AssetMaterialization("teams"))
        second = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=first.cursor
        )
        requested = {
            r.key.to_user_string(): sorted(r.true_subset.expensively_compute_partition_keys())
            if r.true_subset.size and r.key.path[0] == "pg_team_boxscores"
            else r.true_subset.size
            for r in second.results
        }
        assert requested["pg_team_boxscores"] == days
        assert requested["pg_teams"] == 1
        third = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=second.cursor
        )
        assert third.total_requested == 0


def test_history_published_before_the_first_evaluation_is_left_to_a_rebuild():
    defs = dg.Definitions(
        assets=[build_serving_asset("team_boxscores"), team_boxscores.to_source_asset()],
        resources={"serving": ServingDatabase(dsn="postgresql://u@h/db")},
    )
    with dg.instance_for_test() as instance:
        for day in ("2024-11-01", "2024-11-02"):
            instance.report_runless_asset_event(
                dg.AssetMaterialization("team_boxscores", partition=day)
            )
        assert dg.evaluate_automation_conditions(defs=defs, instance=instance).total_requested == 0
