"""The request deadline holds from connect to last byte, headers included."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from nba_api.stats.endpoints import CommonTeamYears

from nba_assets.source.client import NbaStatsClient
from nba_assets.source.errors import RetriesExhaustedError


class HeaderTrickler:
    """A loopback server that answers with a status line, then one header byte every 0.1 s
    for 20 s: every socket read succeeds, so only a whole-request deadline stops it."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.hung_up_after: list[float] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        began = time.monotonic()
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(4096)
            try:
                conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                while time.monotonic() - began < 20:
                    conn.sendall(b"a")
                    time.sleep(0.1)
            except OSError:
                self.hung_up_after.append(time.monotonic() - began)


@pytest.fixture
def trickler() -> Iterator[HeaderTrickler]:
    server = HeaderTrickler()
    server._thread.start()
    yield server
    server.listener.close()


def test_header_trickling_server_is_abandoned_within_the_deadline(trickler, tmp_path: Path):
    client = NbaStatsClient(
        base_url=f"http://127.0.0.1:{trickler.port}/stats",
        warehouse=str(tmp_path / "warehouse"),
        min_request_interval=0.0,
        request_timeout=1.0,
        max_attempts=1,
    )
    began = time.monotonic()
    with pytest.raises(RetriesExhaustedError, match=r"timed out after 1\.0s"):
        client.fetch(CommonTeamYears, required={"TeamYears": []}, league_id="00")
    assert time.monotonic() - began < 1.8
    assert client.stats.requests == 1
    # the connection is gone: the server's next header byte finds no reader
    deadline = time.monotonic() + 2
    while not trickler.hung_up_after and time.monotonic() < deadline:
        time.sleep(0.05)
    assert trickler.hung_up_after and trickler.hung_up_after[0] < 2.5
