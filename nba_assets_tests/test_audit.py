"""Write-audit-publish on corrupted real recordings and synthetic output, served over HTTP.

Each test first publishes good data, then serves a corrupted copy of the same responses
through a second replay server and re-runs the same days: the named check must fail with
the bad rows and dates in its metadata, nothing downstream may materialize, the published
files must stay byte for byte, and quarantine must hold the bad rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from nba_assets.assets.boxscores import player_boxscores, team_boxscores
from nba_assets.assets.reference import players, teams
from nba_assets.assets.schedule import schedule
from nba_assets.io import delta
from nba_assets.partitions import game_date_partitions
from nba_assets.quality.checks import TEAM_CHECKS
from nba_assets.source.recordings import RecordingsBackend, Reply
from nba_assets.source.replay import ReplayServer, SyntheticBackend
from nba_assets_tests.conftest import (
    LEAGUEGAMELOG_2025_26,
    SYNTHETIC_SEASONS,
    published,
    resources,
)

RANGE = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")
REAL_DAYS = ("2025-11-01", "2025-11-03")
SYNTHETIC_DAYS = ("2024-11-01", "2024-11-03")


@dg.asset(partitions_def=game_date_partitions, backfill_policy=dg.BackfillPolicy.single_run())
def team_points_by_day(team_boxscores: pd.DataFrame) -> pd.DataFrame:
    """A downstream reader: must never run on data that failed a blocking check."""
    return team_boxscores.groupby("game_date", as_index=False)["pts"].sum()


def tags(days: tuple[str, str]) -> dict[str, str]:
    return {RANGE[0]: days[0], RANGE[1]: days[1]}


def run(assets, server: ReplayServer, warehouse: Path, days: tuple[str, str]):
    """Box scores always asked of the server (refresh): these days are settled, and the point
    is what the server answers now, not what the archive kept from the good run."""
    refresh = {
        a.key.path[-1]: {"config": {"refresh": True}}
        for a in assets
        if a.key.path[-1] in ("team_boxscores", "player_boxscores")
    }
    return dg.materialize(
        assets,
        resources=resources(server, warehouse),
        tags=tags(days),
        run_config={"ops": refresh},
        raise_on_error=False,
    )


def snapshot(warehouse: Path, table: str) -> dict[str, bytes]:
    """Every file of a Delta table (data and log): a rejected run must change none of them."""
    root = warehouse / table
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def audits(result) -> dict[str, dg.AssetCheckEvaluation]:
    """Each table's one `audit` check evaluation."""
    found = {e.asset_key.to_user_string(): e for e in result.get_asset_check_evaluations()}
    assert {e.check_name for e in found.values()} <= {"audit"}
    return found


def evaluations(result) -> dict[str, dict]:
    """Every rule's outcome, as the audit reported it: {"table:rule": details}."""
    return {
        f"{table}:{rule['rule']}": rule
        for table, e in audits(result).items()
        for rule in e.metadata["rules"].value
    }


def quarantined(warehouse: Path, table: str) -> tuple[pd.DataFrame | None, dict]:
    [run_dir] = [p for p in (warehouse / "_quarantine" / table).glob("*/*") if p.is_dir()]
    rows = run_dir / "rows.parquet"
    frame = pd.read_parquet(rows) if rows.exists() else None
    return frame, json.loads((run_dir / "report.json").read_text())


@pytest.fixture
def corrupted_recordings(tmp_path: Path) -> Iterator[Callable[..., ReplayServer]]:
    """Serve a corrupted copy of the real 2025-26 team game log from a second replay server."""
    servers: list[ReplayServer] = []

    def serve(corrupt: Callable[[list[str], list[list]], None]) -> ReplayServer:
        recording = json.loads(LEAGUEGAMELOG_2025_26.read_text())
        entry = recording["response"]["body"]["resultSets"][0]
        corrupt(entry["headers"], entry["rowSet"])
        directory = tmp_path / f"recordings-{len(servers)}"
        directory.mkdir()
        (directory / LEAGUEGAMELOG_2025_26.name).write_text(json.dumps(recording))
        server = ReplayServer(RecordingsBackend(directory)).start()
        servers.append(server)
        return server

    yield serve
    for server in servers:
        server.stop()


