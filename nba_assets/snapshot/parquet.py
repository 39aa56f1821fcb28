"""Parquet files whose bytes depend only on their rows: what lets two clones agree on an md5."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

#: Fixed writer settings; pyarrow's own version still shows in `created_by`, so bytes hold per lock.
ROW_GROUP_ROWS = 65_536
WRITE_OPTIONS = {
    "compression": "zstd",
    "compression_level": 3,
    "row_group_size": ROW_GROUP_ROWS,
    "use_dictionary": False,
    "write_statistics": True,
    "version": "2.6",
    "data_page_version": "1.0",
}


def single_threaded() -> None:
    """Arrow's thread pools off: a stage's work (and its float sums) happen in one fixed order."""
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)


def write_table(table: pa.Table, schema: pa.Schema, path: str | os.PathLike[str]) -> None:
    """Write `table` cast to `schema`, without schema metadata (no pandas block), atomically."""
    table = table.select(schema.names).cast(schema).replace_schema_metadata(None)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".parquet", dir=target.parent)
    os.close(fd)
    try:
        pq.write_table(table, tmp, **WRITE_OPTIONS)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(text: str, path: str | os.PathLike[str]) -> None:
    """A small text output (manifest, metrics), written atomically."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".tmp-{target.name}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)


def read_table(path: str | os.PathLike[str]) -> pa.Table:
    return pq.read_table(path, use_threads=False)
