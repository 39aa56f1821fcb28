"""The derived assets in Dagster: a season partition read from published box scores, audited,
committed through the IO manager, readable with nba_assets.read; a rerun commits nothing."""

import dagster as dg
import pandas as pd
import pytest

import nba_assets
from nba_assets.assets.boxscores import player_boxscores, team_boxscores
from nba_assets.assets.derived import (
    derived_seasons_sensor,
    lineups_and_possessions,
    player_career_stats,
    player_season_stats,
    shots_asset,
    team_season_stats,
    team_splits,
)
from nba_assets.assets.play_by_play import play_by_play
from nba_assets.derived import checks, season_stats
from nba_assets.partitions import season_partitions, seasons_of_days
from nba_assets.schemas import TEAM_SEASON_STATS
from nba_assets_tests.conftest import published, resources, table_version

START, END = "2024-10-22", "2024-11-10"
PBP_END = "2024-10-23"
TAGS = {"dagster/asset_partition_range_start": START, "dagster/asset_partition_range_end": END}
#: The play-by-play tables are partitioned by game date, like play_by_play.
PBP_DAYS = {**TAGS, "dagster/asset_partition_range_end": PBP_END}
BOX = [team_boxscores, player_boxscores]
DERIVED = [team_season_stats, player_season_stats, team_splits]


@pytest.fixture(scope="module")
def box_warehouse(synthetic_server, tmp_path_factory):
    warehouse = tmp_path_factory.mktemp("derived") / "warehouse"
    assert dg.materialize(BOX, resources=resources(synthetic_server, warehouse), tags=TAGS).success
    assert dg.materialize(
        [play_by_play, team_boxscores.to_source_asset()],
        resources=resources(synthetic_server, warehouse),
        tags=PBP_DAYS,
    ).success
    return warehouse


def _derive(server, warehouse, season="2024-25"):
    return dg.materialize(
        [*BOX, *DERIVED],
        selection=DERIVED,
        partition_key=season,
        resources=resources(server, warehouse),
    )


def test_a_season_partition_is_derived_audited_and_readable(synthetic, box_warehouse):
    result = _derive(synthetic, box_warehouse)
    assert result.success
    assert synthetic.requests_for() == []  # 0 requests
    teams = nba_assets.read("team_season_stats", seasons=["2024-25"], warehouse=str(box_warehouse))
    players = nba_assets.read(
        "player_season_stats", seasons="2024-25", warehouse=str(box_warehouse)
    )
    box = published(box_warehouse, "team_boxscores", first=START, last=END)
    expected = season_stats.team_season_stats(box.drop(columns=["source_sha256", "season"]))
    pd.testing.assert_frame_equal(
        teams[TEAM_SEASON_STATS.names].reset_index(drop=True), expected, check_dtype=False
    )
    assert len(teams) == box["team_id"].nunique() and teams["gp"].sum() == len(box)
    player_box = published(box_warehouse, "player_boxscores", first=START, last=END)
    assert players["pts"].sum() == player_box["pts"].sum() == teams["pts"].sum()
    assert players["gs"].isna().all()  # no lineup stints were ever derived: starters unknown
    [check] = result.get_asset_check_evaluations()[:1]
    assert all(e.passed for e in result.get_asset_check_evaluations())
    assert check.check_name == checks.AUDIT_CHECK
    splits = nba_assets.read("team_splits", seasons="2024-25", warehouse=str(box_warehouse))
    location = splits[splits["group_set"] == "Location"].groupby("team_id")["gp"].sum()
    assert location.sort_index().tolist() == box.groupby("team_id").size().sort_index().tolist()
    # a rerun over the same box scores writes nothing
    before = table_version(box_warehouse, "team_season_stats")
    assert _derive(synthetic, box_warehouse).success
    assert table_version(box_warehouse, "team_season_stats") == before


