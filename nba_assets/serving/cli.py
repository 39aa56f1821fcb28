"""`nba-assets db`: migrate the serving database and rebuild it from the warehouse."""

from __future__ import annotations

import argparse
import time

from nba_assets.io import delta
from nba_assets.io.delta import Selection
from nba_assets.serving import database, load
from nba_assets.serving.models import SERVED


def add_parser(commands: argparse._SubParsersAction) -> None:
    db = commands.add_parser(
        "db", help="the serving PostgreSQL (NBA_ASSETS_SERVING_DSN): migrations, rebuild"
    )
    actions = db.add_subparsers(dest="db_command", required=True)
    upgrade = actions.add_parser("upgrade", help="migrate to a revision (default: head)")
    upgrade.add_argument("revision", nargs="?", default="head")
    downgrade = actions.add_parser("downgrade", help="migrate back (default: one revision)")
    downgrade.add_argument("revision", nargs="?", default="-1", help="e.g. -1, 0001, base")
    actions.add_parser("current", help="the database's revision and the migrations' head")
    revision = actions.add_parser(
        "revision", help="write the next migration from the models (database at head)"
    )
    revision.add_argument("-m", "--message", required=True)
    rebuild = actions.add_parser(
        "rebuild", help="reload every served table from the warehouse (disaster recovery)"
    )
    rebuild.add_argument(
        "--table", action="append", choices=SERVED, help="only this table (repeatable)"
    )
    when = rebuild.add_mutually_exclusive_group()
    when.add_argument(
        "--version",
        type=int,
        help="the table's Delta version (one --table: versions are per table)",
    )
    when.add_argument("--as-of", help="every table as it was at this time (ISO, UTC if naive)")
    rebuild.add_argument("--warehouse", default="", help="default: NBA_ASSETS_WAREHOUSE")


def run(args: argparse.Namespace) -> int:
    from nba_assets.settings import Settings

    settings = Settings.from_env()
    if not settings.serving_dsn:
        raise ValueError(
            "no serving database: set NBA_ASSETS_SERVING_DSN (e.g. postgresql://user@host:5432/db)"
        )
    engine = database.engine_for(settings.serving_dsn, settings.serving_schema)
    database.ping(engine)
    schema = settings.serving_schema
    where = f"{database.describe(engine.url)}, schema {schema}"
    if args.db_command == "upgrade":
        database.upgrade(engine, schema, args.revision)
        print(f"{where}: at {database.current(engine)} (head {database.head()})")
    elif args.db_command == "downgrade":
        database.downgrade(engine, schema, args.revision)
        print(f"{where}: at {database.current(engine) or 'base (no tables)'}")
    elif args.db_command == "current":
        at = database.current(engine)
        state = "up to date" if at == database.head() else "behind: run `nba-assets db upgrade`"
        print(f"{where}: at {at or 'base (no tables)'}, head {database.head()} ({state})")
    elif args.db_command == "revision":
        database.upgrade(engine, schema)
        print(f"wrote {database.revision(engine, schema, args.message)}: review it, then commit")
    else:
        return rebuild(args, settings.serving_dsn, schema, args.warehouse or settings.warehouse)
    return 0


def rebuild(args: argparse.Namespace, dsn: str, schema: str, warehouse: str) -> int:
    """Every table (or the chosen ones) truncated and reloaded in its own transaction."""
    tables = args.table or list(SERVED)
    if args.version is not None and len(tables) != 1:
        raise ValueError(
            "--version needs exactly one --table: Delta versions are numbered per table"
        )
    engine = database.ready(dsn, schema)
    began, failed = time.monotonic(), 0
    for table in tables:
        if not delta.exists(warehouse, table):
            print(f"  {table:<17} skipped: not in warehouse {warehouse}")
            continue
        result = load.replace_range(
            engine,
            table,
            Selection(),
            warehouse=warehouse,
            version=args.version,
            as_of=args.as_of,
            truncate=True,
        )
        failed += bool(result.mismatched)
        verdict = "counts match" if not result.mismatched else f"MISMATCH {result.mismatched}"
        print(
            f"  {table:<17} {result.rows:>10,} rows  version {result.delta_version:<4} "
            f"{result.seconds:7.1f} s  {result.rows_per_second:>9,.0f} rows/s  {verdict}"
        )
    print(f"rebuilt in {time.monotonic() - began:.1f} s")
    return 1 if failed else 0
