"""The data dictionary in docs/ is what the schemas render today, and says what users need."""

import json
import subprocess
import sys

from nba_assets import dictionary
from nba_assets.schemas import TABLES
from nba_assets_tests.conftest import REPO

STALE = "stale: run `nba-assets dictionary` and commit docs/data-dictionary.md and docs/schema.json"


def test_the_committed_dictionary_is_current():
    assert (REPO / "docs" / "data-dictionary.md").read_text() == dictionary.markdown(), STALE
    assert (REPO / "docs" / "schema.json").read_text() == dictionary.schema_json(), STALE


def test_every_table_and_column_with_type_unit_and_source():
    tables = {t["name"]: t for t in json.loads(dictionary.schema_json())["tables"]}
    assert set(tables) == set(TABLES)
    for name, spec in TABLES.items():
        assert [c["name"] for c in tables[name]["columns"]] == spec.names
    box = {c["name"]: c for c in tables["team_boxscores"]["columns"]}
    assert box["pts"]["unit"] == "points" and box["pts"]["source_field"] == "PTS"
    assert box["fg_pct"]["unit"] == "fraction 0-1" and box["game_id"]["nullable"] is False
    assert box["season_type"]["source_field"] == "derived"
    players = {c["name"]: c for c in tables["players"]["columns"]}
    assert players["player_id"]["source_field"] == "PERSON_ID"
    events = {c["name"]: c for c in tables["play_by_play"]["columns"]}
    assert events["shot_distance"] == {**events["shot_distance"], "unit": "feet"}
    assert events["shot_distance"]["source_field"] == "shotDistance"
    assert tables["play_by_play"]["partitioned_by"] == ["season"]


def test_the_cli_writes_both_files(tmp_path):
    cli = [sys.executable, "-m", "nba_assets.cli", "dictionary", "--docs", str(tmp_path)]
    subprocess.run(cli, check=True, capture_output=True, timeout=120)
    assert (tmp_path / "data-dictionary.md").read_text() == dictionary.markdown()
    assert json.loads((tmp_path / "schema.json").read_text())["tables"]
