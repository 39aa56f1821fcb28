"""A shadow re-derivation and diff of one synthetic season of team_boxscores, player_boxscores
and play_by_play: wall time, peak RSS and requests of each. Prints numbers; asserts nothing.

    .venv/bin/python bench/shadow.py [--season 2024-25]

Each phase is its own process (its peak RSS is its own); the synthetic league is served by
`nba-assets replay-server` in another, whose request log counts what each phase asked.
  publish  the three assets for the season's game days in one ranged run (interval 0);
  shadow   `shadow run` of the three for the same range, from the raw archive;
  diff     `shadow diff` of the shadow against the published versions (no code changed: 0).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from phases import run_phase
from play_by_play import Server, _game_days, _resources, _tags

SELECT = ["team_boxscores", "player_boxscores", "play_by_play"]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _requests(url: str) -> int:
    """Requests the replay server has served so far (its log)."""
    root = url.rsplit("/stats", 1)[0]
    with urllib.request.urlopen(f"{root}/__replay__/log") as answer:
        return len(json.load(answer))


def phase_publish(url: str, warehouse: str, start: str, end: str) -> dict:
    import dagster as dg

    from nba_assets.assets.boxscores import player_boxscores, team_boxscores
    from nba_assets.assets.play_by_play import play_by_play

    began = time.perf_counter()
    result = dg.materialize(
        [team_boxscores, player_boxscores, play_by_play],
        resources=_resources(url, Path(warehouse)),
        tags=_tags(*(_date(d) for d in (start, end))),
        raise_on_error=False,
    )
    return {"ok": result.success, "wall": time.perf_counter() - began, "rss": _peak_rss_mb()}


def phase_shadow(url: str, warehouse: str, start: str, end: str) -> dict:
    from nba_assets.shadow import run

    began = time.perf_counter()
    manifest = run.run(warehouse, "bench", SELECT, f"{start}...{end}")
    return {
        "ok": manifest["status"] == "derived",
        "wall": time.perf_counter() - began,
        "rss": _peak_rss_mb(),
        "detail": run.describe(manifest),
    }


def phase_diff(url: str, warehouse: str, start: str, end: str) -> dict:
    from nba_assets.shadow import diff

    began = time.perf_counter()
    report = diff.diff(warehouse, "bench")
    rows = {t: f.get("rows_shadow") for t, f in report["tables"].items()}
    return {
        "ok": report["complete"],
        "wall": time.perf_counter() - began,
        "rss": _peak_rss_mb(),
        "differences": report["differences"],
        "rows": rows,
    }


PHASES = {"publish": phase_publish, "shadow": phase_shadow, "diff": phase_diff}


def _date(text: str):
    import datetime as dt

    return dt.date.fromisoformat(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--season", default="2024-25", help="the synthetic season")
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(PHASES[args.phase](*args.rest)))
        return
    seasons = f"{args.season}:{args.season}"
    first, last, games = _game_days(seasons)
    server = Server(seasons)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-shadow-") as tmp:
            warehouse = str(Path(tmp) / "warehouse")
            print(f"season {args.season}: {games} games, {first}...{last}")
            for phase in ("publish", "shadow", "diff"):
                before = _requests(server.url)
                result = run_phase(
                    __file__, phase, server.url, warehouse, first.isoformat(), last.isoformat()
                )
                if not result["ok"]:
                    sys.exit(f"{phase} failed: {result}")
                asked = _requests(server.url) - before
                extra = f", differences {result['differences']}" if phase == "diff" else ""
                print(
                    f"  {phase:<8} wall {result['wall']:7.1f} s  peak RSS {result['rss']:6.0f} MB"
                    f"  requests {asked}{extra}"
                )
                if phase == "diff":
                    print(f"  rows     {result['rows']}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
