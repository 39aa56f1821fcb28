"""Blocking rules of the derived tables: plain functions of the derived rows and their inputs.

Each table reports one `audit` check (as the box-score tables do), evaluated in the asset's
step before its rows are handed to the IO manager: a failing rule publishes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import dagster as dg
import numpy as np
import pandas as pd

from nba_assets.derived.shots import reconcile
from nba_assets.partitions import NBA_CUP_FINAL_LABEL, PLAY_IN, PLAYOFFS, REGULAR_SEASON
from nba_assets.quality.checks import (
    AUDIT_CHECK,
    SCHEMA_CHECK,
    AuditInput,
    BoxScoreCheck,
    Outcome,
    audit_description,
    audit_result,
    run_checks,
)
from nba_assets.schemas import CAREER, SEASON_COUNTS, SHOOTING_PCTS, TableSpec

Rule = Callable[[pd.DataFrame], Outcome]


def _rows(frame: pd.DataFrame, mask: pd.Series, says: str) -> Outcome:
    bad = frame[mask.fillna(False).astype(bool)]
    return Outcome(bad, says.format(n=len(bad)) if len(bad) else "")


def rule(name: str, description: str, run: Rule) -> BoxScoreCheck:
    """A blocking rule over the derived frame alone."""
    return BoxScoreCheck(name, description, lambda data: run(data.frame))


def _games_add_up(frame: pd.DataFrame) -> Outcome:
    wrong = (frame["w"] + frame["l"] != frame["gp"]) | (frame["gp"] <= 0)
    return _rows(frame, wrong, "{n} rows whose w + l is not gp (or gp is not positive)")


def _points_add_up(frame: pd.DataFrame) -> Outcome:
    wrong = frame["pts"] != 2 * frame["fgm"] + frame["fg3m"] + frame["ftm"]
    return _rows(frame, wrong, "{n} rows whose pts are not 2·fgm + fg3m + ftm")


def _made_within_attempts(frame: pd.DataFrame) -> Outcome:
    wrong = pd.Series(False, index=frame.index)
    for _, made, attempted in SHOOTING_PCTS:
        wrong |= (frame[made] > frame[attempted]).fillna(False)
    return _rows(frame, wrong, "{n} rows with more shots made than attempted")


#: The `season_type` values box-score rows carry (the Cup final is `NBA Cup`).
SEASON_TYPE_LABELS = frozenset({REGULAR_SEASON, PLAY_IN, PLAYOFFS, NBA_CUP_FINAL_LABEL})


def _known_season_types(frame: pd.DataFrame) -> Outcome:
    wrong = ~frame["season_type"].isin(SEASON_TYPE_LABELS)
    return _rows(frame, wrong, "{n} rows of a season type the box scores never have")


def seasons_in_run(seasons: Sequence[str]) -> BoxScoreCheck:
    """Every row belongs to one of the run's season partitions."""

    def run(frame: pd.DataFrame) -> Outcome:
        return _rows(frame, ~frame["season"].isin(seasons), "{n} rows outside the run's seasons")

    return rule("seasons_in_partition", "every row's season is one of the run's seasons", run)


def dates_in_run(first: dt.date, last: dt.date) -> BoxScoreCheck:
    """Every row's game_date is one of the run's game-date partitions."""

    def run(frame: pd.DataFrame) -> Outcome:
        outside = (frame["game_date"] < first) | (frame["game_date"] > last)
        return _rows(frame, outside, "{n} rows dated outside the run's days")

    return rule("game_dates_in_partition", "every game_date inside the run's partitions", run)


def totals_match_games(games: pd.DataFrame, key: str) -> BoxScoreCheck:
    """Season sums equal the game lines they came from: games, and every counting stat."""

    def run(frame: pd.DataFrame) -> Outcome:
        stats = [c for c in SEASON_COUNTS if c in games.columns]
        expected = games.groupby(key)[stats].sum(min_count=1).assign(gp=games.groupby(key).size())
        got = frame.groupby(key)[[*stats, "gp"]].sum(min_count=1)
        both = expected.reindex(got.index.union(expected.index))
        differs = (both.fillna(-1) != got.reindex(both.index).fillna(-1)).any(axis=1)
        bad = frame[frame[key].isin(differs[differs].index)]
        lost = sorted(set(differs[differs].index) - set(frame[key]))
        says = f"{differs.sum()} {key}s whose season totals differ from their game lines"
        return Outcome(bad, says if differs.any() else "", extra={"missing_ids": lost[:25]})

    return rule(
        "totals_match_games",
        f"per {key}: gp and every counting stat equal the sums of its game lines",
        run,
    )


