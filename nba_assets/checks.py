"""Box-score audits in basketball terms: plain functions of the frames, reported as one asset check.

Each rule looks at one table (and, where it compares, the published rows of another) and
returns the rows that break it. `audited` runs them inside the asset's step, before the IO
manager publishes anything (see `nba_assets/audit.py`), because Dagster runs separate asset
checks only after the output is already written.

Every rule's result goes into one blocking check per table, `audit`, rather than one check per
rule: Dagster 1.13 stores a planned row (~1.4 KB, never resolved in a ranged run) per check spec
per partition when it creates a run, so eleven specs per table made a 25-season backfill's
instance 4.6x Dagster's own floor. The rules keep their names in the result's metadata, the
failure message and the quarantine report.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import pandas as pd

from nba_assets.io.delta import layout
from nba_assets.partitions import BOXSCORE_SEASON_TYPES
from nba_assets.schemas import PLAYER_BOXSCORES, TEAM_BOXSCORES, TableSpec

#: Counting stats that are never negative (plus_minus may be).
COUNT_COLUMNS = (
    "min",
    "fgm",
    "fga",
    "fg3m",
    "fg3a",
    "ftm",
    "fta",
    "oreb",
    "dreb",
    "reb",
    "ast",
    "stl",
    "blk",
    "tov",
    "pf",
    "pts",
)
#: Stats whose player rows add up to the team row of the same game (every count but minutes,
#: which the game logs round per player).
SUMMED_COLUMNS = ("pts", *(c for c in COUNT_COLUMNS if c not in ("min", "pts")))
_SAMPLE_ROWS = 10
_SAMPLE_GAMES = 25


@dataclass(frozen=True)
class AuditInput:
    """What a check may look at: the new rows, their run's dates and the published neighbours."""

    frame: pd.DataFrame
    spec: TableSpec
    start: dt.date
    end: dt.date
    #: published rows of other tables for the same days (None: not materialized yet)
    team_rows: pd.DataFrame | None = None
    teams: pd.DataFrame | None = None
    players: pd.DataFrame | None = None
    schedule: pd.DataFrame | None = None


@dataclass
class Outcome:
    """What one check found: the offending rows (empty when it passed) and a sentence about them."""

    bad: pd.DataFrame
    message: str = ""
    skipped: str = ""  # why the check could not look (a neighbour table not materialized)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.bad.empty


@dataclass(frozen=True)
class BoxScoreCheck:
    """One rule of a table's audit; a failing blocking rule keeps the rows from being published."""

    name: str
    description: str
    run: Callable[[AuditInput], Outcome]
    blocking: bool = True

    def evaluate(self, data: AuditInput) -> tuple[Outcome, float]:
        began = time.perf_counter()
        outcome = self.run(data)
        return outcome, time.perf_counter() - began


def row_check(
    name: str,
    description: str,
    bad_rows: Callable[[pd.DataFrame], pd.Series],
    says: str,
    blocking: bool = True,
) -> BoxScoreCheck:
    """The repeated shape: a row-wise rule; `says` is the sentence, given the failing count."""

    def run(data: AuditInput) -> Outcome:
        mask = bad_rows(data.frame) if len(data.frame) else pd.Series([], dtype=bool)
        bad = data.frame[mask.fillna(False).astype(bool)] if len(mask) else data.frame.iloc[:0]
        return Outcome(bad, says.format(n=len(bad)) if len(bad) else "")

    return BoxScoreCheck(name, description, run, blocking)


def _int(frame: pd.DataFrame, column: str) -> pd.Series:
    return frame[column].astype("Int64")


def _points_wrong(frame: pd.DataFrame) -> pd.Series:
    expected = 2 * _int(frame, "fgm") + _int(frame, "fg3m") + _int(frame, "ftm")
    return _int(frame, "pts") != expected


def _made_above_attempted(frame: pd.DataFrame) -> pd.Series:
    bad = pd.Series(False, index=frame.index)
    for made, attempted in (("fgm", "fga"), ("fg3m", "fg3a"), ("ftm", "fta"), ("fg3m", "fgm")):
        bad = bad | (_int(frame, made) > _int(frame, attempted)).fillna(False)
    return bad


def _rebounds_wrong(frame: pd.DataFrame) -> pd.Series:
    return _int(frame, "reb") != _int(frame, "oreb") + _int(frame, "dreb")


