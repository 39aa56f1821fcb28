"""Models, migrations and configuration on the real PostgreSQL."""

from __future__ import annotations

import dagster as dg
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from nba_assets.cli import main
from nba_assets.definitions import build_definitions
from nba_assets.schemas import TABLES
from nba_assets.serving import database
from nba_assets.serving.models import INDEXES, SERVED, metadata
from nba_assets.settings import Settings

#: the migration that creates the views
VIEWS_REVISION = "0002"


def previous(revision: str) -> str:
    config = Config()
    config.set_main_option("script_location", str(database.MIGRATIONS))
    return ScriptDirectory.from_config(config).get_revision(revision).down_revision


def test_autogenerate_against_the_models_finds_nothing_to_migrate(engine):
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
    assert diff == []


def test_tables_have_the_declared_keys_nullability_comments_and_indexes(engine, schema):
    inspector = sa.inspect(engine)
    assert inspector.default_schema_name == schema
    assert set(SERVED) <= set(inspector.get_table_names())
    assert {"head_to_head", "team_home_away_splits"} <= set(inspector.get_view_names())
    for name in SERVED:
        spec = TABLES[name]
        assert inspector.get_pk_constraint(name)["constrained_columns"] == list(spec.key)
        reflected = {c["name"]: c for c in inspector.get_columns(name)}
        for column in spec.columns:
            assert reflected[column.name]["nullable"] == (
                column.nullable and column.name not in spec.key
            )
            assert reflected[column.name]["comment"] == (column.description or None)
        assert inspector.get_table_comment(name)["text"] == spec.description
        indexed = {tuple(i["column_names"]) for i in inspector.get_indexes(name)}
        assert indexed == set(INDEXES.get(name, ()))
    boxes = {c["name"]: c for c in inspector.get_columns("player_boxscores")}
    assert not boxes["season"]["nullable"]
    assert str(boxes["pts"]["type"]) == "BIGINT" and str(boxes["game_date"]["type"]) == "DATE"


def test_upgrade_downgrade_upgrade_round_trips(engine, schema):
    head = database.head()
    assert database.current(engine) == head
    with engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO teams (team_id, is_active) VALUES (1, true)")
    database.downgrade(engine, schema, VIEWS_REVISION)
    assert database.current(engine) == VIEWS_REVISION
    database.downgrade(engine, schema, "-1")
    assert sa.inspect(engine).get_view_names() == []
    assert sa.inspect(engine).has_table("teams")
    database.downgrade(engine, schema, "base")
    assert database.current(engine) is None
    assert set(sa.inspect(engine).get_table_names()) == {"alembic_version"}
    database.upgrade(engine, schema)
    assert database.current(engine) == head
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM teams").scalar_one() == 0
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
    assert diff == []


def test_db_commands(serving_dsn, schema, monkeypatch, capsys):
    monkeypatch.setenv("NBA_ASSETS_SERVING_DSN", serving_dsn)
    monkeypatch.setenv("NBA_ASSETS_SERVING_SCHEMA", schema)
    head = database.head()
    assert main(["db", "current"]) == 0
    assert f"schema {schema}: at base (no tables), head {head} (behind" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "current"]) == 0
    assert f"at {head}, head {head} (up to date)" in capsys.readouterr().out
    assert main(["db", "downgrade"]) == 0
    assert f"at {previous(head)}" in capsys.readouterr().out
    assert main(["db", "downgrade", "base"]) == 0
    assert "at base" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0


@pytest.mark.parametrize(
    ("dsn", "named"),
    [
        ("postgresql://postgres@127.0.0.1:1/nba", "127.0.0.1:1/nba (user postgres)"),
        ("postgresql://postgres@127.0.0.1:5432/no_such_db", "127.0.0.1:5432/no_such_db"),
    ],
)
def test_a_wrong_dsn_fails_before_any_work_naming_host_and_database(
    dsn, named, capsys, monkeypatch
):
    with pytest.raises(database.ServingUnavailableError, match="serving database") as caught:
        database.ready(dsn, "nba")
    assert named in str(caught.value)
    monkeypatch.setenv("NBA_ASSETS_SERVING_DSN", dsn)
    assert main(["db", "current"]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 2 and named in error[0] and "unavailable" in error[0]


def test_a_malformed_or_foreign_dsn_is_refused_when_the_settings_are_read():
    with pytest.raises(ValueError, match="not a database URL"):
        Settings.from_env({"NBA_ASSETS_SERVING_DSN": "host=db user=x"})
    with pytest.raises(ValueError, match="psycopg2"):
        Settings.from_env({"NBA_ASSETS_SERVING_DSN": "postgresql+psycopg://u@h/db"})
    with pytest.raises(ValueError, match="names no database"):
        Settings.from_env({"NBA_ASSETS_SERVING_DSN": "postgresql://u@h:5432"})
    url = database.parse_dsn("postgres://u:secret@h:5433/db")
    assert url.drivername == "postgresql+psycopg2"
    assert "secret" not in database.describe(url)


def test_the_serving_group_exists_only_with_a_dsn():
    def pg_assets(settings: Settings) -> set[str]:
        graph = build_definitions(settings).resolve_asset_graph()
        return {k.to_user_string() for k in graph.get_all_asset_keys() if k.path[0][:3] == "pg_"}

    assert pg_assets(Settings()) == set()
    served = pg_assets(Settings(serving_dsn="postgresql://u@h/db"))
    assert served == {f"pg_{t}" for t in SERVED}


def test_a_serving_step_with_a_wrong_dsn_fails_at_resource_setup(tmp_path):
    from nba_assets.assets.reference import teams
    from nba_assets.serving.assets import ServingDatabase, build_serving_asset

    wrong = ServingDatabase(
        dsn="postgresql://postgres@127.0.0.1:1/nba", warehouse=str(tmp_path / "none")
    )
    result = dg.materialize(
        [build_serving_asset("teams"), teams.to_source_asset()],
        resources={"serving": wrong},
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "RESOURCE_INIT_FAILURE")
    error = failure.event_specific_data.error
    messages = []
    while error is not None:
        messages.append(error.message)
        error = error.cause
    assert any(
        "serving database 127.0.0.1:1/nba (user postgres) is unavailable" in m for m in messages
    )
    assert result.get_asset_materialization_events() == []
