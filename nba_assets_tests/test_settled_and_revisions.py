"""Settled data from the archive (0 requests, no commit) and revisions only for what was published.

Real parts only: nba_api over HTTP to the loopback replay server, Delta tables on local disk,
the `raw_responses` index deciding which archived response may answer a settled window.
"""

import json
import shutil
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from nba_assets.assets.boxscores import player_boxscores, team_boxscores
from nba_assets.io import delta
from nba_assets.io.storage import as_upath
from nba_assets.source.archive import RawArchive
from nba_assets.source.index import INDEX_TABLE, read_verdicts, record_withdrawn
from nba_assets.source.recordings import RecordingsBackend
from nba_assets.source.replay import ReplayServer
from nba_assets.warehouse.revisions import read_revisions
from nba_assets_tests.conftest import (
    LEAGUEGAMELOG_2025_26,
    published,
    resources,
    table_version,
)

RANGE = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")
DAYS = ("2025-11-01", "2025-11-05")


def run(server, warehouse, start, end, assets=(team_boxscores,), succeed=True, **config):
    run_config = {"ops": {a.key.path[-1]: {"config": config} for a in assets}} if config else None
    result = dg.materialize(
        list(assets),
        resources=resources(server, warehouse),
        tags={RANGE[0]: start, RANGE[1]: end},
        run_config=run_config,
        raise_on_error=False,
    )
    assert result.success is succeed
    return result


def outputs(result, asset="team_boxscores") -> dict:
    """The step's run-wide facts: its run summary (one observation per ranged step)."""
    [summary] = [
        e.asset_observation_data.asset_observation
        for e in result.all_events
        if e.event_type_value == "ASSET_OBSERVATION"
        and e.asset_key.path[-1] == asset
        and e.asset_observation_data.asset_observation.description.startswith("run summary")
    ]
    return {k: v.value for k, v in summary.metadata.items()}


def commit_of(result, asset="team_boxscores") -> str:
    [event] = [
        e for e in result.get_asset_materialization_events() if e.asset_key.path[-1] == asset
    ][:1]
    return event.materialization.metadata["commit"].value


def warehouse_files(warehouse: Path) -> dict[str, bytes]:
    """Every file of the warehouse, archive and index included: what a run wrote, if anything."""
    return {
        str(p.relative_to(warehouse)): p.read_bytes()
        for p in sorted(warehouse.rglob("*"))
        if p.is_file()
    }


def test_settled_rerun_costs_0_requests_and_writes_nothing(replay, warehouse):
    run(replay, warehouse, "2025-10-21", "2025-11-30")
    assert len(replay.requests_for("leaguegamelog")) == 1
    version = table_version(warehouse, "team_boxscores")
    before, files = published(warehouse, "team_boxscores"), warehouse_files(warehouse)
    replay.reset()
    rerun = run(replay, warehouse, "2025-10-21", "2025-11-30")
    sub = run(replay, warehouse, "2025-11-03", "2025-11-09")
    assert replay.requests_for() == []
    assert outputs(rerun)["archive_answers"] == 1 and outputs(sub)["api_calls"] == 0
    # no new commit: the version stays, and not a byte of the warehouse changed
    assert commit_of(rerun) == commit_of(sub) == "unchanged"
    assert table_version(warehouse, "team_boxscores") == version
    assert warehouse_files(warehouse) == files
    pd.testing.assert_frame_equal(published(warehouse, "team_boxscores"), before)
    # refresh: true forces the API; the narrower answer is a new response (its own sha256),
    # so the rows are republished naming it, with the same values: no revision
    refreshed = run(replay, warehouse, "2025-11-03", "2025-11-09", refresh=True)
    assert len(replay.requests_for("leaguegamelog")) == 1
    assert commit_of(refreshed) == "committed"
    assert read_revisions(str(warehouse)).empty
    [newest] = answered_by(refreshed)
    assert read_verdicts(str(warehouse))[-1].sha256 == newest


def test_a_settled_season_archived_whole_answers_every_subrange(synthetic, warehouse):
    both = (team_boxscores, player_boxscores)
    run(synthetic, warehouse, "2024-10-01", "2025-06-30", both)
    first = len(synthetic.requests_for("leaguegamelog"))
    assert first == 2 * 4  # Regular Season, PlayIn, Playoffs, IST for each table
    verdicts = read_verdicts(str(warehouse))
    # and the season's schedule, once, refreshed by the team step for the audit
    assert [v.table for v in verdicts].count("schedule") == 1
    assert len(synthetic.requests_for("scheduleleaguev2")) == 1
    assert len(verdicts) == first + 1 and {v.verdict for v in verdicts} == {"published"}
    assert {v.table for v in verdicts} == {"team_boxscores", "player_boxscores", "schedule"}
    synthetic.reset()
    run(synthetic, warehouse, "2025-01-10", "2025-01-20", both)
    run(synthetic, warehouse, "2024-12-14", "2024-12-17", both)  # the Cup final's days too
    assert synthetic.requests_for() == []
    final = published(warehouse, "team_boxscores", first="2024-12-17", last="2024-12-17")
    assert list(final["game_id"]) == ["0062400001"] * 2


