"""moto's S3 in server mode, in a process of its own, with faults a test switches on over HTTP.

    python -m nba_assets_tests.production.moto_s3 PORT

Its own process, not a thread of the test's: delta-rs holds the GIL through some of its S3
calls (`DeltaTable.is_deltatable`, `history`, `restore`, QueryBuilder scans), so a moto thread
in the same interpreter could never answer them and every such call would hang until its
retry timeout.

Beside moto's own API (`/moto-api/reset`) it serves, under `/_nba_test/`:
- `POST faults` a JSON list of rules `{"method", "path" (regex on /bucket/key), "status",
  "code", "times" (0: until cleared)}`: a matching request gets that S3 error instead of an
  answer; with `"delay": seconds` instead, it is answered as usual that much later (two
  writers' commits then overlap at S3); `DELETE faults` clears them;
- `GET requests` every S3 request seen (method, path, `If-None-Match`, `If-Match`,
  `x-amz-copy-source`, and the status answered), `DELETE requests` forgets them.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

CONTROL = "/_nba_test/"
_REASONS = {
    403: "Forbidden",
    412: "Precondition Failed",
    500: "Internal Server Error",
    503: "Slow Down",
}

StartResponse = Callable[..., Any]


class FaultInjector:
    """WSGI middleware in front of moto: records every request, fails the ones a rule matches."""

    def __init__(self, app: Callable[[dict, StartResponse], Iterable[bytes]]) -> None:
        self.app = app
        self.rules: list[dict[str, Any]] = []
        self.seen: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(CONTROL):
            return self.control(path.removeprefix(CONTROL), environ, start_response)
        method = environ["REQUEST_METHOD"]
        record = {
            "method": method,
            "path": path,
            "query": environ.get("QUERY_STRING", ""),
            "if_none_match": environ.get("HTTP_IF_NONE_MATCH"),
            "if_match": environ.get("HTTP_IF_MATCH"),
            "copy_source": environ.get("HTTP_X_AMZ_COPY_SOURCE"),
        }
        rule = self.matching(method, path)
        if rule is not None and rule.get("delay"):
            time.sleep(rule["delay"])  # then answered as usual
            rule = None
        if rule is not None:
            _drain(environ)
            record["status"] = rule["status"]
            self.remember(record)
            return _s3_error(start_response, rule["status"], rule.get("code", "AccessDenied"))

        def recording_start(status: str, headers: list, *args: Any) -> Any:
            record["status"] = int(status.split()[0])
            self.remember(record)
            return start_response(status, headers, *args)

        return self.app(environ, recording_start)

    def matching(self, method: str, path: str) -> dict[str, Any] | None:
        with self.lock:
            for rule in self.rules:
                if rule.get("method", method) in (method, "*") and re.search(rule["path"], path):
                    if rule.get("times", 0):
                        rule["times"] -= 1
                        if rule["times"] == 0:
                            self.rules.remove(rule)
                    return dict(rule)
        return None

    def remember(self, record: dict[str, Any]) -> None:
        with self.lock:
            self.seen.append(record)

    def control(self, what: str, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        with self.lock:
            if what == "faults" and method == "POST":
                self.rules.extend(json.loads(_drain(environ) or b"[]"))
                body: Any = self.rules
            elif what == "faults" and method == "DELETE":
                self.rules.clear()
                body = []
            elif what == "requests" and method == "GET":
                body = list(self.seen)
            elif what == "requests" and method == "DELETE":
                self.seen.clear()
                body = []
            else:
                start_response("404 Not Found", [("Content-Type", "text/plain")])
                return [b"unknown control request"]
        data = json.dumps(body).encode()
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        )
        return [data]


def _drain(environ: dict) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return environ["wsgi.input"].read(length) if length else b""


def _s3_error(start_response: StartResponse, status: int, code: str) -> list[bytes]:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<Error><Code>{code}</Code><Message>injected by the test</Message></Error>"
    ).encode()
    start_response(
        f"{status} {_REASONS.get(status, 'Error')}",
        [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))],
    )
    return [body]


def main(port: int) -> None:
    app = FaultInjector(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", port, app, True, request_handler=MotoRequestHandler)
    print(f"moto S3 with faults on 127.0.0.1:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]))
