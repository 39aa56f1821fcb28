"""Assets on real recorded stats.nba.com data, through the replay server and real Parquet files."""

import datetime as dt

import dagster as dg
import pandas as pd
import pytest

from nba_assets.assets.boxscores import team_boxscores
from nba_assets.assets.reference import players, teams
from nba_assets.io.parquet import read_frame, read_provenance
from nba_assets_tests.conftest import fixture_body, resources

RANGE_TAGS = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")


def recorded_team_rows() -> pd.DataFrame:
    entry = fixture_body("leaguegamelog-d25cde14d9.json")["resultSets"][0]
    return pd.DataFrame(entry["rowSet"], columns=entry["headers"])


def materialize_range(server, warehouse, start: str, end: str, **client):
    return dg.materialize(
        [team_boxscores],
        resources=resources(server, warehouse, **client),
        tags={RANGE_TAGS[0]: start, RANGE_TAGS[1]: end},
        raise_on_error=False,
    )


def load_days(warehouse, start: dt.date, end: dt.date) -> pd.DataFrame:
    days = pd.date_range(start, end).date
    return pd.concat([read_frame_at(warehouse, d) for d in days], ignore_index=True)


def read_frame_at(warehouse, day: dt.date) -> pd.DataFrame:
    from upath import UPath

    return read_frame(UPath(warehouse / "team_boxscores" / f"{day.isoformat()}.parquet"))


def test_teams_and_players_from_real_recordings(replay, warehouse):
    result = dg.materialize(
        [teams, players],
        resources=resources(replay, warehouse),
        run_config={"ops": {"players": {"config": {"season": "2025-26"}}}},
    )
    assert result.success
    team_frame = pd.read_parquet(warehouse / "teams.parquet")
    recorded = fixture_body("commonteamyears-13ba30aad7.json")["resultSets"][0]["rowSet"]
    assert len(team_frame) == len(recorded) == 45
    assert int(team_frame["is_active"].sum()) == 30
    cavs = team_frame.set_index("team_id").loc[1610612739]
    assert (cavs["abbreviation"], cavs["full_name"], cavs["city"]) == (
        "CLE",
        "Cleveland Cavaliers",
        "Cleveland",
    )
    player_frame = pd.read_parquet(warehouse / "players.parquet")
    assert len(player_frame) == 5111 and player_frame["player_id"].is_unique
    assert player_frame.set_index("player_id").loc[76001, "display_first_last"] == "Alaa Abdelnaby"
    assert sorted(r["endpoint"] for r in replay.requests_for()) == [
        "commonallplayers",
        "commonteamyears",
    ]
    [provenance] = read_provenance(__import__("upath").UPath(warehouse / "players.parquet"))
    assert (
        provenance["endpoint"] == "commonallplayers" and provenance["params"]["Season"] == "2025-26"
    )
    assert (warehouse / provenance["archive"]).exists()


def test_range_run_lands_exact_recorded_rows_with_one_request(replay, warehouse):
    result = materialize_range(replay, warehouse, "2025-10-21", "2025-11-30")
    assert result.success
    assert len(replay.requests_for("leaguegamelog")) == 1
    files = sorted((warehouse / "team_boxscores").glob("*.parquet"))
    assert len(files) == 41  # one per day, game days and empty days alike
    landed = load_days(warehouse, dt.date(2025, 10, 21), dt.date(2025, 11, 30))
    recorded = recorded_team_rows()
    recorded = recorded[recorded["GAME_DATE"] <= "2025-11-30"]
    assert len(landed) == len(recorded)
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


def test_day_without_games_is_an_empty_partition_with_the_full_schema(replay, warehouse):
    # Thanksgiving 2025: the recorded season has no games that day
    assert materialize_range(replay, warehouse, "2025-11-27", "2025-11-27").success
    empty = read_frame_at(warehouse, dt.date(2025, 11, 27))
    assert len(empty) == 0 and "pts" in empty.columns and len(empty.columns) == 30
    # and a day in July costs no request at all, and its provenance says none covered it
    replay.reset()
    assert materialize_range(replay, warehouse, "2025-07-15", "2025-07-15").success
    assert replay.requests_for() == []
    assert len(read_frame_at(warehouse, dt.date(2025, 7, 15))) == 0
    from upath import UPath

    [note] = read_provenance(UPath(warehouse / "team_boxscores" / "2025-07-15.parquet"))
    assert note["endpoint"] is None and "no request" in note["note"]