def test_lookups_answer_from_the_published_response(replay, warehouse):
    run(replay, warehouse, "2025-11-01", "2025-11-02")
    archive = RawArchive(as_upath(warehouse) / "raw", str(warehouse))
    [stored] = [
        p
        for p in (as_upath(warehouse) / "raw" / "leaguegamelog").glob("*/*.json")
        if p.name != "request.txt"
    ]
    params = json.loads(stored.read_text())["request"]["params"]
    for found in (
        archive.find("leaguegamelog", params),
        archive.find_published("leaguegamelog", params),
    ):
        assert found is not None and found.path == stored and found.params == params
    assert archive.find_published("leaguegamelog", {**params, "Season": "1999-00"}) is None
    # a narrower window is not the same request, but find_covering holds it
    narrower = {**params, "DateFrom": "11/02/2025"}
    assert archive.find_published("leaguegamelog", narrower) is None
    assert archive.find_covering("leaguegamelog", narrower).path == stored
    [verdict] = read_verdicts(str(warehouse))
    assert (verdict.verdict, verdict.table, verdict.delta_version) == (
        "published",
        "team_boxscores",
        table_version(warehouse, "team_boxscores"),
    )
    assert verdict.archive == str(stored.relative_to(as_upath(warehouse)))


@pytest.fixture
def editable(tmp_path):
    """A replay server over a private copy of the real 2025-26 log, to change between runs."""
    folder = tmp_path / "recordings"
    folder.mkdir()
    shutil.copy(LEAGUEGAMELOG_2025_26, folder / LEAGUEGAMELOG_2025_26.name)
    server = ReplayServer(RecordingsBackend(folder)).start()
    yield server, folder / LEAGUEGAMELOG_2025_26.name
    server.stop()


def change_stat(path: Path, game_date: str, column: str, delta: int) -> tuple[str, int, int]:
    """Change one team's `column` on `game_date` in the recording; returns (game, team, old)."""
    data = json.loads(path.read_text())
    result = data["response"]["body"]["resultSets"][0]
    headers = result["headers"]
    row = next(r for r in result["rowSet"] if r[headers.index("GAME_DATE")] == game_date)
    old = row[headers.index(column)]
    row[headers.index(column)] = old + delta
    path.write_text(json.dumps(data))
    return row[headers.index("GAME_ID")], row[headers.index("TEAM_ID")], old


def serve(server: ReplayServer, recording: Path) -> None:
    server.backend = RecordingsBackend(recording.parent)
    server.reset()


def answered_by(result) -> list[str]:
    """The sha256 of every response the step used (the names of their archive files)."""
    return [Path(p).stem for p in outputs(result)["archive_paths"]]


def test_rejected_response_then_good_one_rerun_uses_the_good_one(editable, tmp_path):
    server, recording = editable
    warehouse = tmp_path / "warehouse"
    good = recording.read_text()
    change_stat(recording, "2025-11-03", "PTS", +2)  # PTS != 2·FGM + FG3M + FTM
    serve(server, recording)
    bad = run(server, warehouse, *DAYS, succeed=False)
    [bad_sha] = answered_by(bad)  # the run summary is logged before the audit
    [rejected] = read_verdicts(str(warehouse))
    assert (rejected.verdict, rejected.sha256, rejected.rules) == (
        "rejected",
        bad_sha,
        ("points_add_up",),
    )
    recording.write_text(good)
    serve(server, recording)
    # settled days, no refresh: the archive's only answer was rejected, so the API is asked
    fixed = run(server, warehouse, *DAYS)
    assert len(server.requests_for("leaguegamelog")) == 1
    [good_sha] = answered_by(fixed)
    assert good_sha != bad_sha
    version = table_version(warehouse, "team_boxscores")
    # the rerun answers from the good response: 0 requests, no commit
    server.reset()
    rerun = run(server, warehouse, *DAYS)
    assert server.requests_for() == [] and answered_by(rerun) == [good_sha]
    assert commit_of(rerun) == "unchanged"
    assert table_version(warehouse, "team_boxscores") == version
    # no revision for the rejected run, nor for the first publish of these days
    assert read_revisions(str(warehouse)).empty
    assert [v.verdict for v in read_verdicts(str(warehouse))] == ["rejected", "published"]


