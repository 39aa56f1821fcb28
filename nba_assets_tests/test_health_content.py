"""`health` verifies content, not only sizes and row counts: each data file's sha256 recorded
at its commit, every page decoded; and it raises no alarm over what is not a Delta table."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from nba_assets.assets.boxscores import team_boxscores
from nba_assets.io import checksums, delta
from nba_assets.quality import health
from nba_assets_tests.conftest import resources

TABLE = "team_boxscores"
DAYS = {
    "dagster/asset_partition_range_start": "2025-11-01",
    "dagster/asset_partition_range_end": "2025-11-03",
}


@pytest.fixture
def published(replay, warehouse) -> Path:
    assert dg.materialize([team_boxscores], resources=resources(replay, warehouse), tags=DAYS)
    return warehouse


def data_file(warehouse: Path) -> Path:
    [uri] = delta.open_table(str(warehouse), TABLE).file_uris()
    return Path(uri)


def problems(warehouse: Path) -> list[health.Problem]:
    return health.run_health(None, str(warehouse)).problems


def same_size(new: bytes, size: int) -> bytes:
    """Pad between the last column chunk and the footer (offsets stay valid) to `size` bytes."""
    footer = int.from_bytes(new[-8:-4], "little") + 8
    assert len(new) <= size, "the rewrite came out larger than the original"
    return new[:-footer] + b"\0" * (size - len(new)) + new[-footer:]


def test_commit_records_every_file_checksum(published):
    path = data_file(published)
    relative = path.relative_to(published / TABLE).as_posix()
    assert checksums.recorded(str(published / TABLE)) == {
        relative: checksums.sha256_file(checksums.as_upath(str(path)))
    }
    assert problems(published) == []


def test_a_file_rewritten_with_pts_plus_ten_and_the_same_row_count_and_size(published):
    path = data_file(published)
    original = path.read_bytes()
    rows = pq.read_table(path)
    rows = rows.set_column(
        rows.schema.get_field_index("pts"),
        "pts",
        pc.add(rows.column("pts"), pa.scalar(10, rows.schema.field("pts").type)),
    )
    sink = io.BytesIO()
    pq.write_table(rows, sink, compression="zstd", write_statistics=False)
    path.write_bytes(same_size(sink.getvalue(), len(original)))
    assert pq.read_table(path).num_rows == rows.num_rows  # it reads, rows and size as logged

    found = problems(published)
    assert [(p.kind, p.path.rsplit("/", 1)[-1]) for p in found] == [("checksum", path.name)]


def test_flipped_bytes_mid_file_that_still_read_are_caught(published):
    path = data_file(published)
    original = path.read_bytes()
    for at in range(len(original) // 3, len(original) // 2):
        flipped = bytearray(original)
        flipped[at] ^= 0x01
        try:
            pq.ParquetFile(pa.BufferReader(bytes(flipped))).read()
        except Exception:
            continue  # this flip breaks decoding: `unreadable` was always caught
        break
    else:
        pytest.skip("no single-bit flip in the middle third still decodes")
    path.write_bytes(bytes(flipped))

    [problem] = problems(published)
    assert problem.kind == "checksum" and path.name in problem.path


def test_no_alarm_over_a_training_snapshot_event(published, tmp_path):
    """The snapshot is DVC's, not a warehouse table: its lineage metadata raises no problem."""
    with dg.DagsterInstance.ephemeral() as instance:
        instance.report_runless_asset_event(
            dg.AssetMaterialization(
                "training_snapshot",
                metadata={
                    "delta_versions": dg.MetadataValue.json({TABLE: 0}),
                    "table_uris": dg.MetadataValue.json({TABLE: str(published / TABLE)}),
                },
            )
        )
        result = health.run_health(instance, str(published), dt.datetime.now(dt.UTC))
    assert result.problems == []
