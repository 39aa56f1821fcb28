"""Play-by-play by game date: one PlayByPlayV3 request per game, one commit per run.

A run of any range reads its games a few days at a time (an archived game costs no request),
types the events with the `source_sha256` of each game's response, checks them against
`team_boxscores` and stages them on local disk a season at a time (`io.staging`). Only when the
blocking `points_match_box_scores` check passes for every game is the range committed to the
Delta table `play_by_play`, in one commit, and only the seasons whose rows differ from the
published ones (compared row for row) are rewritten: a rerun that changes nothing commits
nothing. A failing game keeps the whole range unpublished, quarantined, and fails the step.
"""

import datetime as dt
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd
from nba_api.stats.endpoints import PlayByPlayV3

from nba_assets.assets.provenance import add_partition_metadata
from nba_assets.dagster_private import step_key
from nba_assets.io.delta import SOURCE_SHA256, Commit, Selection, to_stored
from nba_assets.io.staging import StagedRange, spill_dir
from nba_assets.io.storage import as_upath
from nba_assets.partitions import game_date_partitions, season_of
from nba_assets.quality.audit import AuditFailure, failure_message, quarantine
from nba_assets.quality.checks import BoxScoreCheck, Outcome
from nba_assets.quality.pbp_checks import box_score_mismatches
from nba_assets.recovery import refuse_if_orphaned
from nba_assets.schemas import PLAY_BY_PLAY
from nba_assets.source.archive import ArchivedResponse
from nba_assets.source.client import API_POOL, NbaStatsClient
from nba_assets.source.errors import RequestRejectedError
from nba_assets.source.index import record_confirmed, record_published, record_rejected
from nba_assets.source.parsing_pbp import parse_play_by_play_games

PLAY_BY_PLAY_GROUP = "play_by_play"
POINTS_CHECK = "points_match_box_scores"
_POINTS_DESCRIPTION = (
    "Per game, points counted from the events equal team_boxscores.pts for both teams, and "
    "the last event's score is the final score."
)
_ENDPOINT = PlayByPlayV3.endpoint
_REQUIRED = {"game": ["gameId", "actions"]}
#: Progress goes to the run log at most this often (seconds), and after every chunk of days.
_PROGRESS_EVERY = 30.0
#: Games parsed, checked and staged together: pandas' per-call cost spread over ~15k events.
_CHUNK_GAMES = 32
#: Failing games listed in the check's metadata (all are in the quarantine report).
_PROBLEMS_SHOWN = 50


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


def _game(nba: NbaStatsClient, game_id: str, day: dt.date, refresh: bool) -> tuple[dict, dict]:
    """One game's body and its request record: from the archive if it holds a response no
    audit rejected (published, or fetched by a run that died before its verdict), else asked."""
    params = request_params(game_id)
    archived = None if refresh else nba.archive.find_unrejected(_ENDPOINT, params)
    if archived is not None:
        return _from_archive(game_id, params, archived)
    return _request(nba, game_id, day, params)


def _from_archive(
    game_id: str, params: dict[str, str], archived: ArchivedResponse
) -> tuple[dict, dict]:
    body = json.loads(archived.body_text)
    record = _record(game_id, params, archived.sha256, str(archived.path), archived.recorded_at)
    return body, {**record, "from_archive": True}


def _request(
    nba: NbaStatsClient, game_id: str, day: dt.date, params: dict[str, str]
) -> tuple[dict, dict]:
    try:
        fetched = nba.fetch(
            PlayByPlayV3, required=_REQUIRED, game_id=game_id, start_period=0, end_period=0
        )
    except RequestRejectedError as exc:
        raise dg.Failure(
            f"play_by_play: no play-by-play for game {game_id} ({day}): {exc}; "
            "nothing of the range was published",
            metadata={"game_id": game_id, "game_date": day.isoformat()},
        ) from exc
    record = _record(game_id, params, fetched.sha256, str(fetched.archive_path), fetched.fetched_at)
    return fetched.body, {**record, "from_archive": False}


def _record(game_id: str, params: dict[str, str], sha256: str, path: str, fetched_at: str) -> dict:
    """What the archive's index and the commit need to know about one game's response."""
    return {
        "endpoint": _ENDPOINT,
        "game_id": game_id,
        "params": params,
        "sha256": sha256,
        "archive": "raw/" + path.rsplit("/raw/", 1)[-1],
        "fetched_at": fetched_at,
    }


def day_chunks(days: dict[dt.date, list[str]]) -> Iterator[list[tuple[dt.date, list[str]]]]:
    """Consecutive days in groups of about `_CHUNK_GAMES` games, never across two seasons."""
    chunk: list[tuple[dt.date, list[str]]] = []
    games = 0
    for day, game_ids in days.items():
        if chunk and (games >= _CHUNK_GAMES or season_of(day) != season_of(chunk[0][0])):
            yield chunk
            chunk, games = [], 0
        chunk.append((day, game_ids))
        games += len(game_ids)
    if chunk:
        yield chunk


