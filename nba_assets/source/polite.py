"""What every client of an NBA feed shares: spacing, retries with backoff and jitter, a hard
deadline per request, the raw archive of exact bytes and per-step counters.

`NbaStatsClient` (stats.nba.com) and `NbaLiveClient` (the live feed on cdn.nba.com) are this
client with their own nba_api HTTP class, base URL, headers and body validation.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import dagster as dg
import requests
import urllib3
from nba_api.library.http import NBAHTTP
from pydantic import PrivateAttr

from nba_assets.io.storage import as_upath
from nba_assets.source.archive import RawArchive, now_iso, sha256_text
from nba_assets.source.deadline import Deadline
from nba_assets.source.deadline import mount as mount_deadline
from nba_assets.source.errors import (
    RequestRejectedError,
    RetriesExhaustedError,
    TransientResponseError,
)


@dataclass
class ClientStats:
    """Counters for one client instance (one run step); assets report them as metadata."""

    requests: int = 0
    retries: int = 0
    bytes: int = 0
    seconds: float = 0.0
    wait_seconds: float = 0.0

    def as_metadata(self) -> dict[str, Any]:
        return {
            f"api_{k}": (round(v, 3) if isinstance(v, float) else v)
            for k, v in asdict(self).items()
        }


@dataclass(frozen=True)
class Fetched:
    """One validated, archived response and what it cost."""

    endpoint: str
    params: dict[str, str]
    body: dict
    sha256: str
    archive_path: str | None
    attempts: int
    url: str
    nbytes: int = 0
    #: When the API gave these bytes (ISO, UTC); for an archive answer, when it last did.
    fetched_at: str = ""


class _Throttle:
    """Minimum spacing between requests from this process, whatever thread sends them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = float("-inf")

    def wait(self, interval: float) -> float:
        with self._lock:
            delay = self._last + interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._last = time.monotonic()
            return max(delay, 0.0)


_THROTTLES: dict[str, _Throttle] = {}
_THROTTLES_LOCK = threading.Lock()


def throttle_for(feed: str) -> _Throttle:
    """One spacing per feed (host) per process, whatever thread or client instance sends."""
    with _THROTTLES_LOCK:
        return _THROTTLES.setdefault(feed, _Throttle())


