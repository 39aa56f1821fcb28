"""Dagster's current CLI over the project declared in pyproject.toml: `dg check defs`,
`dg list defs` and `dg launch` of a partition range, as subprocesses from the repo root."""

import json

import pandas as pd
import pytest

from nba_assets_tests.conftest import FIXTURES, REPO, fixture_body, published, table_version
from nba_assets_tests.test_end_to_end import BIN, MINIMAL_INSTANCE_YAML, run

pytestmark = pytest.mark.slow


def dg_env(tmp_path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(MINIMAL_INSTANCE_YAML)
    return {
        "DAGSTER_HOME": str(home),
        "NBA_ASSETS_SOURCE": "replay",
        "NBA_ASSETS_RECORDINGS": str(FIXTURES),
        "NBA_ASSETS_WAREHOUSE": str(tmp_path / "warehouse"),
        "NBA_ASSETS_MIN_REQUEST_INTERVAL": "0",
        "VIRTUAL_ENV": str(BIN.parent),  # as in an activated venv: dg checks it is the project's
    }


def test_dg_check_defs_passes(tmp_path):
    run([str(BIN / "dg"), "check", "defs"], REPO, **dg_env(tmp_path))


def test_dg_lists_the_definitions(tmp_path):
    env = dg_env(tmp_path)
    listed = json.loads(run([str(BIN / "dg"), "list", "defs", "--json"], REPO, **env).stdout)
    assets = {a["asset_key"]: a for a in listed["assets"]}
    assert set(assets) >= {
        "teams",
        "players",
        "schedule",
        "team_boxscores",
        "player_boxscores",
        "play_by_play",
        "training_snapshot",
    }
    assert assets["player_boxscores"]["group_name"] == "boxscores"
    assert {j["name"] for j in listed["jobs"]} >= {"boxscores_job", "reference_job"}


def test_dg_launch_of_a_partition_range_lands_exact_recorded_rows(tmp_path):
    env = dg_env(tmp_path)
    command = [str(BIN / "dg"), "launch", "--assets", "team_boxscores"]
    run([*command, "--partition-range", "2025-11-01...2025-11-07"], REPO, **env)
    warehouse = tmp_path / "warehouse"
    assert table_version(warehouse, "team_boxscores") == 0  # one run, one commit
    entry = fixture_body("leaguegamelog-d25cde14d9.json")["resultSets"][0]
    recorded = pd.DataFrame(entry["rowSet"], columns=entry["headers"]).rename(columns=str.lower)
    week = recorded[recorded["game_date"].between("2025-11-01", "2025-11-07")]
    landed = published(warehouse, "team_boxscores")
    key = ["game_id", "team_id"]
    assert len(landed) == len(week) > 0
    left, right = landed.set_index(key).sort_index(), week.set_index(key).sort_index()
    assert left.index.tolist() == right.index.tolist()
    assert left["pts"].astype("int64").tolist() == right["pts"].astype("int64").tolist()


def test_every_loader_names_the_one_code_location():
    """workspace.yaml (`dagster dev`), [tool.dagster] and [tool.dg] (`dg dev`) load the module
    the demo records its runs under, by the same location name."""
    import tomllib

    import yaml

    from nba_assets.definitions import CODE_LOCATION, DEFINITIONS_MODULE

    [entry] = yaml.safe_load((REPO / "workspace.yaml").read_text())["load_from"]
    assert entry["python_module"] == {
        "module_name": DEFINITIONS_MODULE,
        "location_name": CODE_LOCATION,
    }
    tool = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]
    assert (tool["dagster"]["module_name"], tool["dagster"]["code_location_name"]) == (
        DEFINITIONS_MODULE,
        CODE_LOCATION,
    )
    project = tool["dg"]["project"]
    assert project["code_location_target_module"] == DEFINITIONS_MODULE
    assert project["code_location_name"] == CODE_LOCATION