def test_a_failing_rule_publishes_nothing(synthetic, box_warehouse, monkeypatch):
    derive = season_stats.team_season_stats

    def doubled(box: pd.DataFrame) -> pd.DataFrame:
        rows = derive(box)
        return pd.concat([rows, rows.head(1)], ignore_index=True)

    monkeypatch.setattr(season_stats, "team_season_stats", doubled)
    before = table_version(box_warehouse, "team_season_stats")
    result = dg.materialize(
        [*BOX, team_season_stats],
        selection=[team_season_stats],
        partition_key="2024-25",
        resources=resources(synthetic, box_warehouse),
        raise_on_error=False,
    )
    assert not result.success
    [evaluation] = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert "unique_team_id_season_season_type" in evaluation.metadata
    assert table_version(box_warehouse, "team_season_stats") == before


def test_a_changed_day_makes_only_its_season_stale():
    """The calendar, not the year: 2020-10-11 (the bubble's finals) is 2019-20's, 2020-12-22
    2020-21's; a day before the first season maps to none."""
    assert seasons_of_days(["2024-11-02", "2025-04-13"]) == ["2024-25"]
    assert seasons_of_days(["2020-10-11", "2020-12-22"]) == ["2019-20", "2020-21"]
    assert seasons_of_days(["1990-01-01"]) == []


def test_definitions_hold_the_derived_group():
    from nba_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    for asset in ("team_season_stats", "player_season_stats"):
        node = graph.get(dg.AssetKey(asset))
        assert node.group_name == "derived" and node.partitions_def == season_partitions
    for asset in ("shots", "lineup_stints", "possessions"):
        node = graph.get(dg.AssetKey(asset))
        assert node.group_name == "derived"
        assert node.partitions_def == play_by_play.partitions_def  # by game date
    assert defs.resolve_job_def("derived_job") is not None
    assert defs.resolve_job_def("derived_play_by_play_job") is not None


def test_career_stats_read_every_season(synthetic, box_warehouse):
    assert _derive(synthetic, box_warehouse).success
    result = dg.materialize(
        [*BOX, *DERIVED, player_career_stats],
        selection=[player_career_stats],
        resources=resources(synthetic, box_warehouse),
    )
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())
    career = nba_assets.read("player_career_stats", warehouse=str(box_warehouse))
    seasons = nba_assets.read("player_season_stats", warehouse=str(box_warehouse))
    totals = career[career["season_id"] == "career"]
    assert len(totals) == len(seasons.drop_duplicates(["player_id", "season_type"]))
    assert totals["pts"].sum() == seasons["pts"].sum()


def test_shots_reconcile_with_the_box_scores(synthetic, box_warehouse):
    result = dg.materialize(
        [*BOX, play_by_play, lineups_and_possessions, shots_asset],
        selection=[shots_asset, lineups_and_possessions],
        tags=PBP_DAYS,
        resources=resources(synthetic, box_warehouse),
    )
    assert result.success and synthetic.requests_for() == []
    evaluations = {e.asset_key.to_user_string(): e for e in result.get_asset_check_evaluations()}
    assert evaluations["shots"].passed
    table = nba_assets.read("shots", seasons="2024-25", warehouse=str(box_warehouse))
    events = published(box_warehouse, "play_by_play", first=START, last=PBP_END)
    assert len(table) == int((events["is_field_goal"] == 1).sum()) > 1000
    box = published(box_warehouse, "player_boxscores", first=START, last=PBP_END)
    assert table["shot_made_flag"].sum() == box["fgm"].sum()


def test_synthetic_games_have_their_lineups_and_possessions_that_add_up(synthetic, box_warehouse):
    """The synthetic league plays rotations consistent with its box scores: every game's
    lineups are inferred (no game left out) and every lineup check passes."""
    result = dg.materialize(
        [*BOX, play_by_play, lineups_and_possessions],
        selection=[lineups_and_possessions],
        tags=PBP_DAYS,
        resources=resources(synthetic, box_warehouse),
    )
    assert result.success and synthetic.requests_for() == []
    evaluations = {e.asset_key.to_user_string(): e for e in result.get_asset_check_evaluations()}
    assert evaluations["possessions"].passed
    assert evaluations["lineup_stints"].passed
    possessions = nba_assets.read("possessions", seasons="2024-25", warehouse=str(box_warehouse))
    stints = nba_assets.read("lineup_stints", seasons="2024-25", warehouse=str(box_warehouse))
    box = published(box_warehouse, "team_boxscores", first=START, last=PBP_END)
    assert possessions["game_id"].nunique() == box["game_id"].nunique()
    assert stints["game_id"].nunique() == box["game_id"].nunique()
    assert possessions["pts"].sum() == box["pts"].sum()
    assert stints["home_pts"].sum() + stints["away_pts"].sum() == box["pts"].sum()


