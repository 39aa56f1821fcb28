"""Rows that fail the warehouse's audit never reach PostgreSQL (real recordings, corrupted)."""

from __future__ import annotations

import json

import dagster as dg

from nba_assets.assets.boxscores import team_boxscores
from nba_assets.serving.assets import ServingDatabase, build_serving_asset
from nba_assets.source.recordings import RecordingsBackend
from nba_assets.source.replay import ReplayServer
from nba_assets_tests.conftest import LEAGUEGAMELOG_2025_26, resources
from nba_assets_tests.serving.conftest import range_tags
from nba_assets_tests.test_audit import REAL_DAYS, two_winners

REFRESH = {"ops": {"team_boxscores": {"config": {"refresh": True}}}}


def served_rows(engine) -> list[tuple]:
    with engine.connect() as connection:
        sql = "SELECT game_id, team_id, wl, pts FROM team_boxscores ORDER BY 1, 2"
        return [tuple(r) for r in connection.exec_driver_sql(sql)]


def test_a_range_that_fails_its_audit_leaves_postgres_as_it_was(
    replay, warehouse, tmp_path, serving_dsn, schema, engine
):
    serving = ServingDatabase(dsn=serving_dsn, schema_name=schema, warehouse=str(warehouse))
    assets = [team_boxscores, build_serving_asset("team_boxscores")]
    good = dg.materialize(
        assets,
        resources={**resources(replay, warehouse), "serving": serving},
        tags=range_tags(*REAL_DAYS),
        run_config=REFRESH,
    )
    assert good.success
    before = served_rows(engine)
    assert len(before) > 10

    recording = json.loads(LEAGUEGAMELOG_2025_26.read_text())
    result_set = recording["response"]["body"]["resultSets"][0]
    two_winners(result_set["headers"], result_set["rowSet"])
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / LEAGUEGAMELOG_2025_26.name).write_text(json.dumps(recording))
    server = ReplayServer(RecordingsBackend(tmp_path / "bad")).start()
    try:
        bad = dg.materialize(
            assets,
            resources={**resources(server, warehouse), "serving": serving},
            tags=range_tags(*REAL_DAYS),
            run_config=REFRESH,
            raise_on_error=False,
        )
    finally:
        server.stop()
    assert not bad.success
    assert bad.get_asset_materialization_events() == []
    # the serving step never started: the audit failed the upstream step
    assert {e.step_key for e in bad.all_events if e.step_key} == {"team_boxscores"}
    assert served_rows(engine) == before
