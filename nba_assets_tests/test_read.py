"""The read API and `nba-assets sql`: one committed version of any table, locally and on S3.

Published rows come from real runs (recordings through the replay server) or straight from the
store's own commit (`delta.replace`), which is what every run calls.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import nba_assets
from nba_assets.assets.boxscores import team_boxscores
from nba_assets.assets.reference import teams
from nba_assets.io import delta
from nba_assets.query.reader import ReadError, UnknownTableError, in_order
from nba_assets.query.sql import describe_error, query
from nba_assets.schemas import TEAM_BOXSCORES, conform
from nba_assets_tests.conftest import published, resources
from nba_assets_tests.moto_process import CREDENTIALS, create_bucket, moto_server

START, END = "2025-10-21", "2025-11-30"
LAKERS = 1610612747
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def ingested(recordings_server, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """teams and 41 days of team box scores, published by real runs over the recordings."""
    warehouse = tmp_path_factory.mktemp("read") / "warehouse"
    recordings_server.reset()
    tags = {
        "dagster/asset_partition_range_start": START,
        "dagster/asset_partition_range_end": END,
    }
    res = resources(recordings_server, warehouse)
    assert dg.materialize([teams], resources=res).success
    assert dg.materialize([team_boxscores], resources=res, tags=tags).success
    return warehouse


def truth(warehouse: Path) -> pd.DataFrame:
    """The current version's declared columns of team_boxscores, as the store reads them."""
    return published(warehouse, "team_boxscores")[TEAM_BOXSCORES.names]


def test_one_version_sorted_with_seasons_columns_and_filters(ingested: Path) -> None:
    where = str(ingested)
    everything = nba_assets.read("team_boxscores", warehouse=where)
    pd.testing.assert_frame_equal(everything, truth(ingested))
    assert list(everything.columns) == TEAM_BOXSCORES.names and len(everything) > 500
    keys = everything[["game_date", "game_id", "team_id"]].astype(str).apply(tuple, axis=1)
    assert keys.is_monotonic_increasing
    pd.testing.assert_frame_equal(
        nba_assets.read("team_boxscores", "2025-26", warehouse=where), everything
    )
    assert nba_assets.read("team_boxscores", ["2018-19"], warehouse=where).empty

    columns = ["game_date", "team_id", "pts"]
    expected = everything[(everything["team_id"] == LAKERS) & (everything["pts"] >= 110)]
    expected = expected[columns].reset_index(drop=True)
    dnf = [("team_id", "=", LAKERS), ("pts", ">=", 110)]
    lakers = nba_assets.read("team_boxscores", ["2025-26"], columns, dnf, warehouse=where)
    pd.testing.assert_frame_equal(lakers, expected)
    assert 0 < len(lakers) < 20
    expression = (pc.field("team_id") == LAKERS) & (pc.field("pts") >= 110)
    pd.testing.assert_frame_equal(
        nba_assets.read("team_boxscores", columns=columns, filters=expression, warehouse=where),
        expected,
    )
    either = [[("team_id", "=", LAKERS)], [("game_date", "<", dt.date(2025, 10, 23))]]
    ors = nba_assets.read("team_boxscores", columns=columns, filters=either, warehouse=where)
    early = everything["game_date"] < dt.date(2025, 10, 23)
    assert len(ors) == ((everything["team_id"] == LAKERS) | early).sum()

    stored = nba_assets.read(
        "team_boxscores", columns=["game_id", "season", "source_sha256"], warehouse=where
    )
    assert set(stored["season"]) == {"2025-26"} and stored["source_sha256"].str.len().eq(64).all()
    franchises = nba_assets.read("teams", warehouse=where)
    assert len(franchises) >= 30 and franchises["team_id"].is_monotonic_increasing
    # a table with no declared schema (the archive index, nested columns): its stored columns
    index = nba_assets.read("raw_responses", warehouse=where)
    assert {"teams", "team_boxscores"} <= set(index["table"]) and "rules" in index.columns


