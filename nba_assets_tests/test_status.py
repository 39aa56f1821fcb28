"""`nba-assets status`: partitions per season, requests and archive bytes, from the instance."""

import datetime as dt
import json
import subprocess

import dagster as dg
import pandas as pd

from nba_assets.assets.boxscores import player_boxscores, team_boxscores
from nba_assets.cli import LOCAL_INSTANCE_YAML
from nba_assets.definitions import defs
from nba_assets.partitions import (
    current_season,
    game_date_partitions,
    game_date_today,
    in_season,
    season_name,
    season_of,
    season_start_year,
)
from nba_assets.status import collect_status, format_status
from nba_assets_tests.conftest import REPO, resources

d = dt.date.fromisoformat
RANGE = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")


def backfill(instance, server, warehouse, start, end):
    """Each asset in its own run: one client per run, so each step's counters are its own."""
    results = [
        dg.materialize(
            [asset],
            resources=resources(server, warehouse, max_attempts=1),
            tags={RANGE[0]: start, RANGE[1]: end},
            instance=instance,
            raise_on_error=False,
        )
        for asset in (team_boxscores, player_boxscores)
    ]
    return all(r.success for r in results)


def test_status_after_a_partial_backfill(synthetic, tmp_path):
    home, warehouse = tmp_path / "home", tmp_path / "warehouse"
    home.mkdir()
    (home / "dagster.yaml").write_text(LOCAL_INSTANCE_YAML)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert backfill(instance, synthetic, warehouse, "2024-10-22", "2024-10-31")
        synthetic.faults.update({"server_error": 5})
        assert not backfill(instance, synthetic, warehouse, "2024-11-01", "2024-11-03")
        report = collect_status(instance, defs, str(warehouse), days=7)
    seasons = report["assets"]["team_boxscores"]["seasons"]
    assert seasons["2024-25"]["materialized"] == 10
    assert seasons["2024-25"]["failed"] == 3
    # only days that can hold games count: a summer day is never "missing"
    game_days = [d for d in pd.date_range("2024-09-01", "2025-08-31").date if in_season(d)]
    assert sum(seasons["2024-25"].values()) == len(game_days) < 300
    # game days still to come are partitions (tonight's games have one) but never "missing"
    today = game_date_today()
    ahead = season_name(season_start_year(current_season(today)) + 1)
    assert ahead not in seasons  # (in September the current season has no past day either)
    assert sum(seasons.get(current_season(today), {}).values()) == sum(
        1
        for k in game_date_partitions.get_partition_keys()
        if season_of(d(k)) == current_season(today) and k < today.isoformat()
    )
    assert seasons["2023-24"] == {
        "materialized": 0,
        "missing": seasons["2023-24"]["missing"],
        "failed": 0,
    }
    # one request per table landed, and one per table of the failed runs (a 500 with
    # max_attempts=1) is counted too, apart
    assert report["requests_last_days"] == 4
    assert report["requests_of_failed_runs"] == 2
    assert report["assets"]["team_boxscores"]["requests_of_failed_runs"] == 1
    assert report["archive_bytes"] > 0
    last = report["assets"]["player_boxscores"]["last_materialization"]
    assert last["run_id"] and last["at"]
    text = format_status(report)
    assert "2024-25: 10 materialized" in text and "raw archive:" in text
    assert "team_boxscores: last" in text and "2 requests (1 by failed runs)" in text
    assert "(2 by failed runs)" in text

    proc = subprocess.run(
        [str(REPO / ".venv" / "bin" / "nba-assets"), "status", "--json"],
        env={
            "DAGSTER_HOME": str(home),
            "NBA_ASSETS_WAREHOUSE": str(warehouse),
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    printed = json.loads(proc.stdout)
    assert printed["assets"]["team_boxscores"]["seasons"]["2024-25"] == seasons["2024-25"]
    assert printed["archive_bytes"] == report["archive_bytes"]