def chunk_events(
    nba: NbaStatsClient, chunk: list[tuple[dt.date, list[str]]], refresh: bool, progress: _Progress
) -> tuple[pd.DataFrame, list[dict]]:
    """The days' typed events, each row with its response's sha256, and the request records."""
    bodies, records = [], []
    for day, game_ids in chunk:
        for game_id in game_ids:
            body, record = _game(nba, game_id, day, refresh)
            bodies.append((body, game_id, day))
            records.append({**record, "game_date": day.isoformat()})
            progress.game(requested=not record["from_archive"])
    frame = parse_play_by_play_games(bodies)
    shas = {r["game_id"]: r["sha256"] for r in records}
    frame[SOURCE_SHA256] = frame["game_id"].map(shas).astype(object)
    return frame, records


def _split_known_missing(
    days: dict[dt.date, list[str]], known_missing: list[str]
) -> tuple[dict[dt.date, list[str]], list[str]]:
    missing = set(known_missing)
    kept = {day: [g for g in ids if g not in missing] for day, ids in days.items()}
    listed = sorted(g for ids in days.values() for g in ids if g in missing)
    return kept, listed


@dataclass
class _Checked:
    """What the run has read and checked so far: failing games (with their rows), requests."""

    failures: list[dict] = field(default_factory=list)
    failing_rows: list[pd.DataFrame] = field(default_factory=list)
    records: list[dict] = field(default_factory=list)
    per_day: dict[str, dict[str, Any]] = field(default_factory=dict)

    def chunk(
        self, days: list[dt.date], frame: pd.DataFrame, box: pd.DataFrame, records: list[dict]
    ) -> None:
        """Check a chunk of days against the box scores; keep each day's own facts."""
        failed = box_score_mismatches(frame, box) if len(box) else []
        dated = {r["game_id"]: r["game_date"] for r in records}
        self.failures += [{**f, "game_date": dated.get(f["game_id"])} for f in failed]
        if failed:
            games = {f["game_id"] for f in failed}
            self.failing_rows.append(frame[frame["game_id"].isin(games)])
        self.records += records
        counts = frame["game_date"].value_counts() if len(frame) else pd.Series(dtype=int)
        for day in days:
            sources = {
                r["game_id"]: r["sha256"] for r in records if r["game_date"] == day.isoformat()
            }
            self.per_day[day.isoformat()] = {
                "dagster/row_count": int(counts.get(day, 0)),
                "games": len(sources),
                "sources": dg.MetadataValue.json(sources),
            }

    def result(self, games: int) -> dg.AssetCheckResult:
        failing = [f["game_id"] for f in self.failures]
        return dg.AssetCheckResult(
            check_name=POINTS_CHECK,
            passed=not failing,
            metadata={
                "games_checked": games,
                "failing_games": dg.MetadataValue.json(failing),
                "problems": dg.MetadataValue.json(self.failures[:_PROBLEMS_SHOWN]),
            },
            description=None
            if not failing
            else f"{len(failing)} game(s) disagree with team_boxscores: " + ", ".join(failing[:10]),
        )


def _reject(
    context: dg.AssetExecutionContext, warehouse: str, checked: _Checked, start: str, end: str
) -> AuditFailure:
    """Quarantine the failing games' rows, mark their responses rejected; the step's failure."""
    failing = {f["game_id"] for f in checked.failures}
    record_rejected(
        warehouse,
        [r for r in checked.records if r["game_id"] in failing],
        PLAY_BY_PLAY.name,
        [POINTS_CHECK],
        context.run_id,
    )
    bad = pd.DataFrame(checked.failures)
    bad["game_date"] = pd.to_datetime(bad["game_date"]).dt.date
    outcome = Outcome(bad, f"{len(failing)} game(s) disagree with team_boxscores")
    rule = BoxScoreCheck(POINTS_CHECK, _POINTS_DESCRIPTION, lambda _: outcome)
    rows = pd.concat(checked.failing_rows, ignore_index=True)
    where = quarantine(
        as_upath(warehouse), PLAY_BY_PLAY, rows, start, end, context.run_id, [(rule, outcome)]
    )
    return AuditFailure(
        description=failure_message(PLAY_BY_PLAY, start, end, [(rule, outcome)], where),
        metadata={
            "quarantine": dg.MetadataValue.path(str(where)),
            "failing_games": dg.MetadataValue.json(sorted(failing)),
        },
    )


def _commit_metadata(context: dg.AssetExecutionContext, records: list[dict]) -> dict[str, Any]:
    """What the commit records: run, step, and the sha256 of every response (the range is added)."""
    step = step_key(context)
    return {
        "run_id": context.run_id,
        "step": step,
        "asset": PLAY_BY_PLAY.name,
        "responses": sorted({r["sha256"] for r in records}),
        "nba_assets_version": version("nba_assets"),
    }


