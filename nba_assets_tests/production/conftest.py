"""Real servers on loopback for the production profile: moto's S3 server and PostgreSQL."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg2
import pytest
import requests
import yaml

REGION = "us-east-1"
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MotoS3:
    """moto's S3 server on a loopback port, in its own process (`moto_s3.py`: why, and faults).

    `stop` ends the process and its state with it; `fail` makes matching requests get an S3
    error, `delay` answers them late, `seen` lists every request it answered.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(tempfile.gettempdir()) / f"moto-s3-{self.port}.log"
        self._process: subprocess.Popen | None = None

    @property
    def running(self) -> bool:
        return self._process is not None

    def start(self) -> MotoS3:
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "nba_assets_tests.production.moto_s3", str(self.port)],
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{self.url}/_nba_test/requests", timeout=1).raise_for_status()
                return self
            except requests.RequestException:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"moto S3 did not start on {self.url}; see {self.log}"
                    ) from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None

    def reset(self) -> None:
        requests.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()
        self.clear_faults()
        requests.delete(f"{self.url}/_nba_test/requests", timeout=10).raise_for_status()

    def fail(
        self,
        path: str,
        method: str = "PUT",
        status: int = 403,
        code: str = "AccessDenied",
        times: int = 0,
    ) -> None:
        """Answer requests whose `/bucket/key` matches the regex `path` with an S3 error."""
        rule = {"path": path, "method": method, "status": status, "code": code, "times": times}
        requests.post(f"{self.url}/_nba_test/faults", json=[rule], timeout=10).raise_for_status()

    def delay(self, path: str, seconds: float, method: str = "PUT") -> None:
        """Answer requests whose `/bucket/key` matches `path` as usual, `seconds` later."""
        rule = {"path": path, "method": method, "delay": seconds}
        requests.post(f"{self.url}/_nba_test/faults", json=[rule], timeout=10).raise_for_status()

    def clear_faults(self) -> None:
        requests.delete(f"{self.url}/_nba_test/faults", timeout=10).raise_for_status()

    def seen(self) -> list[dict]:
        answer = requests.get(f"{self.url}/_nba_test/requests", timeout=10)
        answer.raise_for_status()
        return answer.json()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoS3]:
    server = MotoS3().start()
    yield server
    server.stop()


@pytest.fixture
def s3(moto_server: MotoS3, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoS3]:
    """An empty S3 reached through the standard AWS chain, as production would reach one."""
    if not moto_server.running:
        moto_server.start()
    moto_server.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    yield moto_server
    if not moto_server.running:
        moto_server.start()
    moto_server.clear_faults()


def s3_client():
    from dagster_aws.s3 import S3Resource

    return S3Resource(region_name=REGION).get_client()


@pytest.fixture
def bucket(s3: MotoS3) -> str:
    name = f"nba-warehouse-{uuid.uuid4().hex[:8]}"
    s3_client().create_bucket(Bucket=name)
    return name


DEPLOY = REPO / "deploy"
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "test"}


def deploy_config() -> dict:
    return yaml.safe_load((DEPLOY / "dagster.yaml").read_text())


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """A fresh database on the real PostgreSQL, dropped (connections and all) afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(**PG)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="session")
def postgres_db() -> Iterator[str]:
    """A fresh database for this test session, dropped afterwards."""
    with scratch_database("nba_assets") as name:
        yield name


@pytest.fixture
def postgres_env(postgres_db: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The DAGSTER_POSTGRES_* variables deploy/dagster.yaml reads, pointed at the session database."""
    values = {
        "DAGSTER_POSTGRES_HOST": PG["host"],
        "DAGSTER_POSTGRES_PORT": str(PG["port"]),
        "DAGSTER_POSTGRES_USER": PG["user"],
        "DAGSTER_POSTGRES_PASSWORD": "",
        "DAGSTER_POSTGRES_DB": postgres_db,
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return postgres_db


def write_instance_home(home: Path, *sections: str, **overrides: object) -> Path:
    """$DAGSTER_HOME with chosen sections of deploy/dagster.yaml, as production would load them."""
    config = deploy_config()
    chosen = {key: config[key] for key in sections}
    chosen.update(overrides)
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(yaml.safe_dump(chosen))
    return home
