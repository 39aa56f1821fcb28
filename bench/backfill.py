"""Backfill cost of the box-score assets beside Dagster's own floor (prints a table, asserts nothing).

Every run is a real `dagster asset materialize` subprocess against the synthetic league served
over loopback, with its own SQLite instance and Delta warehouse; peak RSS and CPU seconds are
the run's process tree (wait4), instance bytes what the run added to $DAGSTER_HOME, requests
what the server saw.
Row (d) also reports each box-score table's data files per season in its current Delta version
and the commits the run made; every row reports the machine's load average while it ran (the
bench shares the machine: a busy one inflates walls, floors included).

    .venv/bin/python bench/backfill.py                       # rows a b c at 0 and 300 ms, d at 3 seasons
    .venv/bin/python bench/backfill.py --rows d --seasons 25 --latency 0
    .venv/bin/python bench/backfill.py --rows a,b --season 2023-24 --latency 0,0.3

Rows: (a) one season of both assets as one ranged run; (b) the same season as one run per
partition (a sample of days timed, the rest extrapolated); (c) the origin's loop, one request per
team per date (counted, not run); (d) N seasons of both assets beside no-op twins over the same
partitions in the same instance (`bench/backfill_floor.py`), as season-sized runs or one run.
A row is a function returning `Row`s; `print_table` prints any list of them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import yaml

from nba_assets.cli import LOCAL_INSTANCE_YAML
from nba_assets.io import delta
from nba_assets.partitions import (
    GAME_DATE_START,
    game_date_partitions,
    plan_game_log_requests,
    season_name,
    season_start_year,
    season_type_windows,
)
from nba_assets.source.replay import ReplayServer, SyntheticBackend

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DAGSTER = str(Path(sys.executable).with_name("dagster"))
TABLES = ("team_boxscores", "player_boxscores")
BOTH = ",".join(TABLES)
FLOOR = "team_boxscores_floor,player_boxscores_floor"
TEAMS = 30  # franchises: the origin asked once per team per date


@dataclass
class Row:
    """One line of the table; None prints as a dash."""

    label: str
    requests: int | None = None
    wall: float | None = None
    peak_rss_mb: float | None = None
    instance_bytes: int | None = None
    warehouse_bytes: int | None = None
    floor: Row | None = None
    note: str = ""


COLUMNS = ("row", "requests", "wall s", "peak RSS MB", "instance MB", "warehouse MB", "x floor")


def print_table(rows: Sequence[Row], out=sys.stdout) -> None:
    """A markdown table (pastes into the README as is); ratios are wall / floor wall."""

    def cell(value, fmt: str) -> str:
        return "—" if value is None else format(value, fmt)

    print("| " + " | ".join(COLUMNS) + " |", file=out)
    print("|" + "---|" * len(COLUMNS), file=out)
    for row in rows:
        ratio = None
        if row.floor is not None and row.wall and row.floor.wall:
            ratio = row.wall / row.floor.wall
        mb = 1024 * 1024
        cells = [
            row.label + (f" ({row.note})" if row.note else ""),
            cell(row.requests, ","),
            cell(row.wall, ".1f"),
            cell(row.peak_rss_mb, ".0f"),
            cell(row.instance_bytes and row.instance_bytes / mb, ".1f"),
            cell(row.warehouse_bytes and row.warehouse_bytes / mb, ".1f"),
            cell(ratio, ".2f"),
        ]
        print("| " + " | ".join(cells) + " |", file=out)
    out.flush()


def tree_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


def season_range(season: str) -> tuple[str, str]:
    """The first and last day any season type of `season` can have games (the one calendar)."""
    windows = season_type_windows(season).values()
    first = max(min(a for a, _ in windows).isoformat(), GAME_DATE_START)
    return first, max(b for _, b in windows).isoformat()


def partition_keys(start: str, end: str) -> list[str]:
    return game_date_partitions.get_partition_keys_in_range(dg.PartitionKeyRange(start, end))


@dataclass
class Measured:
    wall: float = 0.0
    #: user + system seconds of the run's process tree: unlike wall, blind to waits on the
    #: disk (the instance's SQLite commits) and on the server; it still moves with the machine
    #: (one floor measured 445 s and 298 s of CPU within twenty minutes)
    cpu: float = 0.0
    peak_rss_mb: float = 0.0
    requests: int = 0
    instance_bytes: int = 0
    runs: int = 0
    load: list[float] = field(default_factory=list)

    @property
    def load_note(self) -> str:
        if not self.load:
            return ""
        return f"load avg {sum(self.load) / len(self.load):.1f} (max {max(self.load):.1f})"


class LoadSampler:
    """The 1-minute load average every `every` seconds while a run is in flight."""

    def __init__(self, every: float = 5.0) -> None:
        self.every, self.samples = every, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.samples.append(os.getloadavg()[0])

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        if not self.samples:
            self.samples.append(os.getloadavg()[0])


def step_work(home: Path) -> dict[str, float]:
    """Seconds each step of the newest run spent before its partitions' events began.

    From STEP_START to the step's last STEP_OUTPUT: the step's own work (fetch, parse, audit,
    publish; nothing for a no-op twin). What follows, one materialization event per partition,
    is Dagster's and the same for both rows; on this shared machine it swings by a third from
    run to run (the instance's SQLite commits), so a wall ratio needs this beside it.
    """
    with dg.DagsterInstance.from_config(str(home)) as instance:
        run = instance.get_runs(limit=1)[0]
        started, output = {}, {}
        for entry in instance.all_logs(run.run_id):
            kind = entry.dagster_event_type
            if kind == dg.DagsterEventType.STEP_START:
                started[entry.step_key] = entry.timestamp
            elif kind == dg.DagsterEventType.STEP_OUTPUT:
                output[entry.step_key] = entry.timestamp
    return {step: output[step] - started[step] for step in started if step in output}


def work_note(work: dict[str, float]) -> str:
    steps = ", ".join(f"{step} {seconds:.1f} s" for step, seconds in sorted(work.items()))
    return f"steps' own work {sum(work.values()):.1f} s ({steps})"


def delta_files(warehouse: Path, tables: Sequence[str]) -> str:
    """Data files per season of each table's current version, and the versions it has."""
    parts = []
    for table in tables:
        if not delta.exists(str(warehouse), table):
            parts.append(f"{table}: no table")
            continue
        current = delta.open_table(str(warehouse), table)
        per_season = delta.files_per_partition(current)
        parts.append(
            f"{table}: {sum(per_season.values())} data files in {len(per_season)} seasons,"
            f" max {max(per_season.values(), default=0)} per season, version {current.version()}"
        )
    return "; ".join(parts)


def _postgres_admin(statement: str) -> list[tuple]:
    import psycopg2

    connection = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="test")
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement)
            return cursor.fetchall() if cursor.description else []
    finally:
        connection.close()


