"""`nba-assets`: the offline demo, the replay server, recovery, and the warehouse's tables.

Errors print one or two lines and exit non-zero; `--debug` (anywhere) shows the traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

DEMO_SEASON = "2024-25"
DEMO_START = "2024-10-22"
DEMO_END = "2024-11-18"

#: The local instance: SQLite run/event/schedule storage under $DAGSTER_HOME, one API step at a time.
LOCAL_INSTANCE_YAML = """\
# Written by nba-assets when $DAGSTER_HOME had no dagster.yaml: a local SQLite instance.
telemetry:
  enabled: false
nux:
  # no community pop-up over the UI on first open
  enabled: false
concurrency:
  pools:
    # Steps that call stats.nba.com run in the `nba_api` pool: one at a time across all runs,
    # so the client's minimum request interval holds for the whole instance.
    default_limit: 1
run_monitoring:
  # with `dagster dev` (its daemon), a run that ended by being terminated in the UI gives its
  # pool slot back; a run whose process was killed outright is released by the next run
  enabled: true
  free_slots_after_run_end_seconds: 10
"""
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
PARTITION_TAG = "dagster/partition"


def ensure_instance_home() -> Path:
    """$DAGSTER_HOME (default ./.dagster_home) with a dagster.yaml, so `dagster dev` sees the runs."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(Path(".dagster_home").resolve())))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(LOCAL_INSTANCE_YAML)
    return home


def run_demo(season: str, start: str, end: str) -> int:
    """Materialize every core asset from the synthetic league into the local warehouse."""
    os.environ.setdefault("NBA_ASSETS_SOURCE", "synthetic")
    home = ensure_instance_home()
    import dagster as dg

    from nba_assets.definitions import defs
    from nba_assets.recovery import release_dead_runs
    from nba_assets.settings import Settings

    settings = Settings.from_env()
    began = time.monotonic()
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    print(f"nba-assets demo: source={settings.source}, season {season}, games {start}..{end}")
    with dg.DagsterInstance.get() as instance:
        for run_id in release_dead_runs(instance):
            print(f"  released killed run {run_id} (marked failed, nba_api pool slot freed)")
        reference = _execute(
            defs.resolve_job_def("reference_job"),
            instance,
            {**quiet, "ops": {"players": {"config": {"season": season}}}},
        )
        # the season schedule first: the box-score audit proves completeness against it
        season_schedule = _execute(
            defs.resolve_job_def(defs.resolve_schedule_def("daily_schedule_refresh").job_name),
            instance,
            quiet,
            {PARTITION_TAG: season},
        )
        boxscores = _execute(
            defs.resolve_job_def("boxscores_job"),
            instance,
            quiet,
            {RANGE_START_TAG: start, RANGE_END_TAG: end},
        )
        results = [reference, season_schedule, boxscores]
        for result in results:
            _print_summary(result)
    elapsed = time.monotonic() - began
    print(
        f"\nwarehouse: {Path(settings.warehouse).resolve() if '://' not in settings.warehouse else settings.warehouse}"
    )
    print(f"instance:  {home} (runs {reference.run_id[:8]}, {boxscores.run_id[:8]})")
    print(f"wall time: {elapsed:.1f}s")
    print(
        "next:      make ui   (dagster dev on http://127.0.0.1:3000 shows the graph and these materializations)"
    )
    return 0 if all(r.success for r in results) else 1


def _execute(job, instance, run_config: dict, tags: dict[str, str] | None = None):
    """One demo run in this process, recorded under the code location `dagster dev` / `dg dev`
    load (workspace.yaml, pyproject's [tool.dg]), so Overview and the Timeline show it there."""
    from nba_assets.dagster_private import execute_in_code_location
    from nba_assets.definitions import CODE_LOCATION, DEFINITIONS_MODULE

    return execute_in_code_location(
        job,
        instance,
        location=CODE_LOCATION,
        module=DEFINITIONS_MODULE,
        run_config=run_config,
        tags=tags or {},
    )