def _rows_on(headers: list[str], rows: list[list], day: str) -> list[list]:
    return [r for r in rows if r[headers.index("GAME_DATE")] == day]


def duplicate_a_row(headers: list[str], rows: list[list]) -> None:
    rows.append(list(_rows_on(headers, rows, "2025-11-02")[0]))


def two_winners(headers: list[str], rows: list[list]) -> None:
    loser = next(r for r in _rows_on(headers, rows, "2025-11-03") if r[headers.index("WL")] == "L")
    loser[headers.index("WL")] = "W"


def test_good_real_recordings_pass_every_rule_that_can_run(replay, warehouse):
    """No teams, schedule or player rows published: the rules that need them are named skips,
    the audit warns (it is not a pass) and the good rows still publish."""
    result = run([team_boxscores, team_points_by_day], replay, warehouse, REAL_DAYS)
    assert result.success
    [audit] = audits(result).values()
    assert not audit.passed and audit.severity == dg.AssetCheckSeverity.WARN
    skipped = ["players_sum_to_team", "games_in_both_tables", "team_ids_known"]
    skipped.append("scheduled_games_present")
    assert audit.description.startswith(
        f"{len(TEAM_CHECKS) - len(skipped) - 1} passed, 1 failed, {len(skipped)} skipped"
    )
    found = evaluations(result)
    assert sorted(found) == sorted(f"team_boxscores:{rule.name}" for rule in TEAM_CHECKS)
    assert sorted(k.split(":")[1] for k, e in found.items() if e["state"] == "skipped") == sorted(
        skipped
    )
    # the real log's quirk (0022500147 listed '@' by both teams) is reported, not blocking
    assert [k for k, e in found.items() if e["state"] == "failed"] == [
        "team_boxscores:home_away_marked_once"
    ]
    quirk = found["team_boxscores:home_away_marked_once"]
    assert quirk["failing_games"] == ["0022500147"] and not quirk["blocks"]
    assert "DAL @ DET" in quirk["message"] and "DET @ DAL" in quirk["message"]
    assert audit.metadata["points_add_up"].value == "passed"
    assert (
        "materialize schedule partition(s) 2025-26"
        in found["team_boxscores:scheduled_games_present"]["skipped"]
    )
    assert len(published(warehouse, "team_boxscores")) > 0