def test_rejected_runs_write_no_revision_and_never_answer_a_settled_window(editable, tmp_path):
    server, recording = editable
    warehouse = tmp_path / "warehouse"
    good = recording.read_text()
    first = run(server, warehouse, *DAYS)
    [good_sha] = answered_by(first)
    version = table_version(warehouse, "team_boxscores")
    change_stat(recording, "2025-11-03", "PTS", +2)
    serve(server, recording)
    for _ in range(3):  # the same bad PTS three times: three rejections, no revision
        run(server, warehouse, *DAYS, succeed=False, refresh=True)
    assert read_revisions(str(warehouse)).empty
    assert table_version(warehouse, "team_boxscores") == version
    verdicts = read_verdicts(str(warehouse))
    assert [v.verdict for v in verdicts] == ["published"] + ["rejected"] * 3
    assert len({v.run_id for v in verdicts}) == 4
    # the newest archived answer is the rejected one; a settled rerun still uses the good one
    recording.write_text(good)
    serve(server, recording)
    rerun = run(server, warehouse, *DAYS)
    assert server.requests_for() == [] and answered_by(rerun) == [good_sha]
    assert commit_of(rerun) == "unchanged"
    assert table_version(warehouse, "team_boxscores") == version
    assert table_version(warehouse, INDEX_TABLE) == len(verdicts) - 1  # no verdict written


def test_a_correction_inside_the_window_is_logged_with_old_and_new(editable, tmp_path):
    server, recording = editable
    warehouse = tmp_path / "warehouse"
    morning = {"today": "2025-11-06"}  # 2025-11-01..05 is inside the 7-day window
    run(server, warehouse, *DAYS, **morning)
    unchanged = run(server, warehouse, *DAYS, **morning)
    assert commit_of(unchanged) == "unchanged"
    assert read_revisions(str(warehouse), "team_boxscores").empty
    # assists: a change that keeps the box score consistent, so its checks pass
    game_id, team_id, old = change_stat(recording, "2025-11-03", "AST", +2)
    server.backend = RecordingsBackend(recording.parent)
    corrected = run(server, warehouse, *DAYS, **morning)
    assert len(server.requests_for("leaguegamelog")) == 3  # inside the window: asked each time
    metadata = next(
        e.materialization.metadata for e in corrected.get_asset_materialization_events()
    )
    assert metadata["revisions"].value == 1
    [revision] = read_revisions(str(warehouse), "team_boxscores").to_dict("records")
    assert (revision["game_id"], revision["team_id"], revision["column"]) == (
        game_id,
        team_id,
        "ast",
    )
    assert (revision["old"], revision["new"]) == (str(old), str(old + 2))
    assert revision["old_sha256"] and revision["new_sha256"]
    assert revision["old_sha256"] != revision["new_sha256"]
    assert revision["delta_version"] == table_version(warehouse, "team_boxscores")
    assert revision["run_id"] == corrected.run_id
    landed = published(warehouse, "team_boxscores", first="2025-11-03", last="2025-11-03")
    assert landed.set_index(["game_id", "team_id"]).loc[(game_id, team_id), "ast"] == old + 2
    # the same answer again: no new revision, the table keeps the one it has
    run(server, warehouse, *DAYS, **morning)
    assert len(read_revisions(str(warehouse), "team_boxscores")) == 1


def test_after_a_rollback_a_settled_rerun_answers_from_the_restored_response(editable, tmp_path):
    server, recording = editable
    warehouse = tmp_path / "warehouse"
    morning = {"today": "2025-11-06"}  # inside the correction window: the API is asked
    [original] = answered_by(run(server, warehouse, *DAYS, **morning))
    restored_version = table_version(warehouse, "team_boxscores")
    change_stat(recording, "2025-11-03", "AST", +2)
    serve(server, recording)
    [corrected] = answered_by(run(server, warehouse, *DAYS, **morning))
    delta.restore(str(warehouse), "team_boxscores", restored_version, {"run_id": "rollback"})
    # the commit undone published `corrected`; the restored rows came from `original`
    reason = f"rolled back to version {restored_version}"
    both = [original, corrected]
    assert record_withdrawn(str(warehouse), "team_boxscores", both, reason, "rollback") == 1
    assert read_verdicts(str(warehouse))[-1].sha256 == corrected
    version = table_version(warehouse, "team_boxscores")
    server.reset()
    rerun = run(server, warehouse, *DAYS)  # settled now: answered from the archive
    assert server.requests_for() == [] and answered_by(rerun) == [original]
    assert commit_of(rerun) == "unchanged"
    assert table_version(warehouse, "team_boxscores") == version
