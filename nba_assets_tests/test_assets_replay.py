"""Assets on real recorded stats.nba.com data, through the replay server into Delta tables."""

import json
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from nba_assets.assets.boxscores import team_boxscores
from nba_assets.assets.reference import players, teams
from nba_assets.io import delta
from nba_assets.schemas import TEAM_BOXSCORES
from nba_assets_tests.conftest import (
    day_events,
    fixture_body,
    published,
    resources,
    table_files,
    table_version,
)

RANGE_TAGS = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")
#: After the recorded 2025-26 season: every window of it is settled (no stat corrections left).
AFTER_THE_SEASON = "2026-09-01"


def recorded_team_rows() -> pd.DataFrame:
    entry = fixture_body("leaguegamelog-d25cde14d9.json")["resultSets"][0]
    return pd.DataFrame(entry["rowSet"], columns=entry["headers"])


def materialize_range(server, warehouse, start: str, end: str, config=None, **client):
    return dg.materialize(
        [team_boxscores],
        resources=resources(server, warehouse, **client),
        tags={RANGE_TAGS[0]: start, RANGE_TAGS[1]: end},
        run_config={"ops": {"team_boxscores": {"config": config}}} if config else None,
        raise_on_error=False,
    )


def published_days(warehouse, start: str, end: str) -> pd.DataFrame:
    return published(warehouse, "team_boxscores", first=start, last=end)


def test_teams_and_players_from_real_recordings(replay, warehouse):
    result = dg.materialize(
        [teams, players],
        resources=resources(replay, warehouse),
        run_config={"ops": {"players": {"config": {"season": "2025-26"}}}},
    )
    assert result.success
    team_frame = published(warehouse, "teams")
    recorded = fixture_body("commonteamyears-13ba30aad7.json")["resultSets"][0]["rowSet"]
    assert len(team_frame) == len(recorded) == 45
    assert int(team_frame["is_active"].sum()) == 30
    cavs = team_frame.set_index("team_id").loc[1610612739]
    assert (cavs["abbreviation"], cavs["full_name"], cavs["city"]) == (
        "CLE",
        "Cleveland Cavaliers",
        "Cleveland",
    )
    player_frame = published(warehouse, "players")
    assert len(player_frame) == 5111 and player_frame["player_id"].is_unique
    assert player_frame.set_index("player_id").loc[76001, "display_first_last"] == "Alaa Abdelnaby"
    assert sorted(r["endpoint"] for r in replay.requests_for()) == [
        "commonallplayers",
        "commonteamyears",
    ]
    by_asset = {
        e.asset_key.to_user_string(): {
            k: getattr(v, "value", v) for k, v in e.materialization.metadata.items()
        }
        for e in result.get_asset_materialization_events()
    }
    for table, frame in (("teams", team_frame), ("players", player_frame)):
        meta = by_asset[table]
        assert meta["table_uri"] == str(warehouse / table) and meta["commit"] == "committed"
        assert meta["delta_version"] == table_version(warehouse, table) == 0
        assert meta["dagster/row_count"] == len(frame)
        # provenance: every row names the one response it was parsed from, as does the commit
        [sha] = set(frame["source_sha256"])
        [commit] = delta.history(str(warehouse), table)
        assert json.loads(commit["meta"]["responses"]) == [sha]
        [archived] = meta["archive_paths"]  # the archive holds that response's exact bytes
        stored = json.loads(Path(archived).read_text())
        assert stored["response"]["sha256"] == sha and Path(archived).stem == sha
        assert Path(archived).is_relative_to(warehouse / "raw")
    [request] = by_asset["players"]["api_requests_detail"]
    assert request["endpoint"] == "commonallplayers" and request["params"]["Season"] == "2025-26"
    [archived] = by_asset["players"]["archive_paths"]
    assert json.loads(Path(archived).read_text())["request"]["params"]["Season"] == "2025-26"


