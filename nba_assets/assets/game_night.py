"""Game night: live score snapshots, betting odds and closing lines from the NBA's live feed.

Parsing is plain functions over nba_api's own parsed live documents; the assets wire them to
the live client and publish through the same audit as the box scores (`audited`), a game date
per partition. The two snapshot tables are append-only: a run adds its captures to the rows
its partition already holds and never rewrites an earlier capture.
"""

import datetime as dt
import functools
import json
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd
from nba_api.library.http import NBAResponse
from nba_api.live.nba.endpoints import Odds, ScoreBoard

from nba_assets.assets.game_night_checks import (
    CLOSING_LINES_CHECKS,
    LIVE_SCOREBOARD_CHECKS,
    ODDS_SNAPSHOTS_CHECKS,
    audit_spec,
)
from nba_assets.assets.provenance import request_record, with_provenance
from nba_assets.io.delta import SOURCE_SHA256
from nba_assets.io.storage import as_upath
from nba_assets.partitions import GAME_ID_KINDS, game_date_partitions
from nba_assets.quality.audit import audited, published_days, published_schedule
from nba_assets.schemas import CLOSING_LINES, LIVE_SCOREBOARD, ODDS_SNAPSHOTS, TableSpec, conform
from nba_assets.source.live import NbaLiveClient

GAME_NIGHT_GROUP = "game_night"
#: The Dagster concurrency pool of the live feed (apart from stats.nba.com's `nba_api`).
LIVE_POOL = "nba_live"
_COMMON: dict[str, Any] = {
    "group_name": GAME_NIGHT_GROUP,
    "kinds": {"python", "deltalake"},
    "owners": ["team:data-eng"],
    "partitions_def": game_date_partitions,
    # one game date per run (a capture is of one moment); the same policy as the box scores,
    # so the game-night sensor's runs mix them in one job
    "backfill_policy": dg.BackfillPolicy.single_run(),
    "metadata": {"partition_column": "game_date"},
}


def iso_utc(value: str) -> str:
    """Any feed timestamp ('2024-01-01 00:30:00.000', '...Z', with offset) as ISO 8601 UTC."""
    text = value.strip().replace(" ", "T")
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def captured_at(body: Mapping[str, Any], fetched_at: str) -> str:
    """When the feed wrote the document (its meta.time), else when we read it."""
    stamp = (body.get("meta") or {}).get("time") or fetched_at
    return iso_utc(str(stamp))


def parse_document(endpoint_cls: type, text: str) -> Any:
    """A live document's text through nba_api's own endpoint parser."""
    endpoint = endpoint_cls(get_request=False)
    endpoint.nba_response = NBAResponse(response=text, status_code=200, url="")
    endpoint.load_response()
    return endpoint


def _game_date(game: Mapping[str, Any]) -> dt.date:
    return dt.date.fromisoformat(str(game.get("gameEt") or game.get("gameTimeUTC"))[:10])


def scoreboard_rows(board: ScoreBoard, when: str) -> pd.DataFrame:
    """One row per game of a parsed scoreboard, captured at `when` (ISO UTC)."""
    games = board.games.get_dict() if board.games is not None else []
    rows = [
        {
            "game_id": str(g["gameId"]).zfill(10),
            "game_date": _game_date(g),
            "captured_at": when,
            "game_status": g.get("gameStatus"),
            "game_status_text": str(g.get("gameStatusText", "")).strip(),
            "period": g.get("period"),
            "game_clock": g.get("gameClock") or None,
            "game_time_utc": g.get("gameTimeUTC"),
            "home_team_id": g["homeTeam"]["teamId"],
            "away_team_id": g["awayTeam"]["teamId"],
            "home_score": g["homeTeam"].get("score"),
            "away_score": g["awayTeam"].get("score"),
        }
        for g in games
    ]
    return conform(LIVE_SCOREBOARD, pd.DataFrame(rows, columns=LIVE_SCOREBOARD.names))


