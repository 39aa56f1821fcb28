"""An HTTP proxy on loopback that forwards to one server and counts what passes through.

Run in its own process (`python -m nba_assets_tests.source.counting_proxy TARGET_PORT`; it
prints its port): some delta-rs calls hold the GIL while they wait on S3, so a proxy thread in
the test's own process could never answer them. `GET /__proxy__/seen` lists the requests
forwarded since the last `POST /__proxy__/clear`, as [method, path] pairs.
"""

from __future__ import annotations

import http.client
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ADMIN = "/__proxy__/"


class CountingProxy(ThreadingHTTPServer):
    def __init__(self, target_port: int) -> None:
        super().__init__(("127.0.0.1", 0), Forward)
        self.target_port = target_port
        self.seen: list[tuple[str, str]] = []


class Forward(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: CountingProxy

    def handle_one(self) -> None:
        if self.path.startswith(ADMIN):
            self._admin()
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        self.server.seen.append((self.command, self.path))
        upstream = http.client.HTTPConnection("127.0.0.1", self.server.target_port, timeout=60)
        upstream.request(self.command, self.path, body=body, headers=dict(self.headers.items()))
        response = upstream.getresponse()
        data = response.read()
        self.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", response.getheader("Content-Length") or str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        upstream.close()

    def _admin(self) -> None:
        if self.path == ADMIN + "clear":
            self.server.seen.clear()
        data = json.dumps(self.server.seen).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = handle_one

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    proxy = CountingProxy(int(sys.argv[1]))
    print(proxy.server_address[1], flush=True)
    proxy.serve_forever()


if __name__ == "__main__":
    main()
