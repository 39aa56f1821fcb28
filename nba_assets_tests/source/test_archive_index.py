"""The archive's index `raw_responses`: verdicts appended per run, lookups only from published
responses, read once and kept current, one GET per lookup on S3.

Real parts: the archive's files, Delta tables on local disk and on moto's S3 server (through a
counting HTTP proxy on loopback), another Python process writing beside this one.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import requests
import s3fs
from nba_api.stats.endpoints import LeagueGameLog
from upath import UPath

from nba_assets.assets.provenance import request_record
from nba_assets.io import delta
from nba_assets.io.storage import as_upath
from nba_assets.source import index
from nba_assets.source.archive import RawArchive, sha256_text
from nba_assets.source.index import (
    INDEX_TABLE,
    read_table,
    read_verdicts,
    record_published,
    record_rejected,
    request_key,
)
from nba_assets_tests.conftest import make_client

LOG = "leaguegamelog"
SEASON = {
    "Counter": "0",
    "Direction": "ASC",
    "LeagueID": "00",
    "PlayerOrTeam": "T",
    "Season": "2025-26",
    "SeasonType": "Regular Season",
    "Sorter": "DATE",
}
T0 = dt.datetime(2025, 12, 20, tzinfo=dt.UTC)


def window(first: str, last: str, **extra: str) -> dict[str, str]:
    return {**SEASON, "DateFrom": first, "DateTo": last, **extra}


def archive_of(warehouse: Path | str) -> RawArchive:
    """A fresh archive, as a new client builds it: its index is read at the first lookup."""
    return RawArchive(as_upath(warehouse) / "raw", str(warehouse))


def store(
    archive: RawArchive, params: dict[str, str], body: str, fetched_at: dt.datetime = T0
) -> dict:
    """Archive one response; returns the provenance record a run would hand to record_*."""
    sha = sha256_text(body)
    path = archive.store(
        LOG,
        params,
        status=200,
        content_type="application/json",
        body_text=body,
        sha256=sha,
        url="test",
        recorded_at=fetched_at.isoformat(),
    )
    return {
        "endpoint": LOG,
        "params": params,
        "sha256": sha,
        "archive": "raw/" + str(path).rsplit("/raw/", 1)[-1],
        "fetched_at": fetched_at.isoformat(),
    }


def version_of(warehouse: Path | str) -> int:
    return delta.open_table(str(warehouse), INDEX_TABLE).version()


def test_one_append_commit_per_call_with_every_column(warehouse):
    archive = archive_of(warehouse)
    first = store(archive, window("11/01/2025", "11/07/2025"), '{"a": 1}')
    second = store(archive, window("11/08/2025", "11/14/2025"), '{"a": 2}', T0 + dt.timedelta(1))
    no_request = {"endpoint": None, "covers": ["2025-07-01", "2025-07-31"], "note": "no games"}
    record_published(str(warehouse), [first, second, first, no_request], "team_boxscores", 4, "r1")
    assert version_of(warehouse) == 0
    record_rejected(str(warehouse), [], "team_boxscores", ["points_add_up"], "r2")
    record_rejected(str(warehouse), [no_request], "team_boxscores", ["points_add_up"], "r2")
    assert version_of(warehouse) == 0  # nothing to judge: no commit
    record_rejected(str(warehouse), [second], "team_boxscores", ["points_add_up"], "r3")
    assert version_of(warehouse) == 1
    _, table = read_table(str(warehouse))
    rows = table.to_pylist()
    assert [(r["sha256"], r["verdict"]) for r in rows] == [
        (first["sha256"], "published"),
        (second["sha256"], "published"),
        (second["sha256"], "rejected"),
    ]
    row = rows[0]
    assert row["request_key"] == request_key(LOG, first["params"])
    assert row["endpoint"] == LOG and json.loads(row["params"]) == first["params"]
    assert (row["date_from"], row["date_to"]) == (dt.date(2025, 11, 1), dt.date(2025, 11, 7))
    assert row["archive"] == first["archive"]
    assert row["fetched_at"] == T0
    assert (row["table"], row["delta_version"], row["rules"], row["run_id"]) == (
        "team_boxscores",
        4,
        [],
        "r1",
    )
    assert rows[2]["rules"] == ["points_add_up"] and rows[2]["delta_version"] is None
    assert rows[2]["recorded_at"] > rows[0]["recorded_at"]


def test_only_a_response_whose_latest_verdict_is_published_answers(warehouse):
    archive = archive_of(warehouse)
    params = window("11/01/2025", "11/07/2025")
    record = store(archive, params, '{"rows": 1}')
    narrower = window("11/02/2025", "11/03/2025")
    # archived but never judged (its run died before the audit): never an answer
    assert archive.find(LOG, params) is not None
    assert archive.find_published(LOG, params) is None
    assert archive.find_covering(LOG, narrower) is None
    steps = [
        (record_published, "team_boxscores", 0, True),
        (record_rejected, "team_boxscores", ["two_teams_one_winner"], False),
        (record_published, "team_boxscores", 2, True),
    ]
    for i, (record_verdict, table, detail, answers) in enumerate(steps):
        record_verdict(str(warehouse), [record], table, detail, f"run-{i}")
        for reader in (archive, archive_of(warehouse)):  # kept current, and read afresh
            assert (reader.find_published(LOG, params) is not None) is answers
            assert (reader.find_covering(LOG, narrower) is not None) is answers


def test_covering_lookups_need_the_same_selection_a_wider_window_and_a_late_fetch(warehouse):
    archive = archive_of(warehouse)
    record = store(archive, window("10/21/2025", "11/30/2025"), '{"season": 1}')
    record_published(str(warehouse), [record], "team_boxscores", 0, "r1")
    archive = archive_of(warehouse)
    hit = archive.find_covering(LOG, window("11/03/2025", "11/09/2025"))
    assert hit is not None and hit.sha256 == record["sha256"] and hit.body_text == '{"season": 1}'
    assert hit.params == record["params"]  # the wider request: the caller narrows the body
    assert archive.find_covering(LOG, window("11/25/2025", "12/05/2025")) is None
    assert archive.find_covering(LOG, window("11/03/2025", "11/09/2025", Season="2024-25")) is None
    assert archive.find_covering(LOG, window("11/03/2025", "11/09/2025", Sorter="PTS")) is not None
    # only answers the API gave after the window settled count
    assert archive.find_covering(LOG, window("11/03/2025", "11/09/2025"), "2025-12-21") is None
    assert archive.find_covering(LOG, window("11/03/2025", "11/09/2025"), "2025-12-19") is not None


def test_the_newest_published_answer_wins_and_a_refetch_counts_as_new(warehouse):
    archive = archive_of(warehouse)
    params = window("11/01/2025", "11/07/2025")
    old = store(archive, params, '{"ast": 20}', T0)
    new = store(archive, params, '{"ast": 22}', T0 + dt.timedelta(days=1))
    record_published(str(warehouse), [old], "team_boxscores", 0, "r1")
    record_published(str(warehouse), [new], "team_boxscores", 1, "r2")
    assert archive.find_published(LOG, params).sha256 == new["sha256"]
    # the correction is reverted: the API gives the old bytes again, and they are published
    again = store(archive, params, '{"ast": 20}', T0 + dt.timedelta(days=2))
    record_published(str(warehouse), [again], "team_boxscores", 2, "r3")
    for reader in (archive, archive_of(warehouse)):
        found = reader.find_published(LOG, params)
        assert found.sha256 == old["sha256"]
        assert found.recorded_at == (T0 + dt.timedelta(days=2)).isoformat(timespec="microseconds")


def write_in_another_process(warehouse: Path, record: dict, run_id: str) -> None:
    code = (
        "import json, sys; from nba_assets.source.index import record_published; "
        "record_published(sys.argv[1], [json.loads(sys.argv[2])], 'team_boxscores', 9, sys.argv[3])"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(warehouse), json.dumps(record), run_id], check=True
    )


def test_the_index_is_read_once_and_kept_current_by_this_process_writes(warehouse):
    archive = archive_of(warehouse)
    first = store(archive, window("11/01/2025", "11/07/2025"), '{"w": 1}')
    record_published(str(warehouse), [first], "team_boxscores", 0, "r1")
    assert archive.find_published(LOG, first["params"]) is not None  # loaded: version 0
    # another process's verdict is not seen until the index is read again
    second = store(archive, window("11/08/2025", "11/14/2025"), '{"w": 2}')
    write_in_another_process(warehouse, second, "elsewhere")
    assert archive.find_published(LOG, second["params"]) is None
    archive.index.reload()
    assert archive.find_published(LOG, second["params"]) is not None
    # this process's verdicts are folded in as written, with no read of the table
    third = store(archive, window("11/15/2025", "11/21/2025"), '{"w": 3}')
    record_published(str(warehouse), [third], "team_boxscores", 2, "r3")
    assert archive.find_published(LOG, third["params"]) is not None
    assert archive.index._version == version_of(warehouse) == 2
    # a commit of another process between ours and the last read: the index reads it again
    fourth = store(archive, window("11/22/2025", "11/28/2025"), '{"w": 4}')
    fifth = store(archive, window("11/29/2025", "11/30/2025"), '{"w": 5}')
    write_in_another_process(warehouse, fourth, "elsewhere")
    record_published(str(warehouse), [fifth], "team_boxscores", 4, "r5")
    assert archive.find_published(LOG, fourth["params"]) is not None
    assert archive.find_published(LOG, fifth["params"]) is not None
    assert len(archive.index) == 5


def test_a_window_cut_from_a_wider_answer_is_judged_as_that_answer(warehouse):
    archive = archive_of(warehouse)
    wide = store(archive, window("10/21/2025", "11/30/2025"), '{"season": 1}')
    record_published(str(warehouse), [wide], "team_boxscores", 0, "r1")
    narrow = window("11/03/2025", "11/09/2025")
    assert archive.find_covering(LOG, narrow) is not None  # the settled lookup that cut it
    cut = {**wide, "params": narrow, "from_archive": True}  # as request_record writes it
    del cut["fetched_at"]  # an older record: the index knows when the API gave the bytes
    record_rejected(str(warehouse), [cut], "team_boxscores", ["points_add_up"], "r2")
    latest = read_verdicts(str(warehouse))[-1]
    assert latest.request_key == request_key(LOG, wide["params"])
    assert latest.params == wide["params"] and latest.fetched_at == T0
    assert archive_of(warehouse).find_covering(LOG, narrow) is None
    # no live index knows the wider request: its parameters come from its archived file
    other = Path(str(warehouse) + "-copy")
    shutil.copytree(warehouse / "raw", other / "raw")
    record_published(str(other), [cut], "team_boxscores", 0, "r3")
    [verdict] = read_verdicts(str(other))
    assert verdict.params == wide["params"] and verdict.archive == wide["archive"]


def test_a_missing_or_altered_file_is_not_an_answer(warehouse):
    archive = archive_of(warehouse)
    params = window("11/01/2025", "11/07/2025")
    record = store(archive, params, '{"pts": 110}')
    record_published(str(warehouse), [record], "team_boxscores", 0, "r1")
    path = warehouse / record["archive"]
    stored = json.loads(path.read_text())
    stored["response"]["body_text"] = '{"pts": 112}'
    path.write_text(json.dumps(stored))
    assert archive_of(warehouse).find_published(LOG, params) is None
    path.unlink()
    assert archive_of(warehouse).find_published(LOG, params) is None


def test_many_small_appends_are_compacted_and_the_index_stays_current(warehouse):
    archive = archive_of(warehouse)
    records = [
        store(archive, window("11/01/2025", "11/07/2025", Season=f"{1990 + i}"), f'{{"i": {i}}}')
        for i in range(index.MAX_FILES + 3)
    ]
    assert archive.find_published(LOG, records[0]["params"]) is None  # loaded while empty
    for i, record in enumerate(records):
        record_published(str(warehouse), [record], "team_boxscores", i, f"r{i}")
    table = delta.open_table(str(warehouse), INDEX_TABLE)
    assert len(table.file_uris()) <= index.MAX_FILES
    assert archive.index._version == table.version() == len(records)  # one optimize among them
    for reader in (archive, archive_of(warehouse)):
        assert all(reader.find_published(LOG, r["params"]) is not None for r in records)


def test_a_fetch_carries_its_time_into_provenance_and_the_index(replay, warehouse):
    client = make_client(replay, warehouse)
    fetched = client.fetch(
        LeagueGameLog,
        required={"LeagueGameLog": ["GAME_ID"]},
        league_id="00",
        season="2025-26",
        season_type_all_star="Regular Season",
        player_or_team_abbreviation="T",
        date_from_nullable="11/01/2025",
        date_to_nullable="11/07/2025",
    )
    record = request_record(fetched, (dt.date(2025, 11, 1), dt.date(2025, 11, 7)))
    assert record["fetched_at"] == fetched.fetched_at
    record_published(str(warehouse), [record], "team_boxscores", 0, "r1")
    found = client.archive.find_covering(fetched.endpoint, fetched.params, "2025-11-15")
    assert found is not None and found.sha256 == fetched.sha256
    assert found.recorded_at == dt.datetime.fromisoformat(fetched.fetched_at).isoformat(
        timespec="microseconds"
    )


# -- S3 -------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Proxy:
    """The counting proxy (its own process) in front of moto."""

    def __init__(self, target_port: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "nba_assets_tests.source.counting_proxy", str(target_port)],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.url = f"http://127.0.0.1:{int(self.process.stdout.readline())}"

    def seen(self) -> list[tuple[str, str]]:
        return [tuple(r) for r in requests.get(self.url + "/__proxy__/seen", timeout=10).json()]

    def clear(self) -> None:
        requests.post(self.url + "/__proxy__/clear", timeout=10).raise_for_status()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def moto_server(port: int) -> subprocess.Popen:
    """moto's S3 in server mode, in its own process (see counting_proxy on the GIL)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
            return process
        except requests.ConnectionError:
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError("moto server did not start")


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Proxy]]:
    """A bucket on moto's S3 server, and a counting proxy in front of it."""
    port = free_port()
    moto = moto_server(port)
    proxy = Proxy(port)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    # fsspec caches filesystems by their arguments: one made by an earlier test would still
    # point at that test's (stopped) moto server
    s3fs.S3FileSystem.clear_instance_cache()
    bucket = f"warehouse-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}").create_bucket(Bucket=bucket)
    yield f"s3://{bucket}/nba", proxy
    proxy.stop()
    moto.terminate()
    moto.wait(10)


