"""Recorded stats.nba.com responses (shared fixtures or our own raw archive), looked up by request."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from nba_assets.source.protocol import NotServed, date_window, parse_api_date, selecting_params
from nba_assets.source.validation import result_sets

#: Endpoints whose rows carry GAME_DATE and which the real API narrows by DateFrom/DateTo.
SEASON_LEVEL_ENDPOINTS = frozenset({"leaguegamelog", "leaguegamefinder", "playergamelog"})


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str
    text: str


@dataclass(frozen=True)
class Recording:
    endpoint: str
    params: dict[str, str]
    status: int
    content_type: str
    text: str
    recorded_at: str = ""

    @property
    def selecting(self) -> dict[str, str]:
        return selecting_params(self.params)

    @property
    def window(self) -> tuple[dt.date | None, dt.date | None]:
        return date_window(self.params)


def load_recording(path: Path) -> Recording | None:
    """One recordings-format file (`body` or exact `body_text`); None for anything else."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict) or "request" not in data or "response" not in data:
        return None
    request, response = data["request"], data["response"]
    if "body_text" in response:
        text = response["body_text"]
    else:
        text = json.dumps(response.get("body"), separators=(",", ":"), ensure_ascii=False)
    return Recording(
        endpoint=str(request["endpoint"]).lower(),
        params={k: "" if v is None else str(v) for k, v in request.get("params", {}).items()},
        status=int(response.get("status", 200)),
        content_type=response.get("content_type", "application/json"),
        text=text,
        recorded_at=str(data.get("recorded_at", "")),
    )


def iter_recording_files(directory: str | os.PathLike[str]) -> Iterator[Path]:
    root = Path(directory)
    if not root.is_dir():
        raise FileNotFoundError(f"recordings directory not found: {root}")
    for path in sorted(root.rglob("*.json")):
        if path.name != "index.json":
            yield path


class RecordingsBackend:
    """Answers like stats.nba.com from recordings, narrowing season-level logs to a date window."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = str(directory)
        self._by_endpoint: dict[str, list[Recording]] = {}
        for path in iter_recording_files(directory):
            recording = load_recording(path)
            if recording is not None:
                self._by_endpoint.setdefault(recording.endpoint, []).append(recording)
        for recordings in self._by_endpoint.values():
            # newest archive answer first when the same request was recorded twice
            recordings.sort(key=lambda r: r.recorded_at, reverse=True)

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_endpoint.values())

    def respond(self, endpoint: str, params: Mapping[str, str]) -> Reply:
        wanted = selecting_params(params)
        window = date_window(params)
        candidates = [r for r in self._by_endpoint.get(endpoint, []) if r.selecting == wanted]
        for recording in candidates:
            if recording.window == window:
                return Reply(recording.status, recording.content_type, recording.text)
        if endpoint in SEASON_LEVEL_ENDPOINTS:
            for recording in candidates:
                if window_covers(recording.window, window) and recording.status == 200:
                    return Reply(
                        200, recording.content_type, narrow(recording.text, params, window)
                    )
        raise NotServed(self._not_recorded(endpoint, wanted, window))

    def _not_recorded(self, endpoint: str, wanted: dict, window: tuple) -> str:
        recorded = [
            {
                **r.selecting,
                "DateFrom": r.params.get("DateFrom", ""),
                "DateTo": r.params.get("DateTo", ""),
            }
            for r in self._by_endpoint.get(endpoint, [])
        ]
        # what IS recorded comes first: clients show only the first bytes of an error body
        return json.dumps(
            {
                "error": f"not recorded: {endpoint}",
                "recorded": recorded,
                "params": wanted,
                "window": [d.isoformat() if d else "" for d in window],
                "endpoints": sorted(self._by_endpoint),
            }
        )


def window_covers(outer: tuple, inner: tuple) -> bool:
    """Whether the (from, to) window `outer` holds all of `inner` (None = open)."""
    (outer_from, outer_to), (inner_from, inner_to) = outer, inner
    if outer_from is not None and (inner_from is None or inner_from < outer_from):
        return False
    return not (outer_to is not None and (inner_to is None or inner_to > outer_to))


def narrow(text: str, params: Mapping[str, str], window: tuple) -> str:
    """The body with only rows whose GAME_DATE falls in `window`, as the API would answer."""
    start, end = window
    body = json.loads(text)
    for entry in result_sets(body).values():
        if "GAME_DATE" not in entry["headers"]:
            continue
        column = entry["headers"].index("GAME_DATE")
        entry["rowSet"] = [
            row for row in entry["rowSet"] if _within(parse_api_date(str(row[column])), start, end)
        ]
    if isinstance(body.get("parameters"), dict):
        body["parameters"].update({k: params.get(k) or None for k in ("DateFrom", "DateTo")})
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def _within(day: dt.date, start: dt.date | None, end: dt.date | None) -> bool:
    return (start is None or day >= start) and (end is None or day <= end)
