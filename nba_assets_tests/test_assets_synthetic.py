"""Player and team box scores from the synthetic league: the real client and asset code at scale."""

import dagster as dg
import pandas as pd

from nba_assets.assets.boxscores import player_boxscores, team_boxscores
from nba_assets.io import delta
from nba_assets_tests.conftest import published, resources, table_version

START, END = "2024-10-22", "2024-11-04"
TAGS = {"dagster/asset_partition_range_start": START, "dagster/asset_partition_range_end": END}


def test_player_and_team_boxscores_agree(synthetic, warehouse):
    result = dg.materialize(
        [team_boxscores, player_boxscores], resources=resources(synthetic, warehouse), tags=TAGS
    )
    assert result.success
    # two requests for two weeks of games: one per table, not one per day
    sides = sorted(r["params"]["PlayerOrTeam"] for r in synthetic.requests_for("leaguegamelog"))
    assert sides == ["P", "T"]
    # and the season's schedule once, for the audit (the player step finds it current)
    assert len(synthetic.requests_for("scheduleleaguev2")) == 1
    assert len(synthetic.requests_for()) == 3
    by_table: dict[str, list] = {}
    for event in result.get_asset_materialization_events():
        by_table.setdefault(event.asset_key.to_user_string(), []).append(event)
    # an event per day for each table, and one commit per table for all 14 days
    for table in ("team_boxscores", "player_boxscores"):
        events = by_table[table]
        assert (
            sorted(e.partition for e in events)
            == pd.date_range(START, END).strftime("%Y-%m-%d").tolist()
        )
        assert {e.materialization.metadata["delta_version"].value for e in events} == {0}
        assert table_version(warehouse, table) == 0
        [commit] = delta.history(str(warehouse), table)
        assert commit["range"] == f"{START}...{END}"
    teams = published(warehouse, "team_boxscores", first=START, last=END)
    players = published(warehouse, "player_boxscores", first=START, last=END)
    assert len(teams) > 100 and len(players) > 10 * len(teams) / 2
    assert len(players) == sum(
        e.materialization.metadata["dagster/row_count"].value for e in by_table["player_boxscores"]
    )
    summed = players.groupby(["game_id", "team_id"])[["pts", "reb", "ast", "fgm", "fga"]].sum()
    team_totals = teams.set_index(["game_id", "team_id"])[["pts", "reb", "ast", "fgm", "fga"]]
    pd.testing.assert_frame_equal(summed.sort_index(), team_totals.sort_index(), check_dtype=False)
    assert players["player_name"].notna().all() and players["fantasy_pts"].notna().all()
    assert (teams.groupby("game_id")["wl"].apply(sorted).map(tuple) == ("L", "W")).all()
    # each table's rows name their own response
    assert teams["source_sha256"].nunique() == players["source_sha256"].nunique() == 1
    assert set(teams["source_sha256"]) != set(players["source_sha256"])


def test_range_run_of_player_boxscores_equals_single_day_runs(synthetic, tmp_path):
    ranged, single = tmp_path / "ranged", tmp_path / "single"
    days = ("2024-10-25", "2024-10-26", "2024-10-27")
    tags = {
        "dagster/asset_partition_range_start": days[0],
        "dagster/asset_partition_range_end": days[-1],
    }
    assert dg.materialize(
        [player_boxscores], resources=resources(synthetic, ranged), tags=tags
    ).success
    for day in days:
        assert dg.materialize(
            [player_boxscores], resources=resources(synthetic, single), partition_key=day
        ).success
        a = published(ranged, "player_boxscores", first=day, last=day)
        b = published(single, "player_boxscores", first=day, last=day)
        assert len(a) > 0
        # the same rows; only the response they name differs (the range's, the day's own)
        pd.testing.assert_frame_equal(
            a.drop(columns="source_sha256"), b.drop(columns="source_sha256")
        )
        assert a["source_sha256"].nunique() == b["source_sha256"].nunique() == 1
    assert table_version(ranged, "player_boxscores") == 0
    assert table_version(single, "player_boxscores") == len(days) - 1
    ranged_rows = published(ranged, "player_boxscores")
    assert ranged_rows["source_sha256"].nunique() == 1  # one response for the three days
    assert published(single, "player_boxscores")["source_sha256"].nunique() == len(days)
