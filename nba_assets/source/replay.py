"""A loopback HTTP server that speaks the stats.nba.com protocol from recordings or the synthetic league.

The unmodified nba_api client talks to it, so retries, timeouts and parsing are exercised
for real. Faults (latency, 429 bursts, 5xx, hangs, truncated/HTML/empty bodies, a dropped
column) are switched on by flags or at run time through `POST /__replay__/faults`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, TextIO
from urllib.parse import parse_qsl, urlsplit

from nba_assets.source.protocol import NotServed
from nba_assets.source.recordings import RecordingsBackend, Reply

ADMIN_PREFIX = "/__replay__/"
#: Live-feed documents are served under this path; their request names start with `live/`.
LIVE_PATH = "/live"
BLOCK_PAGE = "<html><head><title>Access Denied</title></head><body>Access Denied</body></html>"


class Backend(Protocol):
    def respond(self, endpoint: str, params: Mapping[str, str]) -> Reply: ...


class SyntheticBackend:
    """The synthetic league behind the same protocol as the recordings."""

    def __init__(self, seed: int, seasons: str) -> None:
        from nba_assets.source.synthetic import SyntheticLeague, parse_season_range

        first, last = parse_season_range(seasons)
        self.league = SyntheticLeague(seed=seed, first_season=first, last_season=last)

    def respond(self, endpoint: str, params: Mapping[str, str]) -> Reply:
        body = self.league.respond(endpoint, params)
        return Reply(
            200, "application/json; charset=utf-8", json.dumps(body, separators=(",", ":"))
        )

    def set_clock(self, payload: Mapping[str, Any]) -> dict:
        """Game nights: the simulated now (and the stats log's lag behind a final)."""
        from nba_assets.source.synthetic.live import parse_clock

        self.league.clock, self.league.game_log_lag = parse_clock(payload)
        return {
            "now": self.league.clock.isoformat(),
            "game_log_lag_seconds": self.league.game_log_lag.total_seconds(),
        }


@dataclass
class Faults:
    """What the next requests suffer; counts go down as faults are served."""

    latency: float = 0.0
    rate_limit: int = 0
    retry_after: float = 1.0
    server_error: int = 0
    hang: int = 0
    hang_seconds: float = 5.0
    truncate: int = 0
    html: int = 0
    empty: int = 0
    drop_column: str = ""
    #: answer N requests by sending the body `trickle_bytes` at a time, `trickle_seconds` apart
    trickle: int = 0
    trickle_bytes: int = 10
    trickle_seconds: float = 0.5

    def update(self, values: Mapping[str, Any]) -> None:
        known = {f.name: f.type for f in fields(self)}
        for key, value in values.items():
            if key not in known:
                raise KeyError(f"unknown fault {key!r}; known: {sorted(known)}")
            setattr(self, key, type(getattr(self, key))(value))

    def take(self, name: str) -> bool:
        """Use up one of a counted fault."""
        if getattr(self, name) > 0:
            setattr(self, name, getattr(self, name) - 1)
            return True
        return False


class ReplayServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        backend: Backend,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Faults | None = None,
        echo: TextIO | None = None,
    ):
        super().__init__((host, port), _Handler)
        self.backend = backend
        self.echo = echo  # where to print one line per request (the CLI passes stderr)
        self.faults = faults or Faults()
        self.log: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def root(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def url(self) -> str:
        """The stats API's base URL (NBA_STATS_BASE_URL)."""
        return f"{self.root}/stats"

    @property
    def live_url(self) -> str:
        """The live feed's base URL (NBA_LIVE_BASE_URL): `/live/scoreboard/...`, `/live/odds/...`."""
        return f"{self.root}{LIVE_PATH}"

    def start(self) -> ReplayServer:
        self._thread = threading.Thread(
            target=self.serve_forever, name="replay-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def requests_for(self, endpoint: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.log if endpoint is None or r["endpoint"] == endpoint]

    def reset(self) -> None:
        with self.lock:
            self.log.clear()
            self.faults = Faults()


class _Handler(BaseHTTPRequestHandler):
    server: ReplayServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes; no 40 ms stall

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.echo is not None:
            self.server.echo.write(f"{self.log_date_time_string()} {format % args}\n")
            self.server.echo.flush()

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path.startswith(ADMIN_PREFIX):
            self._admin_get(parts.path[len(ADMIN_PREFIX) :])
            return
        endpoint = _endpoint_of(parts.path)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        with self.server.lock:
            entry = {"endpoint": endpoint, "params": params, "time": time.time()}
            self.server.log.append(entry)
            faults = self.server.faults
            fault = self._pick_fault(faults)
            latency, drop = faults.latency, faults.drop_column
            hang_seconds, retry_after = faults.hang_seconds, faults.retry_after
            trickle = (faults.trickle_bytes, faults.trickle_seconds)
        entry["fault"] = fault
        if latency:
            time.sleep(latency)
        if fault == "hang":
            time.sleep(hang_seconds)
        if fault == "rate_limit":
            self._send(
                429,
                "application/json",
                '{"message":"Too Many Requests"}',
                {"Retry-After": f"{retry_after:g}"},
            )
            return
        if fault == "server_error":
            self._send(503, "text/html", "<html><body>503 Service Unavailable</body></html>")
            return
        if fault == "html":
            self._send(200, "text/html", BLOCK_PAGE)
            return
        if fault == "empty":
            self._send(200, "application/json", "{}")
            return
        try:
            reply = self.server.backend.respond(endpoint, params)
        except NotServed as exc:
            self._send(404, "application/json", _as_json_error(str(exc)))
            return
        text = _drop_column(reply.text, drop) if drop else reply.text
        if fault == "truncate":
            text = text[: max(1, len(text) // 2)]
        self._send(
            reply.status, reply.content_type, text, trickle=trickle if fault == "trickle" else None
        )

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        payload = json.loads(self.rfile.read(length) or b"{}")
        action = parts.path[len(ADMIN_PREFIX) :] if parts.path.startswith(ADMIN_PREFIX) else ""
        if action == "faults":
            try:
                with self.server.lock:
                    self.server.faults.update(payload)
            except (KeyError, ValueError) as exc:
                self._send(400, "application/json", json.dumps({"error": str(exc)}))
                return
            self._send(200, "application/json", json.dumps(asdict(self.server.faults)))
        elif action == "clock":
            set_clock = getattr(self.server.backend, "set_clock", None)
            if set_clock is None:
                self._send(
                    400, "application/json", '{"error":"only the synthetic league has a clock"}'
                )
                return
            try:
                self._send(200, "application/json", json.dumps(set_clock(payload)))
            except ValueError as exc:
                self._send(400, "application/json", json.dumps({"error": str(exc)}))
        elif action == "reset":
            self.server.reset()
            self._send(200, "application/json", "{}")
        else:
            self._send(404, "application/json", '{"error":"unknown admin action"}')

    def _admin_get(self, action: str) -> None:
        if action == "log":
            self._send(200, "application/json", json.dumps(self.server.requests_for()))
        elif action == "faults":
            self._send(200, "application/json", json.dumps(asdict(self.server.faults)))
        else:
            self._send(404, "application/json", '{"error":"unknown admin action"}')

    @staticmethod
    def _pick_fault(faults: Faults) -> str | None:
        for name in ("hang", "rate_limit", "server_error", "truncate", "html", "empty", "trickle"):
            if faults.take(name):
                return name
        return None

    def _send(
        self,
        status: int,
        content_type: str,
        text: str,
        headers: Mapping[str, str] | None = None,
        trickle: tuple[int, float] | None = None,
    ) -> None:
        """One response; `trickle` (bytes, seconds) sends the body slowly, a chunk at a time."""
        data = text.encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            if trickle is None:
                self.wfile.write(data)
                return
            size, pause = trickle
            for start in range(0, len(data), max(size, 1)):
                self.wfile.write(data[start : start + max(size, 1)])
                self.wfile.flush()
                time.sleep(pause)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test); nothing to tell it


def _endpoint_of(path: str) -> str:
    """`/stats/leaguegamelog` -> `leaguegamelog`; `/live/odds/odds_todaysGames.json` ->
    `live/odds/odds_todaysgames.json` (the live client archives under the same name)."""
    if path.startswith(LIVE_PATH + "/"):
        return "live/" + path[len(LIVE_PATH) + 1 :].strip("/").lower()
    return path.rstrip("/").rsplit("/", 1)[-1].lower()


def _as_json_error(message: str) -> str:
    try:
        json.loads(message)
        return message
    except json.JSONDecodeError:
        return json.dumps({"error": message})


def _drop_column(text: str, column: str) -> str:
    """Schema drift: remove `column` from every result set that has it."""
    body = json.loads(text)
    sets = body.get("resultSets") or []
    for entry in sets if isinstance(sets, list) else [sets]:
        if column in entry.get("headers", []):
            index = entry["headers"].index(column)
            entry["headers"].pop(index)
            for row in entry["rowSet"]:
                row.pop(index)
    return json.dumps(body, separators=(",", ":"))


def make_backend(
    source: str, recordings: str = "", seed: int = 2026, seasons: str = "1996-97:2025-26"
) -> Backend:
    if source == "replay":
        return RecordingsBackend(recordings)
    if source == "synthetic":
        return SyntheticBackend(seed, seasons)
    raise ValueError(f"no loopback backend for source {source!r}")


_EMBEDDED: dict[tuple, ReplayServer] = {}
_EMBEDDED_LOCK = threading.Lock()


def embedded_server(source: str, recordings: str, seed: int, seasons: str) -> ReplayServer:
    """Start (once per process) a loopback server for `replay`/`synthetic`."""
    key = (source, recordings, seed, seasons)
    with _EMBEDDED_LOCK:
        if key not in _EMBEDDED:
            _EMBEDDED[key] = ReplayServer(make_backend(source, recordings, seed, seasons)).start()
        return _EMBEDDED[key]


def embedded_server_url(source: str, recordings: str, seed: int, seasons: str) -> str:
    """The stats URL of the process's loopback server for `replay`/`synthetic`."""
    return embedded_server(source, recordings, seed, seasons).url