def test_sql_queries_the_same_snapshot(ingested: Path) -> None:
    rows = nba_assets.read("team_boxscores", warehouse=str(ingested))
    totals = query(
        "SELECT count(*) AS n, sum(pts) AS pts, count(DISTINCT season) AS seasons FROM team_boxscores",
        warehouse=str(ingested),
    )
    assert totals.iloc[0].tolist() == [len(rows), int(rows["pts"].sum()), 1]
    joined = query(
        "SELECT t.abbreviation, count(*) AS games FROM team_boxscores b JOIN teams t USING (team_id) "
        "GROUP BY 1 ORDER BY 1",
        warehouse=str(ingested),
    )
    assert joined["games"].sum() == len(rows) and "LAL" in set(joined["abbreviation"])


def test_errors_name_the_table_column_season_or_warehouse(ingested: Path, tmp_path: Path) -> None:
    where = str(ingested)
    cases = [
        (UnknownTableError, "unknown table 'points_table'", {"table": "points_table"}),
        (ReadError, r"no column\(s\) \['points'\]", {"columns": ["points"]}),
        (ReadError, "not a season", {"seasons": "2025"}),
        (delta.TableMissingError, "no table 'schedule'", {"table": "schedule"}),
        (delta.TableMissingError, "team_boxscores: no version 7", {"version": 7}),
        (delta.TableMissingError, "no version at or before", {"as_of": "2001-01-01T00:00:00"}),
        (ReadError, "teams has no seasons", {"table": "teams", "seasons": "2025-26"}),
        (ReadError, "operator", {"filters": [("pts", "~", 3)]}),
    ]
    for error, message, args in cases:
        with pytest.raises(error, match=message):
            nba_assets.read(**{"table": "team_boxscores", "warehouse": where, **args})
    with pytest.raises(delta.TableMissingError, match=f"no warehouse at {tmp_path}/nowhere"):
        nba_assets.read("teams", warehouse=str(tmp_path / "nowhere"))


SQL_ERRORS = [
    ("SELEC 1", "Parser Error"),
    ("SELECT * FROM nope", "unknown table(s) nope"),
    ("SELECT points FROM team_boxscores", 'column "points" not found'),
    ("SELECT * FROM schedule", "no table 'schedule'"),
]


def test_sql_errors_name_what_is_wrong(ingested: Path) -> None:
    for sql, message in SQL_ERRORS:
        with pytest.raises(Exception) as caught:
            query(sql, warehouse=str(ingested))
        assert message in (describe_error(caught.value) or ""), (sql, caught.value)


