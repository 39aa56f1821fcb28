"""The code location loads, and the graph has the shape operators rely on."""

import dagster as dg
import pytest

from nba_assets.cli import LOCAL_INSTANCE_YAML
from nba_assets.definitions import build_definitions, defs
from nba_assets.partitions import game_date_partitions
from nba_assets.settings import Settings
from nba_assets.source.client import API_POOL

CORE = {"teams", "players", "team_boxscores", "player_boxscores", "training_snapshot"}


def test_defs_load_with_every_contract_asset_key_and_job():
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys >= CORE | {"play_by_play", "schedule"}
    # the season layer became Delta maintenance (optimize/vacuum), not assets
    assert not [k for k in keys if k.endswith("_by_season")]
    for job in ("reference_job", "boxscores_job", "play_by_play_job"):
        assert defs.resolve_job_def(job) is not None


def test_every_api_asset_runs_in_the_api_pool():
    for assets_def in defs.resolve_asset_graph().assets_defs:
        if "nba" in assets_def.required_resource_keys:
            assert assets_def.op.pool == API_POOL, assets_def.key


def test_boxscores_are_us_eastern_game_days_single_run_backfills():
    graph = defs.resolve_asset_graph()
    for key in ("team_boxscores", "player_boxscores"):
        node = graph.get(dg.AssetKey(key))
        assert node.partitions_def.get_first_partition_key() == "1996-11-01"
        assert node.partitions_def.timezone == "US/Eastern"
        assert node.partitions_def == game_date_partitions
        assert node.backfill_policy == dg.BackfillPolicy.single_run()


def test_play_by_play_follows_team_boxscores_with_a_blocking_check():
    graph = defs.resolve_asset_graph()
    node = graph.get(dg.AssetKey("play_by_play"))
    assert node.parent_keys == {dg.AssetKey("team_boxscores")}
    assert node.backfill_policy == dg.BackfillPolicy.single_run()
    check = dg.AssetCheckKey(dg.AssetKey("play_by_play"), "points_match_box_scores")
    spec = graph.get_check_spec(check)
    assert spec.blocking


def test_local_instance_allows_one_api_step_at_a_time(tmp_path):
    (tmp_path / "dagster.yaml").write_text(LOCAL_INSTANCE_YAML)
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    assert instance.get_concurrency_config().pool_config.default_pool_limit == 1


def test_settings_come_from_the_environment_with_safe_defaults():
    assert Settings.from_env({}) == Settings()
    custom = Settings.from_env(
        {
            "NBA_ASSETS_SOURCE": "synthetic",
            "NBA_ASSETS_WAREHOUSE": "s3://bucket/prefix",
            "NBA_ASSETS_MIN_REQUEST_INTERVAL": "1.5",
            "NBA_ASSETS_EXTRA_HEADERS": '{"X-Key": "v"}',
            "NBA_ASSETS_SYNTHETIC_SEASONS": "2020-21:2021-22",
        }
    )
    assert (custom.source, custom.warehouse, custom.min_request_interval) == (
        "synthetic",
        "s3://bucket/prefix",
        1.5,
    )
    resources = build_definitions(custom).resources
    assert resources["nba"].extra_headers == {"X-Key": "v"}
    assert resources["io_manager"].warehouse == "s3://bucket/prefix"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"NBA_ASSETS_SOURCE": "cache"}, "expected one of live, replay, synthetic"),
        ({"NBA_ASSETS_SOURCE": "replay"}, "needs NBA_ASSETS_RECORDINGS"),
        ({"NBA_ASSETS_MAX_ATTEMPTS": "many"}, "is not a number"),
        ({"NBA_ASSETS_EXTRA_HEADERS": "[1]"}, "JSON object"),
    ],
)
def test_bad_settings_are_named(env, message):
    with pytest.raises(ValueError, match=message):
        Settings.from_env(env)


def test_box_scores_declare_their_checks_and_freshness():
    graph = defs.resolve_asset_graph()
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    # one blocking audit per box-score table: Dagster stores a planned row per check per
    # partition, so every rule is reported inside it rather than declared on its own
    audits = {k for k in checks if k[0] in ("team_boxscores", "player_boxscores")}
    assert audits == {("team_boxscores", "audit"), ("player_boxscores", "audit")}
    spec = graph.get_check_spec(dg.AssetCheckKey(dg.AssetKey("player_boxscores"), "audit"))
    assert spec.blocking
    assert "players_sum_to_team" in spec.description
    assert "player_ids_known" in spec.description and "(reported, not blocking)" in spec.description
    for key in ("team_boxscores", "player_boxscores"):
        assert isinstance(graph.get(dg.AssetKey(key)).freshness_policy, dg.FreshnessPolicy)
    assert graph.get(dg.AssetKey("schedule")).partitions_def.get_first_partition_key() == "1996-97"
    assert defs.resolve_job_def("health_job") is not None
    assert defs.resolve_schedule_def("health_job_schedule").cron_schedule == "30 6 * * *"


def test_training_snapshot_is_downstream_of_both_boxscore_assets_and_the_schedule():
    """The box scores and the schedule (home and away) are the tables the DVC pipeline pins."""
    node = defs.resolve_asset_graph().get(dg.AssetKey("training_snapshot"))
    parents = {k.to_user_string() for k in node.parent_keys}
    assert parents == {"team_boxscores", "player_boxscores", "schedule"}
    assert node.partitions_def is None


def test_every_warehouse_table_is_stored_by_the_delta_io_manager(monkeypatch):
    from nba_assets.io.manager import DeltaIOManager

    monkeypatch.setenv("NBA_ASSETS_WAREHOUSE", "s3://bucket/prefix")
    built = build_definitions(Settings.from_env())
    manager = built.resources["io_manager"]
    assert isinstance(manager, DeltaIOManager) and manager.warehouse == "s3://bucket/prefix"