def _print_summary(result) -> None:
    """One line per asset: rows, partitions, API calls, and the table and its version."""
    by_asset: dict[str, list] = {}
    for event in result.get_asset_materialization_events():
        by_asset.setdefault(event.asset_key.to_user_string(), []).append(event.materialization)
    summaries: dict[str, dict] = {}  # ranged steps report run-wide facts once, in observations
    for e in result.all_events:
        if e.event_type_value == "ASSET_OBSERVATION":
            observed = e.asset_observation_data.asset_observation.metadata
            summaries.setdefault(e.asset_key.to_user_string(), {}).update(observed)
    for asset, materializations in by_asset.items():
        meta = {k: getattr(v, "value", v) for k, v in materializations[0].metadata.items()}
        meta.update({k: getattr(v, "value", v) for k, v in summaries.get(asset, {}).items()})
        rows = sum(
            getattr(m.metadata.get("dagster/row_count", m.metadata.get("games")), "value", 0)
            for m in materializations
        )
        days = (
            f"{len(materializations)} partitions"
            if materializations[0].partition
            else "unpartitioned"
        )
        where = (
            f"{meta['table_uri']} (version {meta.get('delta_version')})"
            if "table_uri" in meta
            else meta.get("path", "")
        )
        print(
            f"  {asset:<17} {rows:>7} rows  {days:<15} api_calls={meta.get('api_calls')}  {where}"
        )
    for check in result.get_asset_check_evaluations():  # a skipped rule is never shown as passed
        verdict = "passed" if check.passed else check.severity.value
        print(f"  audit of {check.asset_key.to_user_string()}: [{verdict}] {check.description}")
    if not result.success:
        for event in result.all_events:
            if event.event_type_value == "STEP_FAILURE":
                print(f"  FAILED {event.step_key}: {event.step_failure_data.error.message.strip()}")


def run_recover() -> int:
    """Mark runs whose worker was killed as failed and free their nba_api pool slots."""
    import dagster as dg

    from nba_assets.recovery import local_launcher, release_dead_runs

    ensure_instance_home()
    with dg.DagsterInstance.get() as instance:
        if not local_launcher(instance):
            launcher = type(instance.run_launcher).__name__
            print(
                f"runs are launched by {launcher}, not on this machine: run monitoring in the"
                " daemon marks runs whose worker died as failed and frees their pool slots"
            )
            return 0
        released = release_dead_runs(instance)
    for run_id in released:
        print(f"released {run_id}: marked failed, nba_api pool slot freed")
    if not released:
        print("no killed runs: nothing holds the nba_api pool")
    return 0


def run_replay_server(args: argparse.Namespace) -> int:
    from nba_assets.source.replay import Faults, ReplayServer, make_backend

    if args.synthetic:
        backend = make_backend("synthetic", seed=args.seed, seasons=args.seasons)
    elif args.recordings:
        backend = make_backend("replay", recordings=args.recordings)
    else:
        print("replay-server: give --recordings DIR or --synthetic", file=sys.stderr)
        return 2
    faults = Faults(
        latency=args.latency,
        rate_limit=args.fault_429,
        retry_after=args.retry_after,
        server_error=args.fault_5xx,
        hang=args.fault_hang,
        hang_seconds=args.hang_seconds,
        truncate=args.fault_truncate,
        html=args.fault_html,
        empty=args.fault_empty,
        drop_column=args.drop_column,
        trickle=args.fault_trickle,
    )
    echo = None if args.quiet else sys.stderr
    server = ReplayServer(backend, host=args.host, port=args.port, faults=faults, echo=echo)
    print(server.url, flush=True)
    print(server.live_url, flush=True)  # NBA_LIVE_BASE_URL: the live feed beside the stats API
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def run_health(warehouse: str, as_json: bool) -> int:
    """Check every table's log, files and versions against the instance; exit 1 on a problem."""
    ensure_instance_home()
    import dagster as dg

    from nba_assets.quality import health

    with dg.DagsterInstance.get() as instance:
        result = health.run_health(instance, _warehouse(warehouse))
    print(health.report(result, as_json))
    return 1 if result.problems else 0


def _warehouse(given: str | None) -> str:
    from nba_assets.settings import Settings

    return given or Settings.from_env().warehouse


def run_history(args: argparse.Namespace) -> int:
    """A table's versions, newest first (reads only the Delta log)."""
    import json

    from nba_assets.warehouse import versions

    limit = None if args.limit == 0 else args.limit
    rows = versions.history_rows(_warehouse(args.warehouse), args.table, limit)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(versions.format_history(args.table, rows, limited=limit is not None))
    return 0


def run_rollback(args: argparse.Namespace) -> int:
    """Restore an earlier version as a new commit, recorded in the Dagster instance."""
    ensure_instance_home()
    import dagster as dg

    from nba_assets.warehouse import versions

    with dg.DagsterInstance.get() as instance:
        result = versions.rollback(
            _warehouse(args.warehouse), args.table, args.to_version, instance
        )
    print(versions.describe(result))
    return 0


