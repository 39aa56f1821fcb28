"""A partition backfill launched through the webserver's GraphQL API and run by the daemon."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from nba_assets.partitions import BOXSCORE_SEASON_TYPES, plan_game_log_requests
from nba_assets.source.replay import ReplayServer
from nba_assets_tests.conftest import fixture_body, published
from nba_assets_tests.ui.conftest import RECORDED_END, RECORDED_START, SYNTHETIC_SEASON
from nba_assets_tests.ui.dagster_ui import DagsterUI

pytestmark = pytest.mark.slow
RANGE_TAGS = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")


def landed(ui: DagsterUI, asset: str, start: str, end: str) -> pd.DataFrame:
    """The range's rows in the table's current version (a missing table fails the test)."""
    return published(ui.warehouse, asset, first=start, last=end)


def assert_one_successful_run(backfill: dict, start: str, end: str) -> None:
    assert backfill["status"] == "COMPLETED_SUCCESS", backfill
    assert len(backfill["runs"]) == 1, backfill["runs"]
    run = backfill["runs"][0]
    assert run["status"] == "SUCCESS", run
    tags = {t["key"]: t["value"] for t in run["tags"]}
    assert (tags[RANGE_TAGS[0]], tags[RANGE_TAGS[1]]) == (start, end)


def planned_requests(start: str, end: str) -> int:
    return len(plan_game_log_requests(dt.date.fromisoformat(start), dt.date.fromisoformat(end)))


def assert_same_rows(table: pd.DataFrame, source: pd.DataFrame, key: list[str]) -> None:
    """Same rows, and the same box-score numbers in them, as the source sent."""
    assert len(table) == len(source) > 0
    left = table.set_index(key).sort_index()
    right = source.rename(columns=str.lower).set_index(key).sort_index()
    assert left.index.tolist() == right.index.tolist()
    for column in ("pts", "fgm", "fga", "reb", "ast", "min"):
        assert left[column].astype("int64").tolist() == right[column].astype("int64").tolist()


def test_backfill_of_recorded_range_runs_once_and_lands_recorded_rows(
    recorded_ui, recorded_backfill
):
    assert_one_successful_run(recorded_backfill, RECORDED_START, RECORDED_END)
    # one request per season type in the range, not one per day
    requests = [r for r in recorded_backfill["requests"] if r["endpoint"] == "leaguegamelog"]
    assert len(requests) == planned_requests(RECORDED_START, RECORDED_END)
    assert {r["params"]["PlayerOrTeam"] for r in requests} == {"T"}
    # the instance (what the partitions page shows) and the warehouse agree: every day landed
    assert recorded_ui.materialized_ranges("team_boxscores") == [(RECORDED_START, RECORDED_END)]
    table = landed(recorded_ui, "team_boxscores", RECORDED_START, RECORDED_END)
    entry = fixture_body("leaguegamelog-d25cde14d9.json")["resultSets"][0]
    recorded = pd.DataFrame(entry["rowSet"], columns=entry["headers"])
    recorded = recorded[recorded["GAME_DATE"].between(RECORDED_START, RECORDED_END)]
    assert_same_rows(table, recorded, ["game_id", "team_id"])


def synthetic_log(server: ReplayServer, player_or_team: str, first: str, last: str) -> pd.DataFrame:
    """The synthetic league's own game logs for the range, asked directly (not over HTTP)."""
    entries = []
    for season_type in BOXSCORE_SEASON_TYPES:
        params = {"Season": SYNTHETIC_SEASON, "SeasonType": season_type}
        body = server.backend.league.respond(
            "leaguegamelog", {**params, "PlayerOrTeam": player_or_team}
        )
        entry = body["resultSets"][0]
        entries.append(pd.DataFrame(entry["rowSet"], columns=entry["headers"]))
    log = pd.concat(entries, ignore_index=True)
    dates = pd.to_datetime(log["GAME_DATE"]).dt.strftime("%Y-%m-%d")
    return log[(dates >= first) & (dates <= last)]


def test_backfill_of_a_whole_synthetic_season_lands_every_game_in_one_run(
    synthetic_ui, synthetic_server, season_backfill
):
    """Both box-score tables, every partition of a season: one run, one request per season
    type and table, every game of the season's logs landed."""
    keys = season_backfill["keys"]
    first, last = keys[0], keys[-1]
    assert_one_successful_run(season_backfill, first, last)
    logs = [r for r in season_backfill["requests"] if r["endpoint"] == "leaguegamelog"]
    sides = sorted(r["params"]["PlayerOrTeam"] for r in logs)
    per_table = planned_requests(first, last)
    assert sides == ["P"] * per_table + ["T"] * per_table  # one run, no request per day
    for asset, side, key in (
        ("team_boxscores", "T", ["game_id", "team_id"]),
        ("player_boxscores", "P", ["game_id", "player_id"]),
    ):
        assert synthetic_ui.materialized_ranges(asset) == [(first, last)]
        table = landed(synthetic_ui, asset, first, last)
        assert_same_rows(table, synthetic_log(synthetic_server, side, first, last), key)