@dataclass
class Bench:
    """A synthetic league on loopback, and a scratch directory for instances and warehouses.

    With `postgres` (a DAGSTER_EVENT_BATCH_SIZE value), each instance is a fresh database on
    the local PostgreSQL, configured by deploy/dagster.yaml's storage section; its bytes are
    the database's size.
    """

    server: ReplayServer
    root: Path
    latency: float
    interval: float
    logs: list[Path] = field(default_factory=list)
    postgres: str | None = None
    databases: dict[Path, str] = field(default_factory=dict)

    def home(self, name: str) -> Path:
        home = self.root / name / "dagster_home"
        home.mkdir(parents=True, exist_ok=True)
        if self.postgres is None:
            (home / "dagster.yaml").write_text(LOCAL_INSTANCE_YAML)
            return home
        database = f"nba_bench_{uuid.uuid4().hex[:10]}"
        _postgres_admin(f'CREATE DATABASE "{database}"')
        self.databases[home] = database
        storage = yaml.safe_load((REPO / "deploy" / "dagster.yaml").read_text())["storage"]
        config = {**yaml.safe_load(LOCAL_INSTANCE_YAML), "storage": storage}
        (home / "dagster.yaml").write_text(yaml.safe_dump(config))
        return home

    def instance_bytes(self, home: Path) -> int:
        if home not in self.databases:
            return tree_bytes(home)
        return int(_postgres_admin(f"SELECT pg_database_size('{self.databases[home]}')")[0][0])

    def instance_env(self, home: Path) -> dict[str, str]:
        if home not in self.databases:
            return {}
        return {
            "DAGSTER_POSTGRES_HOST": "127.0.0.1",
            "DAGSTER_POSTGRES_PORT": "5432",
            "DAGSTER_POSTGRES_USER": "postgres",
            "DAGSTER_POSTGRES_PASSWORD": "",
            "DAGSTER_POSTGRES_DB": self.databases[home],
            "DAGSTER_EVENT_BATCH_SIZE": str(self.postgres),
        }

    def drop_databases(self) -> None:
        for database in self.databases.values():
            _postgres_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        self.databases.clear()

    def materialize(
        self,
        home: Path,
        warehouse: Path,
        select: str,
        target: Sequence[str],
        extra_env: dict[str, str] | None = None,
    ) -> Measured:
        """One `dagster asset materialize` subprocess; `target` is its partition arguments."""
        definitions = (
            ["-f", str(BENCH / "backfill_floor.py")]
            if select == FLOOR
            else [
                "-m",
                "nba_assets.definitions",
            ]
        )
        command = [DAGSTER, "asset", "materialize", *definitions, "--select", select, *target]
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "NBA_ASSETS_SOURCE": "live",
            "NBA_STATS_BASE_URL": self.server.url,
            "NBA_ASSETS_WAREHOUSE": str(warehouse),
            "NBA_ASSETS_MIN_REQUEST_INTERVAL": str(self.interval),
            **self.instance_env(home),
            **(extra_env or {}),
        }
        self.server.reset()
        self.server.faults.update({"latency": self.latency})
        before = self.instance_bytes(home)
        log = home.parent / f"run-{len(self.logs)}.log"
        self.logs.append(log)
        started = time.perf_counter()
        with log.open("wb") as out, LoadSampler() as load:
            proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        if proc.returncode:
            raise RuntimeError(f"{' '.join(command)} failed ({proc.returncode}); see {log}")
        return Measured(
            wall=wall,
            cpu=usage.ru_utime + usage.ru_stime,
            peak_rss_mb=usage.ru_maxrss / 1024,
            requests=len(self.server.requests_for()),
            instance_bytes=self.instance_bytes(home) - before,
            runs=1,
            load=load.samples,
        )

    def materialize_ranges(
        self,
        home: Path,
        warehouse: Path,
        select: str,
        ranges: Sequence[tuple[str, str]],
        extra_env: dict[str, str] | None = None,
    ) -> Measured:
        total = Measured()
        for start, end in ranges:
            run = self.materialize(
                home, warehouse, select, ["--partition-range", f"{start}...{end}"], extra_env
            )
            total.wall += run.wall
            total.cpu += run.cpu
            total.peak_rss_mb = max(total.peak_rss_mb, run.peak_rss_mb)
            total.requests += run.requests
            total.instance_bytes += run.instance_bytes
            total.runs += 1
            total.load += run.load
        return total