def opponents_mirror(frame: pd.DataFrame) -> Outcome:
    """League-wide, every team's points are some opponent's `opp_pts` (each game counted twice)."""
    sums = frame.groupby(["season", "season_type"])[["pts", "opp_pts", "fga", "opp_fga"]].sum()
    wrong = (sums["pts"] != sums["opp_pts"]) | (sums["fga"] != sums["opp_fga"])
    bad = frame[frame.set_index(["season", "season_type"]).index.isin(sums[wrong].index)]
    return Outcome(
        bad, f"{int(wrong.sum())} season types whose pts != opp_pts" if wrong.any() else ""
    )


def unique_key(spec: TableSpec) -> BoxScoreCheck:
    """One row per key: a repeated key would count a season twice."""

    def run(frame: pd.DataFrame) -> Outcome:
        repeated = frame.duplicated(list(spec.key), keep=False)
        return _rows(frame, repeated, "{n} rows repeat a key " + str(spec.key))

    return rule(f"unique_{'_'.join(spec.key)}", f"one row per {spec.key}", run)


def group_sets_cover_games(games: pd.DataFrame) -> BoxScoreCheck:
    """Each group set of a team season splits exactly its games: Home + Road = all, and so on."""

    def run(frame: pd.DataFrame) -> Outcome:
        key = ["team_id", "season_type"]
        played = games.groupby(key).size().rename("games")
        per_set = frame.groupby([*key, "group_set"])["gp"].sum().rename("gp").reset_index()
        joined = per_set.merge(played.reset_index(), on=key, how="outer")
        wrong = joined[joined["gp"] != joined["games"]]
        bad = frame[frame.set_index(key).index.isin(wrong.set_index(key).index)]
        says = f"{len(wrong)} team group sets whose games do not add up to the team's games"
        return Outcome(bad, says if len(wrong) else "")

    return rule(
        "group_sets_cover_games",
        "per team and season type, each group set's gp add up to the team's games",
        run,
    )


def career_sums_seasons(frame: pd.DataFrame) -> Outcome:
    """Career rows equal the sums of the same player's season rows (gp, pts, fga, min)."""
    stats = ["gp", "pts", "fga", "min", "seasons"]
    is_career = frame["season_id"] == CAREER
    summed = frame[~is_career].groupby(["player_id", "season_type"])[stats].sum(min_count=1)
    career = frame[is_career].set_index(["player_id", "season_type"])[stats]
    both = summed.join(career, rsuffix="_career", how="outer")
    wrong = pd.Series(False, index=both.index)
    for stat in stats:
        wrong |= both[stat].fillna(-1) != both[f"{stat}_career"].fillna(-1)
    bad = frame[frame.set_index(["player_id", "season_type"]).index.isin(both[wrong].index)]
    says = f"{int(wrong.sum())} careers that are not the sums of their seasons"
    return Outcome(bad, says if wrong.any() else "")


def record_rules(spec: TableSpec, seasons: Sequence[str] | None) -> list[BoxScoreCheck]:
    """Rules of every table of records: schema, key, seasons, w + l = gp, season types."""
    rules = [SCHEMA_CHECK, unique_key(spec)]
    if seasons is not None:
        rules.append(seasons_in_run(seasons))
    return [
        *rules,
        rule("games_add_up", "w + l = gp > 0", _games_add_up),
        rule("season_types_known", "season_type as in the box scores", _known_season_types),
    ]


def shots_match_box_scores(player_box: pd.DataFrame) -> BoxScoreCheck:
    """Per player and game: FGA, FGM, FG3A, FG3M counted from shots equal player_boxscores."""

    def run(frame: pd.DataFrame) -> Outcome:
        differs = reconcile(frame, player_box)
        bad = frame[frame["game_id"].isin(differs["game_id"])]
        says = f"{len(differs)} player-games whose shots differ from the box score"
        return Outcome(bad, says if len(differs) else "", extra={"differs": len(differs)})

    return rule(
        "shots_match_box_scores",
        "per player and game, FGA, FGM, FG3A and FG3M from shots equal player_boxscores",
        run,
    )


def five_a_side(frame: pd.DataFrame) -> Outcome:
    """Every stint has five different players a side (sorted rows in numpy: pandas' row-wise
    nunique took 8 s on a season's 45k synthetic stints)."""
    wrong = pd.Series(False, index=frame.index)
    for side in ("home", "away"):
        players = frame[[f"{side}_player_{n}" for n in range(1, 6)]]
        ids = np.sort(players.fillna(-1).to_numpy(dtype="int64"), axis=1)
        repeated = (np.diff(ids, axis=1) == 0).any(axis=1)
        wrong |= players.isna().any(axis=1) | pd.Series(repeated, index=frame.index)
    return _rows(frame, wrong, "{n} stints without five different players a side")


def games_inferred(failed: Sequence[str]) -> BoxScoreCheck:
    """Every game's lineups were inferred (a game that could not be is named, not guessed)."""

    def run(frame: pd.DataFrame) -> Outcome:
        bad = pd.DataFrame({"game_id": [f.split(":")[0] for f in failed], "why": list(failed)})
        says = f"{len(failed)} games left out of lineup_stints and possessions: {failed[:3]}"
        return Outcome(bad, says if failed else "")

    return BoxScoreCheck(
        "lineups_inferred",
        "games left out: five a side not inferable, or contradicted by box-score minutes",
        lambda data: run(data.frame),
        blocking=False,
    )


