"""Archive lookups through the `raw_responses` index at 10,000 entries, on local disk.

Builds a temp warehouse holding N archived responses (play-by-play games and date-windowed
game logs) with verdicts written the way runs write them (one append per run, some rejected),
then times, on a fresh archive: the first lookup (which reads the index), exact lookups
(`find_published`) and settled-window lookups (`find_covering`), each including the read of
the response's body. Target: <= 50 ms per lookup. Prints numbers; asserts nothing.

    .venv/bin/python bench/archive_index.py [--entries 10000] [--lookups 1000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator

from nba_assets.io import delta
from nba_assets.io.storage import as_upath
from nba_assets.source.archive import RawArchive, sha256_text
from nba_assets.source.index import (
    INDEX_TABLE,
    archive_name,
    record_published,
    record_rejected,
    request_key,
)

#: One archived game log covers this many days; one in ten entries is a game log.
WINDOW_DAYS = 30
PER_RUN = 100  # responses judged per run: one append commit each
REJECTED_SHARE = 0.1


def game_params(i: int) -> dict[str, str]:
    return {"EndPeriod": "0", "GameID": f"00{22400000 + i:08d}", "StartPeriod": "0"}


def log_params(i: int) -> dict[str, str]:
    first = dt.date(1996, 11, 1) + dt.timedelta(days=WINDOW_DAYS * i)
    last = first + dt.timedelta(days=WINDOW_DAYS - 1)
    return {
        "Counter": "0",
        "DateFrom": first.strftime("%m/%d/%Y"),
        "DateTo": last.strftime("%m/%d/%Y"),
        "Direction": "ASC",
        "LeagueID": "00",
        "PlayerOrTeam": "T",
        "Season": "2024-25",
        "SeasonType": "Regular Season",
        "Sorter": "DATE",
    }


def requests(n: int) -> Iterator[tuple[str, dict[str, str]]]:
    """Nine game requests, then one game-log request, repeated."""
    for i in range(n):
        if i % 10 == 9:
            yield "leaguegamelog", log_params(i // 10)
        else:
            yield "playbyplayv3", game_params(i)


def body_for(endpoint: str, params: dict[str, str]) -> str:
    """A small body (~2 KB) unique to the request."""
    rows = [[params.get("GameID", params.get("DateFrom")), n, "made shot"] for n in range(60)]
    return json.dumps({"resource": endpoint, "parameters": params, "rows": rows})


def build(warehouse: str, n: int) -> float:
    """Archive n responses and judge them in runs of PER_RUN; returns the seconds it took."""
    began = time.perf_counter()
    archive = RawArchive(as_upath(warehouse) / "raw", warehouse)
    rng = random.Random(7)
    batch: list[dict] = []
    for i, (endpoint, params) in enumerate(requests(n)):
        body = body_for(endpoint, params)
        sha = sha256_text(body)
        archive.store(
            endpoint,
            params,
            status=200,
            content_type="application/json",
            body_text=body,
            sha256=sha,
            url="bench",
        )
        batch.append(
            {
                "endpoint": endpoint,
                "params": params,
                "sha256": sha,
                "archive": archive_name(endpoint, request_key(endpoint, params), sha),
                "fetched_at": dt.datetime.now(dt.UTC).isoformat(),
            }
        )
        if len(batch) == PER_RUN:
            judge(warehouse, batch, rng, run=i // PER_RUN)
            batch = []
    if batch:
        judge(warehouse, batch, rng, run=n // PER_RUN)
    return time.perf_counter() - began


def judge(warehouse: str, batch: list[dict], rng: random.Random, run: int) -> None:
    """A run that publishes most of its responses; a few are rejected."""
    rejected = [r for r in batch if rng.random() < REJECTED_SHARE]
    published = [r for r in batch if r not in rejected]
    if rejected:
        record_rejected(warehouse, rejected, "play_by_play", ["points_match"], f"run-{run}-bad")
    record_published(warehouse, published, "play_by_play", run, f"run-{run}")


def timed(calls: list[Callable[[], object]]) -> tuple[list[float], int]:
    """Milliseconds per call, and how many calls found a response."""
    times, hits = [], 0
    for call in calls:
        began = time.perf_counter()
        hits += call() is not None
        times.append((time.perf_counter() - began) * 1000)
    return times, hits


def show(label: str, times: list[float], hits: int) -> None:
    print(
        f"{label:<34} n={len(times):<5} hits={hits:<5} "
        f"min {min(times):6.2f} ms  median {statistics.median(times):6.2f} ms  "
        f"max {max(times):6.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--lookups", type=int, default=1_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as warehouse:
        seconds = build(warehouse, args.entries)
        table = delta.open_table(warehouse, INDEX_TABLE)
        print(
            f"built {args.entries} archived responses in {seconds:.1f}s; {INDEX_TABLE}: "
            f"version {table.version()}, {len(table.file_uris())} data file(s)"
        )
        measure(warehouse, args.entries, args.lookups)


def measure(warehouse: str, entries: int, lookups: int) -> None:
    """Time lookups on a fresh archive (as a new run step's client would make them)."""
    archive = RawArchive(as_upath(warehouse) / "raw", warehouse)
    rng = random.Random(11)
    games = [r for r in requests(entries) if r[0] == "playbyplayv3"]
    logs = [r[1] for r in requests(entries) if r[0] == "leaguegamelog"]
    load, _ = timed([lambda: archive.find_published(*games[0])])
    print(f"first lookup (reads the index, {len(archive.index)} responses): {load[0]:.1f} ms")
    exact = [rng.choice(games) for _ in range(lookups)]
    covering = [narrowed(rng.choice(logs), rng) for _ in range(lookups)]
    index = archive.index
    cases = {
        "find_published (exact, + body)": [lambda r=r: archive.find_published(*r) for r in exact],
        "index only (exact)": [lambda r=r: index.published(*r) for r in exact],
        "find_covering (settled, + body)": [
            lambda p=p: archive.find_covering("leaguegamelog", p, "2000-01-01") for p in covering
        ],
        "index only (covering)": [
            lambda p=p: index.published_covering("leaguegamelog", p) for p in covering
        ],
    }
    for label, calls in cases.items():
        show(label, *timed(calls))


def narrowed(params: dict[str, str], rng: random.Random) -> dict[str, str]:
    """A window of 1-7 days inside the archived one, as a settled subrange asks."""
    first = dt.datetime.strptime(params["DateFrom"], "%m/%d/%Y").date()
    start = first + dt.timedelta(days=rng.randrange(WINDOW_DAYS - 7))
    end = start + dt.timedelta(days=rng.randrange(7))
    return {**params, "DateFrom": start.strftime("%m/%d/%Y"), "DateTo": end.strftime("%m/%d/%Y")}


if __name__ == "__main__":
    main()
