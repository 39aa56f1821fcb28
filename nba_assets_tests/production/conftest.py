"""Real servers on loopback for the production profile: moto's S3 server and PostgreSQL."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
import requests
import yaml
from moto.server import ThreadedMotoServer

REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MotoS3:
    """moto in server mode on a loopback port; stop/start keeps its state (it lives in-process)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: ThreadedMotoServer | None = None

    def start(self) -> MotoS3:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def reset(self) -> None:
        requests.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoS3]:
    server = MotoS3().start()
    yield server
    server.stop()


@pytest.fixture
def s3(moto_server: MotoS3, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoS3]:
    """An empty S3 reached through the standard AWS chain, as production would reach one."""
    if moto_server._server is None:
        moto_server.start()
    moto_server.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    yield moto_server
    if moto_server._server is None:
        moto_server.start()


def s3_client():
    from dagster_aws.s3 import S3Resource

    return S3Resource(region_name=REGION).get_client()


@pytest.fixture
def bucket(s3: MotoS3) -> str:
    name = f"nba-warehouse-{uuid.uuid4().hex[:8]}"
    s3_client().create_bucket(Bucket=name)
    return name


DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "test"}


def deploy_config() -> dict:
    return yaml.safe_load((DEPLOY / "dagster.yaml").read_text())


@pytest.fixture(scope="session")
def postgres_db() -> Iterator[str]:
    """A fresh database for this test session on the real PostgreSQL, dropped afterwards."""
    name = f"nba_assets_{uuid.uuid4().hex[:12]}"
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
