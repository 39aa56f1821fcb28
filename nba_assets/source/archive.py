"""The raw response archive: every response exactly as received, servable by the replay server.

The bytes live in files; what was done with them lives in the index table `raw_responses`
(`nba_assets.source.index`). Lookups that reuse a response (settled windows, archived games)
read only the index, and only responses whose latest verdict is `published` answer them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from dagster import get_dagster_logger
from upath import UPath

from nba_assets.io.storage import write_atomic
from nba_assets.source.index import ResponseIndex, Verdict, request_key

__all__ = [
    "REQUEST_FILE",
    "ArchivedResponse",
    "RawArchive",
    "now_iso",
    "request_key",
    "sha256_text",
]

#: Beside each request's responses: the request itself, for people and tools browsing the files.
REQUEST_FILE = "request.txt"


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
    `index` (read once per archive, so once per client) says which of them were published.
    """

    def __init__(self, root: UPath, warehouse: str | None = None) -> None:
        self.root = root
        self.index = ResponseIndex(warehouse if warehouse is not None else str(root.parent))

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
        recorded_at: str | None = None,
    ) -> UPath:
        """Write one validated response (atomically); returns where it lives.

        `recorded_at`: when it was fetched (ISO, UTC); now if not given. The same bytes
        fetched again keep their first file; the index records every later fetch.
        """
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
            "recorded_at": recorded_at or now_iso(),
        }
        request_file = path.parent / REQUEST_FILE
        if not request_file.exists():
            request = {"endpoint": endpoint, "params": dict(params)}
            write_atomic(request_file, json.dumps(request, sort_keys=True).encode("utf-8"))
        write_atomic(path, json.dumps(record, ensure_ascii=False, indent=1).encode("utf-8"))
        return path

    def find_published(self, endpoint: str, params: Mapping[str, str]) -> ArchivedResponse | None:
        """The published response to exactly this request (the newest one), or None.

        Never a rejected response, nor one no audit has judged. Reads the index (loaded once)
        and then only this response's file: one GET on S3.
        """
        return self._read(self.index.published(endpoint, params))

    def find_covering(
        self, endpoint: str, params: Mapping[str, str], recorded_after: str = ""
    ) -> ArchivedResponse | None:
        """The newest published response to this request or to a wider one that holds it.

        Wider: the same parameters except a date window (DateFrom/DateTo) that contains the
        wanted one. The caller narrows the body to its window. Only answers the API gave after
        `recorded_after` (an ISO date or time) count: an older one may predate corrections.
        Like `find_published`, only a response whose latest verdict is `published` answers.
        """
        return self._read(self.index.published_covering(endpoint, params, recorded_after))

    def find(self, endpoint: str, params: Mapping[str, str]) -> ArchivedResponse | None:
        """The newest archived response to exactly this request, judged or not, or None.

        For inspection: it lists the request's folder and ignores verdicts. Reuse a response
        through `find_published` or `find_covering`.
        """
        return self._newest(self.root / endpoint / request_key(endpoint, params))

    def size_bytes(self) -> int:
        """Bytes the archive holds (every response and request file)."""
        if not self.root.exists():
            return 0
        return sum(int(p.stat().st_size) for p in self.root.rglob("*") if p.is_file())

    def find_unrejected(self, endpoint: str, params: Mapping[str, str]) -> ArchivedResponse | None:
        """The newest response to exactly this request that no audit rejected, or None.

        Published, or archived by a run that ended before its verdict (a long play-by-play
        backfill that died is resumed without asking again for what it had fetched). Lists
        this request's folder, then reads one file: 2 requests on S3.
        """
        key = request_key(endpoint, params)
        best: tuple[dt.datetime, str, dt.datetime | None] | None = None
        for sha256, modified in _responses_in(self.root / endpoint / key):
            standing = self.index.standing(key, sha256)
            if standing is not None and not standing.published:
                continue
            fetched = standing.fetched_at if standing is not None else None
            candidate = (fetched or modified, sha256, fetched)
            best = candidate if best is None or candidate[:2] > best[:2] else best
        return None if best is None else self._response(endpoint, key, best[1], best[2])

    def _read(self, verdict: Verdict | None) -> ArchivedResponse | None:
        if verdict is None:
            return None
        return self._response(
            verdict.endpoint, verdict.request_key, verdict.sha256, verdict.fetched_at
        )

    def _response(
        self, endpoint: str, key: str, sha256: str, fetched_at: dt.datetime | None
    ) -> ArchivedResponse | None:
        """One archived response, read with one GET; None if its file is gone or altered.

        `fetched_at`: when the API last gave these bytes (the index knows; the file keeps
        only the first time).
        """
        path = self.root / endpoint / key / f"{sha256}.json"
        try:
            response = _parse(path, _read_bytes(path))
        except FileNotFoundError:
            get_dagster_logger().warning(f"raw archive: {path} is indexed but missing")
            return None
        if sha256_text(response.body_text) != sha256:
            get_dagster_logger().warning(f"raw archive: {path} does not hold the indexed bytes")
            return None
        if fetched_at is None:
            return response
        return dataclasses.replace(
            response, recorded_at=fetched_at.isoformat(timespec="microseconds")
        )

    def _newest(self, directory: UPath) -> ArchivedResponse | None:
        if not directory.exists():
            return None
        records = [_load(p) for p in directory.glob("*.json") if p.name != REQUEST_FILE]
        return max(records, key=lambda r: r.recorded_at, default=None)


def _responses_in(folder: UPath) -> list[tuple[str, dt.datetime]]:
    """(sha256, last modified) of every response file in one request's folder: one listing."""
    try:
        entries = folder.fs.ls(folder.path, detail=True)
    except FileNotFoundError:
        return []
    found = []
    for entry in entries:
        name = str(entry["name"]).rsplit("/", 1)[-1]
        if entry.get("type") == "file" and name.endswith(".json") and not name.startswith("."):
            found.append((name.removesuffix(".json"), _modified(entry)))
    return found


def _modified(entry: dict) -> dt.datetime:
    """A listing entry's modification time: `LastModified` on S3, `mtime` on local disk."""
    when = entry.get("LastModified") or entry.get("mtime") or 0
    if isinstance(when, dt.datetime):
        return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    return dt.datetime.fromtimestamp(float(when), dt.UTC)


def _read_bytes(path: UPath) -> bytes:
    """A file's bytes; on S3 with one GET (s3fs would first ask the size, to split big reads)."""
    if path.protocol in ("s3", "s3a"):
        return path.fs.cat_file(path.path, max_concurrency=1)
    return path.read_bytes()


def _load(path: UPath) -> ArchivedResponse:
    return _parse(path, path.read_bytes())


def _parse(path: UPath, data: bytes) -> ArchivedResponse:
    record = json.loads(data)
    request, response = record["request"], record["response"]
    return ArchivedResponse(
        endpoint=request["endpoint"],
        params={k: "" if v is None else str(v) for k, v in request["params"].items()},
        body_text=response["body_text"],
        sha256=response["sha256"],
        recorded_at=str(record.get("recorded_at", "")),
        path=path,
    )


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def now_iso() -> str:
    """Now in UTC with microseconds: two answers to one request within a second still order."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
