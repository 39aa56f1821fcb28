"""The snapshot's one reader of the warehouse: daily box-score partitions, local or s3://.

A stand-in for `nba_assets.read` (the season layer's read API): when that lands, `read_days`
is the single function to swap; it also returns the content hash of every file it read, which
the manifest records as the partition's data version.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

from nba_assets.io.storage import as_upath
from nba_assets.schemas import TableSpec


@dataclass(frozen=True)
class Partition:
    """One daily file as read: its key, rows and the sha256 of its bytes (its data version)."""

    day: str
    rows: int
    sha256: str


class MissingPartitionsError(FileNotFoundError):
    """Days the snapshot needs that the warehouse has never materialized."""


def read_days(
    warehouse: str, spec: TableSpec, days: Iterable[dt.date]
) -> tuple[pa.Table, list[Partition]]:
    """Every row of `spec`'s daily files for `days`, cast to its schema; all days must exist."""
    root = as_upath(warehouse) / spec.name
    schema = spec.arrow_schema()
    tables, partitions, missing = [], [], []
    for day in days:
        path = root / f"{day.isoformat()}.parquet"
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            missing.append(day.isoformat())
            continue
        table = pq.read_table(pa.BufferReader(data), use_threads=False)
        tables.append(table.select(schema.names).cast(schema).replace_schema_metadata(None))
        partitions.append(
            Partition(day.isoformat(), table.num_rows, hashlib.sha256(data).hexdigest())
        )
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise MissingPartitionsError(
            f"{root}: {len(missing)} partition(s) of {spec.name} never materialized ({shown}); "
            f"materialize them in Dagster (--partition-range {missing[0]}...{missing[-1]}) "
            "or narrow extract.start/end in params.yaml"
        )
    table = pa.concat_tables(tables) if tables else schema.empty_table()
    return table, partitions
