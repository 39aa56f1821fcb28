"""Typed failures of the stats.nba.com source; each names the endpoint, parameters and bytes seen."""

from __future__ import annotations

from collections.abc import Mapping

from nba_assets.source.protocol import DATE_PARAMS, selecting_params

_PREVIEW_CHARS = 200


class NbaStatsError(RuntimeError):
    """A request to the stats API that did not yield usable data."""

    def __init__(
        self,
        detail: str,
        *,
        endpoint: str,
        params: Mapping[str, str],
        first_bytes: str = "",
        attempts: int = 1,
    ) -> None:
        self.detail = detail
        self.endpoint = endpoint
        self.params = dict(params)
        self.first_bytes = first_bytes[:_PREVIEW_CHARS]
        self.attempts = attempts
        super().__init__(self._message())

    def _message(self) -> str:
        shown = selecting_params(self.params)
        shown.update({k: self.params[k] for k in DATE_PARAMS if self.params.get(k)})
        text = f"{self.endpoint} {shown}: {self.detail} (after {self.attempts} attempt(s))"
        if self.first_bytes:
            text += f"; first bytes received: {self.first_bytes!r}"
        return text


class TransientResponseError(NbaStatsError):
    """Worth another attempt: timeout, connection error, 429, 5xx, or a malformed body."""

    def __init__(self, *args, retry_after: float | None = None, **kwargs) -> None:
        self.retry_after = retry_after
        super().__init__(*args, **kwargs)


class MalformedResponseError(TransientResponseError):
    """The body is not a complete stats.nba.com JSON document (HTML, truncated, `{}`, ...)."""


class RetriesExhaustedError(NbaStatsError):
    """Every attempt failed with a transient error; the last one is in the message."""


class RequestRejectedError(NbaStatsError):
    """A 4xx other than 429: asking again will not help (bad parameters, unknown endpoint)."""


class SchemaDriftError(NbaStatsError):
    """A result set or column the tables need is missing: the API changed shape."""
