"""The raw archive's index, `raw_responses`: which response was published where, or rejected why.

One row per verdict, appended after the audit and never rewritten: a response (request key and
sha256) was published in version N of table T, or rejected by rules R, by run X. A response's
standing is its latest verdict. Settled windows are answered only from a response whose standing
is `published`: a rejected one, or one never judged (its run died before the audit), is never
reused. A `ResponseIndex` reads the whole table once and answers from memory, so a lookup costs
no listing and, on S3, only the GET of the body; this process's own verdicts are folded into every
live index of the warehouse as they are written. A rollback withdraws the responses whose rows it
took out (`record_withdrawn`).
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import json
import threading
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from dagster import get_dagster_logger
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError

from nba_assets.io import delta
from nba_assets.io.storage import as_upath
from nba_assets.source.protocol import date_window, selecting_params
from nba_assets.source.recordings import window_covers

INDEX_TABLE = "raw_responses"
PUBLISHED, REJECTED = "published", "rejected"
#: Data files the index may hold before an append compacts it (a lookup's load reads them all).
MAX_FILES = 32
_UTC_TS = pa.timestamp("us", tz="UTC")
INDEX_SCHEMA = pa.schema(
    [
        ("request_key", pa.string()),
        ("endpoint", pa.string()),
        ("params", pa.string()),  # JSON, keys sorted: exactly the parameters the client sent
        ("selecting", pa.string()),  # JSON of those that select data (no paging, no window)
        ("date_from", pa.date32()),  # the request's DateFrom/DateTo window, null where open
        ("date_to", pa.date32()),
        ("sha256", pa.string()),
        ("archive", pa.string()),  # raw/<endpoint>/<request_key>/<sha256>.json
        ("fetched_at", _UTC_TS),  # when the API gave these bytes
        ("verdict", pa.string()),  # 'published' | 'rejected'
        ("table", pa.string()),
        ("delta_version", pa.int64()),  # the table's version that published it (published)
        ("rules", pa.list_(pa.string())),  # the blocking rules that failed (rejected)
        ("run_id", pa.string()),
        ("recorded_at", _UTC_TS),  # when the verdict was given: the latest one stands
    ]
)


def request_key(endpoint: str, params: Mapping[str, str]) -> str:
    """A stable short name for one request (endpoint + every parameter)."""
    canonical = json.dumps({"endpoint": endpoint, "params": dict(params)}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def archive_name(endpoint: str, key: str, sha256: str) -> str:
    """Where a response lives, relative to the warehouse (as provenance names it)."""
    return f"raw/{endpoint}/{key}/{sha256}.json"


@dataclass(frozen=True)
class Verdict:
    """One row of the index: what one run decided about one archived response."""

    request_key: str
    endpoint: str
    params: dict[str, str]
    sha256: str
    fetched_at: dt.datetime
    verdict: str
    table: str
    delta_version: int | None
    rules: tuple[str, ...]
    run_id: str
    recorded_at: dt.datetime

    @property
    def archive(self) -> str:
        return archive_name(self.endpoint, self.request_key, self.sha256)

    @property
    def published(self) -> bool:
        return self.verdict == PUBLISHED

    def as_row(self) -> dict[str, Any]:
        start, end = date_window(self.params)
        return {
            "request_key": self.request_key,
            "endpoint": self.endpoint,
            "params": json.dumps(self.params, sort_keys=True),
            "selecting": _selecting(self.params),
            "date_from": start,
            "date_to": end,
            "sha256": self.sha256,
            "archive": self.archive,
            "fetched_at": self.fetched_at,
            "verdict": self.verdict,
            "table": self.table,
            "delta_version": self.delta_version,
            "rules": list(self.rules),
            "run_id": self.run_id,
            "recorded_at": self.recorded_at,
        }


def _selecting(params: Mapping[str, str]) -> str:
    return json.dumps(selecting_params(params), sort_keys=True)


class ResponseIndex:
    """`raw_responses` of one warehouse, held in memory: read once, then kept current in place.

    The rows stay an Arrow table; Python holds only flat maps from a response id
    (`<request_key>/<sha256>`) to the row of its latest verdict and to its latest fetch, and
    the sorted ids (a request's responses are one prefix range). Loading 10,000 entries thus
    builds no object per row. The maps for wider-window lookups are built per endpoint, at
    its first such lookup. Only this process's appends are folded in (see `append`); another
    process's verdicts are seen by the next index (each client builds its own, per run step).
    """

    def __init__(self, warehouse: str) -> None:
        self.warehouse = warehouse
        self.uri = delta.table_uri(warehouse, INDEX_TABLE)
        self._lock = threading.RLock()
        self._clear()
        _LIVE.setdefault(self.uri, weakref.WeakSet()).add(self)

    def _clear(self) -> None:
        self._loaded, self._version = False, -1
        self._table = INDEX_SCHEMA.empty_table()
        self._latest: dict[str, int] = {}  # response id -> row of its latest verdict
        self._fetched: dict[str, int] = {}  # response id -> its latest fetch (microseconds)
        self._ids: list[str] = []  # every response id, sorted
        self._recorded: list[int] = []  # per row: when the verdict was given (microseconds)
        self._verdicts: list[str] = []  # per row: 'published' | 'rejected'
        #: endpoint -> selecting parameters (JSON) -> request keys; built at first use
        self._selections: dict[str, dict[str, list[str]]] = {}
        self._windows: dict[str, tuple[dt.date | None, dt.date | None]] = {}

    # -- lookups ------------------------------------------------------------------------------

    def standing(self, key: str, sha256: str) -> Verdict | None:
        """The latest verdict on one response, or None if it was never judged."""
        with self._lock:
            self._ensure_loaded()
            return self._standing_of(f"{key}/{sha256}")

    def published(self, endpoint: str, params: Mapping[str, str]) -> Verdict | None:
        """The newest response to exactly this request whose latest verdict is `published`."""
        with self._lock:
            self._ensure_loaded()
            return self._newest_published([request_key(endpoint, params)], None)

    def published_covering(
        self, endpoint: str, params: Mapping[str, str], fetched_after: str = ""
    ) -> Verdict | None:
        """The newest published response to this request or a wider one that holds its window.

        Wider: the same selecting parameters with a date window containing the wanted one.
        `fetched_after` (ISO date or time): only responses the API gave later than that count.
        """
        selecting, window = _selecting(params), date_window(params)
        after = _micros(_as_utc(fetched_after)) if fetched_after else None
        with self._lock:
            self._ensure_loaded()
            keys = [
                key
                for key in self._selection(endpoint).get(selecting, [])
                if window_covers(self._windows[key], window)
            ]
            return self._newest_published(keys, after)

    def __len__(self) -> int:
        """Responses judged at least once."""
        with self._lock:
            self._ensure_loaded()
            return len(self._ids)

    def published_in(self, table: str, sha256s: Iterable[str]) -> list[Verdict]:
        """The standing of every response with one of these sha256s last published in `table`."""
        wanted = set(sha256s)
        with self._lock:
            self._ensure_loaded()
            found = [
                self._standing_of(response)
                for response in self._ids
                if response.rsplit("/", 1)[1] in wanted
                and self._verdicts[self._latest[response]] == PUBLISHED
            ]
            return [v for v in found if v is not None and v.table == table]

    def known_params(self, key: str) -> dict[str, str] | None:
        """A request's parameters if this index has read them (never reads the table)."""
        with self._lock:
            ids = self._ids_of(key)
            if not ids:
                return None
            return json.loads(self._table.column("params")[self._latest[ids[0]]].as_py())

    def known_fetched_at(self, key: str, sha256: str) -> dt.datetime | None:
        """When the API last gave this response, if this index knows (never reads the table)."""
        with self._lock:
            fetched = self._fetched.get(f"{key}/{sha256}")
            return None if fetched is None else _from_micros(fetched)

    # -- keeping current ----------------------------------------------------------------------

    def reload(self) -> None:
        """Read the table again (another process wrote to it)."""
        with self._lock:
            self._clear()
            self._ensure_loaded()

    def absorb(self, rows: pa.Table, before: int, after: int) -> None:
        """Our append moved the table from `before` to `after`: fold its rows in if it was the
        only commit since we read the table, else read the table again at the next lookup."""
        with self._lock:
            if not self._loaded:
                return
            if self._version == before and after == before + 1:
                self._add(rows)
                self._version = after
            else:
                self._clear()

    def compacted(self, before: int, after: int) -> None:
        """A compaction rewrote files, not rows: a current index stays current."""
        with self._lock:
            if self._loaded and self._version == before and after == before + 1:
                self._version = after

    def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        version, rows = read_table(self.warehouse)
        self._load(rows)
        self._version, self._loaded = version, True

    def _load(self, table: pa.Table) -> None:
        """All rows at once, oldest verdict first: the last row of a response is its standing."""
        ids = pc.binary_join_element_wise(table["request_key"], table["sha256"], "/")
        fetched = _micros_of(table["fetched_at"])
        groups = pa.table(
            {"id": ids, "row": pa.array(range(table.num_rows), pa.int64()), "fetched": fetched}
        ).group_by("id", use_threads=False)
        latest = groups.aggregate([("row", "max"), ("fetched", "max")])
        names = latest["id"].to_pylist()
        self._latest = dict(zip(names, latest["row_max"].to_pylist(), strict=True))
        self._fetched = dict(zip(names, latest["fetched_max"].to_pylist(), strict=True))
        self._ids = sorted(names)
        self._recorded = _micros_of(table["recorded_at"]).to_pylist()
        self._verdicts = table["verdict"].to_pylist()
        self._table = table

    def _add(self, table: pa.Table) -> None:
        """A few new rows, folded one by one (the latest verdict wins, ties to the newer row)."""
        first = len(self._recorded)
        self._table = pa.concat_tables([self._table, table])
        self._recorded += _micros_of(table["recorded_at"]).to_pylist()
        self._verdicts += table["verdict"].to_pylist()
        columns = ("request_key", "sha256", "fetched_at", "endpoint", "selecting")
        keys, shas, _, endpoints, selecting = (table[c].to_pylist() for c in columns)
        fetched = _micros_of(table["fetched_at"]).to_pylist()
        windows = zip(table["date_from"].to_pylist(), table["date_to"].to_pylist(), strict=True)
        for j, window in enumerate(windows):
            row, response = first + j, f"{keys[j]}/{shas[j]}"
            old = self._latest.get(response)
            if old is None:
                bisect.insort(self._ids, response)
            if old is None or self._recorded[row] >= self._recorded[old]:
                self._latest[response] = row
            self._fetched[response] = max(self._fetched.get(response, 0), fetched[j])
            if endpoints[j] in self._selections:
                self._note(self._selections[endpoints[j]], keys[j], selecting[j], window)

    def _selection(self, endpoint: str) -> dict[str, list[str]]:
        """The endpoint's requests by selecting parameters (built at its first lookup)."""
        found = self._selections.get(endpoint)
        if found is None:
            found = self._selections[endpoint] = {}
            rows = self._table.filter(pc.equal(self._table["endpoint"], endpoint))
            columns = ("request_key", "selecting", "date_from", "date_to")
            keys, selecting, starts, ends = (rows[c].to_pylist() for c in columns)
            for i, key in enumerate(keys):
                self._note(found, key, selecting[i], (starts[i], ends[i]))
        return found

    def _note(
        self,
        selection: dict[str, list[str]],
        key: str,
        selecting: str,
        window: tuple[dt.date | None, dt.date | None],
    ) -> None:
        if key not in self._windows:
            self._windows[key] = window
            selection.setdefault(selecting, []).append(key)

    def _ids_of(self, key: str) -> list[str]:
        """The ids of every judged response to one request: a prefix range of the sorted ids."""
        prefix = key + "/"
        start = end = bisect.bisect_left(self._ids, prefix)
        while end < len(self._ids) and self._ids[end].startswith(prefix):
            end += 1
        return self._ids[start:end]

    def _newest_published(self, keys: Iterable[str], after: int | None) -> Verdict | None:
        """Among these requests' responses standing as published (and fetched after `after`,
        in microseconds), the newest fetched."""
        best, rank = None, (-1, -1)
        for key in keys:
            for response in self._ids_of(key):
                row, fetched = self._latest[response], self._fetched[response]
                if self._verdicts[row] != PUBLISHED or (after is not None and fetched <= after):
                    continue
                if (fetched, self._recorded[row]) > rank:
                    best, rank = response, (fetched, self._recorded[row])
        return None if best is None else self._standing_of(best)

    def _standing_of(self, response: str) -> Verdict | None:
        row = self._latest.get(response)
        return None if row is None else self._verdict(row, self._fetched[response])

    def _verdict(self, row: int, fetched: int | None = None) -> Verdict:
        """Row `row` as a Verdict; `fetched`: the response's latest fetch, else the row's own."""
        [values] = self._table.slice(row, 1).to_pylist()
        return Verdict(
            request_key=values["request_key"],
            endpoint=values["endpoint"],
            params=json.loads(values["params"]),
            sha256=values["sha256"],
            fetched_at=_from_micros(fetched) if fetched is not None else values["fetched_at"],
            verdict=values["verdict"],
            table=values["table"] or "",
            delta_version=values["delta_version"],
            rules=tuple(values["rules"] or ()),
            run_id=values["run_id"] or "",
            recorded_at=_from_micros(self._recorded[row]),
        )


#: Every live index per table URI: an append of this process folds into each of them.
_LIVE: dict[str, weakref.WeakSet[ResponseIndex]] = {}


def _live(uri: str) -> list[ResponseIndex]:
    return list(_LIVE.get(uri, ()))


# -- reading the table ----------------------------------------------------------------------------


def read_table(warehouse: str) -> tuple[int, pa.Table]:
    """The index's version and rows, oldest verdict first; (-1, no rows) if never written."""
    try:
        table = delta.open_table(warehouse, INDEX_TABLE)
    except delta.TableMissingError:
        return -1, INDEX_SCHEMA.empty_table()
    rows = delta.scan(table, INDEX_SCHEMA.names, order=["recorded_at"])
    return table.version(), rows.cast(INDEX_SCHEMA)


def read_verdicts(warehouse: str) -> list[Verdict]:
    """Every verdict in the index, oldest first, each with its own fetch time (for people and
    tests; lookups go through a `ResponseIndex`)."""
    index = ResponseIndex(warehouse)
    with index._lock:
        index._ensure_loaded()
        return [index._verdict(row) for row in range(len(index._recorded))]


def _micros_of(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A timestamp column as integer microseconds since the epoch (null as 0)."""
    return pc.fill_null(column.cast(_UTC_TS).cast(pa.int64()), 0)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _micros(when: dt.datetime) -> int:
    return (when - _EPOCH) // dt.timedelta(microseconds=1)


def _from_micros(micros: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=micros)


# -- writing verdicts -----------------------------------------------------------------------------


def record_published(
    warehouse: str, requests: Sequence[Mapping[str, Any]], table: str, version: int, run_id: str
) -> None:
    """The responses `requests` name were published in `version` of `table` by `run_id`."""
    _record(warehouse, requests, PUBLISHED, table, version, (), run_id)


def record_confirmed(
    warehouse: str, requests: Sequence[Mapping[str, Any]], table: str, version: int, run_id: str
) -> None:
    """A run whose rows equal the published ones: its responses stand published in `version`.

    Only news is written — a response never judged, or fetched again since its last verdict
    (identical bytes re-asked inside the correction window: its newer fetch time is what lets
    a later settled window be answered from it) — so a settled rerun appends nothing.
    """
    index, now = ResponseIndex(warehouse), dt.datetime.now(dt.UTC)
    news = []
    for record in requests:
        judged = _judged(warehouse, record, now)
        if judged is None:
            continue
        key, _, _, sha256, fetched_at = judged
        standing = index.standing(key, sha256)
        if standing is None or not standing.published or standing.fetched_at < fetched_at:
            news.append(record)
    _record(warehouse, news, PUBLISHED, table, version, (), run_id)


def record_rejected(
    warehouse: str,
    requests: Sequence[Mapping[str, Any]],
    table: str,
    rules: Sequence[str],
    run_id: str,
) -> None:
    """The responses `requests` name were rejected by `rules` in `run_id`: never answer from them."""
    _record(warehouse, requests, REJECTED, table, None, tuple(rules), run_id)


def record_withdrawn(
    warehouse: str, table: str, sha256s: Iterable[str], reason: str, run_id: str
) -> int:
    """After a rollback of `table`: stop answering from responses whose rows it took out.

    `sha256s`: the responses of the commits undone (their `responses` commit metadata). Those
    the table's current version still holds rows of stay published; every other one last
    published in `table` stands rejected by `reason` from now on. One append, or none;
    returns the verdicts written.
    """
    remaining = set(sha256s) - _sources_in(warehouse, table)
    now = dt.datetime.now(dt.UTC)
    withdrawn = [
        replace(
            standing,
            verdict=REJECTED,
            delta_version=None,
            rules=(reason,),
            run_id=run_id,
            recorded_at=now,
        )
        for standing in ResponseIndex(warehouse).published_in(table, remaining)
    ]
    if withdrawn:
        append(warehouse, withdrawn, run_id)
    return len(withdrawn)


def _sources_in(warehouse: str, table: str) -> set[str]:
    """The sha256 of every response the table's current version holds rows of."""
    current = delta.open_table(warehouse, table)
    if delta.SOURCE_SHA256 not in {f.name for f in current.schema().fields}:
        return set()
    rows = delta.scan(current, [delta.SOURCE_SHA256])
    return {s for s in pc.unique(rows.column(0)).to_pylist() if s}


def _record(
    warehouse: str,
    requests: Sequence[Mapping[str, Any]],
    verdict: str,
    table: str,
    version: int | None,
    rules: tuple[str, ...],
    run_id: str,
) -> None:
    """One append commit holding one verdict per distinct response; nothing if there is none."""
    now = dt.datetime.now(dt.UTC)
    verdicts: dict[tuple[str, str], Verdict] = {}
    for record in requests:
        judged = _judged(warehouse, record, now)
        if judged is None:
            continue
        key, endpoint, params, sha256, fetched_at = judged
        verdicts[(key, sha256)] = Verdict(
            request_key=key,
            endpoint=endpoint,
            params=params,
            sha256=sha256,
            fetched_at=fetched_at,
            verdict=verdict,
            table=table,
            delta_version=version,
            rules=rules,
            run_id=run_id,
            recorded_at=now,
        )
    if verdicts:
        append(warehouse, list(verdicts.values()), run_id)


def _judged(
    warehouse: str, record: Mapping[str, Any], now: dt.datetime
) -> tuple[str, str, dict[str, str], str, dt.datetime] | None:
    """(request key, endpoint, params, sha256, fetched_at) of the response a record names.

    A settled window cut from a wider archived response names the wider request's file: the
    verdict is about that response, so it carries that request's key and parameters.
    """
    endpoint, sha256 = record.get("endpoint"), record.get("sha256")
    if not endpoint or not sha256:
        return None  # a span no request covered
    params = {k: "" if v is None else str(v) for k, v in dict(record.get("params") or {}).items()}
    key = request_key(endpoint, params)
    archived = _key_in(str(record.get("archive") or ""), endpoint)
    if archived and archived != key:
        key, params = archived, _archived_params(warehouse, endpoint, archived, sha256)
    fetched_at = _fetched_at(warehouse, record, key, sha256) or now
    return key, endpoint, params, sha256, fetched_at


def _key_in(archive: str, endpoint: str) -> str | None:
    """The request key in `raw/<endpoint>/<key>/<sha256>.json`, if the path has that shape."""
    parts = archive.rsplit("/", 3)
    return parts[-2] if len(parts) == 4 and parts[-3] == endpoint else None


def _archived_params(warehouse: str, endpoint: str, key: str, sha256: str) -> dict[str, str]:
    """The parameters of an archived request: from a live index, else from the response file."""
    for index in _live(delta.table_uri(warehouse, INDEX_TABLE)):
        params = index.known_params(key)
        if params is not None:
            return params
    path = as_upath(warehouse) / archive_name(endpoint, key, sha256)
    data = json.loads(path.fs.cat_file(path.path))
    return {k: "" if v is None else str(v) for k, v in data["request"]["params"].items()}


def _fetched_at(
    warehouse: str, record: Mapping[str, Any], key: str, sha256: str
) -> dt.datetime | None:
    """When the API gave the bytes: the record says; else an earlier verdict on them does."""
    if record.get("fetched_at"):
        return _as_utc(str(record["fetched_at"]))
    for index in _live(delta.table_uri(warehouse, INDEX_TABLE)):
        fetched_at = index.known_fetched_at(key, sha256)
        if fetched_at is not None:
            return fetched_at
    return None


def _as_utc(text: str) -> dt.datetime:
    """An ISO date or time as an aware UTC datetime (a date or a naive time is UTC)."""
    when = dt.datetime.fromisoformat(text)
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def append(warehouse: str, verdicts: Sequence[Verdict], run_id: str, attempts: int = 3) -> int:
    """Append verdicts in one commit, fold them into live indexes, compact when crowded.

    Returns the table's version after the append. Appends never conflict with each other;
    only two writers creating the table at once can, and the loser then appends.
    """
    uri = delta.table_uri(warehouse, INDEX_TABLE)
    options = delta.storage_options(uri)
    rows = pa.Table.from_pylist([v.as_row() for v in verdicts], schema=INDEX_SCHEMA)
    properties = CommitProperties(
        custom_metadata={
            delta.META_PREFIX + "run_id": run_id,
            delta.META_PREFIX + "range": f"{len(verdicts)} verdict(s)",
            delta.META_PREFIX + "rows": str(rows.num_rows),
        },
        max_commit_retries=10,
    )
    for attempt in range(attempts):
        table = _existing(uri, options)
        before = table.version() if table is not None else -1
        try:
            write_deltalake(
                table if table is not None else uri,
                rows,
                mode="append",
                storage_options=None if table is not None else options,
                commit_properties=properties,
            )
            break
        except (CommitFailedError, DeltaError):
            if table is not None or attempt == attempts - 1:
                raise
    table = table if table is not None else DeltaTable(uri, storage_options=options)
    after = table.version()
    for index in _live(uri):
        index.absorb(rows, before, after)
    _compact_if_crowded(table, uri)
    return after


def _existing(uri: str, options: dict[str, str] | None) -> DeltaTable | None:
    """The table, or None. Not `DeltaTable.is_deltatable`: it holds the GIL while it waits
    on S3, so no other thread of the process (an in-process S3 server too) runs meanwhile."""
    try:
        return DeltaTable(uri, storage_options=options)
    except TableNotFoundError:
        return None


def _compact_if_crowded(table: DeltaTable, uri: str) -> None:
    """One small file per append adds up; the next load reads them all, so merge them."""
    if len(table.file_uris()) <= MAX_FILES:
        return
    before = table.version()
    try:
        table.optimize.compact(
            commit_properties=CommitProperties(
                custom_metadata={delta.META_PREFIX + "range": "optimize"}
            )
        )
    except (CommitFailedError, DeltaError) as exc:  # another writer compacted: theirs will do
        get_dagster_logger().warning(f"{uri}: compaction skipped: {exc}")
        return
    for index in _live(uri):
        index.compacted(before, table.version())