@pytest.mark.parametrize(("sql", "message"), [SQL_ERRORS[0], SQL_ERRORS[3]])
def test_sql_cli_errors_are_one_line_without_a_traceback(
    ingested: Path, sql: str, message: str
) -> None:
    proc = subprocess.run(
        [BIN / "nba-assets", "sql", sql, "--warehouse", str(ingested)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.count("\n") == 1 and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.startswith("nba-assets sql: ")


# -- commits made straight through the store ------------------------------------------------------

#: Days in two seasons: a commit of the whole range removes and adds a file in each.
DAYS = [dt.date(2024, 4, 10) + dt.timedelta(days=n) for n in range(4)] + [
    dt.date(2024, 10, 22) + dt.timedelta(days=n) for n in range(4)
]


def box_rows(generation: int, days: Sequence[dt.date] = DAYS) -> pd.DataFrame:
    """Two games a day; every row carries `generation` (in video_available and pts)."""
    rows = []
    for n, day in enumerate(days):
        for game in range(2):
            game_id = f"00223{n:03d}{game:02d}"
            for side, team in enumerate((1610612737 + 2 * game, 1610612738 + 2 * game)):
                rows.append(
                    {
                        "game_id": game_id,
                        "game_date": day,
                        "team_id": team,
                        "pts": 100 + generation + side,
                        "video_available": generation,
                        "season_type": "Regular Season",
                    }
                )
    frame = pd.DataFrame(rows)
    for column in TEAM_BOXSCORES.names:
        if column not in frame:
            frame[column] = None
    return conform(TEAM_BOXSCORES, frame)


def commit(
    warehouse: Path | str, frame: pd.DataFrame, days: Sequence[dt.date] = DAYS
) -> delta.Commit:
    rows = delta.to_stored(TEAM_BOXSCORES, frame, "0" * 64)
    selection = delta.Selection.days(min(days), max(days))
    return delta.replace(str(warehouse), TEAM_BOXSCORES, rows, selection, {"run_id": "test"})


def test_time_travel_returns_exactly_the_earlier_rows(warehouse: Path) -> None:
    first = commit(warehouse, box_rows(0))
    v0 = nba_assets.read("team_boxscores", warehouse=str(warehouse))
    time.sleep(0.05)
    between = dt.datetime.now(dt.UTC)
    time.sleep(0.05)
    later = box_rows(1, DAYS[:2])
    second = commit(warehouse, later, DAYS[:2])
    assert (first.version, second.version) == (0, 1)
    current = nba_assets.read("team_boxscores", warehouse=str(warehouse))
    assert len(current) == len(v0) and (current["video_available"] == 1).sum() == len(later)

    pd.testing.assert_frame_equal(
        nba_assets.read("team_boxscores", version=0, warehouse=str(warehouse)), v0
    )
    pd.testing.assert_frame_equal(
        nba_assets.read("team_boxscores", as_of=between, warehouse=str(warehouse)), v0
    )
    pd.testing.assert_frame_equal(
        nba_assets.read("team_boxscores", as_of=between.isoformat(), warehouse=str(warehouse)), v0
    )
    pd.testing.assert_frame_equal(
        nba_assets.read("team_boxscores", version=1, warehouse=str(warehouse)), current
    )
    old = query(
        "SELECT max(video_available) AS g FROM team_boxscores",
        warehouse=str(warehouse),
        as_of=between,
    )
    assert old["g"].tolist() == [0]


def test_time_travel_survives_a_copy_that_resets_file_times(warehouse: Path, tmp_path: Path):
    """`as_of` goes by the time each commit records, not the log files' mtimes (`cp -r`)."""
    commit(warehouse, box_rows(0))
    v0 = nba_assets.read("team_boxscores", warehouse=str(warehouse))
    time.sleep(0.05)
    between = dt.datetime.now(dt.UTC)
    time.sleep(0.05)
    commit(warehouse, box_rows(1, DAYS[:2]), DAYS[:2])
    time.sleep(0.05)
    copy = tmp_path / "copied"
    shutil.copytree(warehouse, copy, copy_function=shutil.copyfile)  # every mtime is now
    pd.testing.assert_frame_equal(
        nba_assets.read("team_boxscores", as_of=between, warehouse=str(copy)), v0
    )


def test_a_declared_column_an_old_version_lacks_reads_as_nulls(warehouse: Path) -> None:
    from deltalake import write_deltalake

    rows = delta.to_stored(TEAM_BOXSCORES, box_rows(3), "0" * 64).drop_columns(["video_available"])
    write_deltalake(
        delta.table_uri(str(warehouse), "team_boxscores"), rows, partition_by=["season"]
    )
    old = nba_assets.read("team_boxscores", warehouse=str(warehouse))
    assert list(old.columns) == TEAM_BOXSCORES.names and old["video_available"].isna().all()
    assert str(old["video_available"].dtype) == "Int64" and (old["pts"] >= 103).all()
    commit(warehouse, box_rows(4))  # the table learns the column (schema merge)
    assert (
        nba_assets.read("team_boxscores", columns=["video_available"], warehouse=str(warehouse))[
            "video_available"
        ]
        .eq(4)
        .all()
    )
    assert (
        nba_assets.read("team_boxscores", version=0, warehouse=str(warehouse))["video_available"]
        .isna()
        .all()
    )
    with pytest.raises(ReadError, match="no column"):
        nba_assets.read(
            "team_boxscores",
            filters=[("video_available", "=", 1)],
            version=0,
            warehouse=str(warehouse),
        )


def test_a_copy_of_the_warehouse_reads_the_same_rows(warehouse: Path, tmp_path: Path) -> None:
    for generation in range(3):
        commit(warehouse, box_rows(generation, DAYS[generation:]), DAYS[generation:])
    delta.compact(str(warehouse), "team_boxscores")
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-r", str(warehouse), str(copy)], check=True)
    for version in (None, 0, 2):
        original = nba_assets.read("team_boxscores", version=version, warehouse=str(warehouse))
        copied = nba_assets.read("team_boxscores", version=version, warehouse=str(copy))
        pd.testing.assert_frame_equal(copied, original)
    versions = [delta.open_table(str(w), "team_boxscores").version() for w in (warehouse, copy)]
    assert versions[0] == versions[1] >= 2


#: The other process: reads until told to stop, one JSON line per read (two APIs per loop).
READER = textwrap.dedent(
    """
    import json, os, sys
    import nba_assets
    from nba_assets.query.reader import open_snapshot, scan_snapshot

    warehouse, stop = sys.argv[1], sys.argv[2]
    reads = 0
    while not os.path.exists(stop) or reads < 20:
        snapshot = open_snapshot("team_boxscores", warehouse=warehouse)
        rows = scan_snapshot(snapshot, columns=["video_available", "pts"]).to_pydict()
        marks = sorted(set(rows["video_available"]))
        bases = sorted({p - m for p, m in zip(rows["pts"], rows["video_available"])})
        line = {"version": snapshot.version, "rows": len(rows["pts"]), "marks": marks, "bases": bases}
        print(json.dumps(line), flush=True)
        frame = nba_assets.read("team_boxscores", columns=["pts", "video_available"], warehouse=warehouse)
        marks = sorted({int(m) for m in frame["video_available"]})
        bases = sorted({int(b) for b in frame["pts"] - frame["video_available"]})
        print(json.dumps({"rows": len(frame), "marks": marks, "bases": bases}), flush=True)
        reads += 1
    """
)


def test_a_reader_in_another_process_sees_the_old_or_the_new_version_never_a_mix(
    warehouse: Path, tmp_path: Path
) -> None:
    commit(warehouse, box_rows(0))
    stop, script, log = tmp_path / "stop", tmp_path / "reader.py", tmp_path / "reads.jsonl"
    script.write_text(READER)
    with log.open("w") as out:
        reader = subprocess.Popen(
            [sys.executable, str(script), str(warehouse), str(stop)],
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_for_first_read(log, reader)
            versions = writer_loop(warehouse, commits=30, reader=reader)
        finally:
            stop.touch()
            _, err = reader.communicate(timeout=120)
    assert reader.returncode == 0, err[-3000:]
    seen = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(seen) >= 40, f"only {len(seen)} reads"
    for read in seen:
        assert read["rows"] == len(box_rows(0)) and len(read["marks"]) == 1, read
        assert read["bases"] == [100, 101], read
    snapshots = {r["version"] for r in seen if "version" in r}
    assert len(snapshots) >= 5, f"the reader saw only versions {sorted(snapshots)} of {versions}"


def wait_for_first_read(log: Path, reader: subprocess.Popen, timeout: float = 60) -> None:
    """Commits start once the reader reads (its imports take seconds on a busy machine)."""
    deadline = time.monotonic() + timeout
    while not log.read_text():
        assert reader.poll() is None and time.monotonic() < deadline, "the reader never read"
        time.sleep(0.05)


def writer_loop(warehouse: Path, commits: int, reader: subprocess.Popen) -> list[int]:
    """Whole-range replacements (two seasons: two files out, two in), a compaction every tenth."""
    versions = []
    for generation in range(1, commits + 1):
        assert reader.poll() is None, reader.stderr.read() if reader.stderr else ""
        versions.append(commit(warehouse, box_rows(generation)).version)
        if generation % 10 == 0:
            commit(warehouse, box_rows(generation, DAYS[:1]), DAYS[:1])  # a small file beside
            commit(warehouse, box_rows(generation), DAYS)
            versions.append(delta.compact(str(warehouse), "team_boxscores")["delta_version"])
    return versions


# -- S3 ------------------------------------------------------------------------------------------


@pytest.fixture
def moto_s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A real S3-compatible server (moto, its own process) on loopback; yields a warehouse URL."""
    with moto_server() as endpoint:
        for name, value in {"AWS_ENDPOINT_URL": endpoint, **CREDENTIALS}.items():
            monkeypatch.setenv(name, value)
        create_bucket(endpoint, "nba")
        yield "s3://nba/warehouse"


def test_s3_warehouse_reads_the_same_rows(warehouse: Path, moto_s3: str) -> None:
    for where in (warehouse, moto_s3):
        commit(where, box_rows(0))
        commit(where, box_rows(1, DAYS[:3]), DAYS[:3])
    local = nba_assets.read("team_boxscores", warehouse=str(warehouse))
    pd.testing.assert_frame_equal(nba_assets.read("team_boxscores", warehouse=moto_s3), local)
    pd.testing.assert_frame_equal(
        nba_assets.read("team_boxscores", version=0, warehouse=moto_s3),
        nba_assets.read("team_boxscores", version=0, warehouse=str(warehouse)),
    )
    projected = nba_assets.read(
        "team_boxscores",
        ["2024-25"],
        ["game_id", "pts"],
        [("team_id", "=", 1610612737)],
        warehouse=moto_s3,
    )
    assert list(projected.columns) == ["game_id", "pts"] and len(projected) == 4
    with pytest.raises(delta.TableMissingError, match="no table 'teams'"):
        nba_assets.read("teams", warehouse=moto_s3)
    assert query("SELECT count(*) AS n FROM team_boxscores", warehouse=moto_s3)["n"].tolist() == [
        len(local)
    ]


def test_in_order_sorts_runs_by_slicing_and_scattered_rows_by_gathering() -> None:
    rng = np.random.default_rng(7)
    n = 50_000
    table = pa.table(
        {
            "d": pa.array(rng.integers(0, 300, n), pa.int32()).cast(pa.date32()),
            "g": pa.array([f"{x:010d}" for x in rng.integers(0, 10**6, n)]),
            "k": pa.array(rng.integers(0, 10**9, n)),
        }
    )
    order = ["d", "g", "k"]
    expected = table.sort_by([(c, "ascending") for c in order])
    runs = pa.concat_tables(
        [expected.slice(30_000), expected.slice(0, 10_000), expected.slice(10_000, 20_000)]
    )
    for shuffled in (runs, table, expected):
        assert in_order(shuffled, order).equals(expected)
    assert in_order(runs, order).column(0).num_chunks <= 3 + runs.column(0).num_chunks


def test_a_pin_of_latest_skips_versions_that_only_compacted(warehouse: Path) -> None:
    """optimize and vacuum commit versions with the same rows: DVC must not re-extract for them."""
    from nba_assets.snapshot.warehouse import pin

    for day in DAYS[:3]:  # three commits, three files in the season
        commit(warehouse, box_rows(0, [day]), [day])
    assert pin(str(warehouse), {"team_boxscores": "latest"}) == {"team_boxscores": 2}
    compacted = delta.compact(str(warehouse), "team_boxscores", max_files=1)
    assert compacted["delta_version"] == 3 and compacted["seasons_compacted"]
    assert pin(str(warehouse), {"team_boxscores": "latest"}) == {"team_boxscores": 2}
    commit(warehouse, box_rows(1, DAYS[:1]), DAYS[:1])
    assert pin(str(warehouse), {"team_boxscores": "latest"}) == {"team_boxscores": 4}
