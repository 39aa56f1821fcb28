"""Player and team box scores from the synthetic league: the real client and asset code at scale."""

import dagster as dg
import pandas as pd

from nba_assets.assets.boxscores import player_boxscores, team_boxscores
from nba_assets_tests.conftest import resources

START, END = "2024-10-22", "2024-11-04"
TAGS = {"dagster/asset_partition_range_start": START, "dagster/asset_partition_range_end": END}


def load(warehouse, asset: str) -> pd.DataFrame:
    files = sorted((warehouse / asset).glob("*.parquet"))
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def test_player_and_team_boxscores_agree(synthetic, warehouse):
    result = dg.materialize(
        [team_boxscores, player_boxscores], resources=resources(synthetic, warehouse), tags=TAGS
    )
    assert result.success
    # two requests for two weeks of games: one per table, not one per day
    sides = sorted(r["params"]["PlayerOrTeam"] for r in synthetic.requests_for("leaguegamelog"))
    assert sides == ["P", "T"]
    assert len(synthetic.requests_for()) == 2
    assert len(list((warehouse / "player_boxscores").glob("*.parquet"))) == 14
    teams, players = load(warehouse, "team_boxscores"), load(warehouse, "player_boxscores")
    assert len(teams) > 100 and len(players) > 10 * len(teams) / 2
    summed = players.groupby(["game_id", "team_id"])[["pts", "reb", "ast", "fgm", "fga"]].sum()
    team_totals = teams.set_index(["game_id", "team_id"])[["pts", "reb", "ast", "fgm", "fga"]]
    pd.testing.assert_frame_equal(summed.sort_index(), team_totals.sort_index(), check_dtype=False)
    assert players["player_name"].notna().all() and players["fantasy_pts"].notna().all()
    assert (teams.groupby("game_id")["wl"].apply(sorted).map(tuple) == ("L", "W")).all()


def test_range_run_of_player_boxscores_equals_single_day_runs(synthetic, tmp_path):
    ranged, single = tmp_path / "ranged", tmp_path / "single"
    tags = {
        "dagster/asset_partition_range_start": "2024-10-25",
        "dagster/asset_partition_range_end": "2024-10-27",
    }
    assert dg.materialize(
        [player_boxscores], resources=resources(synthetic, ranged), tags=tags
    ).success
    for day in ("2024-10-25", "2024-10-26", "2024-10-27"):
        assert dg.materialize(
            [player_boxscores], resources=resources(synthetic, single), partition_key=day
        ).success
        a = pd.read_parquet(ranged / "player_boxscores" / f"{day}.parquet")
        b = pd.read_parquet(single / "player_boxscores" / f"{day}.parquet")
        pd.testing.assert_frame_equal(a, b)
        assert len(a) > 0
