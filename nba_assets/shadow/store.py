"""Where a shadow lives: `<warehouse>/_shadow/<label>/`, its tables and its manifest.

The manifest (`shadow.json`) says what the shadow is: the code that derived it, the assets and
range, and for every table the published version it started from (`base_version`), the version
its inputs were copied from, and the shadow table's own version. Diff and promote read only it.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from nba_assets.io import delta
from nba_assets.io.storage import as_upath, write_atomic

SHADOW_DIR = "_shadow"
MANIFEST = "shadow.json"
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class ShadowError(RuntimeError):
    """A shadow command that cannot be done: named, with what to do instead."""


def check_label(label: str) -> str:
    if not _LABEL.match(label):
        raise ShadowError(
            f"shadow label {label!r}: use letters, digits, '.', '_' or '-' (at most 64)"
        )
    return label


def shadow_warehouse(warehouse: str, label: str) -> str:
    """`<warehouse>/_shadow/<label>`: a warehouse of its own (local path or s3:// URL)."""
    check_label(label)
    if delta.is_remote(warehouse):
        return f"{warehouse.rstrip('/')}/{SHADOW_DIR}/{label}"
    return os.path.join(os.path.abspath(warehouse.removeprefix("file://")), SHADOW_DIR, label)


def exists(warehouse: str, label: str) -> bool:
    return (as_upath(shadow_warehouse(warehouse, label)) / MANIFEST).exists()


def read_manifest(warehouse: str, label: str) -> dict[str, Any]:
    path = as_upath(shadow_warehouse(warehouse, label)) / MANIFEST
    if not path.exists():
        known = labels(warehouse)
        raise ShadowError(
            f"no shadow {label!r} in {warehouse}"
            + (f" (shadows: {', '.join(known)})" if known else " (no shadows: `shadow run` first)")
        )
    return json.loads(path.read_bytes())


def write_manifest(warehouse: str, label: str, manifest: dict[str, Any]) -> None:
    path = as_upath(shadow_warehouse(warehouse, label)) / MANIFEST
    write_atomic(path, json.dumps(manifest, indent=2, sort_keys=True, default=str).encode())


def labels(warehouse: str) -> list[str]:
    root = as_upath(warehouse) / SHADOW_DIR
    if not root.exists():
        return []
    return sorted(p.name for p in root.iterdir() if (p / MANIFEST).exists())


def remove(warehouse: str, label: str) -> None:
    """Delete the shadow's tables, archive copy and manifest (the manifest last goes first)."""
    root = as_upath(shadow_warehouse(warehouse, label))
    (root / MANIFEST).unlink()
    root.fs.rm(root.path, recursive=True)
