"""Settled data from the archive (0 requests) and stat corrections logged as revisions."""

import json
import shutil

import dagster as dg
import pandas as pd
import pytest

from nba_assets.assets.boxscores import player_boxscores, team_boxscores
from nba_assets.io.storage import as_upath
from nba_assets.revisions import read_revisions
from nba_assets.source.archive import RawArchive
from nba_assets.source.recordings import RecordingsBackend
from nba_assets.source.replay import ReplayServer
from nba_assets_tests.conftest import LEAGUEGAMELOG_2025_26, resources

RANGE = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")


def run(server, warehouse, start, end, assets=(team_boxscores,), **config):
    run_config = {"ops": {a.key.path[-1]: {"config": config} for a in assets}} if config else None
    result = dg.materialize(
        list(assets),
        resources=resources(server, warehouse),
        tags={RANGE[0]: start, RANGE[1]: end},
        run_config=run_config,
    )
    assert result.success
    return result


def outputs(result, asset="team_boxscores") -> dict:
    """The step's run-wide facts: its run summary (one observation per ranged step)."""
    [summary] = [
        e.asset_observation_data.asset_observation
        for e in result.all_events
        if e.event_type_value == "ASSET_OBSERVATION" and e.asset_key.path[-1] == asset
    ]
    return {k: v.value for k, v in summary.metadata.items()}


def test_settled_rerun_and_subrange_cost_nothing_on_the_real_log(replay, warehouse):
    run(replay, warehouse, "2025-10-21", "2025-11-30")
    assert len(replay.requests_for("leaguegamelog")) == 1
    before = pd.read_parquet(warehouse / "team_boxscores" / "2025-11-05.parquet")
    replay.reset()
    rerun = run(replay, warehouse, "2025-10-21", "2025-11-30")
    sub = run(replay, warehouse, "2025-11-03", "2025-11-09")
    assert replay.requests_for() == []
    assert outputs(rerun)["archive_answers"] == 1 and outputs(sub)["api_calls"] == 0
    pd.testing.assert_frame_equal(
        pd.read_parquet(warehouse / "team_boxscores" / "2025-11-05.parquet"), before
    )
    # refresh: true forces the API
    run(replay, warehouse, "2025-11-03", "2025-11-09", refresh=True)
    assert len(replay.requests_for("leaguegamelog")) == 1


def test_a_settled_season_archived_whole_answers_every_subrange(synthetic, warehouse):
    both = (team_boxscores, player_boxscores)
    run(synthetic, warehouse, "2024-10-01", "2025-06-30", both)
    first = len(synthetic.requests_for("leaguegamelog"))
    assert first == 2 * 4  # Regular Season, PlayIn, Playoffs, IST for each table
    synthetic.reset()
    run(synthetic, warehouse, "2025-01-10", "2025-01-20", both)
    run(synthetic, warehouse, "2024-12-14", "2024-12-17", both)  # the Cup final's days too
    assert synthetic.requests_for() == []
    final = pd.read_parquet(warehouse / "team_boxscores" / "2024-12-17.parquet")
    assert list(final["game_id"]) == ["0062400001"] * 2


def test_find_returns_the_newest_answer_to_exactly_that_request(replay, warehouse):
    run(replay, warehouse, "2025-11-01", "2025-11-02")
    archive = RawArchive(as_upath(warehouse) / "raw")
    [stored] = [
        p
        for p in (as_upath(warehouse) / "raw" / "leaguegamelog").glob("*/*.json")
        if p.name != "request.txt"
    ]
    params = json.loads(stored.read_text())["request"]["params"]
    found = archive.find("leaguegamelog", params)
    assert found is not None and found.path == stored and found.params == params
    assert archive.find("leaguegamelog", {**params, "Season": "1999-00"}) is None
    # a narrower window is not the same request for find, but find_covering holds it
    narrower = {**params, "DateFrom": "11/02/2025"}
    assert archive.find("leaguegamelog", narrower) is None
    assert archive.find_covering("leaguegamelog", narrower).path == stored


@pytest.fixture
def editable(tmp_path):
    """A replay server over a private copy of the real 2025-26 log, to change between runs."""
    folder = tmp_path / "recordings"
    folder.mkdir()
    shutil.copy(LEAGUEGAMELOG_2025_26, folder / LEAGUEGAMELOG_2025_26.name)
    server = ReplayServer(RecordingsBackend(folder)).start()
    yield server, folder / LEAGUEGAMELOG_2025_26.name
    server.stop()


def correct_assists(path, game_date: str, delta: int) -> tuple[str, int, int]:
    """Change one team's AST on `game_date` in the recording, as a stat correction would
    (assists: a change that keeps the box score consistent, so its checks pass)."""
    data = json.loads(path.read_text())
    result = data["response"]["body"]["resultSets"][0]
    headers = result["headers"]
    row = next(r for r in result["rowSet"] if r[headers.index("GAME_DATE")] == game_date)
    old = row[headers.index("AST")]
    row[headers.index("AST")] = old + delta
    path.write_text(json.dumps(data))
    return row[headers.index("GAME_ID")], row[headers.index("TEAM_ID")], old


def test_a_correction_inside_the_window_is_logged_with_old_and_new(editable, tmp_path):
    server, recording = editable
    warehouse = tmp_path / "warehouse"
    morning = {"today": "2025-11-06"}  # 2025-11-01..05 is inside the 7-day window
    run(server, warehouse, "2025-11-01", "2025-11-05", **morning)
    unchanged = run(server, warehouse, "2025-11-01", "2025-11-05", **morning)
    assert outputs(unchanged)["revisions"] == 0
    assert read_revisions(as_upath(warehouse), "team_boxscores").empty
    game_id, team_id, old = correct_assists(recording, "2025-11-03", +2)
    server.backend = RecordingsBackend(recording.parent)
    corrected = run(server, warehouse, "2025-11-01", "2025-11-05", **morning)
    assert len(server.requests_for("leaguegamelog")) == 3  # inside the window: asked each time
    assert outputs(corrected)["revisions"] == 1
    [revision] = read_revisions(as_upath(warehouse), "team_boxscores").to_dict("records")
    assert (revision["game_id"], revision["team_id"], revision["column"]) == (
        game_id,
        team_id,
        "ast",
    )
    assert (revision["old"], revision["new"]) == (str(old), str(old + 2))
    assert revision["old_sha256"] and revision["new_sha256"]
    assert revision["old_sha256"] != revision["new_sha256"]
    landed = pd.read_parquet(warehouse / "team_boxscores" / "2025-11-03.parquet")
    assert landed.set_index(["game_id", "team_id"]).loc[(game_id, team_id), "ast"] == old + 2
    # the same answer again: no new revision, the table keeps the one it has
    run(server, warehouse, "2025-11-01", "2025-11-05", **morning)
    assert len(read_revisions(as_upath(warehouse), "team_boxscores")) == 1
