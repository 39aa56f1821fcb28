"""The real nba_api client against the replay server on loopback, with every fault it injects."""

import itertools
import json
import time

import pytest
from nba_api.stats.endpoints import CommonTeamYears, LeagueGameLog

from nba_assets.source.errors import (
    RequestRejectedError,
    RetriesExhaustedError,
    SchemaDriftError,
)
from nba_assets.source.recordings import RecordingsBackend
from nba_assets.source.validation import validate_body
from nba_assets_tests.conftest import fixture_body, make_client

REQUIRED = {"LeagueGameLog": ["GAME_ID", "GAME_DATE", "PTS"]}


def fetch_week(client, **dates):
    return client.fetch(
        LeagueGameLog,
        required=REQUIRED,
        league_id="00",
        season="2025-26",
        season_type_all_star="Regular Season",
        player_or_team_abbreviation="T",
        date_from_nullable=dates.get("date_from", "11/01/2025"),
        date_to_nullable=dates.get("date_to", "11/07/2025"),
    )


def expected_week_rows() -> list[list]:
    rows = fixture_body("leaguegamelog-d25cde14d9.json")["resultSets"][0]["rowSet"]
    return [r for r in rows if "2025-11-01" <= r[5] <= "2025-11-07"]


def archive_files(warehouse):
    return sorted((warehouse / "raw").rglob("*.json")) if (warehouse / "raw").exists() else []


def assert_archive_complete(warehouse):
    """Every archived response is whole: its body validates and its sha256 matches."""
    from nba_assets.source.archive import sha256_text

    for path in archive_files(warehouse):
        record = json.loads(path.read_text())
        text = record["response"]["body_text"]
        assert sha256_text(text) == record["response"]["sha256"] == path.stem
        validate_body(
            text,
            endpoint=record["request"]["endpoint"],
            params=record["request"]["params"],
            required={},
        )


def test_fetch_narrows_a_recorded_season_to_the_asked_dates(replay, warehouse):
    client = make_client(replay, warehouse)
    fetched = fetch_week(client)
    assert fetched.body["resultSets"][0]["rowSet"] == expected_week_rows()
    assert fetched.params["DateFrom"] == "11/01/2025" and fetched.params["Season"] == "2025-26"
    assert client.stats.requests == 1 and client.stats.retries == 0 and client.stats.bytes > 1000
    [logged] = replay.requests_for("leaguegamelog")
    assert logged["params"]["SeasonType"] == "Regular Season"
    # the archive holds the exact bytes, replayable by the same server code
    [path] = archive_files(warehouse)
    backend = RecordingsBackend(warehouse / "raw")
    reply = backend.respond("leaguegamelog", fetched.params)
    assert reply.text == json.loads(path.read_text())["response"]["body_text"]


def test_same_response_twice_is_archived_once(replay, warehouse):
    client = make_client(replay, warehouse)
    first, second = fetch_week(client), fetch_week(client)
    assert first.sha256 == second.sha256 and first.archive_path == second.archive_path
    assert len(archive_files(warehouse)) == 1


@pytest.mark.parametrize(
    "fault",
    [
        {"server_error": 2},
        {"truncate": 1},
        {"html": 1},
        {"empty": 1},
        {"rate_limit": 1, "retry_after": 0.3},
        {"hang": 1, "hang_seconds": 2.0},
    ],
    ids=["5xx", "truncated", "html", "empty-json", "429", "hang"],
)
def test_transient_faults_are_retried_then_succeed_with_the_right_data(replay, warehouse, fault):
    replay.faults.update(fault)
    client = make_client(replay, warehouse, request_timeout=1.0)
    failures = next(v for k, v in fault.items() if isinstance(v, int))
    started = time.monotonic()
    fetched = fetch_week(client)
    assert fetched.body["resultSets"][0]["rowSet"] == expected_week_rows()
    assert fetched.attempts == failures + 1
    assert client.stats.requests == failures + 1 and client.stats.retries == failures
    assert len(replay.requests_for("leaguegamelog")) == failures + 1
    if "retry_after" in fault:  # Retry-After is honoured
        assert time.monotonic() - started >= 0.3
    assert len(archive_files(warehouse)) == 1
    assert_archive_complete(warehouse)


def test_retry_after_is_capped(replay, warehouse):
    replay.faults.update({"rate_limit": 1, "retry_after": 3600})
    client = make_client(replay, warehouse, max_retry_after=0.2)
    started = time.monotonic()
    fetch_week(client)
    assert 0.2 <= time.monotonic() - started < 5


def test_persistent_failure_gives_up_with_a_message_naming_endpoint_params_and_bytes(
    replay, warehouse
):
    replay.faults.update({"html": 10})
    client = make_client(replay, warehouse, max_attempts=3)
    with pytest.raises(RetriesExhaustedError) as info:
        fetch_week(client)
    message = str(info.value)
    assert (
        "leaguegamelog" in message and "'Season': '2025-26'" in message and "11/01/2025" in message
    )
    assert "HTML" in message and "Access Denied" in message and "after 3 attempt" in message
    assert len(replay.requests_for("leaguegamelog")) == 3
    assert archive_files(warehouse) == []


