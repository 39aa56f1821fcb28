"""Box-score audits in basketball terms: plain functions of the frames, reported as one asset check.

Each rule looks at one table (and, where it compares, the published rows of another) and
returns the rows that break it. `audited` runs them inside the asset's step, before the IO
manager publishes anything (see `nba_assets/quality/audit.py`), because Dagster runs separate asset
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
from nba_assets.partitions import BOXSCORE_SEASON_TYPES, game_date_today, season_of
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
    #: published rows of the other box-score table for the same days (None: none published)
    counterpart: pd.DataFrame | None = None
    teams: pd.DataFrame | None = None
    players: pd.DataFrame | None = None
    schedule: pd.DataFrame | None = None
    #: rows the API returned dated outside the window a request asked for (not published)
    strays: pd.DataFrame | None = None
    #: the counterpart table is also materialized later in this run (it replaces `counterpart`)
    counterpart_in_run: bool = False
    #: the day the run counts as today (US/Eastern): scheduled games before it are due
    today: dt.date | None = None

    @property
    def days(self) -> str:
        return str(self.start) if self.start == self.end else f"{self.start}..{self.end}"


WARN = dg.AssetCheckSeverity.WARN
ERROR = dg.AssetCheckSeverity.ERROR


@dataclass
class Outcome:
    """What one check found: the offending rows (empty when it passed) and a sentence about them.

    A rule that could not look (a neighbour table not materialized) is `skipped`, never passed:
    the sentence names what was missing and what to run.
    """

    bad: pd.DataFrame
    message: str = ""
    skipped: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    #: overrides the rule's `blocking` for this outcome (a mismatch against rows this run replaces)
    blocking: bool | None = None

    @property
    def passed(self) -> bool:
        return self.bad.empty and not self.skipped

    @property
    def state(self) -> str:
        return "skipped" if self.skipped else "passed" if self.bad.empty else "failed"


@dataclass(frozen=True)
class BoxScoreCheck:
    """One rule of a table's audit; a failing blocking rule keeps the rows from being published."""

    name: str
    description: str
    run: Callable[[AuditInput], Outcome]
    blocking: bool = True
    #: what a skip means: WARN where a later run or the counterpart's audit can still look,
    #: ERROR where publishing unchecked rows is not acceptable (a rule that crashed is always ERROR)
    if_skipped: dg.AssetCheckSeverity = WARN

    def evaluate(self, data: AuditInput) -> tuple[Outcome, float]:
        began = time.perf_counter()
        try:
            outcome = self.run(data)
        except Exception as exc:  # a rule that cannot run must say so, not stop the audit
            outcome = Outcome(
                data.frame.iloc[:0],
                skipped=f"the rule raised {type(exc).__name__}: {exc}; fix the rule, then rerun",
                extra={"skip_severity": "ERROR"},
            )
        return outcome, time.perf_counter() - began

    def skip_severity(self, outcome: Outcome) -> dg.AssetCheckSeverity:
        return ERROR if outcome.extra.get("skip_severity") == "ERROR" else self.if_skipped

    def blocks(self, outcome: Outcome) -> bool:
        """Whether this outcome keeps the rows from being published."""
        if outcome.skipped:
            return self.skip_severity(outcome) == ERROR
        blocking = self.blocking if outcome.blocking is None else outcome.blocking
        return blocking and not outcome.passed


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


def _is_player(spec: TableSpec) -> bool:
    return "player_id" in spec.key


def _other_table(spec: TableSpec) -> str:
    return TEAM_BOXSCORES.name if _is_player(spec) else PLAYER_BOXSCORES.name


def _no_counterpart(data: AuditInput, days: Sequence[dt.date]) -> str:
    """The skip sentence: which days the other table lacks, and what to run."""
    other = _other_table(data.spec)
    span = f"{days[0]}..{days[-1]}" if len(days) > 1 else str(days[0])
    then = (
        f"; this run's {other} step checks its rows against these after they publish"
        if data.counterpart_in_run
        else f"; materialize {other} for {span} (boxscores_job runs both tables)"
    )
    return f"{other} has no published rows on {len(days)} of the run's game days ({span}){then}"


