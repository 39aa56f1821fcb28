"""Where a daily file's write time goes: encode (pandas -> Arrow -> Parquet) and durable publish.

    .venv/bin/python bench/write_path.py [--days 300] [--rows-per-day 20]

Compares the old path (convert each day's frame, fsync each file) with the IO manager's
(convert the run's frame once, encode Arrow slices, one durability barrier for all files),
and checks that both give the same bytes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import tempfile
import time

import pandas as pd
from upath import UPath

from nba_assets.io.parquet import arrow_table, encode_table, parquet_bytes
from nba_assets.io.storage import write_atomic, write_atomic_many
from nba_assets.schemas import TEAM_BOXSCORES, conform

PROVENANCE = [
    {
        "endpoint": "leaguegamelog",
        "params": {"Season": "2024-25", "DateFrom": "10/01/2024", "DateTo": "04/30/2025"},
        "sha256": "0" * 64,
        "archive": "raw/leaguegamelog/0000000000/" + "0" * 64 + ".json",
        "covers": ["2024-10-01", "2025-04-30"],
    }
]


def run_frame(days: int, per_day: int) -> pd.DataFrame:
    rows = []
    for d in range(days):
        for t in range(per_day):
            row = {c.name: None for c in TEAM_BOXSCORES.columns}
            row.update(
                team_id=t,
                game_id=f"00224{d:03d}{t:02d}",
                game_date=dt.date(2024, 10, 1) + dt.timedelta(days=d),
                pts=100 + t,
                plus_minus=0.0,
            )
            rows.append(row)
    return conform(TEAM_BOXSCORES, pd.DataFrame(rows))


def timed(fn) -> tuple[float, object]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=300)
    parser.add_argument("--rows-per-day", type=int, default=20)
    args = parser.parse_args()
    n, k = args.days, args.rows_per_day
    frame = run_frame(n, k)
    day_frames = [frame.iloc[i * k : (i + 1) * k] for i in range(n)]
    t_frame, old = timed(lambda: [parquet_bytes(TEAM_BOXSCORES, f, PROVENANCE) for f in day_frames])
    t_convert, table = timed(lambda: arrow_table(TEAM_BOXSCORES, frame))
    t_slice, new = timed(
        lambda: [encode_table(TEAM_BOXSCORES, table.slice(i * k, k), PROVENANCE) for i in range(n)]
    )
    assert old == new, "Arrow slices must encode to the same bytes as per-day frames"
    scratch = tempfile.mkdtemp(prefix="nba-write-")
    try:
        t_each, _ = timed(
            lambda: [write_atomic(UPath(f"{scratch}/a{i}.parquet"), b) for i, b in enumerate(new)]
        )
        t_many, _ = timed(
            lambda: write_atomic_many(
                (UPath(f"{scratch}/b{i}.parquet"), b) for i, b in enumerate(new)
            )
        )
    finally:
        shutil.rmtree(scratch)
    ms = 1000 / n
    print(f"{n} files of {k} rows, {len(new[0])} bytes each; per file:")
    print(f"  encode, each day's frame converted      {t_frame * ms:6.2f} ms")
    print(f"  encode, one conversion + Arrow slices   {(t_convert + t_slice) * ms:6.2f} ms")
    print(f"  publish, temp + fsync + rename each     {t_each * ms:6.2f} ms")
    print(f"  publish, temps + one sync + renames     {t_many * ms:6.2f} ms")
    print(
        f"  old path {(t_frame + t_each) * ms:.2f} ms -> new path "
        f"{(t_convert + t_slice + t_many) * ms:.2f} ms"
    )


if __name__ == "__main__":
    main()
