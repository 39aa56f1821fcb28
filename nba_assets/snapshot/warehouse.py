"""The snapshot's one reader of the warehouse: a pinned Delta version of each box-score table.

`pin` resolves what params.yaml asks for (`latest` or a version number) to version numbers;
`read_pinned` reads exactly that version through `nba_assets.read`'s scan, and names the days
of the snapshot no commit up to that version ever covered (never materialized), rather than
letting them pass as days without games.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from nba_assets.io import delta
from nba_assets.partitions import season_of, season_type_windows
from nba_assets.query import reader
from nba_assets.schemas import TableSpec

LATEST = "latest"
#: Operations that write rows without our range metadata (a table written by another tool).
_FOREIGN_WRITES = {"WRITE", "CREATE TABLE", "CREATE OR REPLACE TABLE", "MERGE"}
Span = tuple[dt.date, dt.date]
_ALL: Span = (dt.date.min, dt.date.max)


class MissingPartitionsError(LookupError):
    """Days the snapshot needs that no commit of the pinned version ever materialized."""


@dataclass(frozen=True)
class Pinned:
    """One table as the snapshot read it: its version, rows, and rows per snapshot day."""

    table: str
    version: int
    rows: int
    days: dict[str, int]

    def as_manifest(self) -> dict[str, Any]:
        """Version, rows and rows per day: nothing run-specific, no times, no file hashes."""
        return {"delta_version": self.version, "rows": self.rows, "partitions": self.days}


def parse_pin(table: str, value: Any) -> int | None:
    """`latest` (None) or a version number, as params.yaml's `extract.versions` gives it."""
    if value is None or str(value).strip().lower() == LATEST:
        return None
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit():
        raise ValueError(f"extract.versions.{table}: 'latest' or a version number, not {value!r}")
    return int(text)


def pin(
    warehouse: str, pins: Mapping[str, Any], optional: Iterable[str] = ()
) -> dict[str, int | None]:
    """{table: version}: `latest` resolved to the newest version that changed rows (not a
    compaction's), numbers checked to exist. An `optional` table never written pins to None
    when `latest` is asked (a number asked of it must exist)."""
    versions: dict[str, int | None] = {}
    for table, value in sorted(pins.items()):
        version = parse_pin(table, value)
        absent = table in optional and version is None and not delta.exists(warehouse, table)
        versions[table] = None if absent else _resolve(warehouse, table, version)
    return versions


def _resolve(warehouse: str, table: str, version: int | None) -> int:
    snapshot = reader.open_snapshot(table, version, warehouse=warehouse)  # names what is missing
    return snapshot.version if version is not None else delta.last_data_version(warehouse, table)


def read_pinned(
    warehouse: str, spec: TableSpec, version: int, days: Sequence[dt.date]
) -> tuple[pa.Table, Pinned]:
    """Rows of `spec` at `version` dated on `days`, sorted by game date and key."""
    snapshot = reader.open_snapshot(spec.name, version, warehouse=warehouse)
    materialized = spans(warehouse, spec.name, version)
    missing = [d for d in days if not _covered(materialized, d)]
    if missing:
        raise MissingPartitionsError(_missing_message(warehouse, spec.name, version, missing))
    if not days:
        return spec.arrow_schema().empty_table(), Pinned(spec.name, version, 0, {})
    table = reader.scan_snapshot(
        snapshot,
        seasons=sorted({season_of(d) for d in days}),
        columns=spec.names,
        filters=[("game_date", ">=", min(days)), ("game_date", "<=", max(days))],
    )
    table = table.filter(pc.is_in(table.column("game_date"), pa.array(days, pa.date32())))
    table = table.cast(spec.arrow_schema())
    return table, Pinned(spec.name, version, table.num_rows, _rows_by_day(table, days))


def read_pinned_schedule(
    warehouse: str, spec: TableSpec, version: int, days: Sequence[dt.date]
) -> tuple[pa.Table, Pinned]:
    """The season schedule at `version`: its games dated on `days`, sorted by date and game
    (the features' source of home and away). Partitions are seasons, counted as such."""
    snapshot = reader.open_snapshot(spec.name, version, warehouse=warehouse)
    seasons = sorted({season_of(d) for d in days})
    table = reader.scan_snapshot(snapshot, seasons=seasons, columns=spec.names)
    table = table.filter(pc.is_in(table.column("game_date"), pa.array(days, pa.date32())))
    table = table.sort_by([("game_date", "ascending"), ("game_id", "ascending")])
    table = table.cast(spec.arrow_schema())
    per_season = {s: 0 for s in seasons}
    for entry in pc.value_counts(table.column("season")).to_pylist():
        per_season[entry["values"]] = entry["counts"]
    return table, Pinned(spec.name, version, table.num_rows, per_season)


def _rows_by_day(table: pa.Table, days: Iterable[dt.date]) -> dict[str, int]:
    counts = dict.fromkeys((d.isoformat() for d in days), 0)
    if table.num_rows:
        for entry in pc.value_counts(table.column("game_date")).to_pylist():
            counts[entry["values"].isoformat()] = entry["counts"]
    return counts


def spans(warehouse: str, table: str, version: int) -> list[Span]:
    """Merged game-date spans every commit up to `version` replaced (materialized), sorted."""
    found = []
    for entry in delta.open_table(warehouse, table).history():
        if int(entry["version"]) <= version:
            span = _span(entry)
            if span is not None:
                found.extend(span)
    return _merge(found)


def _span(entry: Mapping[str, Any]) -> list[Span] | None:
    """What one commit replaced: its range (days, seasons or all), None for maintenance."""
    text = entry.get(delta.META_PREFIX + "range")
    if text is None:
        return [_ALL] if entry.get("operation") in _FOREIGN_WRITES else None
    text = str(text)
    if text == "all":
        return [_ALL]
    if "..." in text:
        first, _, last = text.partition("...")
        try:
            return [(dt.date.fromisoformat(first), dt.date.fromisoformat(last))]
        except ValueError:
            return None
    try:
        return [_season_span(s) for s in text.split(",")]
    except ValueError:  # optimize, restore to version N: no rows of their own
        return None


def _season_span(season: str) -> Span:
    windows = season_type_windows(season.strip()).values()
    return min(w[0] for w in windows), max(w[1] for w in windows)


def _merge(found: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for first, last in sorted(found):
        if merged and first <= merged[-1][1] + dt.timedelta(days=1):
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def _covered(merged: list[Span], day: dt.date) -> bool:
    at = bisect.bisect_right(merged, (day, dt.date.max)) - 1
    return at >= 0 and merged[at][0] <= day <= merged[at][1]


def _missing_message(warehouse: str, table: str, version: int, missing: list[dt.date]) -> str:
    shown = ", ".join(d.isoformat() for d in missing[:5]) + (" ..." if len(missing) > 5 else "")
    return (
        f"{delta.table_uri(warehouse, table)}: {len(missing)} partition(s) of {table} never "
        f"materialized as of version {version} ({shown}); materialize them in Dagster "
        f"(--partition-range {missing[0]}...{missing[-1]}) or narrow extract.start/end in params.yaml"
    )
