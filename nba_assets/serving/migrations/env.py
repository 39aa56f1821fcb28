"""Alembic's entry point: runs on the connection `database.alembic_config` hands over."""

from alembic import context

from nba_assets.serving.models import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