def _number(value: Any) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return float(value)


def american_odds(decimal: pd.Series) -> pd.Series:
    """Decimal odds as American: +100*(d-1) at or above evens, -100/(d-1) below."""
    d = decimal.astype("float64")
    value = np.where(d >= 2.0, 100.0 * (d - 1.0), -100.0 / (d - 1.0))
    value = np.where(d > 1.0, value, np.nan)
    return pd.Series(np.round(value), index=decimal.index).astype("Int64")


def odds_rows(odds: Odds, when: str, dates: Mapping[str, dt.date]) -> pd.DataFrame:
    """One row per game, book, market and outcome of a parsed odds document; games whose date
    `dates` does not know are left out (the feed also lists days ahead)."""
    games = odds.games.get_dict() if odds.games is not None else []
    rows = []
    for game in games:
        game_id = str(game["gameId"]).zfill(10)
        if game_id not in dates:
            continue
        for market in game.get("markets") or []:
            for book in market.get("books") or []:
                for outcome in book.get("outcomes") or []:
                    rows.append(
                        {
                            "captured_at": when,
                            "game_id": game_id,
                            "game_date": dates[game_id],
                            "book_id": str(book["id"]),
                            "book_name": book.get("name"),
                            "market": str(market["name"]),
                            "outcome": str(outcome["type"]),
                            "odds": _number(outcome.get("odds")),
                            "opening_odds": _number(outcome.get("opening_odds")),
                            "odds_trend": outcome.get("odds_trend"),
                            "spread": _number(outcome.get("spread")),
                            "opening_spread": _number(outcome.get("opening_spread")),
                        }
                    )
    frame = pd.DataFrame(rows, columns=[c for c in ODDS_SNAPSHOTS.names if c not in _DERIVED])
    return with_derived_odds(frame)


_DERIVED = ("american_odds", "implied_probability")