def cross_table(
    compare: Callable[[pd.DataFrame, pd.DataFrame, AuditInput], Outcome],
) -> Callable[[AuditInput], Outcome]:
    """A rule between the two box-score tables, run in whichever direction the run goes.

    Days the other table has no published rows for are a named skip, never a pass. A
    mismatch against rows this run replaces later (the player step after the team step) is
    reported, not blocking: that later step checks the other way against what is published.
    """

    def run(data: AuditInput) -> Outcome:
        frame = data.frame
        other = data.counterpart if data.counterpart is not None else frame.iloc[:0]
        have = set(other["game_date"].dropna())
        uncovered = sorted(d for d in set(frame["game_date"].dropna()) if d not in have)
        # filtered copies only where something is cut: 25 seasons of player rows are ~500 MB
        checked = frame[~frame["game_date"].isin(uncovered)] if uncovered else frame
        overlap = other["game_date"].isin(set(checked["game_date"]))
        outcome = compare(checked, other if overlap.all() else other[overlap], data)
        if outcome.bad.empty and uncovered:
            outcome.skipped = _no_counterpart(data, uncovered)
        elif uncovered:
            outcome.extra["unchecked_days"] = [d.isoformat() for d in uncovered]
        if not outcome.bad.empty and data.counterpart_in_run:
            outcome.blocking = False
            outcome.message += (
                f" (published {_other_table(data.spec)} rows, which this run replaces next and "
                "checks against these)"
            )
        return outcome

    return run


