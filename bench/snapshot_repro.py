"""Wall time of `dvc repro` of the training snapshot over N synthetic seasons, in a fresh git repo.

Materializes the seasons with `nba-assets demo` (synthetic league, one ranged run) into the repo's
./warehouse (Delta tables), then times each stage of a cold `dvc repro` (wall and CPU seconds)
and a no-op one (which runs only `pin`: it reads the tables' Delta logs, nothing else).

    .venv/bin/python bench/snapshot_repro.py --seasons 1
    .venv/bin/python bench/snapshot_repro.py --seasons 5
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

import nba_assets
from nba_assets.partitions import season_name, season_type_windows

REPO = Path(__file__).resolve().parents[1]
BIN = REPO / ".venv" / "bin"
LAST_SEASON_YEAR = 2024
STAGES = ("pin", "extract", "features", "split")


def sh(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        args, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True
    )
    if proc.returncode:
        sys.exit(f"{args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc.stdout


def timed(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + sys of the child processes) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.monotonic()
    sh(args, cwd, env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return time.monotonic() - began, cpu


def copy_checkout(dest: Path) -> None:
    """The checkout's tracked files as a new one-commit git repo (what a clone would hold)."""
    for name in sh(["git", "ls-files"], REPO).splitlines():
        if (REPO / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, dest / name)
    sh(["git", "init", "-q"], dest)
    sh(["git", "add", "-A"], dest)
    sh(["git", "-c", "user.name=bench", "-c", "user.email=b@x.invalid", "commit", "-qm", "c"], dest)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seasons", type=int, default=1)
    args = parser.parse_args()
    first = season_name(LAST_SEASON_YEAR - args.seasons + 1)
    last = season_name(LAST_SEASON_YEAR)
    start = min(w[0] for w in season_type_windows(first).values()).isoformat()
    end = max(w[1] for w in season_type_windows(last).values()).isoformat()
    with tempfile.TemporaryDirectory(prefix="snapshot-bench-") as tmp:
        repo = Path(tmp) / "repo"
        repo.mkdir()
        copy_checkout(repo)
        env = {
            "DAGSTER_HOME": str(Path(tmp) / "home"),
            "NBA_ASSETS_SOURCE": "synthetic",
            "NBA_ASSETS_WAREHOUSE": str(repo / "warehouse"),
            "NBA_ASSETS_MIN_REQUEST_INTERVAL": "0",
            "DVC_NO_ANALYTICS": "1",
        }
        began = time.monotonic()
        sh(
            [str(BIN / "nba-assets"), "demo", "--season", last, "--start", start, "--end", end],
            repo,
            env,
        )
        materialize = time.monotonic() - began
        params = yaml.safe_load((repo / "params.yaml").read_text())
        params["extract"].update({"seasons": f"{first}:{last}", "start": start, "end": end})
        # several seasons: the last one is validation + test; one season: split within it
        train_end = f"{LAST_SEASON_YEAR}-09-30" if args.seasons > 1 else f"{LAST_SEASON_YEAR}-12-31"
        params["split"] = {"train_end": train_end, "valid_end": f"{LAST_SEASON_YEAR + 1}-02-28"}
        (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        timings = {}
        for stage in STAGES:
            timings[stage] = timed([str(BIN / "dvc"), "repro", "--single-item", stage], repo, env)
        timings["no-op"] = timed([str(BIN / "dvc"), "repro"], repo, env)
        features = sh([str(BIN / "dvc"), "metrics", "show", "--json"], repo, env)
        dates = nba_assets.read(
            "team_boxscores", columns=["game_date"], warehouse=str(repo / "warehouse")
        )
        days = dates["game_date"].nunique()
        print(f"seasons {first}:{last} ({start}..{end}), {days} game days per table")
        print(f"materialize (nba-assets demo, synthetic): {materialize:.1f}s")
        cold = [timings[s] for s in STAGES]
        print(
            f"dvc repro cold, all stages: {sum(w for w, _ in cold):.1f}s wall, "
            f"{sum(c for _, c in cold):.1f}s CPU"
        )
        for stage in (*STAGES, "no-op"):
            wall, cpu = timings[stage]
            print(f"  {stage:<9} {wall:6.1f}s wall {cpu:6.1f}s CPU")
        print(f"metrics: {features.strip()[:400]}")


if __name__ == "__main__":
    main()
