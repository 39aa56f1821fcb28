"""The one polite stats.nba.com client every asset uses: nba_api over a session we own."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import dagster as dg
from nba_api.stats.library.http import STATS_HEADERS, NBAStatsHTTP

from nba_assets.settings import LIVE_BASE_URL
from nba_assets.source.polite import (
    FAILED_REQUESTS,
    ClientStats,
    Fetched,
    PoliteClient,
)
from nba_assets.source.validation import validate_body

__all__ = ["API_POOL", "FAILED_REQUESTS", "ClientStats", "Fetched", "NbaStatsClient"]

#: The Dagster concurrency pool every asset that calls the API runs in.
API_POOL = "nba_api"


class NbaStatsClient(PoliteClient):
    """stats.nba.com (or any server speaking its protocol) through the real nba_api client.

    Adds what nba_api lacks: spacing between requests, retries with backoff and jitter,
    validation of every body, the raw archive, and counters (all in `PoliteClient`).
    """

    #: Box-score windows older than this many days are settled: answered from the archive.
    correction_days: int = 7

    http_base: ClassVar[type] = NBAStatsHTTP
    feed: ClassVar[str] = "stats"
    default_url: ClassVar[str] = LIVE_BASE_URL

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # before any request: a wrong bucket or dead endpoint must not cost an API call
        from nba_assets.io.storage import check_warehouse
        from nba_assets.recovery import record_worker_host, release_before_steps

        check_warehouse(self.warehouse)
        record_worker_host(context.instance, context.run_id)
        # in an in-process run resources start before any step claims the pool: a killed
        # run's slot is freed here, with no `nba-assets recover`
        release_before_steps(context.instance, context.run_id, context.log, API_POOL)

    def loopback_url(self, server: Any) -> str:
        return server.url

    def request_headers(self) -> dict[str, str]:
        headers = dict(STATS_HEADERS)
        # requests cannot decode brotli without an extra package; never ask for it.
        headers["Accept-Encoding"] = "gzip, deflate"
        if self.resolved_base_url() != LIVE_BASE_URL:
            headers.pop("Host", None)
        headers.update(self.extra_headers)
        return headers

    def fetch(
        self,
        endpoint_cls: type,
        *,
        required: Mapping[str, Sequence[str]],
        **kwargs: Any,
    ) -> Fetched:
        """Call one nba_api endpoint until it yields a valid body, then archive it.

        Always pass Season/SeasonType explicitly in `kwargs`: nba_api's defaults follow today's date.
        """
        endpoint = endpoint_cls(**kwargs, get_request=False)
        name: str = endpoint_cls.endpoint

        def validate(text: str, params: dict[str, str]) -> dict:
            return validate_body(text, endpoint=name, params=params, required=required)

        return self.send(name, name, endpoint.parameters, validate)