def test_range_run_lands_exact_recorded_rows_with_one_request(replay, warehouse):
    result = materialize_range(replay, warehouse, "2025-10-21", "2025-11-30")
    assert result.success
    [request] = replay.requests_for("leaguegamelog")
    # and the season's schedule, asked once for the audit (the recordings have none: it
    # falls back to the game log)
    assert len(replay.requests_for("scheduleleaguev2")) == 1
    assert len(replay.requests_for()) == 2
    events = day_events(result)
    assert len(events) == 41  # one event per day, game days and empty days alike
    assert table_version(warehouse, "team_boxscores") == 0  # and one commit for all of them
    landed = published_days(warehouse, "2025-10-21", "2025-11-30")
    recorded = recorded_team_rows()
    recorded = recorded[recorded["GAME_DATE"] <= "2025-11-30"]
    assert len(landed) == len(recorded)
    assert sum(e["dagster/row_count"] for e in events.values()) == len(landed)
    merged = landed.merge(
        recorded, left_on=["game_id", "team_id"], right_on=["GAME_ID", "TEAM_ID"], validate="1:1"
    )
    for column in ("pts", "fgm", "fga", "reb", "plus_minus", "min", "matchup", "wl"):
        assert (merged[column].astype(object) == merged[column.upper()].astype(object)).all(), (
            column
        )
    assert (merged["fg_pct"] == merged["FG_PCT"]).all()
    assert (merged["game_date"].map(str) == merged["GAME_DATE"]).all()
    assert landed["game_id"].str.len().eq(10).all() and str(landed["pts"].dtype) == "Int64"
    assert set(landed["season"]) == {"2025-26"}
    # every row names the one response it came from; so does every day's event
    [sha] = set(landed["source_sha256"])
    assert {r["sha256"] for e in events.values() for r in e["requests"]} == {sha}
    assert request["params"]["DateFrom"] == "10/21/2025"


def test_day_without_games_is_an_empty_partition_that_says_why(replay, warehouse):
    # Thanksgiving 2025: the recorded season has no games that day
    result = materialize_range(replay, warehouse, "2025-11-27", "2025-11-27")
    assert result.success
    empty = published_days(warehouse, "2025-11-27", "2025-11-27")
    assert len(empty) == 0 and len(TEAM_BOXSCORES.names) == 30
    assert list(empty.columns) == [*TEAM_BOXSCORES.names, "season", "source_sha256"]
    assert str(empty["pts"].dtype) == "Int64"
    [asked] = day_events(result)["2025-11-27"]["requests"]  # asked, and the answer held no game
    assert asked["endpoint"] == "leaguegamelog" and asked["covers"] == ["2025-11-27"] * 2
    assert day_events(result)["2025-11-27"]["dagster/row_count"] == 0
    # a day in July is no partition: asking for it fails by name before any request
    replay.reset()
    with pytest.raises(dg.DagsterInvalidInvocationError, match="2025-07-15"):
        materialize_range(replay, warehouse, "2025-07-15", "2025-07-15")
    assert replay.requests_for() == []
    assert not team_boxscores.partitions_def.has_partition_key("2025-07-15")
    assert table_version(warehouse, "team_boxscores") == 0  # the one commit of Thanksgiving


def test_range_run_equals_union_of_single_day_runs(replay, tmp_path):
    ranged, single = tmp_path / "ranged", tmp_path / "single"
    ranged_run = materialize_range(replay, ranged, "2025-11-01", "2025-11-05")
    assert ranged_run.success
    single_runs = {}
    for day in pd.date_range("2025-11-01", "2025-11-05").strftime("%Y-%m-%d"):
        result = dg.materialize(
            [team_boxscores], resources=resources(replay, single), partition_key=day
        )
        assert result.success
        single_runs[day] = day_events(result)[day]
    assert table_version(ranged, "team_boxscores") == 0  # one commit
    assert table_version(single, "team_boxscores") == 4  # one commit per run
    [range_request] = {
        json.dumps(r) for e in day_events(ranged_run).values() for r in e["requests"]
    }
    range_request = json.loads(range_request)
    assert range_request["params"]["DateFrom"] == "11/01/2025"  # the range request
    for day, single_meta in single_runs.items():
        a, b = published_days(ranged, day, day), published_days(single, day, day)
        assert len(a) > 0
        pd.testing.assert_frame_equal(
            a.drop(columns="source_sha256"), b.drop(columns="source_sha256")
        )
        [own] = single_meta["requests"]
        assert own["params"]["DateFrom"] == own["params"]["DateTo"]  # its own day
        assert set(a["source_sha256"]) == {range_request["sha256"]}
        assert set(b["source_sha256"]) == {own["sha256"]}