def run_migrate(args: argparse.Namespace) -> int:
    """Old daily-file layout to Delta tables; exit 1 if any table could not be migrated."""
    from nba_assets.warehouse import migrate

    warehouse = _warehouse(args.warehouse)
    results, errors = migrate.migrate(warehouse, remove=args.remove_old)
    if results:
        ensure_instance_home()
        import dagster as dg

        with dg.DagsterInstance.get() as instance:
            migrate.record(instance, warehouse, results)
    for result in results:
        print(result)
    for error in errors:
        print(f"not migrated: {error}", file=sys.stderr)
    if not results and not errors:
        print(f"nothing to migrate: no old-layout files in {warehouse}")
    elif results and not args.remove_old and not errors:
        print("old files kept: `nba-assets migrate --remove-old` deletes them")
    return 1 if errors else 0


def run_sql(args: argparse.Namespace) -> int:
    """Print the result of one SQL query over the warehouse (DuckDB; see nba_assets/query/sql.py)."""
    from nba_assets.query.sql import describe_error, query

    try:
        frame = query(args.query, warehouse=args.warehouse)
    except Exception as exc:
        message = describe_error(exc)
        if message is None or getattr(args, "debug", False):
            raise
        print(f"nba-assets sql: {message}", file=sys.stderr)
        return 1
    print(frame.to_csv(index=False) if args.csv else frame.to_string(index=False))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nba-assets", description=__doc__)
    parser.add_argument("--debug", action="store_true", help="show tracebacks (anywhere in argv)")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser(
        "demo", help="materialize every core asset offline (synthetic league)"
    )
    demo.add_argument(
        "--season",
        default=DEMO_SEASON,
        help=f"the synthetic season to play (default {DEMO_SEASON})",
    )
    demo.add_argument("--start", default=DEMO_START, help="first game date (YYYY-MM-DD)")
    demo.add_argument("--end", default=DEMO_END, help="last game date (YYYY-MM-DD)")

    commands.add_parser("recover", help="release killed runs (frees their nba_api pool slots)")

    health = commands.add_parser(
        "health", help="verify the warehouse against the instance (exit 1 on any problem)"
    )
    health.add_argument("--warehouse", default="", help="default: NBA_ASSETS_WAREHOUSE")
    health.add_argument("--json", action="store_true", help="the report as JSON")

    history = commands.add_parser(
        "history", help="a table's versions: time, operation, run, range, rows"
    )
    history.add_argument("table", help="e.g. team_boxscores")
    history.add_argument("--limit", type=int, default=20, help="newest N versions (0: all)")
    history.add_argument("--json", action="store_true", help="machine-readable output")
    history.add_argument("--warehouse", default="", help="default: NBA_ASSETS_WAREHOUSE")

    rollback = commands.add_parser(
        "rollback", help="restore an earlier version of a table as a new commit"
    )
    rollback.add_argument("table", help="e.g. team_boxscores")
    rollback.add_argument("--to-version", type=int, required=True, help="the version to restore")
    rollback.add_argument("--warehouse", default="", help="default: NBA_ASSETS_WAREHOUSE")

    migrate = commands.add_parser(
        "migrate", help="turn a daily-file warehouse (before Delta) into Delta tables"
    )
    migrate.add_argument("--warehouse", default="", help="default: NBA_ASSETS_WAREHOUSE")
    migrate.add_argument(
        "--remove-old", action="store_true", help="delete the old files of verified tables"
    )

    status = commands.add_parser("status", help="partitions, requests and archive size")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.add_argument("--days", type=int, default=7, help="count requests of the last N days")
    sql = commands.add_parser(
        "sql", help="SQL (DuckDB) over one committed snapshot of every table in the warehouse"
    )
    sql.add_argument("query", help='e.g. "SELECT team_id, avg(pts) FROM team_boxscores GROUP BY 1"')
    sql.add_argument("--warehouse", default=None, help="default: NBA_ASSETS_WAREHOUSE")
    sql.add_argument("--csv", action="store_true", help="print CSV instead of a table")

    replay = commands.add_parser(
        "replay-server", help="serve recordings or the synthetic league over HTTP"
    )
    source = replay.add_mutually_exclusive_group()
    source.add_argument(
        "--recordings", help="directory of recordings (shared fixtures or <warehouse>/raw)"
    )
    source.add_argument("--synthetic", action="store_true", help="serve the synthetic league")
    replay.add_argument(
        "--seed",
        type=int,
        default=int(os.environ.get("NBA_ASSETS_SYNTHETIC_SEED", 2026)),
        help="the synthetic league's seed (default NBA_ASSETS_SYNTHETIC_SEED, else 2026)",
    )
    replay.add_argument(
        "--seasons",
        default=os.environ.get("NBA_ASSETS_SYNTHETIC_SEASONS", "1996-97:2025-26"),
        help="FIRST:LAST seasons the synthetic league plays (default 1996-97:2025-26)",
    )
    replay.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback)")
    replay.add_argument("--port", type=int, default=0, help="0 picks a free port")
    replay.add_argument("--quiet", action="store_true", help="do not log each request to stderr")
    faults = replay.add_argument_group("fault injection (counts apply to the next N requests)")
    faults.add_argument(
        "--latency", type=float, default=0.0, help="seconds added to every response"
    )
    faults.add_argument("--fault-429", type=int, default=0, help="answer N requests with 429")
    faults.add_argument(
        "--retry-after", type=float, default=1.0, help="Retry-After seconds on a 429"
    )
    faults.add_argument("--fault-5xx", type=int, default=0, help="answer N requests with 503")
    faults.add_argument(
        "--fault-hang", type=int, default=0, help="hang N requests past the client timeout"
    )
    faults.add_argument(
        "--hang-seconds", type=float, default=60.0, help="how long a hung request hangs"
    )
    faults.add_argument("--fault-truncate", type=int, default=0, help="cut N bodies in half")
    faults.add_argument(
        "--fault-html", type=int, default=0, help="answer N requests with an HTML block page"
    )
    faults.add_argument("--fault-empty", type=int, default=0, help="answer N requests with {}")
    faults.add_argument(
        "--drop-column", default="", help="remove this column from every result set"
    )
    faults.add_argument(
        "--fault-trickle", type=int, default=0, help="send N bodies 10 bytes every 0.5 s"
    )
    dictionary = commands.add_parser(
        "dictionary", help="write docs/data-dictionary.md and docs/schema.json from the schemas"
    )
    dictionary.add_argument("--docs", default="docs", help="directory to write them in")
    from nba_assets.snapshot import cli as snapshot_cli

    snapshot_cli.add_parser(commands)
    from nba_assets.serving import cli as serving_cli

    serving_cli.add_parser(commands)
    from nba_assets.shadow import cli as shadow_cli

    shadow_cli.add_parser(commands)
    return parser