def test_range_run_equals_union_of_single_day_runs(replay, tmp_path):
    ranged, single = tmp_path / "ranged", tmp_path / "single"
    assert materialize_range(replay, ranged, "2025-11-01", "2025-11-05").success
    for day in pd.date_range("2025-11-01", "2025-11-05").date:
        result = dg.materialize(
            [team_boxscores], resources=resources(replay, single), partition_key=day.isoformat()
        )
        assert result.success
    for day in pd.date_range("2025-11-01", "2025-11-05").date:
        a, b = read_frame_at(ranged, day), read_frame_at(single, day)
        pd.testing.assert_frame_equal(a, b)
        prov_a = read_provenance(
            __import__("upath").UPath(ranged / "team_boxscores" / f"{day}.parquet")
        )
        prov_b = read_provenance(
            __import__("upath").UPath(single / "team_boxscores" / f"{day}.parquet")
        )
        assert prov_a[0]["params"]["DateFrom"] == "11/01/2025"  # the range request
        assert prov_b[0]["params"]["DateFrom"] == prov_b[0]["params"]["DateTo"]  # its own day


def test_rematerializing_replaces_a_partition(replay, warehouse):
    for _ in range(2):
        assert materialize_range(replay, warehouse, "2025-11-01", "2025-11-01").success
    frame = read_frame_at(warehouse, dt.date(2025, 11, 1))
    assert not frame.duplicated(["game_id", "team_id"]).any()
    assert len(frame) == int((recorded_team_rows()["GAME_DATE"] == "2025-11-01").sum())


def test_same_response_gives_byte_identical_files(replay, tmp_path):
    for name in ("a", "b"):
        assert materialize_range(replay, tmp_path / name, "2025-11-02", "2025-11-02").success
    path = "team_boxscores/2025-11-02.parquet"
    assert (tmp_path / "a" / path).read_bytes() == (tmp_path / "b" / path).read_bytes()


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
def test_failed_run_writes_no_partition(replay, warehouse, start, end, fault, expected):
    if fault:
        replay.faults.update(fault)
    result = materialize_range(replay, warehouse, start, end, max_attempts=2)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert expected in failure.step_failure_data.error.message or expected in str(
        failure.step_failure_data.error.cause
    )
    assert not (warehouse / "team_boxscores").exists() or not any(
        (warehouse / "team_boxscores").iterdir()
    )


def test_materialization_metadata_reports_rows_requests_and_run_summary(replay, warehouse):
    recorded = recorded_team_rows()
    result = materialize_range(replay, warehouse, "2025-11-01", "2025-11-07")
    events = {
        e.partition: e.materialization.metadata for e in result.get_asset_materialization_events()
    }
    assert sorted(events) == [f"2025-11-0{d}" for d in range(1, 8)]
    for day, meta in events.items():  # each day: its own row count and the request covering it
        assert meta["dagster/row_count"].value == int((recorded["GAME_DATE"] == day).sum())
        [request] = meta["requests"].value
        assert request["endpoint"] == "leaguegamelog" and request["covers"][0] <= day
        assert request["archive"].startswith("raw/") and len(request["sha256"]) == 64
    [summary] = [
        e.asset_observation_data.asset_observation.metadata
        for e in result.all_events
        if e.event_type_value == "ASSET_OBSERVATION"
    ]
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
    single = materialize_range(replay, warehouse, "2025-11-03", "2025-11-03")
    [event] = single.get_asset_materialization_events()
    one_day = event.materialization.metadata
    assert one_day.keys() == events["2025-11-03"].keys()  # same facts, the day's own request
    assert one_day["dagster/row_count"] == events["2025-11-03"]["dagster/row_count"]
    assert one_day["requests"].value[0]["covers"] == ["2025-11-03", "2025-11-03"]


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