def test_rematerializing_a_settled_day_replaces_nothing_and_costs_nothing(replay, warehouse):
    first = materialize_range(replay, warehouse, "2025-11-01", "2025-11-01")
    assert first.success
    version, files = (
        table_version(warehouse, "team_boxscores"),
        table_files(warehouse, "team_boxscores"),
    )
    rows = published_days(warehouse, "2025-11-01", "2025-11-01")
    assert not rows.duplicated(["game_id", "team_id"]).any()
    assert len(rows) == int((recorded_team_rows()["GAME_DATE"] == "2025-11-01").sum())
    for config, requests in (({"today": AFTER_THE_SEASON}, 0), ({"refresh": True}, 1)):
        # settled: answered from the archive; refreshed: asked again, the same bytes come back
        replay.reset()
        again = materialize_range(replay, warehouse, "2025-11-01", "2025-11-01", config)
        assert again.success
        assert len(replay.requests_for("leaguegamelog")) == requests, config
        # a settled rerun asks nothing, not even the schedule; a refreshed one asks for it
        assert len(replay.requests_for("scheduleleaguev2")) == requests, config
        meta = day_events(again)["2025-11-01"]
        assert meta["commit"] == "unchanged" and meta["delta_version"] == version, config
        assert meta["dagster/row_count"] == len(rows)
        assert table_version(warehouse, "team_boxscores") == version
        assert table_files(warehouse, "team_boxscores") == files  # not a byte written
        pd.testing.assert_frame_equal(published_days(warehouse, "2025-11-01", "2025-11-01"), rows)


def test_same_response_gives_the_same_rows_and_byte_identical_data(replay, tmp_path):
    for name in ("a", "b"):
        assert materialize_range(replay, tmp_path / name, "2025-11-02", "2025-11-02").success
    a = published_days(tmp_path / "a", "2025-11-02", "2025-11-02")
    b = published_days(tmp_path / "b", "2025-11-02", "2025-11-02")
    assert len(a) > 0
    pd.testing.assert_frame_equal(a, b)  # source_sha256 included: the same response
    [file_a], [file_b] = (
        delta.open_table(str(tmp_path / n), "team_boxscores").file_uris() for n in ("a", "b")
    )
    assert Path(file_a).read_bytes() == Path(file_b).read_bytes()


@pytest.mark.parametrize(
    ("start", "end", "fault", "expected"),
    [
        # the regular-season call succeeds, the play-in call is not recorded (404): nothing lands
        ("2026-02-20", "2026-04-02", None, "HTTP 404"),
        ("2025-11-01", "2025-11-03", {"drop_column": "PTS"}, "lacks column"),
        ("2025-11-01", "2025-11-03", {"html": 10}, "HTML"),
    ],
    ids=["second-request-fails", "schema-drift", "block-page"],
)
def test_failed_run_commits_nothing(replay, tmp_path, start, end, fault, expected):
    warehouse, fresh = tmp_path / "warehouse", tmp_path / "fresh"
    assert materialize_range(replay, warehouse, "2025-10-21", "2025-10-31").success
    version, files = (
        table_version(warehouse, "team_boxscores"),
        table_files(warehouse, "team_boxscores"),
    )
    before = published(warehouse, "team_boxscores")
    if fault:
        replay.faults.update(fault)
    for where in (warehouse, fresh):
        result = materialize_range(replay, where, start, end, max_attempts=2)
        assert not result.success
        failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
        assert expected in failure.step_failure_data.error.message or expected in str(
            failure.step_failure_data.error.cause
        )
        assert result.get_asset_materialization_events() == []
    # on a table with a version: not a row, not a file, not a log entry more
    assert table_version(warehouse, "team_boxscores") == version
    assert table_files(warehouse, "team_boxscores") == files
    pd.testing.assert_frame_equal(published(warehouse, "team_boxscores"), before)
    # on a fresh warehouse: no table at all
    assert not delta.exists(str(fresh), "team_boxscores")
    with pytest.raises(delta.TableMissingError, match="team_boxscores"):
        published(fresh, "team_boxscores")