def _commit_line(keys: dg.PartitionKeyRange, commit: Commit, rewritten: list[str]) -> str:
    where = f"play_by_play {keys.start}...{keys.end}"
    if commit.unchanged:
        return f"{where}: unchanged, version {commit.version} ({commit.rows} rows equal the published ones)"
    return (
        f"{where}: version {commit.version}, {commit.rows} rows; seasons rewritten: "
        f"{', '.join(rewritten) or 'none'} (replaced {commit.removed_rows} rows)"
    )


def _read_and_stage(
    nba: NbaStatsClient,
    days: dict[dt.date, list[str]],
    team_box: pd.DataFrame,
    refresh: bool,
    progress: _Progress,
    staged: StagedRange,
) -> _Checked:
    """Every game of the range read, typed, checked and staged, a chunk of days at a time."""
    checked, boxes = _Checked(), _boxes_by_day(team_box)
    for chunk in day_chunks(days):
        frame, records = chunk_events(nba, chunk, refresh, progress)
        chunk_days, game_ids = [d for d, _ in chunk], [g for _, ids in chunk for g in ids]
        box = _box_of(team_box, boxes, chunk_days, game_ids)
        checked.chunk(chunk_days, frame, box, records)
        staged.add(chunk_days[0], chunk_days[-1], to_stored(PLAY_BY_PLAY, frame))
        if game_ids:
            progress.report(chunk_days[-1])
    staged.finish()
    return checked


@dg.asset(
    description=PLAY_BY_PLAY.description,
    group_name=PLAY_BY_PLAY_GROUP,
    kinds={"python", "deltalake"},
    pool=API_POOL,
    owners=["team:data-eng"],
    partitions_def=game_date_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    metadata={"partition_column": "game_date", "table": PLAY_BY_PLAY.name},
    required_resource_keys={"nba"},
    check_specs=[
        dg.AssetCheckSpec(
            POINTS_CHECK, asset="play_by_play", blocking=True, description=_POINTS_DESCRIPTION
        )
    ],
)
def play_by_play(
    context: dg.AssetExecutionContext,
    config: PlayByPlayConfig,
    team_boxscores: pd.DataFrame,
) -> Iterator[dg.AssetCheckResult | dg.MaterializeResult]:
    """One row per event; the whole range is one commit, made after every game passes the check."""
    keys = context.partition_key_range
    start, end = dt.date.fromisoformat(keys.start), dt.date.fromisoformat(keys.end)
    team_box = team_boxscores if team_boxscores is not None else pd.DataFrame()
    days, missing = _split_known_missing(games_by_day(team_box, start, end), config.known_missing)
    progress = _Progress(context.log, sum(len(ids) for ids in days.values()))
    progress.report()
    nba: NbaStatsClient = context.resources.nba
    with spill_dir(PLAY_BY_PLAY.name) as spill:
        staged = StagedRange(nba.warehouse, PLAY_BY_PLAY, Selection.days(start, end), spill)
        checked = _read_and_stage(nba, days, team_box, config.refresh, progress, staged)
        targeted = set(context.partition_keys)
        add_partition_metadata(context, {k: v for k, v in checked.per_day.items() if k in targeted})
        yield checked.result(progress.done)
        if checked.failures:
            raise _reject(context, nba.warehouse, checked, keys.start, keys.end)
        refuse_if_orphaned(
            context.instance, context.run_id, f"play_by_play {keys.start}...{keys.end}"
        )
        commit = staged.commit(_commit_metadata(context, checked.records))
    verdict = record_confirmed if commit.unchanged else record_published
    verdict(nba.warehouse, checked.records, PLAY_BY_PLAY.name, commit.version, context.run_id)
    context.log.info(_commit_line(keys, commit, staged.changed))
    yield dg.MaterializeResult(
        metadata={
            **commit.as_metadata(),
            "partition_range": f"{keys.start}...{keys.end}",
            "games_in_run": progress.done,
            "games_from_archive": progress.done - progress.requested,
            "missing_games": dg.MetadataValue.json(missing),
            "rows_in_run": staged.rows,
            "seasons_rewritten": dg.MetadataValue.json([] if commit.unchanged else staged.changed),
            **nba.stats.as_metadata(),
        }
    )


def _boxes_by_day(team_box: pd.DataFrame) -> dict[dt.date, np.ndarray]:
    """Each game day's row positions in team_boxscores (positions, not 9,000 small frames)."""
    return dict(team_box.groupby("game_date", sort=False).indices) if len(team_box) else {}


def _box_of(
    team_box: pd.DataFrame,
    boxes: dict[dt.date, np.ndarray],
    days: list[dt.date],
    game_ids: list[str],
) -> pd.DataFrame:
    """The team_boxscores rows of the games a chunk reads (known missing ones left out)."""
    rows = [boxes[day] for day in days if day in boxes]
    if not rows:
        return pd.DataFrame()
    box = team_box.iloc[np.concatenate(rows)]
    return box[box["game_id"].isin(game_ids)]