def _negative(frame: pd.DataFrame) -> pd.Series:
    bad = pd.Series(False, index=frame.index)
    for column in COUNT_COLUMNS:
        bad = bad | (_int(frame, column) < 0).fillna(False)
    return bad


def unique_key(spec: TableSpec) -> BoxScoreCheck:
    what = "team" if "team_id" in spec.key[1:] else "player"

    def run(data: AuditInput) -> Outcome:
        bad = data.frame[data.frame.duplicated(list(spec.key), keep=False)]
        games = bad["game_id"].nunique()
        says = f"{len(bad)} rows repeat a {what} in the same game ({games} game(s)): one line per {what} per game"
        return Outcome(bad, says if len(bad) else "")

    return BoxScoreCheck(
        f"unique_{'_'.join(spec.key)}",
        f"one row per {spec.key}: a duplicated {what} line would count the game twice",
        run,
    )


def _two_teams_one_winner(data: AuditInput) -> Outcome:
    frame = data.frame
    marks = pd.DataFrame(
        {
            "game_id": frame["game_id"],
            "team_id": frame["team_id"],
            "w": frame["wl"].eq("W").fillna(False).astype(int),
            "l": frame["wl"].eq("L").fillna(False).astype(int),
        }
    )
    games = marks.groupby("game_id").agg(
        rows=("team_id", "size"), teams=("team_id", "nunique"), w=("w", "sum"), l=("l", "sum")
    )
    wrong = games.index[
        (games["rows"] != 2) | (games["teams"] != 2) | (games["w"] != 1) | (games["l"] != 1)
    ]
    bad = frame[frame["game_id"].isin(wrong)]
    if bad.empty:
        return Outcome(bad)
    results = bad.groupby("game_id")["wl"].agg(lambda s: "/".join(map(str, s)))
    detail = ", ".join(f"{g} ({r})" for g, r in list(results.items())[:5])
    return Outcome(
        bad, f"{results.size} game(s) without exactly two teams, one W and one L: {detail}"
    )


def _dates_in_range(data: AuditInput) -> Outcome:
    frame = data.frame
    outside = (frame["game_date"] < data.start) | (frame["game_date"] > data.end)
    bad = frame[outside]
    says = f"{len(bad)} rows are dated outside the run's games {data.start}..{data.end}"
    return Outcome(bad, says if len(bad) else "")


def _matchup_sides(matchup: pd.Series) -> pd.DataFrame:
    """'BOS @ NYK' / 'NYK vs. BOS' -> (self, opponent) abbreviations."""
    parts = matchup.str.extract(r"^\s*(\S+)\s+(?:@|vs\.?)\s+(\S+)\s*$")
    return pd.DataFrame({"self": parts[0], "opponent": parts[1]}, index=matchup.index)


def _matchups_agree(data: AuditInput) -> Outcome:
    # Same two teams, each naming itself first. Home/away is not compared: the real 2025-26 log
    # lists game 0022500147 (DAL-DET, 2025-11-01) as '@' on both sides.
    frame = data.frame
    sides = _matchup_sides(frame["matchup"].astype("string"))
    unreadable = sides["self"].isna()
    not_self = sides["self"] != frame["team_abbreviation"]
    me, them = sides["self"].fillna("?"), sides["opponent"].fillna("?")
    pair = me.where(me < them, them) + "-" + them.where(me < them, me)
    disagree = pair.groupby(frame["game_id"]).transform("nunique") > 1
    # the opponent named must be the other row's team (in games with two rows)
    per_game = frame.groupby("game_id")["team_abbreviation"]
    first, last = per_game.transform("first"), per_game.transform("last")
    other = last.where(frame["team_abbreviation"] == first, first)
    two_rows = per_game.transform("size") == 2
    wrong_opponent = (sides["opponent"] != other) & two_rows
    bad = frame[(unreadable | not_self.fillna(True) | disagree | wrong_opponent.fillna(True))]
    says = (
        f"{bad['game_id'].nunique()} game(s) whose two matchup strings do not name the same two "
        "teams, each itself first"
    )
    return Outcome(bad, says if len(bad) else "")