@pytest.mark.slow  # the automation evaluates every daily partition since 1996 (~40-90 s)
def test_one_mornings_box_scores_ask_for_exactly_their_season_and_days(synthetic, tmp_path):
    """The sensor asks for the season the day falls in (no other season); the game-date tables'
    automation asks for that day only."""
    warehouse = tmp_path / "warehouse"
    assets = [*BOX, play_by_play, *DERIVED, lineups_and_possessions, shots_asset]
    defs = dg.Definitions(
        assets=assets,
        sensors=[derived_seasons_sensor],
        resources=resources(synthetic, warehouse),
    )
    with dg.instance_for_test() as instance:
        first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        assert first.total_requested == 0
        day = {**TAGS, "dagster/asset_partition_range_end": START}
        assert dg.materialize(
            BOX, resources=resources(synthetic, warehouse), tags=day, instance=instance
        ).success
        context = dg.build_multi_asset_sensor_context(
            monitored_assets=[dg.AssetKey("team_boxscores"), dg.AssetKey("player_boxscores")],
            instance=instance,
            definitions=defs,
        )
        requests = derived_seasons_sensor(context)
        assert [r.partition_key for r in requests] == ["2024-25"]
        after = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
        for table in ("shots", "lineup_stints", "possessions"):
            assert after.get_requested_partitions(dg.AssetKey(table)) == {START}
        for table in ("team_season_stats", "player_season_stats"):
            assert not after.get_requested_partitions(dg.AssetKey(table))
        again = dg.build_multi_asset_sensor_context(
            monitored_assets=[dg.AssetKey("team_boxscores"), dg.AssetKey("player_boxscores")],
            instance=instance,
            definitions=defs,
            cursor=context.cursor,
        )
        assert isinstance(derived_seasons_sensor(again), dg.SkipReason)


def test_new_lineups_re_derive_their_seasons_player_stats(synthetic, box_warehouse):
    """lineup_stints days -> player_season_stats of their season (the starters); a player with
    games beyond the derived days has no stints for them, so his gs stays unknown."""
    defs = dg.Definitions(
        assets=[*BOX, play_by_play, *DERIVED, lineups_and_possessions],
        sensors=[derived_seasons_sensor],
        resources=resources(synthetic, box_warehouse),
    )
    with dg.instance_for_test() as instance:
        assert dg.materialize(
            [*BOX, play_by_play, lineups_and_possessions],
            selection=[lineups_and_possessions],
            tags=PBP_DAYS,
            resources=resources(synthetic, box_warehouse),
            instance=instance,
        ).success
        context = dg.build_multi_asset_sensor_context(
            monitored_assets=[*(a.key for a in BOX), dg.AssetKey("lineup_stints")],
            instance=instance,
            definitions=defs,
        )
        [request] = derived_seasons_sensor(context)
    assert request.partition_key == "2024-25"
    assert request.asset_selection == [player_season_stats.key]
    assert _derive(synthetic, box_warehouse).success
    players = nba_assets.read(
        "player_season_stats", seasons="2024-25", warehouse=str(box_warehouse)
    )
    box = published(box_warehouse, "player_boxscores", first=START, last=END)
    last_game = box.groupby("player_id")["game_date"].max().astype(str)
    only_derived_days = set(last_game[last_game <= PBP_END].index)
    known = players[players["gs"].notna()]
    assert set(known["player_id"]) == only_derived_days != set()
    assert (known["gs"] <= known["gp"]).all() and players["gs"].isna().sum() > 100
