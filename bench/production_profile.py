"""Production-profile costs, on real servers on loopback (numbers only, no assertions).

    .venv/bin/python bench/production_profile.py storage   # one month ranged: moto S3 vs local disk
    .venv/bin/python bench/production_profile.py batching  # one season on PostgreSQL, event batching off/on

`storage` materializes November 2024 of team_boxscores and player_boxscores from the
synthetic league through the real client (one ranged run, 30 partitions per table). `batching` materializes the synthetic 2024-25 season
(one ranged run, every day a partition) into an instance configured by deploy/dagster.yaml's
storage section on the PostgreSQL at 127.0.0.1:5432 (a scratch database, dropped after).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import dagster as dg
import psycopg2
import yaml

from nba_assets.assets.boxscores import player_boxscores, team_boxscores
from nba_assets.io import delta
from nba_assets.io.manager import DeltaIOManager
from nba_assets.source.client import NbaStatsClient
from nba_assets.source.replay import ReplayServer, SyntheticBackend

REPO = Path(__file__).resolve().parents[1]
RANGE_TAGS = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")
ASSETS = [team_boxscores, player_boxscores]


def materialize(server: ReplayServer, warehouse: str, start: str, end: str, **kwargs) -> float:
    server.reset()
    resources = {
        "nba": NbaStatsClient(base_url=server.url, warehouse=warehouse, min_request_interval=0),
        "io_manager": DeltaIOManager(warehouse=warehouse),
    }
    began = time.perf_counter()
    result = dg.materialize(
        ASSETS, resources=resources, tags={RANGE_TAGS[0]: start, RANGE_TAGS[1]: end}, **kwargs
    )
    elapsed = time.perf_counter() - began
    assert result.success
    return elapsed


def storage(repeats: int) -> None:
    """The same month on local disk and on moto S3: the first run commits, reruns are no-ops.

    moto runs as its own process (`moto_server`): delta-rs holds the GIL through some S3 calls,
    so an in-process moto thread could not answer them.
    """
    import socket
    import subprocess
    import sys

    server = ReplayServer(SyntheticBackend(seed=2026, seasons="2024-25")).start()
    server.backend.league.season(2024)  # warm: league generation is not what is measured
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    moto = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.environ.update(
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
    )
    from dagster_aws.s3 import S3Resource

    for _ in range(100):
        try:
            S3Resource().get_client().create_bucket(Bucket="bench")
            break
        except Exception:  # not listening yet
            time.sleep(0.1)
    try:
        with tempfile.TemporaryDirectory() as tmp, dg.instance_for_test() as instance:
            targets = {"local disk": f"{tmp}/warehouse", "moto S3": "s3://bench/warehouse"}
            for name, warehouse in targets.items():
                times = [
                    materialize(server, warehouse, "2024-11-01", "2024-11-30", instance=instance)
                    for _ in range(repeats)
                ]
                tables = {
                    t: delta.open_table(warehouse, t)
                    for t in ("team_boxscores", "player_boxscores")
                }
                files = sum(len(t.file_uris()) for t in tables.values())
                print(
                    f"{name:<10} first {times[0]:6.2f}s  reruns (no commit)"
                    f" {', '.join(f'{t:.2f}' for t in times[1:]) or '-'}"
                    f"  data files {files}  versions"
                    f" {', '.join(f'{k} v{t.version()}' for k, t in tables.items())}"
                )
    finally:
        moto.terminate()
        moto.wait()
        server.stop()


def batching(repeats: int, batch_size: int) -> None:
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="test")
    admin.autocommit = True
    server = ReplayServer(SyntheticBackend(seed=2026, seasons="2024-25")).start()
    server.backend.league.season(2024)  # warm: league generation is not what is measured
    settings = {"0 (off, the default)": "0", f"{batch_size}": str(batch_size)}
    results: dict[str, list[float]] = {k: [] for k in settings}
    try:
        for _ in range(repeats):
            for label, value in settings.items():
                name = f"nba_bench_{uuid.uuid4().hex[:10]}"
                with admin.cursor() as cursor:
                    cursor.execute(f'CREATE DATABASE "{name}"')
                os.environ["DAGSTER_EVENT_BATCH_SIZE"] = value
                try:
                    with (
                        tempfile.TemporaryDirectory() as tmp,
                        _postgres_instance(Path(tmp), name) as instance,
                    ):
                        results[label].append(
                            materialize(
                                server,
                                f"{tmp}/warehouse",
                                "2024-10-01",
                                "2025-06-30",
                                instance=instance,
                            )
                        )
                finally:
                    with admin.cursor() as cursor:
                        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for label, times in results.items():
            print(
                f"DAGSTER_EVENT_BATCH_SIZE={label:<22} median {statistics.median(times):6.2f}s"
                f"  runs {', '.join(f'{t:.2f}' for t in times)}"
            )
    finally:
        os.environ.pop("DAGSTER_EVENT_BATCH_SIZE", None)
        server.stop()
        admin.close()


def _postgres_instance(home: Path, db: str) -> dg.DagsterInstance:
    storage_section = yaml.safe_load((REPO / "deploy" / "dagster.yaml").read_text())["storage"]
    os.environ.update(
        DAGSTER_POSTGRES_HOST="127.0.0.1",
        DAGSTER_POSTGRES_PORT="5432",
        DAGSTER_POSTGRES_USER="postgres",
        DAGSTER_POSTGRES_PASSWORD="",
        DAGSTER_POSTGRES_DB=db,
    )
    (home / "dagster.yaml").write_text(yaml.safe_dump({"storage": storage_section}))
    return dg.DagsterInstance.from_config(str(home))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["storage", "batching"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args()
    if args.what == "storage":
        storage(args.repeats)
    else:
        batching(args.repeats, args.batch_size)


if __name__ == "__main__":
    main()
