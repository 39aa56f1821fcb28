"""Checks every response body before anything is archived or parsed."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import orjson

from nba_assets.source.errors import MalformedResponseError, SchemaDriftError


def result_sets(body: Mapping) -> dict[str, dict]:
    """The legacy `resultSets`/`resultSet` entries by name."""
    raw = body.get("resultSets", body.get("resultSet"))
    entries = [raw] if isinstance(raw, dict) else list(raw or [])
    return {
        entry["name"]: entry for entry in entries if isinstance(entry, dict) and "name" in entry
    }


def validate_body(
    text: str,
    *,
    endpoint: str,
    params: Mapping[str, str],
    required: Mapping[str, Sequence[str]],
) -> dict:
    """Parse `text` and prove it holds the result sets and columns `required` names.

    Malformed bodies raise the retryable MalformedResponseError; missing result sets or
    columns raise SchemaDriftError, which no retry can fix.
    """

    malformed = _malformed_factory(endpoint, params, text)
    body = parse_document(text, endpoint=endpoint, params=params)
    if "resultSets" not in body and "resultSet" not in body:
        if required and all(name in body for name in required):
            return _validate_nested(body, required, malformed, endpoint, params, text)
        raise malformed("no resultSets in the JSON document")
    sets = result_sets(body)
    for name, entry in sets.items():
        _check_shape(name, entry, malformed)
    for name, columns in required.items():
        if name not in sets:
            raise SchemaDriftError(
                f"result set {name!r} missing (got {sorted(sets)})",
                endpoint=endpoint,
                params=params,
                first_bytes=text,
            )
        missing = [c for c in columns if c not in sets[name]["headers"]]
        if missing:
            raise SchemaDriftError(
                f"result set {name!r} lacks column(s) {missing}",
                endpoint=endpoint,
                params=params,
                first_bytes=text,
            )
    return body


def _malformed_factory(endpoint: str, params: Mapping[str, str], text: str):
    def malformed(detail: str) -> MalformedResponseError:
        return MalformedResponseError(detail, endpoint=endpoint, params=params, first_bytes=text)

    return malformed


def _loads(text: str) -> object:
    """orjson first (a season of player lines: ~50 ms, the standard library's ~135 ms); what
    it refuses (NaN, integers past 64 bits) goes to the standard library, which judges."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def parse_document(text: str, *, endpoint: str, params: Mapping[str, str]) -> dict:
    """The body as a non-empty JSON object; block pages, truncation and `{}` are retryable."""
    malformed = _malformed_factory(endpoint, params, text)
    stripped = text.lstrip()
    if not stripped:
        raise malformed("empty body")
    if stripped.startswith("<"):
        raise malformed("an HTML/XML page instead of JSON (block page or error page)")
    try:
        body = _loads(text)
    except json.JSONDecodeError as exc:
        raise malformed(f"body is not complete JSON ({exc.msg} at char {exc.pos})") from None
    if not isinstance(body, dict) or not body:
        raise malformed("an empty JSON document ({}) instead of result sets")
    return body


def validate_live_body(
    text: str, *, endpoint: str, params: Mapping[str, str], required: Sequence[str]
) -> dict:
    """A live-feed document (no result sets): JSON holding the top-level keys `required` names."""
    body = parse_document(text, endpoint=endpoint, params=params)
    missing = [key for key in required if key not in body]
    if missing:
        raise SchemaDriftError(
            f"live document lacks {missing} (got {sorted(body)[:10]})",
            endpoint=endpoint,
            params=params,
            first_bytes=text,
        )
    return body


def _check_shape(name: str, entry: Mapping, malformed) -> None:
    headers, rows = entry.get("headers"), entry.get("rowSet")
    if not isinstance(headers, list) or not isinstance(rows, list):
        raise malformed(f"result set {name!r} has no headers/rowSet lists")
    width = len(headers)
    for index, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != width:
            raise malformed(f"result set {name!r} row {index} does not have {width} values")


def _validate_nested(
    body: dict,
    required: Mapping[str, Sequence[str]],
    malformed,
    endpoint: str,
    params: Mapping[str, str],
    text: str,
) -> dict:
    """V3 endpoints (PlayByPlayV3) nest their data under a key instead of resultSets:
    `required` then names that key and the fields it must hold."""
    for name, fields in required.items():
        entry = body[name]
        if not isinstance(entry, dict):
            raise malformed(f"{name!r} is not a JSON object")
        missing = [f for f in fields if f not in entry]
        if missing:
            raise SchemaDriftError(
                f"{name!r} lacks field(s) {missing}",
                endpoint=endpoint,
                params=params,
                first_bytes=text,
            )
        # a finished game's play-by-play is never empty: an empty list is a bad answer, retried
        # and never archived (a later run would otherwise replay it instead of asking again)
        empty = [f for f in fields if isinstance(entry[f], list) and not entry[f]]
        if empty:
            raise malformed(f"{name!r} has an empty {', '.join(empty)} list")
    return body