def _sums_differ(players: pd.DataFrame, team: pd.DataFrame) -> tuple[pd.MultiIndex, dict[str, int]]:
    """(game_id, team_id) pairs whose players' sums differ from the team row, and by column."""
    sums = players.groupby(["game_id", "team_id"])[list(SUMMED_COLUMNS)].sum(min_count=1)
    merged = sums.join(
        team.set_index(["game_id", "team_id"])[list(SUMMED_COLUMNS)], how="inner", rsuffix="_team"
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
    return merged.index[wrong], differing


def _home_away_marked_once(data: AuditInput) -> Outcome:
    """Per game, one row says 'vs.' (home) and the other '@' (away). The real 2025-26 log
    lists 0022500147 as 'DAL @ DET' and 'DET @ DAL'; home/away is the schedule's to say."""
    frame = data.frame
    home = frame["matchup"].astype("string").str.contains(" vs. ", regex=False, na=False)
    per_game = home.groupby(frame["game_id"]).agg(["sum", "size"])
    wrong = per_game.index[(per_game["size"] == 2) & (per_game["sum"] != 1)]
    bad = frame[frame["game_id"].isin(set(wrong))]
    if bad.empty:
        return Outcome(bad)
    named = {}
    if data.schedule is not None:
        named = data.schedule.set_index("game_id")["matchup"].to_dict()
    detail = ", ".join(
        f"{g} ({' / '.join(bad.loc[bad['game_id'] == g, 'matchup'])}"
        + (f"; schedule: {named[g]}" if g in named else "")
        + ")"
        for g in list(wrong)[:5]
    )
    says = f"{len(wrong)} game(s) whose matchup strings do not mark one home and one away team: {detail}"
    return Outcome(bad, says)


def _players_sum_to_team(frame: pd.DataFrame, other: pd.DataFrame, data: AuditInput) -> Outcome:
    players, team = (frame, other) if _is_player(data.spec) else (other, frame)
    keys, differing = _sums_differ(players, team)
    if not len(keys):
        return Outcome(frame.iloc[:0])
    bad = frame.set_index(["game_id", "team_id"]).loc[keys].reset_index()
    says = (
        f"{len(keys)} team line(s) whose players do not add up to the team box score "
        f"(columns off: {differing})"
    )
    return Outcome(bad, says, extra={"columns_off": differing})


def _games_in_both_tables(frame: pd.DataFrame, other: pd.DataFrame, data: AuditInput) -> Outcome:
    mine, theirs = data.spec.name, _other_table(data.spec)
    only_mine = frame[~frame["game_id"].isin(other["game_id"].unique())]
    only_theirs = other[~other["game_id"].isin(frame["game_id"].unique())]
    bad = pd.concat([only_mine, only_theirs.reindex(columns=frame.columns)], ignore_index=True)
    says = (
        f"{only_mine['game_id'].nunique()} game(s) in {mine} have no rows in {theirs} and "
        f"{only_theirs['game_id'].nunique()} game(s) in {theirs} have no rows in {mine}"
    )
    return Outcome(bad, says if len(bad) else "")


def _winner_scored_more(data: AuditInput) -> Outcome:
    """Per game, the team marked W scored more points than the team marked L (player rows are
    summed per team first); the features' `home_win` comes from points, WL must agree."""
    lines = pd.DataFrame(
        {
            "game_id": data.frame["game_id"],
            "team_id": data.frame["team_id"],
            "wl": data.frame["wl"],
            "pts": _int(data.frame, "pts"),
        }
    )
    repeated = data.frame.duplicated(list(data.spec.key), keep=False)  # unique_key's to report
    if repeated.any():
        lines = lines[~lines["game_id"].isin(set(data.frame.loc[repeated, "game_id"]))]
    sides = lines.groupby(["game_id", "team_id"], as_index=False).agg(
        wl=("wl", "first"), pts=("pts", "sum")
    )
    marks = sides.assign(w=sides["wl"].eq("W"), l=sides["wl"].eq("L")).groupby("game_id")
    counts = marks.agg(w=("w", "sum"), l=("l", "sum"), n=("team_id", "size"))
    one_each = counts.index[(counts["w"] == 1) & (counts["l"] == 1) & (counts["n"] == 2)]
    sides = sides[sides["game_id"].isin(set(one_each))]  # other shapes are another rule's
    w = sides[sides["wl"] == "W"].set_index("game_id")["pts"]
    lost = sides[sides["wl"] == "L"].set_index("game_id")["pts"]
    both = pd.DataFrame({"w": w, "l": lost}).dropna()
    wrong = both[both["w"].astype("int64") <= both["l"].astype("int64")]
    bad = data.frame[data.frame["game_id"].isin(set(wrong.index))]
    detail = ", ".join(f"{g} (W {r.w} vs L {r.l})" for g, r in list(wrong.iterrows())[:5])
    says = f"{len(wrong)} game(s) whose winner did not score more points: {detail}"
    return Outcome(bad, says if len(wrong) else "")


def _games_final(data: AuditInput) -> Outcome:
    """A row without W/L is a game not over (or suspended): its stats are partial."""
    frame = data.frame
    open_games = set(frame.loc[~frame["wl"].isin(["W", "L"]), "game_id"])
    if data.schedule is not None:
        live = data.schedule[
            (data.schedule["game_status"] == 2)
            & (data.schedule["game_date"] >= data.start)
            & (data.schedule["game_date"] <= data.end)
        ]
        open_games |= set(live["game_id"]) & set(frame["game_id"])
    bad = frame[frame["game_id"].isin(open_games)]
    says = (
        f"{len(open_games)} game(s) in {data.days} are not final (no W/L or in progress on the "
        f"schedule): {sorted(open_games)[:5]}; rerun the days once they are over"
    )
    return Outcome(bad, says if open_games else "")


def _outside_request(data: AuditInput) -> Outcome:
    """Rows the API sent dated outside the window asked for: it ignored its own date filter."""
    strays = data.strays if data.strays is not None else data.frame.iloc[:0]
    dates = sorted({d.isoformat() for d in strays.get("game_date", pd.Series()).dropna()})
    shown = ", ".join(dates[:5]) + (" ..." if len(dates) > 5 else "")
    says = (
        f"the API returned {len(strays)} row(s) dated outside the window requested ({shown}); "
        "they were not published"
    )
    return Outcome(strays, says if len(strays) else "", extra={"stray_dates": dates})


def _team_ids_known(data: AuditInput) -> Outcome:
    if data.teams is None:
        return Outcome(
            data.frame.iloc[:0],
            skipped="`teams` is not materialized: run reference_job (or materialize teams)",
        )
    bad = data.frame[~data.frame["team_id"].isin(data.teams["team_id"])]
    says = f"{len(bad)} rows name team ids that are not franchises in `teams`: {sorted(set(bad['team_id']))[:5]}"
    return Outcome(bad, says if len(bad) else "")


def _player_ids_known(data: AuditInput) -> Outcome:
    if data.players is None:
        return Outcome(
            data.frame.iloc[:0],
            skipped="`players` is not materialized: run reference_job (or materialize players)",
        )
    bad = data.frame[~data.frame["player_id"].isin(data.players["player_id"])]
    says = (
        f"{bad['player_id'].nunique()} player id(s) not yet in `players` (rookies appear before "
        "the weekly players refresh)"
    )
    return Outcome(bad, says if len(bad) else "")


def _seasons_of(data: AuditInput) -> str:
    return ", ".join(sorted({season_of(data.start), season_of(data.end)}))


def postponed(schedule: pd.DataFrame) -> pd.Series:
    """Games the schedule marks postponed or cancelled (never due, never final)."""
    return (
        schedule["game_status_text"]
        .astype("string")
        .str.contains(r"\bPPD\b|postpon|cancel", case=False, regex=True, na=False)
    )


def _scheduled_games_present(data: AuditInput) -> Outcome:
    """Every game the schedule lists for the run's days, whatever its status when the schedule
    was copied: a copy taken before a game finished still says the game was due."""
    if data.schedule is None:
        seasons = _seasons_of(data)
        return Outcome(
            data.frame.iloc[:0],
            skipped=f"`schedule` (ScheduleLeagueV2) is not materialized for {seasons}: "
            "completeness falls back to the game log's own games (games_in_both_tables, "
            f"two_teams_one_winner); materialize schedule partition(s) {seasons} (the "
            "daily_schedule_refresh schedule does), then rerun these days",
        )
    schedule = data.schedule
    today = data.today or game_date_today()
    due = schedule[
        schedule["season_type"].isin(BOXSCORE_SEASON_TYPES)
        & (schedule["game_date"] >= data.start)
        & (schedule["game_date"] <= min(data.end, today - dt.timedelta(days=1)))
        & ~postponed(schedule)
    ]
    missing = due[~due["game_id"].isin(data.frame["game_id"])]
    bad = missing.reindex(columns=["game_id", "game_date", "matchup", "game_label"])
    says = (
        f"{len(missing)} scheduled game(s) dated before {today} are missing from {data.spec.name} "
        f"(not postponed on the schedule): {sorted(missing['game_id'])[:5]}"
    )
    return Outcome(bad, says if len(bad) else "", extra={"scheduled_games": len(due)})


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
        BoxScoreCheck(
            "rows_outside_request",
            "rows the API returned dated outside the window requested (it ignored its date "
            "filter) are reported with their count and dates; they are not published",
            _outside_request,
            blocking=False,
        ),
        BoxScoreCheck(
            "games_final",
            "every game in the run is over: a row without W/L (or a game in progress on the "
            "schedule) would publish partial stats",
            _games_final,
        ),
        BoxScoreCheck(
            "winner_scored_more",
            "the team marked W scored more points than the team marked L (players summed per team)",
            _winner_scored_more,
        ),
        BoxScoreCheck(
            "players_sum_to_team",
            f"per game and team, players' {', '.join(SUMMED_COLUMNS)} add up to the team row "
            "(new rows against the other table's published rows, whichever table the run writes)",
            cross_table(_players_sum_to_team),
        ),
        BoxScoreCheck(
            "games_in_both_tables",
            "every game in team_boxscores has player lines, and the reverse",
            cross_table(_games_in_both_tables),
        ),
        BoxScoreCheck("team_ids_known", "every team_id is a franchise in `teams`", _team_ids_known),
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
    BoxScoreCheck(
        "home_away_marked_once",
        "per game one MATCHUP says 'vs.' (home) and the other '@' (away); a game marked twice "
        "the same way is reported with the schedule's home and away teams",
        _home_away_marked_once,
        blocking=False,
    ),
    BoxScoreCheck(
        "scheduled_games_present",
        "every game the season schedule (ScheduleLeagueV2) lists for the run's days, whatever "
        "its status then, is present once its day has passed, unless postponed",
        _scheduled_games_present,
    ),
)