DEBUG_FLAG = "--debug"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; an error is one or two lines and exit 1 unless `--debug` is given."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = DEBUG_FLAG in argv
    args = build_parser().parse_args([a for a in argv if a != DEBUG_FLAG])
    args.debug = debug
    try:
        return dispatch(args)
    except Exception as exc:
        if debug:
            raise
        print(error_message(args.command, exc), file=sys.stderr)
        return 1


def error_message(command: str, exc: Exception) -> str:
    """`nba-assets CMD: message` (its first line), and the hint that --debug shows more."""
    lines = str(exc).strip().splitlines() or [type(exc).__name__]
    first = (
        lines[0]
        if isinstance(exc, LookupError | ValueError | RuntimeError | OSError)
        else f"{type(exc).__name__}: {lines[0]}"
    )
    return f"nba-assets {command}: {first}\n(run again with --debug for the traceback)"


def dispatch(args: argparse.Namespace) -> int:
    if args.command == "demo":
        return run_demo(args.season, args.start, args.end)
    if args.command == "recover":
        return run_recover()
    if args.command == "health":
        return run_health(args.warehouse, args.json)
    if args.command == "snapshot":
        from nba_assets.snapshot import cli as snapshot_cli

        return snapshot_cli.run(args)
    if args.command == "status":
        from nba_assets.status import run_status

        ensure_instance_home()
        return run_status(args.json, args.days)
    if args.command == "sql":
        return run_sql(args)
    if args.command == "dictionary":
        from nba_assets.dictionary import write

        for path in write(Path(args.docs)):
            print(f"wrote {path}")
        return 0
    if args.command == "history":
        return run_history(args)
    if args.command == "rollback":
        return run_rollback(args)
    if args.command == "migrate":
        return run_migrate(args)
    if args.command == "shadow":
        from nba_assets.shadow import cli as shadow_cli

        ensure_instance_home()
        return shadow_cli.run(args, _warehouse(args.warehouse))
    if args.command == "db":
        from nba_assets.serving import cli as serving_cli

        return serving_cli.run(args)
    return run_replay_server(args)


if __name__ == "__main__":
    sys.exit(main())
