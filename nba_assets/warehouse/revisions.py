"""Stat corrections: what a commit changed in rows the warehouse had published, kept forever.

Computed against the published snapshot the commit replaced, written only after the commit
(carrying its `delta_version` and run id): a run the audit rejects writes none. Every changed
value is one revision; a row added to, or removed from, a day that had published rows is one
too (column `<row>`). Days published for the first time are ingest, not revisions. They live
in the Delta table `revisions` (appended, never rewritten), partitioned by asset.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
from deltalake import CommitProperties, write_deltalake

from nba_assets.io import delta
from nba_assets.io.delta import SOURCE_SHA256
from nba_assets.schemas import TableSpec

REVISIONS_TABLE = "revisions"
#: The column of a revision that adds or removes a whole row.
ROW = "<row>"
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
        ("delta_version", pa.int64()),
        ("run_id", pa.string()),
        ("detected_at", pa.string()),
    ]
)


def empty_revisions() -> pd.DataFrame:
    return delta.to_frame(REVISION_SCHEMA.empty_table())


def detect_revisions(
    spec: TableSpec, before: pd.DataFrame | None, after: pd.DataFrame
) -> pd.DataFrame:
    """Every value, added row and removed row by which `after` differs from `before`.

    Only days on which `before` held rows count: the rest is first ingest.
    """
    if before is None or before.empty:
        return empty_revisions()
    days = set(before["game_date"])
    after = after[after["game_date"].isin(days)]
    key = list(spec.key)
    merged = before.merge(after, on=key, how="outer", suffixes=("_old", ""), indicator=True)
    removed, added = merged["_merge"] == "left_only", merged["_merge"] == "right_only"
    parts = [
        _rows(merged[removed], ROW, "present", "absent"),
        _rows(merged[added], ROW, "absent", "present"),
    ]
    kept = merged[merged["_merge"] == "both"]
    for column in (c.name for c in spec.columns if c.name not in key):
        old, new = kept[column + "_old"], kept[column]
        both_na = old.isna() & new.isna()
        differs = ~both_na & (old.isna() | new.isna() | (old != new).fillna(True))
        if differs.any():
            rows = kept[differs]
            parts.append(_rows(rows, column, rows[column + "_old"], rows[column]))
    frame = pd.concat([empty_revisions(), *parts], ignore_index=True)
    frame["asset"] = spec.name
    return frame


def _rows(rows: pd.DataFrame, column: str, old: object, new: object) -> pd.DataFrame:
    def pick(name: str) -> object:
        """The new side's value where there is one, else the old side's (a removed row)."""
        values = [rows[c] for c in (name, name + "_old") if c in rows.columns]
        if not values:
            return None
        return values[0].combine_first(values[1]) if len(values) == 2 else values[0]

    return pd.DataFrame(
        {
            "game_id": rows["game_id"].to_numpy(),
            "game_date": pick("game_date"),
            "team_id": pick("team_id"),
            "player_id": pick("player_id"),
            "column": column,
            "old": _texts(old, len(rows)),
            "new": _texts(new, len(rows)),
            "old_sha256": _column(rows, SOURCE_SHA256 + "_old"),
            "new_sha256": _column(rows, SOURCE_SHA256),
        }
    ).reset_index(drop=True)


def _column(rows: pd.DataFrame, name: str) -> object:
    return rows[name].to_numpy() if name in rows.columns else None


def _texts(values: object, n: int) -> list[str | None]:
    if isinstance(values, pd.Series):
        return [None if pd.isna(v) else str(v) for v in values]
    return [str(values)] * n


def append_revisions(
    warehouse: str, asset: str, revisions: pd.DataFrame, version: int, run_id: str
) -> int | None:
    """Append one commit's revisions (one Delta commit); None and no write if there are none."""
    if revisions.empty:
        return None
    frame = revisions.assign(
        asset=asset,
        delta_version=version,
        run_id=run_id,
        detected_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    table = pa.Table.from_pandas(
        frame[REVISION_SCHEMA.names].reset_index(drop=True),
        schema=REVISION_SCHEMA,
        preserve_index=False,
    )
    uri = delta.table_uri(warehouse, REVISIONS_TABLE)
    write_deltalake(
        uri,
        table,
        mode="append",
        partition_by=["asset"],
        storage_options=delta.storage_options(uri),
        commit_properties=CommitProperties(
            custom_metadata={
                delta.META_PREFIX + "run_id": run_id,
                delta.META_PREFIX + "range": f"{asset} version {version}",
                delta.META_PREFIX + "rows": str(table.num_rows),
            }
        ),
    )
    return table.num_rows


def read_revisions(warehouse: str, asset: str | None = None) -> pd.DataFrame:
    """Every revision ever logged (for `asset`), in the order they were committed."""
    if not delta.exists(warehouse, REVISIONS_TABLE):
        return empty_revisions()
    table = delta.open_table(warehouse, REVISIONS_TABLE)
    where = f"asset = '{asset}'" if asset else None
    rows = delta.scan(
        table, REVISION_SCHEMA.names, where, ["delta_version", "game_date", "game_id"]
    )
    return delta.to_frame(rows.cast(REVISION_SCHEMA))
