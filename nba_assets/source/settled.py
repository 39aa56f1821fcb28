"""Settled data costs nothing: requests outside the correction window answered from the archive.

Box scores change for a few days after a game (stat corrections), then never. A request whose
window ended more than `correction_days` ago is answered from the raw archive when it holds the
same request or a wider one (same season, season type and level), narrowed to the window here
exactly as the replay server narrows recordings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from nba_assets.source.archive import RawArchive
from nba_assets.source.client import Fetched, NbaStatsClient
from nba_assets.source.protocol import date_window
from nba_assets.source.recordings import narrow
from nba_assets.source.validation import validate_body

DEFAULT_CORRECTION_DAYS = 7


def is_settled(window_end: dt.date, today: dt.date, correction_days: int) -> bool:
    """Whether a window ended more than `correction_days` before `today`."""
    return (today - window_end).days > correction_days


def endpoint_params(endpoint_cls: type, **kwargs: Any) -> dict[str, str]:
    """The parameters nba_api would send, as the client archives them."""
    endpoint = endpoint_cls(**kwargs, get_request=False)
    return {k: "" if v is None else str(v) for k, v in endpoint.parameters.items()}


def from_archive(
    archive: RawArchive,
    endpoint_cls: type,
    *,
    required: Mapping[str, Sequence[str]],
    recorded_after: str = "",
    **kwargs: Any,
) -> Fetched | None:
    """The published archived answer to this request (narrowed from a wider one), or None.

    Only a response whose latest verdict in the archive's index is `published` answers: never
    one an audit rejected, nor one no audit judged. `recorded_after`: only an answer the API
    gave after this ISO date counts (one given while the games could still change does not).
    """
    name: str = endpoint_cls.endpoint
    params = endpoint_params(endpoint_cls, **kwargs)
    hit = archive.find_covering(name, params, recorded_after)
    if hit is None:
        return None
    text = hit.body_text
    if hit.params != params:
        text = narrow(text, params, date_window(params))
    body = validate_body(text, endpoint=name, params=params, required=required)
    return Fetched(
        endpoint=name,
        params=params,
        body=body,
        sha256=hit.sha256,
        archive_path=str(hit.path),
        attempts=0,  # no request was sent
        url=f"archive:{hit.path}",
        fetched_at=hit.recorded_at,
    )


def settled_after(window_end: dt.date, correction_days: int) -> str:
    """The first day an answer about a window is final (ISO, for `recorded_after`)."""
    return (window_end + dt.timedelta(days=correction_days + 1)).isoformat()


def fetch_unless_settled(
    nba: NbaStatsClient,
    endpoint_cls: type,
    *,
    settled_window_end: dt.date | None,
    required: Mapping[str, Sequence[str]],
    **kwargs: Any,
) -> Fetched:
    """The archive's answer for a settled window when it has a final one; the API's otherwise.

    `settled_window_end`: the last day of a settled window, or None to ask the API.
    """
    if settled_window_end is not None:
        archived = from_archive(
            nba.archive,
            endpoint_cls,
            required=required,
            recorded_after=settled_after(settled_window_end, nba.correction_days),
            **kwargs,
        )
        if archived is not None:
            return archived
    return nba.fetch(endpoint_cls, required=required, **kwargs)
