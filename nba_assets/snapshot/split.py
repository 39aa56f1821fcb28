"""Stage `split`: train / validation / test by game date, and a few numbers for `dvc metrics`."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc

SPLITS = ("train", "validation", "test")


def split_by_date(features: pa.Table, train_end: str, valid_end: str) -> dict[str, pa.Table]:
    """train: games on or before train_end; validation: up to valid_end; test: after it."""
    train_to, valid_to = dt.date.fromisoformat(train_end), dt.date.fromisoformat(valid_end)
    if valid_to < train_to:
        raise ValueError(f"split.valid_end {valid_end} is before split.train_end {train_end}")
    dates = features["game_date"]
    masks = {
        "train": pc.less_equal(dates, pa.scalar(train_to)),
        "validation": pc.and_(
            pc.greater(dates, pa.scalar(train_to)), pc.less_equal(dates, pa.scalar(valid_to))
        ),
        "test": pc.greater(dates, pa.scalar(valid_to)),
    }
    return {name: features.filter(mask) for name, mask in masks.items()}


def split_metrics(splits: dict[str, pa.Table]) -> dict[str, dict[str, float | int]]:
    """Rows, home-win rate and the accuracy of always picking the home team, per split."""
    metrics: dict[str, dict[str, float | int]] = {}
    for name, table in splits.items():
        rows = table.num_rows
        home_wins = pc.sum(table["home_win"].cast(pa.int64())).as_py() or 0
        metrics[name] = {
            "games": rows,
            "home_win_rate": round(home_wins / rows, 6) if rows else 0.0,
            "first_date": str(pc.min(table["game_date"]).as_py()) if rows else "",
            "last_date": str(pc.max(table["game_date"]).as_py()) if rows else "",
        }
    return metrics