PLAYER_CHECKS: tuple[BoxScoreCheck, ...] = (
    *_shared(PLAYER_BOXSCORES),
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
    """One rule's outcome: state, count, the dates and games the failing rows fall on (JSON-ready)."""
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
        "state": outcome.state,
        "passed": outcome.passed,
        "blocks": rule.blocks(outcome),
        "message": outcome.message or outcome.skipped or "passed",
        "failing_rows": len(bad),
        "rows_checked": rows_checked,
        "failing_dates": dates,
        "failing_games": games[:_SAMPLE_GAMES],
        "seconds": round(seconds, 4),
    }
    if outcome.skipped:
        found["skipped"] = outcome.skipped
        found["severity"] = rule.skip_severity(outcome).value
    found.update({k: v for k, v in outcome.extra.items() if k != "skip_severity"})
    return found


def audit_counts(results: Sequence[tuple[BoxScoreCheck, Outcome, float]]) -> dict[str, int]:
    states = [outcome.state for _, outcome, _ in results]
    return {state: states.count(state) for state in ("passed", "failed", "skipped")}


def audit_summary(results: Sequence[tuple[BoxScoreCheck, Outcome, float]]) -> str:
    """'12 passed, 1 failed, 2 skipped' and then what failed or was skipped, and why."""
    counts = audit_counts(results)
    head = ", ".join(f"{n} {state}" for state, n in counts.items())
    lines = [
        f"{rule.name}: {outcome.message}"
        if outcome.state == "failed"
        else f"{rule.name} skipped ({rule.skip_severity(outcome).value}): {outcome.skipped}"
        for rule, outcome, _ in results
        if outcome.state != "passed"
    ]
    return "; ".join([head, *lines])


