"""Play-by-play by game date: one PlayByPlayV3 request per game, resumable, a day at a time."""

import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any

import dagster as dg
import pandas as pd
from nba_api.stats.endpoints import PlayByPlayV3

from nba_assets.assets.provenance import add_partition_metadata
from nba_assets.io.manager import PROVENANCE_ATTR
from nba_assets.parsing_pbp import parse_play_by_play_games
from nba_assets.partitions import game_date_partitions
from nba_assets.pbp_checks import box_score_mismatches
from nba_assets.schemas import PLAY_BY_PLAY
from nba_assets.source.archive import ArchivedResponse
from nba_assets.source.client import API_POOL, NbaStatsClient
from nba_assets.source.errors import RequestRejectedError

PLAY_BY_PLAY_GROUP = "play_by_play"
POINTS_CHECK = "points_match_box_scores"
_ENDPOINT = PlayByPlayV3.endpoint
_REQUIRED = {"game": ["gameId", "actions"]}
#: Progress goes to the run log at most this often (seconds), and after every day.
_PROGRESS_EVERY = 30.0


class PlayByPlayConfig(dg.Config):
    refresh: bool = False
    """Re-request games already in the raw archive (default: an archived game costs 0 requests)."""
    known_missing: list[str] = []
    """Game ids known to have no play-by-play: listed as missing in the metadata, not requested."""


def request_params(game_id: str) -> dict[str, str]:
    """The parameters the client sends for one game (the archive's key), as nba_api builds them."""
    endpoint = PlayByPlayV3(game_id=game_id, get_request=False)
    return {k: "" if v is None else str(v) for k, v in endpoint.parameters.items()}


def games_by_day(team_box: pd.DataFrame, start: dt.date, end: dt.date) -> dict[dt.date, list[str]]:
    """Every day of the range (empty ones too) with its game ids from team_boxscores."""
    days = {start + dt.timedelta(days=d): [] for d in range((end - start).days + 1)}
    if len(team_box):
        pairs = (
            team_box[["game_date", "game_id"]]
            .drop_duplicates()
            .sort_values(["game_date", "game_id"])
        )
        for day, game_id in pairs.itertuples(index=False):
            days.setdefault(day, []).append(game_id)
    return days


class _Progress:
    """Games done of total, requests, and an estimate of the time left, in the run log."""

    def __init__(self, log: dg.DagsterLogManager | Any, total: int) -> None:
        self.log, self.total, self.done, self.requested = log, total, 0, 0
        self.started = self.last = time.monotonic()

    def game(self, requested: bool) -> None:
        self.done += 1
        self.requested += int(requested)
        if time.monotonic() - self.last >= _PROGRESS_EVERY:
            self.report()

    def report(self, day: dt.date | None = None) -> None:
        self.last = time.monotonic()
        elapsed = self.last - self.started
        left = (self.total - self.done) * elapsed / self.done if self.done else 0.0
        where = f" through {day}" if day else ""
        self.log.info(
            f"play_by_play: {self.done}/{self.total} games{where}, {self.requested} requests, "
            f"~{left:.0f}s left"
        )


def _day_events(
    nba: NbaStatsClient, day: dt.date, game_ids: list[str], refresh: bool, progress: _Progress
) -> pd.DataFrame:
    """One day's events, each game from the archive if answered before, else one request."""
    bodies, records = [], []
    for game_id in game_ids:
        params = request_params(game_id)
        archived = None if refresh else nba.archive.find(_ENDPOINT, params)
        if archived is not None:
            body, record = _from_archive(nba, game_id, params, archived)
        else:
            body, record = _request(nba, game_id, day, params)
        bodies.append((body, game_id, day))
        records.append(record)
        progress.game(requested=archived is None)
    frame = parse_play_by_play_games(bodies)
    frame.attrs[PROVENANCE_ATTR] = records
    return frame


def _from_archive(
    nba: NbaStatsClient, game_id: str, params: dict[str, str], archived: ArchivedResponse
) -> tuple[dict, dict]:
    body = json.loads(archived.body_text)
    record = _record(params, archived.sha256, str(archived.path), from_archive=True)
    return body, record


