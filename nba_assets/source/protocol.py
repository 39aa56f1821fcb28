"""What stats.nba.com speaks, shared by the client, the replay server and the synthetic league."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from nba_assets.schemas import parse_api_date

#: Parameters that only page or sort a response; they never select data.
NOISE_PARAMS = frozenset({"Counter", "Sorter", "Direction"})
#: Parameters that narrow a season-level response to a date window.
DATE_PARAMS = ("DateFrom", "DateTo")


class NotServed(LookupError):
    """A request that a server-side backend (recordings, synthetic league) cannot answer."""


def api_date(day: dt.date) -> str:
    """The MM/DD/YYYY form nba_api sends for DateFrom/DateTo."""
    return day.strftime("%m/%d/%Y")


def date_window(params: Mapping[str, str]) -> tuple[dt.date | None, dt.date | None]:
    """The (DateFrom, DateTo) window a request asks for; None where open."""
    bounds = [params.get(name) or "" for name in DATE_PARAMS]
    return tuple(parse_api_date(b) if b.strip() else None for b in bounds)  # type: ignore[return-value]


def selecting_params(params: Mapping[str, object]) -> dict[str, str]:
    """The parameters that select data: non-empty, not paging/sorting, not the date window."""
    out: dict[str, str] = {}
    for key, value in params.items():
        if key in NOISE_PARAMS or key in DATE_PARAMS or value is None:
            continue
        text = str(value)
        if text != "":
            out[key] = text
    return out


def result_set(name: str, headers: list[str], rows: list[list]) -> dict:
    """One entry of a response's `resultSets` list."""
    return {"name": name, "headers": list(headers), "rowSet": rows}


def stats_body(resource: str, params: Mapping[str, object], result_sets: list[dict]) -> dict:
    """A whole stats.nba.com response body in the legacy `resultSets` shape."""
    return {"resource": resource, "parameters": dict(params), "resultSets": result_sets}
