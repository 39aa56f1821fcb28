"""The serving database: one pooled engine per DSN, its schema kept at Alembic's head.

The driver is psycopg2, the one dagster-postgres already brings for the instance storage: a
bare `postgresql://` means psycopg 3 to SQLAlchemy 2.1, so DSNs are pinned to `+psycopg2` and
the lock keeps one PostgreSQL driver. Every connection sets `search_path` to the serving
schema, which is where the models' unqualified tables, the views and `alembic_version` live.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.pool import NullPool

from nba_assets.settings import describe, parse_dsn

MIGRATIONS = Path(__file__).parent / "migrations"
DEFAULT_SCHEMA = "nba"
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_ENGINES: dict[tuple[str, str], Engine] = {}
_AT_HEAD: set[tuple[str, str]] = set()
_LOCK = threading.Lock()
#: Advisory lock held while creating a schema or migrating: one migrator at a time.
_LOCK_KEY = "nba_assets.serving.migrate"


class ServingUnavailableError(RuntimeError):
    """The serving database cannot be reached or used: names host, port, database and user."""


def check_schema_name(schema: str) -> str:
    if not _SCHEMA_NAME.fullmatch(schema):
        raise ValueError(
            f"NBA_ASSETS_SERVING_SCHEMA={schema!r}: expected a lower-case SQL name like 'nba'"
        )
    return schema


def engine_for(dsn: str, schema: str = DEFAULT_SCHEMA) -> Engine:
    """The process's pooled engine for `dsn`, its connections in `schema` (created once).

    Creating it connects once and creates the schema: a wrong DSN fails here, naming it.
    """
    key = (dsn, check_schema_name(schema))
    with _LOCK:
        if key not in _ENGINES:
            url = parse_dsn(dsn)
            _create_schema(url, schema)
            _ENGINES[key] = sa.create_engine(
                url,
                pool_size=4,
                max_overflow=4,
                pool_pre_ping=True,
                connect_args={
                    "options": f"-csearch_path={schema}",
                    "connect_timeout": 10,
                    "application_name": "nba_assets",
                },
            )
        return _ENGINES[key]


def _create_schema(url: URL, schema: str) -> None:
    """The schema, before the pooled engine's first connection: SQLAlchemy keeps the default
    schema (`current_schema()`) that first connection saw, NULL if the schema did not exist."""
    bootstrap = sa.create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 10})
    try:
        with bootstrap.begin() as connection:
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(%s))", (_LOCK_KEY,))
            connection.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    except sa.exc.OperationalError as exc:
        raise unavailable(url, exc) from None
    finally:
        bootstrap.dispose()


def unavailable(url: URL, exc: sa.exc.DBAPIError) -> ServingUnavailableError:
    reason = str(exc.orig or exc).strip().splitlines()[0]
    return ServingUnavailableError(f"serving database {describe(url)} is unavailable: {reason}")


def dispose_all() -> None:
    """Close every pooled connection (tests dropping their database; forked workers)."""
    with _LOCK:
        for engine in _ENGINES.values():
            engine.dispose()
        _ENGINES.clear()
        _AT_HEAD.clear()


def ping(engine: Engine) -> None:
    """Connect once; a refused or misnamed database raises one sentence naming it."""
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except sa.exc.OperationalError as exc:
        raise unavailable(engine.url, exc) from None


def alembic_config(connection: Connection, schema: str) -> Config:
    """Alembic's configuration for the package's migrations, on an open connection."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    config.attributes["schema"] = schema
    return config


@contextmanager
def _migrating(engine: Engine, schema: str) -> Iterator[Config]:
    """A transaction holding the schema's migration lock (two runs never migrate at once)."""
    with engine.begin() as connection:
        connection.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(%s))", (_LOCK_KEY,))
        yield alembic_config(connection, schema)


def upgrade(engine: Engine, schema: str, revision: str = "head") -> None:
    with _migrating(engine, schema) as config:
        command.upgrade(config, revision)


def downgrade(engine: Engine, schema: str, revision: str) -> None:
    with _migrating(engine, schema) as config:
        command.downgrade(config, revision)
    with _LOCK:
        _AT_HEAD.clear()


def revision(engine: Engine, schema: str, message: str) -> str:
    """Write the next migration, autogenerated against a database at head: what the models
    (schemas.py) have that the migrations do not. Returns its path; review it before commit."""
    rev_id = f"{int(head()) + 1:04d}"
    with _migrating(engine, schema) as config:
        script = command.revision(config, message=message, autogenerate=True, rev_id=rev_id)
    return str(script.path)  # type: ignore[union-attr]


def current(engine: Engine) -> str | None:
    """The schema's revision, None before the first upgrade."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head_revision = ScriptDirectory.from_config(config).get_current_head()
    assert head_revision is not None
    return head_revision


def ready(dsn: str, schema: str = DEFAULT_SCHEMA) -> Engine:
    """The engine, reachable and migrated to head (once per process): every load starts here."""
    engine = engine_for(dsn, schema)
    key = (dsn, schema)
    if key not in _AT_HEAD:
        ping(engine)
        upgrade(engine, schema)
        _AT_HEAD.add(key)
    return engine
