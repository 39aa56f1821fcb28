"""The environment, read once: every knob the platform has, with safe local defaults."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import URL

LIVE_BASE_URL = "https://stats.nba.com/stats"
#: The NBA's live feed (scoreboard, box scores, play-by-play, odds) on its CDN.
LIVE_FEED_URL = "https://cdn.nba.com/static/json/liveData"
SOURCES = ("live", "replay", "synthetic")


@dataclass(frozen=True)
class Settings:
    """Values that differ between a laptop, CI and production; resources are built from these."""

    source: str = "live"
    base_url: str = ""
    recordings: str = ""
    warehouse: str = "warehouse"
    min_request_interval: float = 0.6
    request_timeout: float = 30.0
    max_attempts: int = 5
    max_retry_after: float = 60.0
    proxy: str = ""
    extra_headers: Mapping[str, str] = field(default_factory=dict)
    synthetic_seed: int = 2026
    synthetic_seasons: str = "1996-97:2025-26"
    #: Days after which box scores count as settled (answered from the archive, never re-asked).
    correction_days: int = 7
    #: Hour (US/Eastern) the schedules run each morning.
    schedule_hour: int = 6
    #: PostgreSQL the `serving` group mirrors the warehouse into; empty: no serving group.
    serving_dsn: str = ""
    serving_schema: str = "nba"
    #: The live feed's base URL; empty: the CDN (source live) or the loopback server's.
    live_base_url: str = ""
    #: Seconds between the game-night sensor's scoreboard polls inside a game window.
    live_poll_seconds: float = 60.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read `NBA_ASSETS_*` / `NBA_STATS_BASE_URL`; an unknown source is an error, not a guess."""
        env = os.environ if env is None else env
        source = env.get("NBA_ASSETS_SOURCE", "live").strip().lower() or "live"
        if source not in SOURCES:
            raise ValueError(f"NBA_ASSETS_SOURCE={source!r}: expected one of {', '.join(SOURCES)}")
        recordings = env.get("NBA_ASSETS_RECORDINGS", "")
        if source == "replay" and not recordings and not env.get("NBA_STATS_BASE_URL"):
            raise ValueError("NBA_ASSETS_SOURCE=replay needs NBA_ASSETS_RECORDINGS (a directory)")
        return cls(
            source=source,
            base_url=env.get("NBA_STATS_BASE_URL", "").rstrip("/"),
            recordings=recordings,
            warehouse=env.get("NBA_ASSETS_WAREHOUSE", "") or "warehouse",
            min_request_interval=_number(env, "NBA_ASSETS_MIN_REQUEST_INTERVAL", 0.6),
            request_timeout=_number(env, "NBA_ASSETS_REQUEST_TIMEOUT", 30.0),
            max_attempts=int(_number(env, "NBA_ASSETS_MAX_ATTEMPTS", 5)),
            max_retry_after=_number(env, "NBA_ASSETS_MAX_RETRY_AFTER", 60.0),
            proxy=env.get("NBA_ASSETS_PROXY", ""),
            extra_headers=_headers(env.get("NBA_ASSETS_EXTRA_HEADERS", "")),
            synthetic_seed=int(_number(env, "NBA_ASSETS_SYNTHETIC_SEED", 2026)),
            synthetic_seasons=env.get("NBA_ASSETS_SYNTHETIC_SEASONS", "") or "1996-97:2025-26",
            correction_days=int(_number(env, "NBA_ASSETS_CORRECTION_DAYS", 7)),
            schedule_hour=_hour(env, "NBA_ASSETS_SCHEDULE_HOUR", 6),
            serving_dsn=_serving_dsn(env.get("NBA_ASSETS_SERVING_DSN", "")),
            serving_schema=env.get("NBA_ASSETS_SERVING_SCHEMA", "").strip() or "nba",
            live_base_url=env.get("NBA_LIVE_BASE_URL", "").strip().rstrip("/"),
            live_poll_seconds=_number(env, "NBA_ASSETS_LIVE_POLL_SECONDS", 60.0),
        )


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None
    if value < 0:
        raise ValueError(f"{name}={raw!r} must not be negative")
    return value


def _serving_dsn(raw: str) -> str:
    """The DSN as given, once it parses (a malformed one fails loading, not the first run)."""
    if raw.strip():
        parse_dsn(raw)
    return raw.strip()


#: The serving database's driver: psycopg2, the one the Dagster instance's storage brings.
DRIVER = "postgresql+psycopg2"


def parse_dsn(dsn: str) -> URL:
    """`postgresql://user@host:5432/db` (or `postgres://`, `postgresql+psycopg2://`) as a URL."""
    try:
        url = sa.make_url(dsn.strip())
    except sa.exc.ArgumentError:
        raise ValueError(
            "NBA_ASSETS_SERVING_DSN is not a database URL "
            "(expected postgresql://user@host:5432/database)"
        ) from None
    if url.drivername in ("postgres", "postgresql"):
        url = url.set(drivername=DRIVER)
    if url.drivername != DRIVER:
        raise ValueError(
            f"NBA_ASSETS_SERVING_DSN: driver {url.drivername!r} is not supported; use "
            "postgresql:// (served through psycopg2, the driver of the Dagster instance)"
        )
    if not url.database:
        raise ValueError(f"NBA_ASSETS_SERVING_DSN {describe(url)} names no database")
    return url


def describe(url: URL) -> str:
    """host:port/database (user), never the password."""
    return (
        f"{url.host or 'localhost'}:{url.port or 5432}/{url.database} (user {url.username or '-'})"
    )


def _hour(env: Mapping[str, str], name: str, default: int) -> int:
    value = _number(env, name, default)
    if value != int(value) or not 0 <= value <= 23:
        raise ValueError(f"{name}={env.get(name)!r} must be a whole hour 0..23")
    return int(value)


def _headers(raw: str) -> dict[str, str]:
    if not raw.strip():
        return {}
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError:
        raise ValueError(f"NBA_ASSETS_EXTRA_HEADERS is not a JSON object: {raw!r}") from None
    if not isinstance(parsed, dict):
        raise ValueError("NBA_ASSETS_EXTRA_HEADERS must be a JSON object of header: value")
    return {str(k): str(v) for k, v in parsed.items()}