def audit_result(
    table: str, results: Sequence[tuple[BoxScoreCheck, Outcome, float]], rows_checked: int
) -> dg.AssetCheckResult:
    """The table's `audit` check: passed only if every rule ran and passed; else ERROR if an
    outcome blocks publishing, WARN otherwise. A line per rule, the details, failure samples."""
    blocking = [(r, o) for r, o, _ in results if r.blocks(o)]
    details = [describe(rule, outcome, rows_checked, seconds) for rule, outcome, seconds in results]
    metadata: dict[str, Any] = {detail["rule"]: _verdict(detail) for detail in details}
    metadata.update(
        {
            "rules": dg.MetadataValue.json(details),
            **{f"rules_{state}": n for state, n in audit_counts(results).items()},
            "rows_checked": rows_checked,
            "failing_rows": sum(d["failing_rows"] for d in details),
            "failing_dates": dg.MetadataValue.json(
                sorted({day for d in details for day in d["failing_dates"]})
            ),
            "seconds": round(sum(seconds for *_, seconds in results), 4),
        }
    )
    for rule, outcome, _ in results:
        if outcome.state == "failed":
            metadata[f"sample: {rule.name}"] = dg.MetadataValue.md(
                _sample(outcome.bad).to_markdown(index=False)
            )
    return dg.AssetCheckResult(
        check_name=AUDIT_CHECK,
        asset_key=dg.AssetKey(table),
        passed=all(outcome.passed for _, outcome, _ in results),
        severity=ERROR if blocking else WARN,
        description=audit_summary(results),
        metadata=metadata,
    )


def _verdict(detail: dict[str, Any]) -> str:
    """The rule's line in the UI's metadata table."""
    if detail["state"] == "skipped":
        return f"skipped ({detail['severity']}): {detail['skipped']}"
    if detail["state"] == "passed":
        return "passed"
    return f"{'FAILED' if detail['blocks'] else 'warning'}: {detail['message']}"


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