class PoliteClient(dg.ConfigurableResource):
    """The request loop both feeds share; subclasses name the feed, its URL, headers and HTTP class."""

    #: live (the NBA's servers), replay (recordings) or synthetic, as NBA_ASSETS_SOURCE
    source: str = "live"
    #: an explicit base URL (a replay server, a proxy); empty: the feed's own or the loopback's
    base_url: str = ""
    recordings: str = ""
    synthetic_seed: int = 2026
    synthetic_seasons: str = "1996-97:2025-26"
    warehouse: str = "warehouse"
    proxy: str = ""
    extra_headers: dict[str, str] = {}
    request_timeout: float = 30.0
    min_request_interval: float = 0.6
    max_attempts: int = 5
    max_retry_after: float = 60.0
    backoff_base: float = 1.0
    backoff_max: float = 30.0

    _session: requests.Session | None = PrivateAttr(default=None)
    _http: type[NBAHTTP] | None = PrivateAttr(default=None)
    _archive: RawArchive | None = PrivateAttr(default=None)
    _stats_by_step: dict[tuple[str, str], ClientStats] = PrivateAttr(default_factory=dict)
    _local: threading.local = PrivateAttr(default_factory=threading.local)

    #: the nba_api HTTP class of the feed (its clean_contents, default headers)
    http_base: ClassVar[type[NBAHTTP]] = NBAHTTP
    #: which spacing the client's requests share
    feed: ClassVar[str] = ""

    #: the feed's own base URL (source `live`)
    default_url: ClassVar[str] = ""

    def resolved_base_url(self) -> str:
        """An explicit URL wins; replay/synthetic use this process's loopback server."""
        if self.base_url:
            return self.base_url.rstrip("/")
        if self.source == "live":
            return self.default_url
        from nba_assets.source.replay import embedded_server

        server = embedded_server(
            self.source, self.recordings, self.synthetic_seed, self.synthetic_seasons
        )
        return self.loopback_url(server)

    def loopback_url(self, server: Any) -> str:
        """Where the feed lives on a loopback replay server."""
        raise NotImplementedError

    def request_headers(self) -> dict[str, str]:
        raise NotImplementedError

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._session is not None:
            self._session.close()

    @property
    def stats(self) -> ClientStats:
        """The counters of the step now running (all calls outside a Dagster step share one).

        An in-process run shares one resource instance across its steps, so counters live per
        step: each step reports its own requests, not those of the steps before it.
        """
        return self._stats_by_step.setdefault(_current_step(), ClientStats())

    @property
    def archive(self) -> RawArchive:
        if self._archive is None:
            self._archive = RawArchive(as_upath(self.warehouse) / "raw", self.warehouse)
        return self._archive

    def _http_class(self) -> type[NBAHTTP]:
        """nba_api's HTTP class bound to our base URL and session (no global state touched)."""
        if self._http is None:
            session = requests.Session()
            mount_deadline(session)  # the deadline covers the headers too
            session.hooks["response"].append(self._remember_response)
            http = type(
                f"Bound{self.http_base.__name__}",
                (self.http_base,),
                {"base_url": self.resolved_base_url() + "/{endpoint}"},
            )
            http.set_session(session)
            self._session, self._http = session, http
        return self._http

    def _remember_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        # nba_api keeps only the text; headers (Retry-After, Content-Type) come from here.
        self._local.response = response
        deadline = getattr(self._local, "deadline", None)
        if deadline is not None:
            _read_body_by(response, deadline)

    def send(
        self,
        name: str,
        path: str,
        raw_params: Mapping[str, Any],
        validate: Callable[[str, dict[str, str]], dict],
    ) -> Fetched:
        """GET `path` under the base URL until `validate(text, params)` accepts a body; archive it
        as request `name` with `raw_params`."""
        params = {k: "" if v is None else str(v) for k, v in raw_params.items()}
        last: TransientResponseError | None = None
        for attempt in range(1, self.max_attempts + 1):
            if last is not None:
                delay = self._backoff(attempt - 1, last.retry_after)
                dg.get_dagster_logger().warning(f"retrying in {delay:.1f}s: {last}")
                self.stats.retries += 1
                self._sleep(delay)
            try:
                return self._attempt(name, path, raw_params, params, attempt, validate)
            except TransientResponseError as exc:
                last = exc
            except RequestRejectedError as exc:
                _report_requests_of_failing_step(self.stats, f"{name}: {exc}")
                raise
        assert last is not None
        _report_requests_of_failing_step(self.stats, f"{name}: gave up: {last.detail}")
        raise RetriesExhaustedError(
            f"gave up: {last.detail}",
            endpoint=name,
            params=params,
            first_bytes=last.first_bytes,
            attempts=self.max_attempts,
        ) from last

    def _attempt(
        self,
        name: str,
        path: str,
        raw_params: Mapping[str, Any],
        params: dict[str, str],
        attempt: int,
        validate: Callable[[str, dict[str, str]], dict],
    ) -> Fetched:
        stats = self.stats
        stats.wait_seconds += throttle_for(self.feed).wait(self.min_request_interval)
        self._local.response = None
        stats.requests += 1
        started = time.monotonic()
        self._local.deadline = started + self.request_timeout
        deadline = Deadline(self.request_timeout)
        try:
            with deadline:
                self._http_class()().send_api_request(
                    endpoint=path,
                    parameters=dict(raw_params),
                    proxy=self.proxy or None,
                    headers=self.request_headers(),
                    timeout=self.request_timeout,
                )
        except requests.Timeout as exc:
            detail = f"timed out after {self.request_timeout}s: {exc}"
            raise self._transient(name, params, attempt, detail) from exc
        except requests.RequestException as exc:
            if deadline.expired:
                detail = f"timed out after {self.request_timeout}s: headers not complete ({exc})"
                raise self._transient(name, params, attempt, detail) from exc
            raise self._transient(name, params, attempt, f"connection failed: {exc}") from exc
        finally:
            stats.seconds += time.monotonic() - started
        response: requests.Response = self._local.response
        text = response.text
        stats.bytes += len(response.content)
        self._check_status(name, params, attempt, response, text)
        body = validate(text, params)
        return self._archived(name, params, attempt, response, text, body)

    def _check_status(
        self,
        name: str,
        params: dict[str, str],
        attempt: int,
        response: requests.Response,
        text: str,
    ) -> None:
        status = response.status_code
        if status == 200:
            return
        if status == 429 or status >= 500:
            raise self._transient(
                name,
                params,
                attempt,
                f"HTTP {status} from {response.url}",
                first_bytes=text,
                retry_after=_retry_after(response),
            )
        raise RequestRejectedError(
            f"HTTP {status} from {response.url}",
            endpoint=name,
            params=params,
            first_bytes=text,
            attempts=attempt,
        )

    def _archived(
        self,
        name: str,
        params: dict[str, str],
        attempt: int,
        response: requests.Response,
        text: str,
        body: dict,
    ) -> Fetched:
        digest, fetched_at = sha256_text(text), now_iso()
        path = self.archive.store(
            name,
            params,
            status=response.status_code,
            content_type=response.headers.get("Content-Type", "application/json"),
            body_text=text,
            sha256=digest,
            url=response.url,
            recorded_at=fetched_at,
        )
        return Fetched(
            endpoint=name,
            params=params,
            body=body,
            sha256=digest,
            archive_path=str(path),
            attempts=attempt,
            url=response.url,
            nbytes=len(response.content),
            fetched_at=fetched_at,
        )

    def _transient(
        self,
        name: str,
        params: dict[str, str],
        attempt: int,
        detail: str,
        first_bytes: str = "",
        retry_after: float | None = None,
    ) -> TransientResponseError:
        return TransientResponseError(
            detail,
            endpoint=name,
            params=params,
            first_bytes=first_bytes,
            attempts=attempt,
            retry_after=retry_after,
        )

    def _backoff(self, failures: int, retry_after: float | None) -> float:
        """Retry-After when the server gives one (capped), else exponential backoff with jitter."""
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (failures - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)
            self.stats.wait_seconds += seconds


