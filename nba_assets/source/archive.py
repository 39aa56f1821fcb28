"""The raw response archive: every response exactly as received, servable by the replay server."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from upath import UPath

from nba_assets.io.storage import write_atomic
from nba_assets.source.protocol import date_window, selecting_params
from nba_assets.source.recordings import window_covers

#: Beside each request's responses: the request itself, so lookups need not open big bodies.
REQUEST_FILE = "request.txt"


def request_key(endpoint: str, params: Mapping[str, str]) -> str:
    """A stable short name for one request (endpoint + every parameter)."""
    canonical = json.dumps({"endpoint": endpoint, "params": dict(params)}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ArchivedResponse:
    """One archived answer: the request it answered, its exact text and where it lives."""

    endpoint: str
    params: dict[str, str]
    body_text: str
    sha256: str
    recorded_at: str
    path: UPath


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
            # microseconds: two answers to the same request within a second still order
            "recorded_at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
        }
        request_file = path.parent / REQUEST_FILE
        if not request_file.exists():
            request = {"endpoint": endpoint, "params": dict(params)}
            write_atomic(request_file, json.dumps(request, sort_keys=True).encode("utf-8"))
        write_atomic(path, json.dumps(record, ensure_ascii=False, indent=1).encode("utf-8"))
        return path

    def find(self, endpoint: str, params: Mapping[str, str]) -> ArchivedResponse | None:
        """The newest archived response to exactly this request, or None."""
        return self._newest(self.root / endpoint / request_key(endpoint, params))

    def find_covering(
        self, endpoint: str, params: Mapping[str, str], recorded_after: str = ""
    ) -> ArchivedResponse | None:
        """The newest archived response to this request or to a wider one that holds it.

        Wider: the same parameters except a date window (DateFrom/DateTo) that contains the
        wanted one. The caller narrows the body to its window. Only answers recorded after
        `recorded_after` (an ISO date or time) count: an older one may predate corrections.
        """
        wanted, window = selecting_params(params), date_window(params)
        exact = self.find(endpoint, params)
        found = [exact] if exact is not None else []
        for archived_params, directory in self._requests(endpoint):
            if selecting_params(archived_params) != wanted:
                continue
            if window_covers(date_window(archived_params), window):
                newest = self._newest(directory)
                if newest is not None:
                    found.append(newest)
        found = [r for r in found if r.recorded_at > recorded_after]
        return max(found, key=lambda r: r.recorded_at, default=None)

    def size_bytes(self) -> int:
        """Bytes the archive holds (every response and request file)."""
        if not self.root.exists():
            return 0
        return sum(int(p.stat().st_size) for p in self.root.rglob("*") if p.is_file())

    def _requests(self, endpoint: str):
        folder = self.root / endpoint
        if not folder.exists():
            return
        for directory in folder.iterdir():
            if not directory.is_dir():
                continue
            request_file = directory / REQUEST_FILE
            if request_file.exists():
                params = json.loads(request_file.read_text(encoding="utf-8"))["params"]
            else:  # archived before request files existed: read a response's request
                newest = self._newest(directory)
                if newest is None:
                    continue
                params = newest.params
            yield params, directory

    def _newest(self, directory: UPath) -> ArchivedResponse | None:
        if not directory.exists():
            return None
        records = [_load(p) for p in directory.glob("*.json") if p.name != REQUEST_FILE]
        return max(records, key=lambda r: r.recorded_at, default=None)


def _load(path: UPath) -> ArchivedResponse:
    data = json.loads(path.read_text(encoding="utf-8"))
    request, response = data["request"], data["response"]
    return ArchivedResponse(
        endpoint=request["endpoint"],
        params={k: "" if v is None else str(v) for k, v in request["params"].items()},
        body_text=response["body_text"],
        sha256=response["sha256"],
        recorded_at=str(data.get("recorded_at", "")),
        path=path,
    )


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