def test_materialization_metadata_reports_rows_requests_and_run_summary(replay, warehouse):
    recorded = recorded_team_rows()
    result = materialize_range(replay, warehouse, "2025-11-01", "2025-11-07")
    events = day_events(result)
    assert sorted(events) == [f"2025-11-0{d}" for d in range(1, 8)]
    for day, meta in events.items():  # each day: its own row count and the request covering it
        assert meta["dagster/row_count"] == int((recorded["GAME_DATE"] == day).sum())
        [request] = meta["requests"]
        assert request["endpoint"] == "leaguegamelog" and request["covers"][0] <= day
        assert request["archive"].startswith("raw/") and len(request["sha256"]) == 64
        assert (warehouse / request["archive"]).exists()
        # and the run's one commit
        assert meta["delta_version"] == 0 and meta["commit"] == "committed"
        assert meta["table_uri"] == str(warehouse / "team_boxscores")
    observations = [
        e.asset_observation_data.asset_observation
        for e in result.all_events
        if e.event_type_value == "ASSET_OBSERVATION"
    ]
    [summary] = [o.metadata for o in observations if o.description.startswith("run summary")]
    [changed] = [o.metadata for o in observations if o.description == "what commit 0 changed"]
    assert changed["delta_version"].value == 0 and changed["revisions"].value == 0
    assert summary["rows_in_run"].value == int(
        recorded["GAME_DATE"].between("2025-11-01", "2025-11-07").sum()
    )
    assert summary["api_calls"].value == 1 and summary["api_requests"].value == 1
    assert summary["archive_paths"].value[0].endswith(".json")
    table = summary["games_per_day"].value.splitlines()  # Markdown the UI renders
    week = recorded[recorded["GAME_DATE"].between("2025-11-01", "2025-11-07")]
    assert len(table) == 2 + week["GAME_DATE"].nunique()
    day = week[week["GAME_DATE"] == "2025-11-03"]
    assert f"| 2025-11-03 | {day['GAME_ID'].nunique()} | {len(day)} |" in table
    # one day of the settled week again: answered from the response its rows came from
    replay.reset()
    single = materialize_range(
        replay, warehouse, "2025-11-03", "2025-11-03", {"today": AFTER_THE_SEASON}
    )
    assert replay.requests_for() == []
    [event] = single.get_asset_materialization_events()
    one_day = {k: getattr(v, "value", v) for k, v in event.materialization.metadata.items()}
    ranged = events["2025-11-03"]
    assert {k for k in one_day if k not in ranged} == set()  # the same facts
    assert one_day["dagster/row_count"] == ranged["dagster/row_count"]
    [request] = one_day["requests"]  # the day's own request, cut from the archived week
    assert request["covers"] == ["2025-11-03", "2025-11-03"] and request["from_archive"]
    assert request["sha256"] == ranged["requests"][0]["sha256"]
    # the same rows from the same response: no commit
    assert one_day["commit"] == "unchanged" and one_day["delta_version"] == 0


def test_each_step_of_an_in_process_run_counts_only_its_own_requests(replay, warehouse):
    result = dg.materialize(
        [teams, players],
        resources=resources(replay, warehouse),
        run_config={"ops": {"players": {"config": {"season": "2025-26"}}}},
    )
    assert result.success
    assert sorted(r["endpoint"] for r in replay.requests_for()) == [
        "commonallplayers",
        "commonteamyears",
    ]
    by_asset = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    assert by_asset["teams"]["api_requests"].value == 1
    assert by_asset["players"]["api_requests"].value == 1
    # the players response is ~100x the teams one: its bytes must not show up on `teams`
    assert by_asset["players"]["api_bytes"].value > 50 * by_asset["teams"]["api_bytes"].value