def _current_step() -> tuple[str, str]:
    """(run id, step) of the Dagster step running in this thread, or ("", "") outside one."""
    try:
        context = dg.OpExecutionContext.get()
    except dg.DagsterInvariantViolationError:
        return ("", "")
    return (context.run_id, str(context.op_handle))


#: Metadata key of the observation a step logs when a request gives up (status counts it).
FAILED_REQUESTS = "api_failed_request"


def _report_requests_of_failing_step(stats: ClientStats, what: str) -> None:
    """The step's requests so far, as an observation of its asset, before the error ends it:
    a failed run's retries and 429s are what an operator needs to count (`nba-assets status`)."""
    try:
        context = dg.OpExecutionContext.get()
    except dg.DagsterInvariantViolationError:
        return
    for key in context.assets_def.keys if context.has_assets_def else []:
        context.log_event(
            dg.AssetObservation(
                asset_key=key,
                description="requests of a step that failed on a request",
                metadata={**stats.as_metadata(), FAILED_REQUESTS: what[:500]},
            )
        )


def _read_body_by(response: requests.Response, deadline: float) -> None:
    """Read the whole body before `deadline`, or raise requests.Timeout.

    `requests`' timeout bounds each socket read, so a server trickling bytes could hold a
    request forever; this runs as a response hook, before requests reads the body itself.
    """
    chunks = []
    sock = getattr(getattr(response.raw, "connection", None), "sock", None)
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            response.close()
            raise requests.Timeout(
                f"body not complete {len(b''.join(chunks))} bytes in: deadline passed",
                response=response,
            )
        if sock is not None:
            sock.settimeout(remaining)
        try:
            chunk = response.raw.read1(64 * 1024, decode_content=True)
        except (TimeoutError, urllib3.exceptions.ReadTimeoutError) as exc:
            response.close()
            raise requests.Timeout(f"body not complete: {exc}", response=response) from exc
        if not chunk:
            break
        chunks.append(chunk)
    response._content = b"".join(chunks)
    response._content_consumed = True


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    try:
        return max(float(value), 0.0) if value else None
    except ValueError:
        return None  # an HTTP-date; fall back to our own backoff
