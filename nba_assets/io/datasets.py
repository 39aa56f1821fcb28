"""Many Parquet files read as one Arrow dataset: one scan, local or on S3, provenance merged."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Sequence

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
from upath import UPath

from nba_assets.io.storage import is_local

PROVENANCE_KEY = b"nba_assets.provenance"


def list_files(directory: UPath, suffix: str = ".parquet") -> dict[str, float]:
    """File name -> modification time (POSIX seconds) of every `suffix` file in `directory`.

    One listing (paginated LIST calls on S3) instead of one existence check per file.
    """
    if is_local(directory):  # os.scandir: fsspec's local ls costs several stats per file
        try:
            with os.scandir(os.fspath(directory.path)) as found:
                return {
                    e.name: e.stat().st_mtime
                    for e in found
                    if e.is_file() and e.name.endswith(suffix) and not e.name.startswith(".")
                }
        except FileNotFoundError:
            return {}
    try:
        entries = directory.fs.ls(directory.path, detail=True, refresh=True)
    except FileNotFoundError:
        return {}
    files = {}
    for entry in entries:
        name = entry["name"].rstrip("/").rsplit("/", 1)[-1]
        if entry.get("type") == "file" and name.endswith(suffix) and not name.startswith("."):
            files[name] = _mtime(entry)
    return files


def _mtime(entry: dict) -> float:
    value = entry.get("mtime", entry.get("LastModified", entry.get("last_modified", 0)))
    if isinstance(value, dt.datetime):
        return value.timestamp()
    return float(value or 0)


def dataset(paths: Sequence[UPath], schema: pa.Schema | None = None) -> ds.Dataset:
    """One dataset over files of one filesystem; the local disk is read by Arrow's own code."""
    if not paths:
        raise ValueError("no files to read")
    if is_local(paths[0]):
        return ds.dataset([os.fspath(p.path) for p in paths], schema=schema, format="parquet")
    return ds.dataset(
        [p.path for p in paths], schema=schema, format="parquet", filesystem=paths[0].fs
    )


def merged_provenance(data: ds.Dataset) -> list[dict]:
    """The set of provenance records of every file, deduplicated and in a stable order."""
    records: dict[str, dict] = {}
    for fragment in data.get_fragments():
        meta = fragment.physical_schema.metadata or {}
        for record in json.loads(meta.get(PROVENANCE_KEY, b"[]")):
            records.setdefault(json.dumps(record, sort_keys=True), record)
    return [records[k] for k in sorted(records)]


def to_frame(table: pa.Table) -> pd.DataFrame:
    """Arrow to pandas with nullable integers, as every table of the warehouse is typed."""
    return table.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
