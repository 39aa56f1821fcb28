"""The raw response archive: every response exactly as received, servable by the replay server."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping

from upath import UPath

from nba_assets.io.storage import write_atomic


def request_key(endpoint: str, params: Mapping[str, str]) -> str:
    """A stable short name for one request (endpoint + every parameter)."""
    canonical = json.dumps({"endpoint": endpoint, "params": dict(params)}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


class RawArchive:
    """Content-addressed store under `<warehouse>/raw/<endpoint>/<request>/<sha256>.json`.

    Content addressing makes re-fetching the same bytes a no-op write and keeps every
    distinct answer the API ever gave to the same request (stat corrections included).
    """

    def __init__(self, root: UPath) -> None:
        self.root = root

    def path_for(self, endpoint: str, params: Mapping[str, str], sha256: str) -> UPath:
        return self.root / endpoint / request_key(endpoint, params) / f"{sha256}.json"

    def store(
        self,
        endpoint: str,
        params: Mapping[str, str],
        *,
        status: int,
        content_type: str,
        body_text: str,
        sha256: str,
        url: str,
    ) -> UPath:
        """Write one validated response (atomically); returns where it lives."""
        path = self.path_for(endpoint, params, sha256)
        if path.exists():
            return path
        record = {
            "request": {"method": "GET", "endpoint": endpoint, "params": dict(params)},
            "response": {
                "status": status,
                "content_type": content_type,
                "body_text": body_text,
                "sha256": sha256,
            },
            "source": url,
            "recorded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        write_atomic(path, json.dumps(record, ensure_ascii=False, indent=1).encode("utf-8"))
        return path

    def find(self, endpoint: str, params: Mapping[str, str]) -> dict | None:
        """The newest archived response to exactly this request (its record), or None.

        What makes a long backfill resumable: a request already answered costs nothing.
        """
        folder = self.root / endpoint / request_key(endpoint, params)
        if not folder.exists():
            return None
        records = [json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*.json")]
        records = [r for r in records if r.get("request", {}).get("params") == dict(params)]
        if not records:
            return None
        return max(records, key=lambda r: r.get("recorded_at", ""))


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