def minutes_match_box_scores(player_box: pd.DataFrame) -> BoxScoreCheck:
    """Per player-game, seconds on the floor from stints match the box score's minutes.

    The game logs give whole minutes, so a player-game passes within a minute; the recorded
    game's box score (seconds) is held to one second in the tests.
    """

    def run(frame: pd.DataFrame) -> Outcome:
        seconds = stint_seconds(frame)
        box = player_box[player_box["game_id"].isin(frame["game_id"])]
        box = box[box["min"].fillna(0) > 0][["game_id", "player_id", "min"]]
        both = box.merge(seconds, on=["game_id", "player_id"], how="outer").fillna(0)
        wrong = both[(both["seconds"] / 60 - both["min"].astype("float64")).abs() >= 1]
        bad = frame[frame["game_id"].isin(wrong["game_id"])]
        says = f"{len(wrong)} player-games whose stint minutes differ from the box score"
        return Outcome(bad, says if len(wrong) else "", extra={"player_games": len(wrong)})

    return rule(
        "minutes_match_box_scores",
        "per player and game, minutes from the stints within a minute of player_boxscores.min",
        run,
    )


def stint_seconds(stints: pd.DataFrame) -> pd.DataFrame:
    """Seconds on the floor per game and player, from lineup_stints rows."""
    slots = [f"{side}_player_{n}" for side in ("home", "away") for n in range(1, 6)]
    long = stints.melt(id_vars=["game_id", "seconds"], value_vars=slots, value_name="player_id")
    return long.groupby(["game_id", "player_id"])["seconds"].sum().reset_index()


def points_match_box_scores(team_box: pd.DataFrame) -> BoxScoreCheck:
    """Per team-game, points from the possessions equal team_boxscores.pts."""

    def run(frame: pd.DataFrame) -> Outcome:
        scored = frame.groupby(["game_id", "offense_team_id"])["pts"].sum().rename("from_pbp")
        box = team_box[team_box["game_id"].isin(frame["game_id"])]
        box = box.set_index(["game_id", "team_id"])["pts"].rename("box")
        box.index = box.index.set_names(["game_id", "offense_team_id"])
        both = pd.concat([scored, box], axis=1).fillna(-1)
        wrong = both[both["from_pbp"] != both["box"]]
        bad = frame[frame["game_id"].isin(wrong.index.get_level_values(0))]
        says = f"{len(wrong)} team-games whose possession points differ from the box score"
        return Outcome(bad, says if len(wrong) else "")

    return rule(
        "points_match_box_scores",
        "per team and game, points from the possessions equal team_boxscores.pts",
        run,
    )


def shooters_on_floor(frame: pd.DataFrame) -> Outcome:
    """Where a shot has its lineups, the shooter is one of the ten on the floor."""
    players = frame[[f"{side}_player_{n}" for side in ("home", "away") for n in range(1, 6)]]
    known = frame["stint"].notna()
    on_floor = players.eq(frame["player_id"], axis=0).any(axis=1)
    return _rows(frame, known & ~on_floor, "{n} shots whose shooter is not on the floor")


def common_rules(spec: TableSpec, seasons: Sequence[str] | None) -> list[BoxScoreCheck]:
    """Rules every season-stats table obeys (`seasons`: the run's, None for all-season tables)."""
    return [
        *record_rules(spec, seasons),
        rule("points_add_up", "pts = 2·fgm + fg3m + ftm", _points_add_up),
        rule("made_within_attempts", "fgm ≤ fga, fg3m ≤ fg3a, ftm ≤ fta", _made_within_attempts),
    ]


def check_spec(spec: TableSpec, rules: Sequence[BoxScoreCheck]) -> list[dg.AssetCheckSpec]:
    """The table's one blocking `audit` check, listing its rules (as the UI shows them)."""
    return [
        dg.AssetCheckSpec(
            AUDIT_CHECK,
            asset=dg.AssetKey(spec.name),
            blocking=True,
            description=audit_description(rules),
        )
    ]


class DerivedAuditFailure(dg.Failure):
    """A derived table broke a blocking rule: nothing was published."""


def audit(
    spec: TableSpec, frame: pd.DataFrame, rules: Sequence[BoxScoreCheck]
) -> tuple[dg.AssetCheckResult, list[str]]:
    """The `audit` result and the names of the blocking rules that failed."""
    data = AuditInput(frame=frame, spec=spec, start=dt.date.min, end=dt.date.max)
    results = run_checks(rules, data)
    failed = [c.name for c, outcome, _ in results if c.blocking and not outcome.passed]
    return audit_result(spec.name, results, len(frame)), failed