def test_duplicate_row_and_two_winners_are_quarantined_not_published(
    replay, corrupted_recordings, warehouse
):
    assert run([team_boxscores, team_points_by_day], replay, warehouse, REAL_DAYS).success
    good = snapshot(warehouse, "team_boxscores")
    good_downstream = snapshot(warehouse, "team_points_by_day")

    def corrupt(headers, rows):
        duplicate_a_row(headers, rows)
        two_winners(headers, rows)

    bad = run(
        [team_boxscores, team_points_by_day], corrupted_recordings(corrupt), warehouse, REAL_DAYS
    )

    assert not bad.success
    audit = audits(bad)["team_boxscores"]
    assert not audit.passed and audit.severity == dg.AssetCheckSeverity.ERROR
    assert audit.metadata["two_teams_one_winner"].value.startswith("FAILED: 2 game(s)")
    assert "sample: unique_game_id_team_id" in audit.metadata
    # 2025-11-01: the real matchup quirk, a warning (home_away_marked_once)
    assert audit.metadata["failing_dates"].value == ["2025-11-01", "2025-11-02", "2025-11-03"]
    found = evaluations(bad)
    duplicate = found["team_boxscores:unique_game_id_team_id"]
    assert not duplicate["passed"] and duplicate["failing_rows"] == 2
    assert duplicate["failing_dates"] == ["2025-11-02"]
    winners = found["team_boxscores:two_teams_one_winner"]
    # the W/W game, and the game whose team row was duplicated (three rows)
    assert not winners["passed"]
    assert winners["failing_dates"] == ["2025-11-02", "2025-11-03"]
    assert "one W and one L" in winners["message"] and "(W/W)" in winners["message"]
    assert len(winners["failing_games"]) == 2
    assert found["team_boxscores:points_add_up"]["passed"]
    failure = next(e for e in bad.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.step_failure_data.error.message
    assert "two_teams_one_winner" in message and "2025-11-03" in message
    assert "unique_game_id_team_id" in message and "nothing was published" in message
    # nothing downstream, nothing published: every file of the tables, log included, byte for byte
    assert bad.get_asset_materialization_events() == []
    assert snapshot(warehouse, "team_boxscores") == good
    assert snapshot(warehouse, "team_points_by_day") == good_downstream
    rows, report = quarantined(warehouse, "team_boxscores")
    assert len(rows) == len(published(warehouse, "team_boxscores")) + 1
    assert {c["check"] for c in report["failed_checks"]} == {
        "unique_game_id_team_id",
        "two_teams_one_winner",
    }
    # a later good run succeeds; its rows equal the published ones, so it writes nothing
    again = run([team_boxscores], replay, warehouse, REAL_DAYS)
    assert again.success
    [event] = again.get_asset_materialization_events()[:1]
    assert event.materialization.metadata["commit"].value == "unchanged"
    assert snapshot(warehouse, "team_boxscores") == good


@pytest.mark.parametrize(
    ("corrupt", "column"),
    [
        (
            lambda h, rows: _rows_on(h, rows, "2025-11-02")[0].__setitem__(h.index("PTS"), "ten"),
            "pts",
        ),
        (lambda h, rows: [r.pop(h.index("FG3M")) for r in rows] and h.remove("FG3M"), "FG3M"),
    ],
    ids=["type-changed", "column-removed"],
)
def test_schema_drift_fails_the_schema_check_naming_the_column(
    corrupted_recordings, warehouse, corrupt, column
):
    result = run([team_boxscores], corrupted_recordings(corrupt), warehouse, REAL_DAYS)
    assert not result.success
    schema = evaluations(result)["team_boxscores:schema_matches"]
    assert not schema["passed"] and column in schema["columns"]
    assert column in schema["message"]
    assert not (warehouse / "team_boxscores").exists()
    _, report = quarantined(warehouse, "team_boxscores")
    assert report["failed_checks"][0]["check"] == "schema_matches" and column in report["error"]


class CorruptingBackend:
    """The synthetic league with a change to the bodies `corrupt` returns True for."""

    def __init__(self, inner, corrupt: Callable[[str, Mapping[str, str], dict], bool]):
        self.inner, self.corrupt = inner, corrupt

    def respond(self, endpoint: str, params: Mapping[str, str]) -> Reply:
        reply = self.inner.respond(endpoint, params)
        body = json.loads(reply.text)
        if not self.corrupt(endpoint, params, body):
            return reply  # untouched bodies keep their exact bytes (and so their sha256)
        return Reply(reply.status, reply.content_type, json.dumps(body))


@pytest.fixture(scope="module")
def league() -> SyntheticBackend:
    return SyntheticBackend(seed=7, seasons=SYNTHETIC_SEASONS)


def drop_one_player(endpoint: str, params: Mapping[str, str], body: dict) -> bool:
    if endpoint != "leaguegamelog" or params.get("PlayerOrTeam") != "P":
        return False
    entry = body["resultSets"][0]
    date = entry["headers"].index("GAME_DATE")
    index = next(i for i, r in enumerate(entry["rowSet"]) if r[date] == "2024-11-02")
    entry["rowSet"].pop(index)
    return True


def test_dropped_player_fails_players_sum_to_team(synthetic, league, warehouse):
    both = [team_boxscores, player_boxscores]
    assert run(both, synthetic, warehouse, SYNTHETIC_DAYS).success
    good_team, good_players = (
        snapshot(warehouse, t) for t in ("team_boxscores", "player_boxscores")
    )
    server = ReplayServer(CorruptingBackend(league, drop_one_player)).start()
    try:
        bad = run(both, server, warehouse, SYNTHETIC_DAYS)
    finally:
        server.stop()
    assert not bad.success
    found = evaluations(bad)
    assert all(e["state"] != "failed" for k, e in found.items() if k.startswith("team_boxscores:"))
    sums = found["player_boxscores:players_sum_to_team"]
    assert not sums["passed"] and sums["failing_dates"] == ["2024-11-02"]
    assert "pts" in sums["columns_off"]
    assert found["player_boxscores:unique_game_id_player_id"]["passed"]
    assert snapshot(warehouse, "team_boxscores") == good_team  # same data, republished
    assert snapshot(warehouse, "player_boxscores") == good_players
    rows, _ = quarantined(warehouse, "player_boxscores")
    assert len(rows) == len(published(warehouse, "player_boxscores")) - 1


def materialize_schedule(server: ReplayServer, warehouse: Path) -> None:
    result = dg.materialize(
        [schedule], resources=resources(server, warehouse), partition_key="2024-25"
    )
    assert result.success


def drop_one_game(endpoint: str, params: Mapping[str, str], body: dict) -> bool:
    """Game 0022400100 vanishes from both game logs, as a late-posted game would."""
    if endpoint != "leaguegamelog":
        return False
    entry = body["resultSets"][0]
    game = entry["headers"].index("GAME_ID")
    entry["rowSet"] = [r for r in entry["rowSet"] if r[game] != "0022400100"]
    return True


def test_game_missing_from_the_logs_fails_scheduled_games_present(synthetic, league, warehouse):
    materialize_schedule(synthetic, warehouse)
    days = ("2024-11-04", "2024-11-05")
    played = published(warehouse, "schedule", seasons=["2024-25"]).set_index("game_id")
    date = played.loc["0022400100", "game_date"]
    assert days[0] <= str(date) <= days[1]
    server = ReplayServer(CorruptingBackend(league, drop_one_game)).start()
    try:
        bad = run([team_boxscores, player_boxscores], server, warehouse, days)
    finally:
        server.stop()
    assert not bad.success
    present = evaluations(bad)["team_boxscores:scheduled_games_present"]
    assert not present["passed"]
    assert present["failing_games"] == ["0022400100"]
    assert present["failing_dates"] == [str(date)]
    assert "player_boxscores:schema_matches" not in evaluations(bad)  # never ran
    assert not (warehouse / "team_boxscores").exists()
    rows, report = quarantined(warehouse, "team_boxscores")
    assert "0022400100" not in set(rows["game_id"]) and len(rows) > 0
    assert report["failed_checks"][0]["failing_games"] == ["0022400100"]


def materialize_reference(server: ReplayServer, warehouse: Path) -> None:
    result = dg.materialize(
        [teams, players],
        resources=resources(server, warehouse),
        run_config={"ops": {"players": {"config": {"season": "2024-25"}}}},
    )
    assert result.success


def test_clean_synthetic_days_run_every_rule(synthetic, warehouse):
    """With teams, players and schedule published, only the team step's cross-table rules of
    the very first run skip (no player rows yet; the player step checks the other way); the
    next run has every rule of both tables run and pass."""
    materialize_schedule(synthetic, warehouse)
    materialize_reference(synthetic, warehouse)
    first = evaluations(
        run([team_boxscores, player_boxscores], synthetic, warehouse, SYNTHETIC_DAYS)
    )
    assert [k for k, e in first.items() if e["state"] == "failed"] == []
    assert sorted(k for k, e in first.items() if e["state"] == "skipped") == [
        "team_boxscores:games_in_both_tables",
        "team_boxscores:players_sum_to_team",
    ]
    assert (
        "this run's player_boxscores step checks"
        in first["team_boxscores:players_sum_to_team"]["skipped"]
    )
    assert first["player_boxscores:games_in_both_tables"]["state"] == "passed"
    second = run([team_boxscores, player_boxscores], synthetic, warehouse, SYNTHETIC_DAYS)
    assert second.success and all(e.passed for e in audits(second).values())
    found = evaluations(second)
    assert {e["state"] for e in found.values()} == {"passed"}
    assert found["team_boxscores:scheduled_games_present"]["scheduled_games"] > 0


def test_player_only_run_is_checked_against_published_team_rows(synthetic, league, warehouse):
    both = [team_boxscores, player_boxscores]
    assert run(both, synthetic, warehouse, SYNTHETIC_DAYS).success
    good_players = snapshot(warehouse, "player_boxscores")
    server = ReplayServer(CorruptingBackend(league, drop_one_player)).start()
    try:
        bad = run([player_boxscores], server, warehouse, SYNTHETIC_DAYS)
    finally:
        server.stop()
    assert not bad.success
    sums = evaluations(bad)["player_boxscores:players_sum_to_team"]
    assert sums["state"] == "failed" and sums["failing_dates"] == ["2024-11-02"]
    assert snapshot(warehouse, "player_boxscores") == good_players


def add_one_point_and_basket(endpoint: str, params: Mapping[str, str], body: dict) -> bool:
    """One team line on 2024-11-02 gains a basket: it still adds up, its players do not."""
    if endpoint != "leaguegamelog" or params.get("PlayerOrTeam") != "T":
        return False
    entry = body["resultSets"][0]
    h = entry["headers"]
    row = next(r for r in entry["rowSet"] if r[h.index("GAME_DATE")] == "2024-11-02")
    for column in ("FGM", "FGA"):
        row[h.index(column)] += 1
    row[h.index("PTS")] += 2
    return True


def test_team_only_run_is_checked_against_published_player_rows(synthetic, league, warehouse):
    """The other direction: team rows whose published players no longer add up fail."""
    assert run([team_boxscores, player_boxscores], synthetic, warehouse, SYNTHETIC_DAYS).success
    good_team = snapshot(warehouse, "team_boxscores")
    server = ReplayServer(CorruptingBackend(league, add_one_point_and_basket)).start()
    try:
        bad = run([team_boxscores], server, warehouse, SYNTHETIC_DAYS)
    finally:
        server.stop()
    assert not bad.success
    sums = evaluations(bad)["team_boxscores:players_sum_to_team"]
    assert sums["state"] == "failed" and sums["blocks"]
    assert sums["failing_dates"] == ["2024-11-02"] and set(sums["columns_off"]) >= {"pts", "fgm"}
    assert snapshot(warehouse, "team_boxscores") == good_team


def swap_result(headers: list[str], rows: list[list]) -> None:
    """W 86 vs L 112: the two rows of one game trade W and L, nothing else."""
    day = _rows_on(headers, rows, "2025-11-03")
    game = day[0][headers.index("GAME_ID")]
    for row in (r for r in day if r[headers.index("GAME_ID")] == game):
        row[headers.index("WL")] = "L" if row[headers.index("WL")] == "W" else "W"


def test_winner_with_fewer_points_is_quarantined(corrupted_recordings, warehouse):
    bad = run([team_boxscores], corrupted_recordings(swap_result), warehouse, REAL_DAYS)
    assert not bad.success
    found = evaluations(bad)["team_boxscores:winner_scored_more"]
    assert found["state"] == "failed" and found["failing_dates"] == ["2025-11-03"]
    assert found["failing_games"] and "did not score more points" in found["message"]
    assert evaluations(bad)["team_boxscores:two_teams_one_winner"]["state"] == "passed"
    assert not (warehouse / "team_boxscores").exists()


def schedule_before_tipoff(endpoint: str, params: Mapping[str, str], body: dict) -> bool:
    """The schedule as copied before the games were played: every game still 'scheduled'."""
    if endpoint != "scheduleleaguev2":
        return False
    for day in body["leagueSchedule"]["gameDates"]:
        for game in day["games"]:
            game["gameStatus"], game["gameStatusText"] = 1, "7:30 pm ET"
    return True


def test_a_dropped_game_fails_even_when_the_schedule_predates_it(league, warehouse):
    early = ReplayServer(CorruptingBackend(league, schedule_before_tipoff)).start()
    try:
        materialize_schedule(early, warehouse)
    finally:
        early.stop()
    copied = published(warehouse, "schedule", seasons=["2024-25"])
    assert set(copied["game_status"]) == {1}
    server = ReplayServer(CorruptingBackend(league, drop_one_game)).start()
    try:
        bad = run([team_boxscores], server, warehouse, ("2024-11-04", "2024-11-05"))
        # the stale copy could not vouch for the days: the run refreshed it before judging
        assert len(server.requests_for("scheduleleaguev2")) == 1
    finally:
        server.stop()
    present = evaluations(bad)["team_boxscores:scheduled_games_present"]
    assert not bad.success and present["state"] == "failed"
    assert present["failing_games"] == ["0022400100"]
    fresh = published(warehouse, "schedule", seasons=["2024-25"])
    assert set(fresh.loc[fresh["game_id"] == "0022400100", "game_status"]) == {3}


def test_a_backfill_keeps_the_schedule_current_at_one_request_per_season(synthetic, warehouse):
    """No schedule published: a two-season backfill of both tables asks for each season's
    schedule once (the player step finds the team step's copy current), and completeness
    runs against it instead of skipping; a rerun whose copy vouches for the days asks none."""
    days = ("2024-04-12", "2024-10-25")  # the end of 2023-24 and the start of 2024-25
    result = run([team_boxscores, player_boxscores], synthetic, warehouse, days)
    assert result.success
    asked = sorted(r["params"]["Season"] for r in synthetic.requests_for("scheduleleaguev2"))
    assert asked == ["2023-24", "2024-25"]
    present = evaluations(result)["team_boxscores:scheduled_games_present"]
    assert present["state"] == "passed" and present["scheduled_games"] > 0, present
    refreshed = [
        e.partition
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey("schedule")
    ]
    assert sorted(refreshed) == ["2023-24", "2024-25"]  # in the asset graph, not only on disk
    stored = published(warehouse, "schedule")
    assert set(stored["season"]) == {"2023-24", "2024-25"}
    # both seasons in one commit, each row naming the response it came from
    assert [v["version"] for v in delta.history(str(warehouse), "schedule")] == [0]
    by_season = stored.groupby("season")["source_sha256"].unique()
    assert all(len(hashes) == 1 for hashes in by_season) and by_season.map(tuple).is_unique
    synthetic.reset()
    assert run([team_boxscores], synthetic, warehouse, ("2024-10-22", "2024-10-25")).success
    assert synthetic.requests_for("scheduleleaguev2") == []


def stray_rows(endpoint: str, params: Mapping[str, str], body: dict) -> bool:
    """The API ignores DateFrom: a game of 2024-10-30 comes back with the days asked for."""
    if endpoint != "leaguegamelog" or params.get("PlayerOrTeam") != "T":
        return False
    entry = body["resultSets"][0]
    date = entry["headers"].index("GAME_DATE")
    extra = [list(r) for r in entry["rowSet"][:2]]
    for row in extra:
        row[date] = "2024-10-30"
    entry["rowSet"] = extra + entry["rowSet"]
    return True


def test_rows_outside_the_request_are_a_warning_not_published(league, warehouse):
    server = ReplayServer(CorruptingBackend(league, stray_rows)).start()
    try:
        result = run([team_boxscores], server, warehouse, SYNTHETIC_DAYS)
    finally:
        server.stop()
    assert result.success
    [audit] = audits(result).values()
    assert audit.severity == dg.AssetCheckSeverity.WARN and not audit.passed
    stray = evaluations(result)["team_boxscores:rows_outside_request"]
    assert stray["state"] == "failed" and not stray["blocks"] and stray["failing_rows"] == 2
    assert stray["stray_dates"] == ["2024-10-30"] and "2 row(s)" in stray["message"]
    rows = published(warehouse, "team_boxscores")
    assert str(rows["game_date"].min()) >= SYNTHETIC_DAYS[0]