def with_derived_odds(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    odds = pd.to_numeric(frame["odds"], errors="coerce").astype("float64")
    frame["american_odds"] = american_odds(odds)
    frame["implied_probability"] = (1.0 / odds).where(odds > 0)
    return conform(ODDS_SNAPSHOTS, frame)


def closing_lines(snapshots: pd.DataFrame, tips: Mapping[str, str]) -> pd.DataFrame:
    """Per game, book, market and outcome: the first capture's opening line and the last
    capture before tip-off (`tips`: game id -> ISO UTC); games not yet tipped are left out."""
    if snapshots.empty:
        return CLOSING_LINES.empty()
    frame = snapshots[snapshots["game_id"].isin(list(tips))].copy()
    frame["tip_off"] = frame["game_id"].map(tips)
    frame = frame[frame["captured_at"] < frame["tip_off"]]
    if frame.empty:
        return CLOSING_LINES.empty()
    keys = list(CLOSING_LINES.key)
    frame = frame.sort_values([*keys, "captured_at"], kind="stable")
    grouped = frame.groupby(keys, sort=True)
    first, last = grouped.head(1).set_index(keys), grouped.tail(1).set_index(keys)
    out = last[["game_date", "book_name", "tip_off"]].copy()
    out["closing_captured_at"] = last["captured_at"]
    out["snapshots"] = grouped.size()
    # the feed's own opening line when it gives one; else our first capture
    out["opening_odds"] = first["opening_odds"].fillna(first["odds"])
    out["closing_odds"] = last["odds"]
    out["odds_movement"] = out["closing_odds"] - out["opening_odds"]
    out["opening_spread"] = first["opening_spread"].fillna(first["spread"])
    out["closing_spread"] = last["spread"]
    out["spread_movement"] = out["closing_spread"] - out["opening_spread"]
    out["closing_american_odds"] = last["american_odds"]
    out["closing_implied_probability"] = last["implied_probability"]
    return conform(CLOSING_LINES, out.reset_index())


def append_snapshots(
    spec: TableSpec, published: pd.DataFrame | None, new: pd.DataFrame
) -> pd.DataFrame:
    """The partition's published rows plus the new captures; a capture already published
    stays as it was (same key: the published row wins), so nothing is ever rewritten."""
    if published is None or published.empty:
        return new.reset_index(drop=True)
    old = published.copy()
    known = pd.MultiIndex.from_frame(old[list(spec.key)].astype(str))
    fresh = new[~pd.MultiIndex.from_frame(new[list(spec.key)].astype(str)).isin(known)]
    if SOURCE_SHA256 not in fresh.columns:
        fresh = fresh.assign(**{SOURCE_SHA256: None})
    columns = [*spec.names, SOURCE_SHA256]
    both = pd.concat([old[columns], fresh[columns]], ignore_index=True)
    return both.sort_values(list(spec.key), kind="stable").reset_index(drop=True)


def read_archived(warehouse: str, path: str) -> tuple[str, str, str, str]:
    """(request name, body text, sha256, fetched at) of one archived response."""
    where = as_upath(warehouse) / path if not path.startswith(("/", "s3://")) else as_upath(path)
    record = json.loads(where.read_text(encoding="utf-8"))
    return (
        str(record["request"]["endpoint"]),
        record["response"]["body_text"],
        record["response"].get("sha256", ""),
        str(record.get("recorded_at", "")),
    )


def _archive_record(path: str, sha256: str, fetched_at: str, endpoint: str) -> dict[str, Any]:
    return {
        "endpoint": endpoint,
        "params": {},
        "sha256": sha256,
        "archive": "raw/" + path.rsplit("/raw/", 1)[-1] if "/raw/" in path else path,
        "fetched_at": fetched_at,
    }


def _with_sha(frame: pd.DataFrame, sha: str) -> pd.DataFrame:
    return frame.assign(**{SOURCE_SHA256: sha})


def _observe(context: dg.AssetExecutionContext, metadata: Mapping[str, Any]) -> None:
    """What a capture cost and added (the commit's own facts go on the materialization)."""
    context.log_event(
        dg.AssetObservation(
            asset_key=context.asset_key, partition=context.partition_key, metadata=dict(metadata)
        )
    )


class LiveScoreboardConfig(dg.Config):
    """Run config of `live_scoreboard`."""

    #: archived scoreboard documents (paths the game-night sensor's polls left in the raw
    #: archive) to append, 0 requests; empty: read the feed once now
    snapshots: list[str] = []


def _scoreboard_frame(
    day: dt.date, nba_live: NbaLiveClient, config: LiveScoreboardConfig
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    frames, records = [LIVE_SCOREBOARD.empty().assign(**{SOURCE_SHA256: None})], []
    if config.snapshots:
        for path in config.snapshots:
            endpoint, text, sha, when = read_archived(nba_live.warehouse, path)
            board = parse_document(ScoreBoard, text)
            rows = scoreboard_rows(board, captured_at(json.loads(text), when))
            frames.append(_with_sha(rows, sha))
            records.append(_archive_record(path, sha, when, endpoint))
    else:
        board, got = nba_live.scoreboard()
        rows = scoreboard_rows(board, captured_at(got.body, got.fetched_at))
        frames.append(_with_sha(rows, got.sha256))
        records.append(request_record(got))
    frame = pd.concat(frames, ignore_index=True)
    frame = frame[frame["game_date"] == day].drop_duplicates(list(LIVE_SCOREBOARD.key))
    return frame, records


def _produce_scoreboard(
    context: dg.AssetExecutionContext, nba_live: NbaLiveClient, config: LiveScoreboardConfig
) -> pd.DataFrame:
    day = dt.date.fromisoformat(context.partition_key)
    new, records = _scoreboard_frame(day, nba_live, config)
    published = published_days(nba_live.warehouse, LIVE_SCOREBOARD.name, day, day)
    table = append_snapshots(LIVE_SCOREBOARD, published, new)
    _observe(
        context,
        {"new_snapshots": int(new["captured_at"].nunique()), **nba_live.stats.as_metadata()},
    )
    return with_provenance(table, records)


@dg.asset(
    description=LIVE_SCOREBOARD.description,
    check_specs=[audit_spec(LIVE_SCOREBOARD.name, LIVE_SCOREBOARD_CHECKS)],
    pool=LIVE_POOL,
    **_COMMON,
)
def live_scoreboard(
    context: dg.AssetExecutionContext, nba_live: NbaLiveClient, config: LiveScoreboardConfig
) -> Iterator:
    """Score snapshots of one game date, appended (from the sensor's polls, or one read now)."""
    yield from audited(
        context,
        LIVE_SCOREBOARD,
        lambda: _produce_scoreboard(context, nba_live, config),
        nba_live.warehouse,
        checks=LIVE_SCOREBOARD_CHECKS,
    )


def _produce_odds(context: dg.AssetExecutionContext, nba_live: NbaLiveClient) -> pd.DataFrame:
    day = dt.date.fromisoformat(context.partition_key)
    odds, got = nba_live.odds()
    dates = game_dates(nba_live.warehouse, day, odds)
    new = _with_sha(odds_rows(odds, captured_at(got.body, got.fetched_at), dates), got.sha256)
    published = published_days(nba_live.warehouse, ODDS_SNAPSHOTS.name, day, day)
    table = append_snapshots(ODDS_SNAPSHOTS, published, new)
    _observe(
        context,
        {
            "new_rows": len(new),
            "games_with_odds": int(new["game_id"].nunique()),
            **nba_live.stats.as_metadata(),
        },
    )
    return with_provenance(table, [request_record(got)])


def game_dates(warehouse: str, day: dt.date, odds: Odds) -> dict[str, dt.date]:
    """The odds document's games that are played on `day`: by the schedule where it lists them,
    else by the live scoreboard snapshots of that day."""
    ids = {str(g["gameId"]).zfill(10) for g in (odds.games.get_dict() if odds.games else [])}
    known: dict[str, dt.date] = {}
    schedule = published_schedule(warehouse, day, day)
    if schedule is not None:
        known.update(
            {g: d for g, d in zip(schedule["game_id"], schedule["game_date"], strict=True)}
        )
    board = published_days(warehouse, LIVE_SCOREBOARD.name, day, day)
    if board is not None:
        known.update(dict(zip(board["game_id"], board["game_date"], strict=True)))
    return {g: known[g] for g in ids if known.get(g) == day}


@dg.asset(
    description=ODDS_SNAPSHOTS.description,
    check_specs=[audit_spec(ODDS_SNAPSHOTS.name, ODDS_SNAPSHOTS_CHECKS)],
    pool=LIVE_POOL,
    **_COMMON,
)
def odds_snapshots(context: dg.AssetExecutionContext, nba_live: NbaLiveClient) -> Iterator:
    """One capture of every game's odds for one game date, appended to the earlier ones."""
    yield from audited(
        context,
        ODDS_SNAPSHOTS,
        lambda: _produce_odds(context, nba_live),
        nba_live.warehouse,
        checks=ODDS_SNAPSHOTS_CHECKS,
    )


@functools.lru_cache(maxsize=8)
def _archived_tips(warehouse: str, sha256: str) -> dict[str, dt.datetime]:
    """Tip-off of every game in one archived ScheduleLeagueV2 response (read once per process)."""
    root = as_upath(warehouse) / "raw" / "scheduleleaguev2"
    for path in root.glob(f"*/{sha256}.json"):
        record = json.loads(path.read_text(encoding="utf-8"))
        body = json.loads(record["response"]["body_text"])
        tips = {}
        for day in body["leagueSchedule"].get("gameDates", []):
            for game in day.get("games", []):
                stamp = str(game.get("gameDateTimeUTC") or "")
                if stamp:
                    tips[str(game["gameId"]).zfill(10)] = dt.datetime.fromisoformat(
                        stamp.replace("Z", "+00:00")
                    )
        return tips
    return {}


def scheduled_tips(
    warehouse: str, first: dt.date, last: dt.date
) -> dict[dt.date, dict[str, dt.datetime]]:
    """Tip-off (UTC) of every game the published `schedule` lists for [first, last], by date.

    The schedule table keeps dates, not times: the times come from the schedule's own archived
    response (its rows name it by `source_sha256`), so this reads the warehouse, never the API.
    """
    schedule = published_schedule(warehouse, first, last)
    if schedule is None:
        return {}
    rows = schedule[(schedule["game_date"] >= first) & (schedule["game_date"] <= last)]
    rows = rows[rows["game_id"].str[2].isin(list(GAME_ID_KINDS.values()))]
    out: dict[dt.date, dict[str, dt.datetime]] = {}
    for sha, group in rows.groupby(SOURCE_SHA256):
        tips = _archived_tips(warehouse, str(sha))
        for game_id, day in zip(group["game_id"], group["game_date"], strict=True):
            if game_id in tips:
                out.setdefault(day, {})[game_id] = tips[game_id]
    return out


def tip_offs(warehouse: str, day: dt.date, snapshots: pd.DataFrame) -> dict[str, str]:
    """Tip-off (ISO UTC) of each game of `day` that has tipped off by the last odds capture:
    the schedule's time, else the live scoreboard's."""
    tips: dict[str, str] = {}
    board = published_days(warehouse, LIVE_SCOREBOARD.name, day, day)
    if board is not None:
        known = board.dropna(subset=["game_time_utc"])
        tips.update(
            {g: iso_utc(t) for g, t in zip(known["game_id"], known["game_time_utc"], strict=True)}
        )
    scheduled = scheduled_tips(warehouse, day, day).get(day, {})
    tips.update({g: t.strftime("%Y-%m-%dT%H:%M:%SZ") for g, t in scheduled.items()})
    # tipped by the latest capture of either feed: a rerun later gives the same lines
    latest = max(
        [*snapshots["captured_at"], *([] if board is None else board["captured_at"])], default=""
    )
    return {g: t for g, t in tips.items() if t <= latest}


def _produce_closing(context: dg.AssetExecutionContext, warehouse: str) -> pd.DataFrame:
    day = dt.date.fromisoformat(context.partition_key)
    snapshots = published_days(warehouse, ODDS_SNAPSHOTS.name, day, day)
    if snapshots is None:
        snapshots = ODDS_SNAPSHOTS.empty()
    table = closing_lines(snapshots, tip_offs(warehouse, day, snapshots))
    shas = sorted(set(snapshots.get(SOURCE_SHA256, pd.Series(dtype=object)).dropna()))
    _observe(context, {"games": int(table["game_id"].nunique()), "api_requests": 0})
    _observe(context, {"odds_responses": len(shas)})
    return table


@dg.asset(
    name="closing_lines",
    description=CLOSING_LINES.description,
    check_specs=[audit_spec(CLOSING_LINES.name, CLOSING_LINES_CHECKS)],
    deps=[odds_snapshots, live_scoreboard],
    **_COMMON,
)
def closing_lines_asset(context: dg.AssetExecutionContext, nba_live: NbaLiveClient) -> Iterator:
    """Opening and closing line of every game that has tipped off (0 requests)."""
    yield from audited(
        context,
        CLOSING_LINES,
        lambda: _produce_closing(context, nba_live.warehouse),
        nba_live.warehouse,
        checks=CLOSING_LINES_CHECKS,
    )


GAME_NIGHT_ASSETS = [live_scoreboard, odds_snapshots, closing_lines_asset]
