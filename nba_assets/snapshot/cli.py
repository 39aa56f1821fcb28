"""`nba-assets snapshot <stage>`: the entry points `dvc.yaml` calls, every input and output named."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register `snapshot pin|extract|features|split` on the `nba-assets` parser."""
    snapshot = commands.add_parser("snapshot", help="DVC pipeline stages of the training snapshot")
    stages = snapshot.add_subparsers(dest="stage", required=True)

    pin = stages.add_parser("pin", help="snapshot tables' pinned Delta versions -> JSON")
    pin.add_argument("--warehouse", required=True, help="local path or s3://bucket/prefix")
    pin.add_argument(
        "--pin",
        action="append",
        default=[],
        metavar="TABLE=VERSION",
        help="'latest' or a version number (default latest), once per table",
    )
    pin.add_argument("--out", required=True, type=Path)

    extract = stages.add_parser("extract", help="pinned table versions -> one file per table")
    extract.add_argument("--warehouse", required=True, help="local path or s3://bucket/prefix")
    extract.add_argument("--versions", required=True, type=Path, help="the pin stage's JSON")
    extract.add_argument("--seasons", required=True, help="'2024-25' or '2020-21:2024-25'")
    extract.add_argument("--start", required=True, help="first game date (YYYY-MM-DD)")
    extract.add_argument("--end", required=True, help="last game date (YYYY-MM-DD)")
    extract.add_argument("--out-dir", required=True, type=Path)

    features = stages.add_parser("features", help="team box scores -> leakage-free game rows")
    features.add_argument("--team-boxscores", required=True, type=Path)
    features.add_argument(
        "--schedule",
        type=Path,
        help="the extract's schedule file: home and away (without it, from the matchups)",
    )
    features.add_argument("--window", required=True, type=int, help="games of rolling form")
    features.add_argument("--out", required=True, type=Path)
    features.add_argument(
        "--report", type=Path, help="JSON: games per source of home/away, games excluded"
    )

    split = stages.add_parser("split", help="game rows -> train/validation/test by date")
    split.add_argument("--features", required=True, type=Path)
    split.add_argument("--train-end", required=True)
    split.add_argument("--valid-end", required=True)
    split.add_argument("--out-dir", required=True, type=Path)
    split.add_argument("--metrics", required=True, type=Path)


def run(args: argparse.Namespace) -> int:
    from nba_assets.snapshot.parquet import single_threaded

    single_threaded()
    stages = {"pin": _pin, "extract": _extract, "features": _features, "split": _split}
    try:
        return stages[args.stage](args)
    except (ValueError, LookupError, FileNotFoundError) as exc:
        print(f"nba-assets snapshot {args.stage}: {exc}", file=sys.stderr)
        return 1


def _pin(args: argparse.Namespace) -> int:
    from nba_assets.snapshot.extract import write_versions

    pins = {}
    for text in args.pin:
        table, sep, version = text.partition("=")
        if not sep:
            raise ValueError(f"--pin {text!r}: expected TABLE=VERSION")
        pins[table.strip()] = version.strip()
    versions = write_versions(args.warehouse, pins, args.out)
    print(
        "pin: "
        + ", ".join(
            f"{t} version {v}" if v is not None else f"{t} never materialized (pinned null)"
            for t, v in versions.items()
        )
    )
    return 0


def _extract(args: argparse.Namespace) -> int:
    from nba_assets.snapshot.extract import extract, read_versions

    versions = read_versions(args.versions)
    manifest = extract(args.warehouse, args.seasons, args.start, args.end, versions, args.out_dir)
    for table, entry in manifest["tables"].items():
        print(
            f"{table}: {entry['rows']} rows from version {entry['delta_version']}, "
            f"{len(entry['partitions'])} partitions"
        )
    return 0


def _features(args: argparse.Namespace) -> int:
    from nba_assets.snapshot.features import FEATURES_SCHEMA, features_table
    from nba_assets.snapshot.parquet import read_table, write_table, write_text

    box = read_table(args.team_boxscores).to_pandas()
    schedule = read_table(args.schedule).to_pandas() if args.schedule else None
    table, report = features_table(box, args.window, schedule)
    write_table(table, FEATURES_SCHEMA, args.out)
    if args.report:
        write_text(json.dumps(report, indent=1, sort_keys=True) + "\n", args.report)
    print(
        f"features: {table.num_rows} games -> {args.out} (home/away from the schedule: "
        f"{report['home_away_from_schedule']}, from matchups: {report['home_away_from_matchup']})"
    )
    for game in report["excluded"]:
        print(
            f"features: left out {game['game_id']} ({game['game_date']}): {game['why']}: "
            f"{' / '.join(game['matchups'])}"
        )
    return 0


def _split(args: argparse.Namespace) -> int:
    from nba_assets.snapshot.features import FEATURES_SCHEMA
    from nba_assets.snapshot.parquet import read_table, write_table, write_text
    from nba_assets.snapshot.split import split_by_date, split_metrics

    splits = split_by_date(read_table(args.features), args.train_end, args.valid_end)
    for name, table in splits.items():
        write_table(table, FEATURES_SCHEMA, args.out_dir / f"{name}.parquet")
    metrics = split_metrics(splits)
    write_text(json.dumps(metrics, indent=1, sort_keys=True) + "\n", args.metrics)
    print("split: " + ", ".join(f"{n} {m['games']}" for n, m in metrics.items()))
    return 0