def _players_sum_to_team(data: AuditInput) -> Outcome:
    if data.team_rows is None:
        return Outcome(
            data.frame.iloc[:0], skipped="team_boxscores not materialized for these days"
        )
    team = data.team_rows[data.team_rows["game_id"].isin(data.frame["game_id"])]
    sums = data.frame.groupby(["game_id", "team_id"])[list(SUMMED_COLUMNS)].sum(min_count=1)
    merged = sums.join(
        team.set_index(["game_id", "team_id"])[[*SUMMED_COLUMNS, "game_date"]],
        how="inner",
        rsuffix="_team",
    )
    wrong = pd.Series(False, index=merged.index)
    differing: dict[str, int] = {}
    for column in SUMMED_COLUMNS:
        off = (merged[column].astype("Int64") != merged[f"{column}_team"].astype("Int64")).fillna(
            False
        )
        if off.any():
            differing[column] = int(off.sum())
        wrong = wrong | off
    keys = merged.index[wrong]
    bad = (
        data.frame.set_index(["game_id", "team_id"]).loc[keys].reset_index()
        if len(keys)
        else (data.frame.iloc[:0])
    )
    says = (
        f"{len(keys)} team line(s) whose players do not add up to the team box score "
        f"(columns off: {differing})"
    )
    return Outcome(bad, says if len(keys) else "", extra={"columns_off": differing})


def _games_in_both_tables(data: AuditInput) -> Outcome:
    if data.team_rows is None:
        return Outcome(
            data.frame.iloc[:0], skipped="team_boxscores not materialized for these days"
        )
    team_games = set(data.team_rows["game_id"])
    player_games = set(data.frame["game_id"])
    no_players = data.team_rows[~data.team_rows["game_id"].isin(player_games)]
    no_team = data.frame[~data.frame["game_id"].isin(team_games)]
    bad = pd.concat([no_players.reindex(columns=data.frame.columns), no_team], ignore_index=True)
    says = (
        f"{no_players['game_id'].nunique()} game(s) in team_boxscores have no player lines and "
        f"{no_team['game_id'].nunique()} game(s) with player lines have no team rows"
    )
    return Outcome(bad, says if len(bad) else "")


def _team_ids_known(data: AuditInput) -> Outcome:
    if data.teams is None:
        return Outcome(data.frame.iloc[:0], skipped="teams not materialized")
    bad = data.frame[~data.frame["team_id"].isin(data.teams["team_id"])]
    says = f"{len(bad)} rows name team ids that are not franchises in `teams`: {sorted(set(bad['team_id']))[:5]}"
    return Outcome(bad, says if len(bad) else "")


def _player_ids_known(data: AuditInput) -> Outcome:
    if data.players is None:
        return Outcome(data.frame.iloc[:0], skipped="players not materialized")
    bad = data.frame[~data.frame["player_id"].isin(data.players["player_id"])]
    says = (
        f"{bad['player_id'].nunique()} player id(s) not yet in `players` (rookies appear before "
        "the weekly players refresh)"
    )
    return Outcome(bad, says if len(bad) else "")


def _scheduled_games_present(data: AuditInput) -> Outcome:
    if data.schedule is None:
        return Outcome(data.frame.iloc[:0], skipped="schedule not materialized for these seasons")
    schedule = data.schedule
    due = schedule[
        (schedule["game_status"] == 3)
        & schedule["season_type"].isin(BOXSCORE_SEASON_TYPES)
        & (schedule["game_date"] >= data.start)
        & (schedule["game_date"] <= data.end)
    ]
    missing = due[~due["game_id"].isin(data.frame["game_id"])]
    bad = missing.reindex(columns=["game_id", "game_date", "matchup", "game_label"])
    says = f"{len(missing)} final game(s) on the season schedule are missing from {data.spec.name}"
    return Outcome(bad, says if len(bad) else "")