def _request(
    nba: NbaStatsClient, game_id: str, day: dt.date, params: dict[str, str]
) -> tuple[dict, dict]:
    try:
        fetched = nba.fetch(
            PlayByPlayV3, required=_REQUIRED, game_id=game_id, start_period=0, end_period=0
        )
    except RequestRejectedError as exc:
        raise dg.Failure(
            f"play_by_play: no play-by-play for game {game_id} ({day}): {exc}",
            metadata={"game_id": game_id, "game_date": day.isoformat()},
        ) from exc
    return fetched.body, _record(params, fetched.sha256, str(fetched.archive_path), False)


def _record(params: dict[str, str], sha256: str, path: str, from_archive: bool) -> dict:
    return {
        "endpoint": _ENDPOINT,
        "params": params,
        "sha256": sha256,
        "archive": "raw/" + path.rsplit("/raw/", 1)[-1],
        "from_archive": from_archive,
    }


def _split_known_missing(
    days: dict[dt.date, list[str]], known_missing: list[str]
) -> tuple[dict[dt.date, list[str]], list[str]]:
    missing = set(known_missing)
    kept = {day: [g for g in ids if g not in missing] for day, ids in days.items()}
    listed = sorted(g for ids in days.values() for g in ids if g in missing)
    return kept, listed


@dg.asset(
    description=PLAY_BY_PLAY.description,
    group_name=PLAY_BY_PLAY_GROUP,
    kinds={"python", "deltalake"},
    pool=API_POOL,
    owners=["team:data-eng"],
    partitions_def=game_date_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    metadata={"partition_column": "game_date"},
    # the IO manager too: each day is published through it as soon as it is complete
    required_resource_keys={"nba", "io_manager"},
    check_specs=[
        dg.AssetCheckSpec(
            POINTS_CHECK,
            asset="play_by_play",
            blocking=True,
            description="Per game, points counted from the events equal team_boxscores.pts for "
            "both teams, and the last event's score is the final score.",
        )
    ],
)
def play_by_play(
    context: dg.AssetExecutionContext,
    config: PlayByPlayConfig,
    team_boxscores: pd.DataFrame,
) -> Iterator[dg.MaterializeResult]:
    """One row per event; each day is published as soon as its games are in, so memory stays flat."""
    keys = context.partition_key_range
    start, end = dt.date.fromisoformat(keys.start), dt.date.fromisoformat(keys.end)
    team_box = team_boxscores if team_boxscores is not None else pd.DataFrame()
    days, missing = _split_known_missing(games_by_day(team_box, start, end), config.known_missing)
    progress = _Progress(context.log, sum(len(ids) for ids in days.values()))
    progress.report()
    nba: NbaStatsClient = context.resources.nba
    io_manager = context.resources.io_manager
    failures: list[dict] = []
    rows = nbytes = 0
    per_day: dict[str, dict[str, int]] = {}
    for day, game_ids in days.items():
        frame = _day_events(nba, day, game_ids, config.refresh, progress)
        if len(team_box):
            box = team_box[team_box["game_date"] == day]
            box = box[box["game_id"].isin(game_ids)]
            failures += box_score_mismatches(frame, box)
        _, written = io_manager.publish_partition(context.asset_key, day.isoformat(), frame)
        per_day[day.isoformat()] = {
            "dagster/row_count": len(frame),
            "games": len(game_ids),
            "bytes_written": written,
        }
        rows, nbytes = rows + len(frame), nbytes + written
        if game_ids:
            progress.report(day)
    add_partition_metadata(context, per_day)
    yield dg.MaterializeResult(
        metadata={
            "partition_range": f"{keys.start}...{keys.end}",
            "games_in_run": progress.done,
            "games_from_archive": progress.done - progress.requested,
            "missing_games": dg.MetadataValue.json(missing),
            "rows_in_run": rows,
            "bytes_in_run": nbytes,
            **nba.stats.as_metadata(),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=POINTS_CHECK,
                passed=not failures,
                metadata={
                    "games_checked": progress.done,
                    "failing_games": dg.MetadataValue.json([f["game_id"] for f in failures]),
                    "problems": dg.MetadataValue.json(failures[:50]),
                },
                description=(
                    None
                    if not failures
                    else f"{len(failures)} game(s) disagree with team_boxscores: "
                    + ", ".join(f["game_id"] for f in failures[:10])
                ),
            )
        ],
    )
