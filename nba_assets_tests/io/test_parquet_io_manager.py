"""The Parquet IO manager on real files: layout, atomicity, ranges, provenance, determinism."""

import datetime as dt
import os

import dagster as dg
import pandas as pd
import pytest
from upath import UPath

from nba_assets.io.parquet import (
    PROVENANCE_ATTR,
    ParquetIOManager,
    parquet_bytes,
    read_frame,
    read_provenance,
)
from nba_assets.io.storage import write_atomic
from nba_assets.partitions import game_date_partitions
from nba_assets.schemas import TEAM_BOXSCORES, conform

RANGE = {
    "dagster/asset_partition_range_start": "2025-11-01",
    "dagster/asset_partition_range_end": "2025-11-03",
}


def rows(day: str, game: int, teams=(1, 2)) -> list[dict]:
    out = []
    for team in teams:
        row = {c.name: None for c in TEAM_BOXSCORES.columns}
        row.update(
            team_id=team,
            game_id=f"00225{game:05d}",
            game_date=dt.date.fromisoformat(day),
            pts=100 + team,
            plus_minus=0.0,
        )
        out.append(row)
    return out


def frame(records: list[dict], provenance=None) -> pd.DataFrame:
    table = conform(TEAM_BOXSCORES, pd.DataFrame(records))
    table.attrs[PROVENANCE_ATTR] = provenance or []
    return table


