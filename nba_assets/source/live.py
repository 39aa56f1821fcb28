"""The NBA live feed (cdn.nba.com's liveData): scoreboard, box score, play-by-play and odds,
through nba_api's own live endpoint classes and parsers, with the stats client's politeness."""

from __future__ import annotations

from typing import Any, ClassVar

from nba_api.live.nba.endpoints import BoxScore, Odds, PlayByPlay, ScoreBoard
from nba_api.live.nba.library.http import NBALiveHTTP

from nba_assets.settings import LIVE_FEED_URL
from nba_assets.source.polite import Fetched, PoliteClient
from nba_assets.source.validation import validate_live_body

#: What each live document must hold at its top level (nba_api's parsers read these keys).
REQUIRED_KEYS = {
    ScoreBoard: ("scoreboard",),
    Odds: ("games",),
    BoxScore: ("game",),
    PlayByPlay: ("game",),
}
#: The headers the CDN asks for: without a Referer from nba.com it answers 403 (nba_api#670).
LIVE_HEADERS = {
    "Accept": "application/json, text/plain, */*",
    "Accept-Language": "en-US,en;q=0.9",
    "Connection": "keep-alive",
    "Origin": "https://www.nba.com",
    "Referer": "https://www.nba.com/",
    "User-Agent": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:158.0) Gecko/20100101 Firefox/158.0"
    ),
    # requests cannot decode brotli without an extra package; never ask for it
    "Accept-Encoding": "gzip, deflate",
}
#: Request names in the archive start here: recorded live answers replay under `/live/...`.
LIVE_PREFIX = "live/"


def live_request_name(path: str) -> str:
    """The archive's name for a live document, e.g. `live/scoreboard/todaysscoreboard_00.json`."""
    return LIVE_PREFIX + path.strip("/").lower()


class NbaLiveClient(PoliteClient):
    """The live feed at `base_url` (`NBA_LIVE_BASE_URL`): the CDN, a replay or the synthetic league."""

    min_request_interval: float = 0.2

    http_base: ClassVar[type] = NBALiveHTTP
    feed: ClassVar[str] = "live"
    default_url: ClassVar[str] = LIVE_FEED_URL

    def loopback_url(self, server: Any) -> str:
        return server.live_url

    def request_headers(self) -> dict[str, str]:
        return {**LIVE_HEADERS, **self.extra_headers}

    def fetch(self, endpoint_cls: type, **kwargs: Any) -> tuple[Any, Fetched]:
        """One live document, parsed by nba_api's own endpoint class; (endpoint, what it cost)."""
        endpoint = endpoint_cls(**kwargs, get_request=False)
        path = endpoint_cls.endpoint_url.format(**kwargs)
        name = live_request_name(path)
        required = REQUIRED_KEYS[endpoint_cls]

        def validate(text: str, params: dict[str, str]) -> dict:
            return validate_live_body(text, endpoint=name, params=params, required=required)

        fetched = self.send(name, path, {}, validate)
        response = self._http_class().nba_response
        endpoint.nba_response = response(
            response=self._local.response.text, status_code=200, url=fetched.url
        )
        endpoint.load_response()
        return endpoint, fetched

    def scoreboard(self) -> tuple[ScoreBoard, Fetched]:
        return self.fetch(ScoreBoard)

    def odds(self) -> tuple[Odds, Fetched]:
        return self.fetch(Odds)