def schema_problems(spec: TableSpec, frame: pd.DataFrame) -> dict[str, list[str]]:
    """Declared columns that are missing, undeclared extras, and columns of the wrong type."""
    import pyarrow as pa

    expected = spec.arrow_schema()
    missing = [n for n in expected.names if n not in frame.columns]
    stored = set(layout(spec).schema().names)  # season, source_sha256: the warehouse's own
    extra = [c for c in frame.columns if c not in expected.names and c not in stored]
    wrong: list[str] = []
    for name in expected.names:
        if name in missing:
            continue
        try:
            pa.Array.from_pandas(frame[name], type=expected.field(name).type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
            wrong.append(f"{name} ({frame[name].dtype}, declared {expected.field(name).type})")
    return {k: v for k, v in {"missing": missing, "extra": extra, "wrong_type": wrong}.items() if v}


def _schema(data: AuditInput) -> Outcome:
    problems = schema_problems(data.spec, data.frame)
    if not problems:
        return Outcome(data.frame.iloc[:0])
    return Outcome(
        data.frame.head(_SAMPLE_ROWS),
        f"{data.spec.name} columns drifted from the declared schema: {problems}",
        extra={"columns": problems},
    )


SCHEMA_CHECK = BoxScoreCheck(
    "schema_matches",
    "declared columns and types (nba_assets/schemas.py); drift names the columns",
    _schema,
)


def _shared(spec: TableSpec) -> list[BoxScoreCheck]:
    """Rules every box-score line obeys, team or player."""
    return [
        SCHEMA_CHECK,
        unique_key(spec),
        row_check(
            "points_add_up",
            "PTS = 2·FGM + FG3M + FTM",
            _points_wrong,
            "{n} lines whose points are not 2·FGM + FG3M + FTM",
        ),
        row_check(
            "made_not_above_attempted",
            "FGM ≤ FGA, FG3M ≤ FG3A, FTM ≤ FTA, FG3M ≤ FGM",
            _made_above_attempted,
            "{n} lines with more shots made than attempted",
        ),
        row_check(
            "rebounds_add_up",
            "REB = OREB + DREB",
            _rebounds_wrong,
            "{n} lines whose rebounds are not offensive + defensive",
        ),
        row_check(
            "no_negative_counts",
            f"no negative {', '.join(COUNT_COLUMNS)}",
            _negative,
            "{n} lines with a negative count",
        ),
        BoxScoreCheck(
            "game_dates_in_partition",
            "every game_date inside the run's partitions",
            _dates_in_range,
        ),
    ]


TEAM_CHECKS: tuple[BoxScoreCheck, ...] = (
    *_shared(TEAM_BOXSCORES),
    BoxScoreCheck(
        "two_teams_one_winner",
        "every game has exactly two team rows, one W and one L",
        _two_teams_one_winner,
    ),
    BoxScoreCheck(
        "matchups_agree",
        "both teams' MATCHUP strings name the same two teams, each itself first",
        _matchups_agree,
    ),
    BoxScoreCheck("team_ids_known", "every team_id is a franchise in `teams`", _team_ids_known),
    BoxScoreCheck(
        "scheduled_games_present",
        "every final game on the season schedule (ScheduleLeagueV2) is present",
        _scheduled_games_present,
    ),
)

PLAYER_CHECKS: tuple[BoxScoreCheck, ...] = (
    *_shared(PLAYER_BOXSCORES),
    BoxScoreCheck(
        "players_sum_to_team",
        f"per game and team, players' {', '.join(SUMMED_COLUMNS)} add up to the team row",
        _players_sum_to_team,
    ),
    BoxScoreCheck(
        "games_in_both_tables",
        "every game in team_boxscores has player lines, and the reverse",
        _games_in_both_tables,
    ),
    BoxScoreCheck("team_ids_known", "every team_id is a franchise in `teams`", _team_ids_known),
    BoxScoreCheck(
        "player_ids_known",
        "player ids not yet in `players` are reported, not blocking",
        _player_ids_known,
        blocking=False,
    ),
)

CHECKS_BY_TABLE: dict[str, tuple[BoxScoreCheck, ...]] = {
    TEAM_BOXSCORES.name: TEAM_CHECKS,
    PLAYER_BOXSCORES.name: PLAYER_CHECKS,
}


#: The one check each box-score table declares; its result carries every rule's outcome.
AUDIT_CHECK = "audit"


def check_specs(table: str) -> list[dg.AssetCheckSpec]:
    """The table's audit, declared on the asset so the UI lists it beside the asset."""
    return [
        dg.AssetCheckSpec(
            AUDIT_CHECK,
            asset=dg.AssetKey(table),
            blocking=True,
            description=audit_description(CHECKS_BY_TABLE[table]),
        )
    ]


def audit_description(rules: Sequence[BoxScoreCheck]) -> str:
    lines = ["Rules checked before the rows are published (a failing blocking rule stops them):"]
    lines += [
        f"- {r.name}: {r.description}{'' if r.blocking else ' (reported, not blocking)'}"
        for r in rules
    ]
    return "\n".join(lines)


def describe(
    rule: BoxScoreCheck, outcome: Outcome, rows_checked: int, seconds: float
) -> dict[str, Any]:
    """One rule's outcome: count, the dates and games the failing rows fall on (JSON-ready)."""
    bad = outcome.bad
    dates = (
        sorted({d.isoformat() for d in bad["game_date"].dropna()})
        if "game_date" in bad.columns
        else []
    )
    games = sorted(set(bad["game_id"].dropna())) if "game_id" in bad.columns else []
    found: dict[str, Any] = {
        "rule": rule.name,
        "blocking": rule.blocking,
        "passed": outcome.passed,
        "message": outcome.message or outcome.skipped or "passed",
        "failing_rows": len(bad),
        "rows_checked": rows_checked,
        "failing_dates": dates,
        "failing_games": games[:_SAMPLE_GAMES],
        "seconds": round(seconds, 4),
    }
    if outcome.skipped:
        found["skipped"] = outcome.skipped
    found.update(outcome.extra)
    return found


def audit_result(
    table: str, results: Sequence[tuple[BoxScoreCheck, Outcome, float]], rows_checked: int
) -> dg.AssetCheckResult:
    """The table's `audit` check: failed (ERROR) if a blocking rule failed, WARN if only a
    reported one did; a line per rule, then the details, then a sample of each failure."""
    blocking = [(r, o) for r, o, _ in results if r.blocking and not o.passed]
    reported = [(r, o) for r, o, _ in results if not r.blocking and not o.passed]
    details = [describe(rule, outcome, rows_checked, seconds) for rule, outcome, seconds in results]
    metadata: dict[str, Any] = {detail["rule"]: _verdict(detail) for detail in details}
    metadata.update(
        {
            "rules": dg.MetadataValue.json(details),
            "rows_checked": rows_checked,
            "failing_rows": sum(d["failing_rows"] for d in details),
            "failing_dates": dg.MetadataValue.json(
                sorted({day for d in details for day in d["failing_dates"]})
            ),
            "seconds": round(sum(seconds for *_, seconds in results), 4),
        }
    )
    failing = [*blocking, *reported]
    for rule, outcome in failing:
        metadata[f"sample: {rule.name}"] = dg.MetadataValue.md(
            _sample(outcome.bad).to_markdown(index=False)
        )
    description = (
        "; ".join(f"{rule.name}: {outcome.message}" for rule, outcome in failing)
        if failing
        else f"all {len(results)} rules passed"
        + "".join(f"; {r.name} skipped: {o.skipped}" for r, o, _ in results if o.skipped)
    )
    return dg.AssetCheckResult(
        check_name=AUDIT_CHECK,
        asset_key=dg.AssetKey(table),
        passed=not failing,
        severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
        description=description,
        metadata=metadata,
    )


def _verdict(detail: dict[str, Any]) -> str:
    """The rule's line in the UI's metadata table."""
    if detail["passed"]:
        return f"skipped: {detail['skipped']}" if "skipped" in detail else "passed"
    return f"{'FAILED' if detail['blocking'] else 'warning'}: {detail['message']}"


def _sample(bad: pd.DataFrame) -> pd.DataFrame:
    preferred = [
        c
        for c in (
            "game_date",
            "game_id",
            "team_abbreviation",
            "player_name",
            "matchup",
            "wl",
            "pts",
            "fgm",
            "fg3m",
            "ftm",
            "reb",
            "oreb",
            "dreb",
        )
        if c in bad.columns
    ]
    return bad[preferred or list(bad.columns)].head(_SAMPLE_ROWS)


def run_checks(
    checks: Sequence[BoxScoreCheck], data: AuditInput
) -> list[tuple[BoxScoreCheck, Outcome, float]]:
    return [(check, *check.evaluate(data)) for check in checks]


#: In season (October to June) box scores land every morning: by noon US/Eastern the asset
#: must have materialized since noon the day before, else the UI shows it stale (FAIL).
BOXSCORE_FRESHNESS = dg.FreshnessPolicy.cron(
    deadline_cron="0 12 * 10-12,1-6 *",
    lower_bound_delta=dt.timedelta(hours=24),
    timezone="US/Eastern",
)
