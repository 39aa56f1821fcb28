"""`nba-assets shadow run|diff|promote|discard`: test a code change against history first."""

from __future__ import annotations

import argparse
import json


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register `shadow run|diff|promote|discard` on the `nba-assets` parser."""
    shadow = commands.add_parser(
        "shadow",
        help="re-derive a range from the raw archive beside the published tables, diff, promote",
    )
    actions = shadow.add_subparsers(dest="action", required=True)

    run = actions.add_parser(
        "run", help="re-derive assets for a range into <warehouse>/_shadow/LABEL (0 requests)"
    )
    run.add_argument(
        "--label", required=True, metavar="L", help="the shadow's name (letters, digits, . _ -)"
    )
    run.add_argument(
        "--select",
        required=True,
        metavar="ASSETS",
        help="comma-separated game-date assets, e.g. team_boxscores,player_boxscores,play_by_play",
    )
    run.add_argument(
        "--partition-range",
        required=True,
        metavar="FIRST...LAST",
        help="game dates FIRST...LAST (YYYY-MM-DD...YYYY-MM-DD)",
    )
    run.add_argument(
        "--ref",
        default=None,
        metavar="GIT_REF",
        help="run a git ref's code (built from its requirements.txt lock into a cached "
        "environment) instead of this checkout's",
    )
    _warehouse_option(run)

    diff = actions.add_parser(
        "diff", help="a shadow against the published versions it started from"
    )
    diff.add_argument("label", help="the shadow's label")
    diff.add_argument("--json", action="store_true", help="the whole report as JSON")
    diff.add_argument(
        "--no-record",
        action="store_true",
        help="do not record the report as an observation of each asset in Dagster",
    )
    diff.add_argument(
        "--exit-code", action="store_true", help="exit 1 if there is any difference (for CI)"
    )
    _warehouse_option(diff)

    promote = actions.add_parser(
        "promote", help="publish the shadow's rows: one commit per table (undo: rollback)"
    )
    promote.add_argument("label", help="the shadow's label")
    promote.add_argument(
        "--force",
        action="store_true",
        help="promote even if a published table moved since the shadow started",
    )
    _warehouse_option(promote)

    discard = actions.add_parser("discard", help="remove the shadow's tables and manifest")
    discard.add_argument("label", help="the shadow's label")
    _warehouse_option(discard)


def _warehouse_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--warehouse", default="", help="default: NBA_ASSETS_WAREHOUSE")


def run(args: argparse.Namespace, warehouse: str) -> int:
    """One shadow command; an unusable shadow is a ShadowError (one line, exit 1)."""
    import dagster as dg

    if args.action == "run":
        from nba_assets.shadow import run as shadow_run

        select = [s.strip() for s in args.select.split(",") if s.strip()]
        manifest = shadow_run.run(warehouse, args.label, select, args.partition_range, args.ref)
        print(shadow_run.describe(manifest))
        if manifest["status"] == "derived":
            print(f"next: nba-assets shadow diff {args.label}")
            return 0
        return 1
    if args.action == "diff":
        from nba_assets.shadow import diff

        report = diff.diff(warehouse, args.label)
        print(json.dumps(report, indent=2) if args.json else diff.text(report))
        if not args.no_record:
            with dg.DagsterInstance.get() as instance:
                diff.record(report, instance)
        return 1 if args.exit_code and (report["differences"] or not report["complete"]) else 0
    from nba_assets.shadow import promote

    if args.action == "promote":
        with dg.DagsterInstance.get() as instance:
            done = promote.promote(warehouse, args.label, args.force, instance)
        for table, facts in done["tables"].items():
            if facts["unchanged"] and facts["version"] is None:
                print(f"{table}: no rows and no published table, no commit")
            elif facts["unchanged"]:
                print(f"{table}: unchanged (equal to version {facts['version']}), no commit")
            elif facts["previous_version"] is None:
                print(f"{table}: version {facts['version']} (a new table)")
            else:
                print(
                    f"{table}: version {facts['version']} (was {facts['previous_version']}; "
                    f"undo: nba-assets rollback {table} --to-version {facts['previous_version']})"
                )
        return 0
    print(f"removed shadow {args.label} ({promote.discard(warehouse, args.label)})")
    return 0