def row_a(bench: Bench, season: str) -> list[Row]:
    """(a) One season of both assets as one ranged run."""
    start, end = season_range(season)
    name = f"a-{season}-{bench.latency}"
    warehouse = bench.root / name / "warehouse"
    run = bench.materialize_ranges(bench.home(name), warehouse, BOTH, [(start, end)])
    return [
        Row(
            f"(a) {season}, one ranged run, {len(partition_keys(start, end))} partitions",
            run.requests,
            run.wall,
            run.peak_rss_mb,
            run.instance_bytes,
            tree_bytes(warehouse),
            note=f"{run.load_note}; {delta_files(warehouse, TABLES)}",
        )
    ]


def row_b(bench: Bench, season: str, sample: int) -> list[Row]:
    """(b) The same season as one run per partition: `sample` days timed, scaled to the season."""
    start, end = season_range(season)
    keys = partition_keys(start, end)
    picked = [keys[i * len(keys) // sample + len(keys) // (2 * sample)] for i in range(sample)]
    name = f"b-{season}-{bench.latency}"
    home, warehouse = bench.home(name), bench.root / name / "warehouse"
    runs = [bench.materialize(home, warehouse, BOTH, ["--partition", day]) for day in picked]
    scale = len(keys) / sample
    per_day = {d: len(plan_game_log_requests(_date(d), _date(d))) for d in keys}
    return [
        Row(
            f"(b) {season}, one run per partition, {len(keys)} runs",
            2 * sum(per_day.values()),  # exact: the planner's requests for each day, both tables
            sum(r.wall for r in runs) * scale,
            max(r.peak_rss_mb for r in runs),
            int(sum(r.instance_bytes for r in runs) * scale),
            int(tree_bytes(warehouse) * scale),
            note=f"{sample} days timed, x{scale:.0f}; "
            + Measured(load=[x for r in runs for x in r.load]).load_note,
        )
    ]


def _date(key: str) -> dt.date:
    return dt.date.fromisoformat(key)


def row_c(season: str) -> list[Row]:
    """(c) The origin's loop: one request per team per date (counted, not run)."""
    start, end = season_range(season)
    days = len(partition_keys(start, end))
    return [
        Row(
            f"(c) {season}, origin's loop: {TEAMS} teams x {days} dates",
            TEAMS * days,
            note="count only",
        )
    ]


def row_d(
    bench: Bench, seasons: Sequence[str], mode: str, floor_checks: bool, floor_twice: bool = False
) -> list[Row]:
    """(d) Many seasons of both assets beside their no-op twins, in one instance.

    With `floor_checks`, a second floor whose twins also declare (and pass) the real assets'
    check specs: Dagster's own cost for assets carrying those checks. With `floor_twice`, the
    floor runs again after the assets in a fresh instance and the ratio is to the mean.
    """
    if mode == "season":
        ranges = [season_range(s) for s in seasons]
    else:
        ranges = [(season_range(seasons[0])[0], season_range(seasons[-1])[1])]
    partitions = sum(len(partition_keys(a, b)) for a, b in ranges)
    name = f"d-{len(seasons)}-{mode}-{bench.latency}"
    home, warehouse = bench.home(name), bench.root / name / "warehouse"
    span = f"{seasons[0]}..{seasons[-1]}, {partitions} partitions, {len(ranges)} run(s)"
    floor = bench.materialize_ranges(home, bench.root / name / "floor", FLOOR, ranges)
    floor_work = step_work(home) if bench.postgres is None and mode == "one" else {}
    floor_row = Row(
        f"(d) floor: no-op twins, {span}",
        floor.requests,
        floor.wall,
        floor.peak_rss_mb,
        floor.instance_bytes,
        note=f"{floor.load_note}; CPU {floor.cpu:.0f} s"
        + (f"; {work_note(floor_work)}" if floor_work else ""),
    )
    rows = [floor_row]
    if floor_checks:
        checked_home = bench.home(name + "-checks")
        checked = bench.materialize_ranges(
            checked_home,
            bench.root / name / "floor",
            FLOOR,
            ranges,
            {"NBA_BENCH_FLOOR_CHECKS": "1"},
        )
        rows.append(
            Row(
                f"(d) floor with the real check specs, {span}",
                checked.requests,
                checked.wall,
                checked.peak_rss_mb,
                checked.instance_bytes,
                floor=floor_row,
                note=checked.load_note,
            )
        )
    real = bench.materialize_ranges(home, warehouse, BOTH, ranges)
    real_work = step_work(home) if bench.postgres is None and mode == "one" else {}
    real_row = Row(
        f"(d) both box score assets, {span}",
        real.requests,
        real.wall,
        real.peak_rss_mb,
        real.instance_bytes,
        tree_bytes(warehouse),
        floor=floor_row,
        note=f"{real.load_note}; CPU {real.cpu:.0f} s, x{real.cpu / max(floor.cpu, 1):.2f} floor;"
        f" instance x{real.instance_bytes / max(floor.instance_bytes, 1):.2f}"
        f" floor; {delta_files(warehouse, TABLES)}",
    )
    if real_work:
        extra = sum(real_work.values()) - sum(floor_work.values())
        real_row.note += (
            f"; {work_note(real_work)}: the floor plus that work is"
            f" x{(floor.wall + extra) / floor.wall:.2f} this floor"
        )
    if floor_checks:
        checked_row = rows[-1]
        real_row.note += (
            f"; x{real.wall / checked_row.wall:.2f} wall,"
            f" x{real.instance_bytes / max(checked_row.instance_bytes or 1, 1):.2f} instance"
            " of the floor with checks"
        )
    if floor_twice:
        again = bench.materialize_ranges(
            bench.home(name + "-again"), bench.root / name / "floor-again", FLOOR, ranges
        )
        again_row = Row(
            f"(d) floor again, after the assets, fresh instance, {span}",
            again.requests,
            again.wall,
            again.peak_rss_mb,
            again.instance_bytes,
            note=f"{again.load_note}; CPU {again.cpu:.0f} s",
        )
        # a long run's wall drifts with the machine (disk, cache): compare with both floors
        real_row.floor = Row("mean of the two floors", wall=(floor.wall + again.wall) / 2)
        real_row.note += f"; x floor is to the mean of {floor.wall:.0f} s and {again.wall:.0f} s"
        return [*rows, real_row, again_row]
    return [*rows, real_row]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", default="a,b,c,d", help="comma-separated rows to run: a,b,c,d")
    parser.add_argument("--season", default="2023-24", help="season of rows a-c")
    parser.add_argument("--seasons", type=int, default=3, help="seasons of row d, ending at --last")
    parser.add_argument("--last", default="2024-25", help="last season of row d")
    parser.add_argument("--mode", choices=("season", "one"), default="season", help="row d's runs")
    parser.add_argument(
        "--floor-checks",
        action="store_true",
        help="row d: also a floor whose twins carry the real check specs",
    )
    parser.add_argument(
        "--latency", default="0,0.3", help="injected seconds per response, comma-separated"
    )
    parser.add_argument(
        "--interval", type=float, default=0.0, help="client spacing between requests"
    )
    parser.add_argument("--sample", type=int, default=3, help="days timed for row b")
    parser.add_argument(
        "--floor-twice",
        action="store_true",
        help="row d: run the floor again after the assets; the ratio is to the mean floor",
    )
    parser.add_argument(
        "--postgres",
        metavar="BATCH",
        help="instances on the local PostgreSQL (deploy/dagster.yaml) with this"
        " DAGSTER_EVENT_BATCH_SIZE, instead of SQLite",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()
    rows = set(args.rows.split(","))
    last = season_start_year(args.last)
    seasons = [season_name(y) for y in range(last - args.seasons + 1, last + 1)]
    served = sorted({*seasons, args.season}, key=season_start_year)
    server = ReplayServer(SyntheticBackend(seed=2026, seasons=f"{served[0]}:{served[-1]}")).start()
    for season in served:  # generate the league up front: generation is not API time
        server.backend.league.season(season_start_year(season))
    root = Path(tempfile.mkdtemp(prefix="nba-backfill-"))
    table: list[Row] = []
    plan: list[tuple[str, Callable[[Bench], list[Row]]]] = [
        ("a", lambda b: row_a(b, args.season)),
        ("b", lambda b: row_b(b, args.season, args.sample)),
        ("c", lambda b: row_c(args.season)),
        ("d", lambda b: row_d(b, seasons, args.mode, args.floor_checks, args.floor_twice)),
    ]
    storage = f"PostgreSQL, batch {args.postgres}" if args.postgres else "SQLite"
    print(
        f"scratch {root}; {storage}; request spacing {args.interval}s; {os.cpu_count()} cores",
        flush=True,
    )
    benches: list[Bench] = []
    try:
        for latency in (float(x) for x in args.latency.split(",")):
            bench = Bench(server, root, latency, args.interval, postgres=args.postgres)
            benches.append(bench)
            for key, row in plan:
                if key in rows and not (
                    key == "c" and latency != float(args.latency.split(",")[0])
                ):
                    for line in row(bench):
                        line.label += f", {latency * 1000:.0f} ms" if key != "c" else ""
                        table.append(line)
                        print_table([line])
        print()
        print_table(table)
    finally:
        server.stop()
        for bench in benches:
            bench.drop_databases()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
