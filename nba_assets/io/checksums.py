"""The sha256 of every data file, recorded when a commit adds it, so `health` can verify content.

The Delta log records each file's size and row count, not its bytes: a file rewritten with
the same row count (pts+10) or with flipped bytes mid-page still matches the log and, if the
damage is in a value, still reads. So each commit that adds files records their sha256 beside
the log, in `<table>/_checksums/<version>.json` ({path: sha256}); `_`-prefixed folders are not
data to Delta, vacuum or health's orphan scan.
"""

from __future__ import annotations

import hashlib
import json

import pyarrow as pa
from deltalake import DeltaTable
from upath import UPath

from nba_assets.io.storage import as_upath, write_atomic

CHECKSUMS_DIR = "_checksums"


def sha256_file(path: UPath) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def recorded(uri: str) -> dict[str, str]:
    """Every data file's recorded sha256 ({path relative to the table: sha256})."""
    folder = as_upath(uri) / CHECKSUMS_DIR
    if not folder.exists():
        return {}
    found: dict[str, str] = {}
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".json"):
            found.update(json.loads(entry.read_text()))
    return found


def record(uri: str, delta: DeltaTable) -> int:
    """Hash the files of `delta`'s version that no earlier commit recorded; returns how many.

    Called right after a commit, so the bytes hashed are those the commit published.
    """
    paths = pa.table(delta.get_add_actions(flatten=True)).column("path").to_pylist()
    known = recorded(uri)
    root = as_upath(uri)
    new = {path: sha256_file(root / path) for path in paths if path not in known}
    if new:
        name = f"{delta.version():020d}.json"
        write_atomic(root / CHECKSUMS_DIR / name, json.dumps(new, sort_keys=True).encode())
    return len(new)