def _asset(value_fn):
    @dg.asset(
        name="team_boxscores",
        partitions_def=game_date_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def team_boxscores() -> pd.DataFrame:
        return value_fn()

    return team_boxscores


def test_range_output_is_split_one_file_per_day_and_loads_back_concatenated(tmp_path):
    provenance = [
        {"endpoint": "leaguegamelog", "covers": ["2025-11-01", "2025-11-03"]},
        {"endpoint": "x", "covers": ["2025-11-03", "2025-11-03"]},
    ]
    data = frame(
        rows("2025-11-01", 1) + rows("2025-11-03", 2) + rows("2025-11-03", 3, teams=(3, 4)),
        provenance,
    )
    upstream = _asset(lambda: data)

    @dg.asset(partitions_def=game_date_partitions, backfill_policy=dg.BackfillPolicy.single_run())
    def downstream(team_boxscores: pd.DataFrame) -> None:
        assert len(team_boxscores) == 6
        assert list(team_boxscores["game_date"].map(str)) == ["2025-11-01"] * 2 + ["2025-11-03"] * 4

    io = ParquetIOManager(warehouse=str(tmp_path))
    result = dg.materialize([upstream, downstream], resources={"io_manager": io}, tags=RANGE)
    assert result.success
    files = sorted(p.name for p in (tmp_path / "team_boxscores").iterdir())
    assert files == ["2025-11-01.parquet", "2025-11-02.parquet", "2025-11-03.parquet"]
    assert len(read_frame(UPath(tmp_path / "team_boxscores/2025-11-02.parquet"))) == 0
    assert [
        p["endpoint"]
        for p in read_provenance(UPath(tmp_path / "team_boxscores/2025-11-03.parquet"))
    ] == ["leaguegamelog", "x"]
    assert [
        p["endpoint"]
        for p in read_provenance(UPath(tmp_path / "team_boxscores/2025-11-01.parquet"))
    ] == ["leaguegamelog"]


def test_rows_outside_the_run_partitions_fail_and_write_nothing(tmp_path):
    upstream = _asset(lambda: frame(rows("2025-11-01", 1) + rows("2025-11-09", 2)))
    result = dg.materialize(
        [upstream],
        resources={"io_manager": ParquetIOManager(warehouse=str(tmp_path))},
        tags=RANGE,
        raise_on_error=False,
    )
    assert not result.success
    assert not (tmp_path / "team_boxscores").exists()


def test_single_partition_rejects_rows_of_another_day(tmp_path):
    upstream = _asset(lambda: frame(rows("2025-11-02", 1)))
    result = dg.materialize(
        [upstream],
        resources={"io_manager": ParquetIOManager(warehouse=str(tmp_path))},
        partition_key="2025-11-01",
        raise_on_error=False,
    )
    assert not result.success
    assert not (tmp_path / "team_boxscores" / "2025-11-01.parquet").exists()


def test_typed_columns_survive_the_round_trip(tmp_path):
    data = frame(rows("2025-11-01", 1))
    path = UPath(tmp_path / "t.parquet")
    write_atomic(path, parquet_bytes(TEAM_BOXSCORES, data, []))
    back = read_frame(path)
    pd.testing.assert_frame_equal(back, data)
    assert (
        back["game_date"].iloc[0] == dt.date(2025, 11, 1)
        and back["game_id"].iloc[0] == "0022500001"
    )
    assert str(back["pts"].dtype) == "Int64" and str(back["fg_pct"].dtype) == "float64"


def test_same_rows_and_provenance_give_identical_bytes():
    data = frame(rows("2025-11-01", 1))
    assert parquet_bytes(TEAM_BOXSCORES, data, [{"a": 1}]) == parquet_bytes(
        TEAM_BOXSCORES, data.copy(), [{"a": 1}]
    )
    assert parquet_bytes(TEAM_BOXSCORES, data, [{"a": 1}]) != parquet_bytes(
        TEAM_BOXSCORES, data, [{"a": 2}]
    )


def test_atomic_write_leaves_old_file_intact_when_interrupted(tmp_path, monkeypatch):
    path = UPath(tmp_path / "d" / "f.parquet")
    write_atomic(path, b"old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(path, b"new")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path / "d") == ["f.parquet"]  # no temp file left behind


def test_chunked_conversion_writes_the_same_files_as_one_chunk(tmp_path, monkeypatch):
    """Days converted to Arrow a chunk at a time (here 3 rows) give the same bytes as at once,
    whatever order the rows come in."""
    import nba_assets.io.parquet as parquet

    records = rows("2025-11-03", 2) + rows("2025-11-01", 1) + rows("2025-11-03", 3, teams=(3, 4))
    provenance = [{"endpoint": "leaguegamelog", "covers": ["2025-11-01", "2025-11-03"]}]
    written = {}
    for chunk_rows in (10_000, 3, 1):
        monkeypatch.setattr(parquet, "_CHUNK_ROWS", chunk_rows)
        warehouse = tmp_path / str(chunk_rows)
        upstream = _asset(lambda: frame(records, provenance))
        io = ParquetIOManager(warehouse=str(warehouse))
        assert dg.materialize([upstream], resources={"io_manager": io}, tags=RANGE).success
        written[chunk_rows] = {
            p.name: p.read_bytes() for p in sorted((warehouse / "team_boxscores").iterdir())
        }
    assert written[3] == written[10_000] == written[1]
    day = read_frame(UPath(tmp_path / "3" / "team_boxscores" / "2025-11-03.parquet"))
    assert list(day["team_id"]) == [1, 2, 3, 4]  # a day's rows keep the frame's order


def test_rows_without_a_game_date_are_refused(tmp_path):
    broken = frame(rows("2025-11-01", 1))
    broken.loc[1, "game_date"] = None
    result = dg.materialize(
        [_asset(lambda: broken)],
        resources={"io_manager": ParquetIOManager(warehouse=str(tmp_path))},
        tags=RANGE,
        raise_on_error=False,
    )
    assert not result.success
    [failure] = result.get_step_failure_events()
    assert "1 rows have no game_date" in str(failure.step_failure_data.error)
    assert not (tmp_path / "team_boxscores").exists()


def test_many_files_read_in_batches_as_one_frame_in_order(tmp_path, monkeypatch):
    import nba_assets.io.parquet as parquet

    monkeypatch.setattr(parquet, "_READ_BATCH", 2)
    paths = []
    for day in range(1, 6):
        path = UPath(tmp_path / f"2025-11-0{day}.parquet")
        write_atomic(path, parquet_bytes(TEAM_BOXSCORES, frame(rows(f"2025-11-0{day}", day)), []))
        paths.append(path)
    read = parquet.read_frames(paths)
    assert list(read["game_id"]) == [f"00225{d:05d}" for d in range(1, 6) for _ in (1, 2)]
    assert read.dtypes.equals(read_frame(paths[0]).dtypes)
