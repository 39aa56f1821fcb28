"""Stat corrections: what a fresh answer changed in rows the warehouse already held, kept forever.

Inside the correction window the API is asked again; every value that differs from the stored
row becomes one revision (game, team or player, column, old, new, both response hashes). Each
run appends one file under `<warehouse>/_revisions/<asset>/`; nothing is ever rewritten.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from collections.abc import Sequence

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from upath import UPath

from nba_assets.io.parquet import read_frame, read_provenance
from nba_assets.io.storage import write_atomic
from nba_assets.partitions import GAME_ID_KINDS
from nba_assets.schemas import TableSpec
from nba_assets.source.client import Fetched
from nba_assets.source.protocol import date_window

REVISIONS_DIR = "_revisions"
#: A row the warehouse held that the fresh answer no longer has.
ROW_REMOVED = "<row>"
REVISION_SCHEMA = pa.schema(
    [
        ("asset", pa.string()),
        ("game_id", pa.string()),
        ("game_date", pa.date32()),
        ("team_id", pa.int64()),
        ("player_id", pa.int64()),
        ("column", pa.string()),
        ("old", pa.string()),
        ("new", pa.string()),
        ("old_sha256", pa.string()),
        ("new_sha256", pa.string()),
        ("detected_at", pa.string()),
    ]
)


def detect_revisions(
    warehouse: UPath,
    spec: TableSpec,
    table: pd.DataFrame,
    fetched: Sequence[Fetched],
    start: dt.date,
    end: dt.date,
) -> pd.DataFrame:
    """Every value the API's fresh answers changed in the stored partitions of [start, end]."""
    found = [empty_revisions()]
    for response in fetched:
        if response.attempts == 0:  # answered from the archive: nothing new to compare
            continue
        season_type = response.params.get("SeasonType", "")
        first, last = date_window(response.params)
        first, last = max(first or start, start), min(last or end, end)
        old, old_sha = _stored(warehouse / spec.name, first, last, season_type)
        if old.empty:
            continue
        kind = GAME_ID_KINDS.get(season_type)
        in_window = (table["game_date"] >= first) & (table["game_date"] <= last)
        new = table[in_window & ((table["game_id"].str[2] == kind) if kind else True)]
        found.append(_compare(spec, old, new, old_sha, response.sha256))
    return pd.concat(found, ignore_index=True)


def empty_revisions() -> pd.DataFrame:
    return REVISION_SCHEMA.empty_table().to_pandas()


def _stored(
    folder: UPath, first: dt.date, last: dt.date, season_type: str
) -> tuple[pd.DataFrame, dict[dt.date, str]]:
    """The stored rows of one season type in [first, last], and each day's response hash."""
    frames, shas = [], {}
    kind = GAME_ID_KINDS.get(season_type)
    day = first
    while day <= last:
        path = folder / f"{day.isoformat()}.parquet"
        if path.exists():
            frame = read_frame(path)
            if kind:
                frame = frame[frame["game_id"].str[2] == kind]
            frames.append(frame)
            shas[day] = next(
                (
                    p.get("sha256", "")
                    for p in read_provenance(path)
                    if (p.get("params") or {}).get("SeasonType") == season_type
                ),
                "",
            )
        day += dt.timedelta(days=1)
    if not frames:
        return pd.DataFrame(), shas
    return pd.concat(frames, ignore_index=True), shas


def _compare(
    spec: TableSpec,
    old: pd.DataFrame,
    new: pd.DataFrame,
    old_sha: dict[dt.date, str],
    new_sha: str,
) -> pd.DataFrame:
    """One revision per changed value (and per stored row the new answer lacks)."""
    key = list(spec.key)
    merged = old.merge(new, on=key, how="left", suffixes=("_old", ""), indicator=True)
    removed = merged["_merge"] == "left_only"
    columns = [c.name for c in spec.columns if c.name not in key and c.name in new.columns]
    parts = [_revision_rows(merged[removed], ROW_REMOVED, "present", "absent")]
    kept = merged[~removed]
    for column in columns:
        before, after = kept[column + "_old"], kept[column]
        both_na = before.isna() & after.isna()
        differs = ~both_na & (before.isna() | after.isna() | (before != after).fillna(True))
        if differs.any():
            rows = kept[differs]
            parts.append(_revision_rows(rows, column, rows[column + "_old"], rows[column]))
    frame = pd.concat(parts, ignore_index=True)
    frame.insert(0, "asset", spec.name)
    frame["old_sha256"] = frame["game_date"].map(lambda d: old_sha.get(d, ""))
    frame["new_sha256"] = new_sha
    frame["detected_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return frame[[f.name for f in REVISION_SCHEMA]]


def _revision_rows(rows: pd.DataFrame, column: str, old: object, new: object) -> pd.DataFrame:
    def ids(name: str) -> object:
        for candidate in (name, name + "_old"):
            if candidate in rows.columns:
                return rows[candidate].to_numpy()
        return None

    return pd.DataFrame(
        {
            "game_id": rows["game_id"].to_numpy(),
            "game_date": rows["game_date_old"].to_numpy(),
            "team_id": ids("team_id"),
            "player_id": ids("player_id"),
            "column": column,
            "old": _texts(old, len(rows)),
            "new": _texts(new, len(rows)),
        }
    )


def _texts(values: object, n: int) -> list[str | None]:
    if isinstance(values, pd.Series):
        return [None if pd.isna(v) else str(v) for v in values]
    return [str(values)] * n


def append_revisions(warehouse: UPath, asset: str, revisions: pd.DataFrame) -> UPath | None:
    """Append one run's revisions as a new file; an empty set writes nothing."""
    if revisions.empty:
        return None
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = warehouse / REVISIONS_DIR / asset / f"{stamp}-{uuid.uuid4().hex[:8]}.parquet"
    table = pa.Table.from_pandas(
        revisions.reset_index(drop=True), schema=REVISION_SCHEMA, preserve_index=False
    )
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    write_atomic(path, sink.getvalue())
    return path


def read_revisions(warehouse: UPath, asset: str) -> pd.DataFrame:
    """Every revision ever logged for `asset`, oldest file first."""
    folder = warehouse / REVISIONS_DIR / asset
    if not folder.exists():
        return empty_revisions()
    frames = []
    for path in sorted(folder.glob("*.parquet")):
        with path.open("rb") as handle:
            frames.append(pq.read_table(handle).to_pandas())
    return pd.concat([empty_revisions(), *frames], ignore_index=True)