def test_hang_past_timeout_every_time_fails_within_bounds(replay, warehouse):
    replay.faults.update({"hang": 10, "hang_seconds": 3.0})
    client = make_client(replay, warehouse, max_attempts=2, request_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(RetriesExhaustedError, match="timed out"):
        fetch_week(client)
    assert time.monotonic() - started < 3
    assert archive_files(warehouse) == []


def test_dropped_column_is_schema_drift_without_retry(replay, warehouse):
    replay.faults.update({"drop_column": "PTS"})
    client = make_client(replay, warehouse)
    with pytest.raises(SchemaDriftError, match=r"lacks column\(s\) \['PTS'\]"):
        fetch_week(client)
    assert len(replay.requests_for("leaguegamelog")) == 1
    assert archive_files(warehouse) == []


def test_unrecorded_request_is_rejected_at_once_with_what_is_recorded(replay, warehouse):
    client = make_client(replay, warehouse)
    with pytest.raises(RequestRejectedError, match="HTTP 404") as info:
        client.fetch(
            LeagueGameLog,
            required=REQUIRED,
            league_id="00",
            season="2019-20",
            season_type_all_star="Regular Season",
            player_or_team_abbreviation="T",
        )
    assert "not recorded" in str(info.value) and "2025-26" in info.value.first_bytes
    assert len(replay.requests_for("leaguegamelog")) == 1


def test_min_request_interval_spaces_requests(replay, warehouse):
    client = make_client(replay, warehouse, min_request_interval=0.25)
    for _ in range(3):
        client.fetch(CommonTeamYears, required={"TeamYears": ["TEAM_ID"]}, league_id="00")
    times = [r["time"] for r in replay.requests_for("commonteamyears")]
    assert len(times) == 3
    assert all(b - a >= 0.24 for a, b in itertools.pairwise(times))
    assert client.stats.wait_seconds >= 0.4


def test_requests_carry_extra_headers_and_no_stats_host_header(replay, warehouse):
    client = make_client(replay, warehouse, extra_headers={"X-Team": "data-eng"})
    headers = client.request_headers()
    assert headers["X-Team"] == "data-eng" and "Host" not in headers
    assert headers["Accept-Encoding"] == "gzip, deflate"


@pytest.mark.parametrize("source", ["replay", "synthetic"])
def test_offline_sources_start_their_own_loopback_server(source, warehouse):
    from nba_assets.source.client import NbaStatsClient
    from nba_assets_tests.conftest import FIXTURES

    client = NbaStatsClient(
        source=source,
        recordings=str(FIXTURES),
        synthetic_seasons="2024-25",
        warehouse=str(warehouse),
        min_request_interval=0,
    )
    assert client.resolved_base_url().startswith("http://127.0.0.1:")
    fetched = client.fetch(CommonTeamYears, required={"TeamYears": ["TEAM_ID"]}, league_id="00")
    assert len(fetched.body["resultSets"][0]["rowSet"]) == (45 if source == "replay" else 30)


def test_latency_within_the_timeout_costs_time_not_attempts(replay, warehouse):
    replay.faults.update({"latency": 0.3})
    client = make_client(replay, warehouse, request_timeout=2.0)
    fetched = fetch_week(client)
    assert fetched.attempts == 1 and client.stats.seconds >= 0.3
    assert fetched.body["resultSets"][0]["rowSet"] == expected_week_rows()


def test_requests_go_through_the_configured_proxy(replay, warehouse):
    # the replay server also answers proxy-style absolute URLs, so it can stand in for a proxy:
    # an unresolvable API host proves the request went to the proxy
    proxy = replay.url.removesuffix("/stats")
    client = make_client(replay, warehouse, base_url="http://stats.nba.invalid/stats", proxy=proxy)
    fetched = fetch_week(client)
    assert fetched.body["resultSets"][0]["rowSet"] == expected_week_rows()
    assert fetched.url.startswith("http://stats.nba.invalid/stats/leaguegamelog?")


def test_trickling_body_is_abandoned_at_the_deadline_and_retried(replay, warehouse):
    # 10 bytes every 0.5 s: each socket read succeeds, so only a whole-request deadline stops it
    replay.faults.update({"trickle": 1, "trickle_bytes": 10, "trickle_seconds": 0.5})
    client = make_client(replay, warehouse, request_timeout=1.0, max_attempts=2)
    started = time.monotonic()
    fetched = fetch_week(client)
    assert time.monotonic() - started < 2.5
    assert fetched.attempts == 2
    assert fetched.body["resultSets"][0]["rowSet"] == expected_week_rows()
    assert_archive_complete(warehouse)


def test_trickling_body_every_time_fails_within_the_deadline(replay, warehouse):
    replay.faults.update({"trickle": 5, "trickle_bytes": 10, "trickle_seconds": 0.5})
    client = make_client(replay, warehouse, request_timeout=1.0, max_attempts=1)
    started = time.monotonic()
    with pytest.raises(RetriesExhaustedError, match="timed out"):
        fetch_week(client)
    assert time.monotonic() - started < 1.8
    assert archive_files(warehouse) == []