def test_on_s3_a_lookup_after_the_index_is_read_costs_one_get(s3, monkeypatch):
    warehouse, proxy = s3
    writer = RawArchive(UPath(warehouse) / "raw", warehouse)
    records = [
        store(writer, window("11/01/2025", "11/30/2025", Season=f"{2000 + i}"), f'{{"i": {i}}}')
        for i in range(20)
    ]
    record_published(warehouse, records, "team_boxscores", 0, "r1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)  # from here on, every request is counted
    archive = RawArchive(UPath(warehouse, endpoint_url=proxy.url) / "raw", warehouse)
    archive.index.reload()
    assert proxy.seen(), "the index was read through the proxy"
    for record in records[:5]:
        proxy.clear()
        found = archive.find_published(LOG, record["params"])
        assert found is not None and found.sha256 == record["sha256"]
        assert [method for method, _ in proxy.seen()] == ["GET"]  # the body; the budget is 2
        proxy.clear()
        narrower = {**record["params"], "DateFrom": "11/10/2025", "DateTo": "11/12/2025"}
        assert archive.find_covering(LOG, narrower).sha256 == record["sha256"]
        assert [method for method, _ in proxy.seen()] == ["GET"]


def test_find_unrejected_reuses_what_no_audit_rejected(warehouse):
    archive = archive_of(warehouse)
    params = window("11/01/2025", "11/07/2025")
    first = store(archive, params, '{"v": 1}')
    # fetched by a run that died before its verdict: reusable, but not published
    assert archive.find_unrejected(LOG, params).sha256 == first["sha256"]
    assert archive.find_published(LOG, params) is None
    record_rejected(str(warehouse), [first], "team_boxscores", ["points_add_up"], "r1")
    assert archive.find_unrejected(LOG, params) is None
    second = store(archive, params, '{"v": 2}')
    record_published(str(warehouse), [second], "team_boxscores", 0, "r2")
    assert archive.find_unrejected(LOG, params).sha256 == second["sha256"]
    third = store(archive, params, '{"v": 3}')  # newer, never judged
    found = archive.find_unrejected(LOG, params)
    assert found.sha256 == third["sha256"] and found.params == params
    assert archive.find_published(LOG, params).sha256 == second["sha256"]
    assert archive.find_unrejected(LOG, window("12/01/2025", "12/07/2025")) is None
