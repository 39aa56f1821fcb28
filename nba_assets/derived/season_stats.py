"""Season totals, averages, ratings and four factors from game lines: pure pandas, 0 requests.

The same functions aggregate warehouse box scores and recorded game logs (LeagueGameFinder,
PlayerGameLog), which is how the tests hold them to the NBA's own season numbers.
"""

from __future__ import annotations

import pandas as pd

from nba_assets.partitions import season_of
from nba_assets.schemas import (
    OPPONENT_COUNTS,
    PER_GAME,
    PLAYER_SEASON_STATS,
    SEASON_COUNTS,
    SHOOTING_PCTS,
    TEAM_SEASON_STATS,
    conform,
)

#: Weight of a free-throw attempt in the possession estimate (and-ones, technicals, 3-shot
#: fouls make a trip to the line less than one possession).
FTA_WEIGHT = 0.44
REGULATION_MINUTES = 48
OVERTIME_MINUTES = 5
TEAM_KEY = ["team_id", "season", "season_type"]
PLAYER_KEY = ["player_id", "season", "season_type"]


def with_season(box: pd.DataFrame) -> pd.DataFrame:
    """The rows with `season` from the calendar (the 2020 bubble's autumn games are 2019-20)."""
    seasons = {day: season_of(day) for day in pd.unique(box["game_date"])}
    return box.assign(season=box["game_date"].map(seasons))


def game_minutes(player_minutes: pd.Series) -> pd.Series:
    """Team minutes as the NBA counts them (48 + 5 per overtime) from a team row's player-minute
    sum (240 + 25 per overtime, off by a minute or two from per-player rounding)."""
    total = player_minutes.astype("float64")
    overtimes = ((total / 5 - REGULATION_MINUTES) / OVERTIME_MINUTES).round().clip(lower=0)
    return (REGULATION_MINUTES + OVERTIME_MINUTES * overtimes).astype("Int64")


def possessions(fga: pd.Series, fta: pd.Series, oreb: pd.Series, tov: pd.Series) -> pd.Series:
    """The box-score estimate of possessions: FGA + 0.44·FTA - OREB + TOV."""
    return (fga + FTA_WEIGHT * fta - oreb + tov).astype("float64")


def with_opponents(team_box: pd.DataFrame) -> pd.DataFrame:
    """Each team row with its opponent's counts as `opp_<stat>` (the other row of its game)."""
    stats = list(OPPONENT_COUNTS)
    other = team_box[["game_id", "team_id", *stats]].rename(
        columns={"team_id": "opp_team_id", **{s: f"opp_{s}" for s in stats}}
    )
    paired = team_box.merge(other, on="game_id", how="left")
    paired = paired[paired["team_id"] != paired["opp_team_id"]]
    lonely = ~team_box["game_id"].isin(paired["game_id"])
    if lonely.any():  # a game with one team row: no opponent to pair (the audit forbids it)
        paired = pd.concat([paired, team_box[lonely]], ignore_index=True)
    return paired.drop(columns="opp_team_id").reset_index(drop=True)


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator as floats, null where the denominator is 0 or null."""
    den = denominator.astype("float64")
    return numerator.astype("float64") / den.where(den != 0)


def _totals(lines: pd.DataFrame, key: list[str], sums: list[str]) -> pd.DataFrame:
    """Per key: games, wins, losses, the sums, and the name columns of the last game."""
    lines = lines.sort_values([*key, "game_date", "game_id"], kind="stable")
    grouped = lines.groupby(key, sort=True, dropna=False)
    totals = grouped[sums].sum(min_count=1)
    totals["gp"] = grouped.size()
    totals["w"] = grouped["wl"].agg(lambda wl: int((wl == "W").sum()))
    totals["l"] = grouped["wl"].agg(lambda wl: int((wl == "L").sum()))
    return totals.reset_index()


def rates(frame: pd.DataFrame) -> pd.DataFrame:
    """Win and shooting percentages and per-game averages, beside the totals they come from."""
    extra = {"w_pct": _ratio(frame["w"], frame["gp"])}
    extra.update({pct: _ratio(frame[m], frame[a]) for pct, m, a in SHOOTING_PCTS})
    extra.update({f"{s}_per_game": _ratio(frame[s], frame["gp"]) for s in PER_GAME})
    return frame.assign(**extra)


def four_factors_and_ratings(totals: pd.DataFrame) -> pd.DataFrame:
    """Possessions, pace, ratings and four factors of totals holding team and `opp_` counts.

    Works on one game's row as well as a season's: the same code checks a single real game
    against BoxScoreAdvancedV3 / BoxScoreFourFactorsV3.
    """
    t = totals
    poss, opp_poss = _team_possessions(t)
    off = 100 * _ratio(t["pts"], poss)
    deff = 100 * _ratio(t["opp_pts"], opp_poss)
    return t.assign(
        poss=poss,
        opp_poss=opp_poss,
        pace=REGULATION_MINUTES * _ratio((poss + opp_poss) / 2, t["min"]),
        off_rating=off,
        def_rating=deff,
        net_rating=off - deff,
        efg_pct=_ratio(t["fgm"] + 0.5 * t["fg3m"], t["fga"]),
        fta_rate=_ratio(t["fta"], t["fga"]),
        tm_tov_pct=_ratio(t["tov"], poss),
        oreb_pct=_ratio(t["oreb"], t["oreb"] + t["opp_dreb"]),
        opp_efg_pct=_ratio(t["opp_fgm"] + 0.5 * t["opp_fg3m"], t["opp_fga"]),
        opp_fta_rate=_ratio(t["opp_fta"], t["opp_fga"]),
        opp_tov_pct=_ratio(t["opp_tov"], opp_poss),
        opp_oreb_pct=_ratio(t["opp_oreb"], t["opp_oreb"] + t["dreb"]),
    )


def _team_possessions(t: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Possessions counted from play-by-play where the rows carry them (`poss`, `opp_poss`, as
    from `counted_possessions`: the NBA divides by its own count), else the box-score estimate
    (team_boxscores alone: 0.8 and 2.0 above the NBA's count on the recorded game)."""
    if {"poss", "opp_poss"} <= set(t.columns):
        return t["poss"].astype("float64"), t["opp_poss"].astype("float64")
    return (
        possessions(t["fga"], t["fta"], t["oreb"], t["tov"]),
        possessions(t["opp_fga"], t["opp_fta"], t["opp_oreb"], t["opp_tov"]),
    )


def counted_possessions(possession_rows: pd.DataFrame) -> pd.DataFrame:
    """Per game and team, the possessions table's count: `poss` (on offense) and `opp_poss`
    (on defense), to join to game lines before `four_factors_and_ratings`."""
    offense = possession_rows.groupby(["game_id", "offense_team_id"]).size().rename("poss")
    defense = possession_rows.groupby(["game_id", "defense_team_id"]).size().rename("opp_poss")
    offense.index.names = defense.index.names = ["game_id", "team_id"]
    both = pd.concat([offense, defense], axis=1).fillna(0).astype("int64")
    return both.reset_index()


def _last_names(lines: pd.DataFrame, key: list[str], names: list[str]) -> pd.DataFrame:
    ordered = lines.sort_values([*key, "game_date", "game_id"], kind="stable")
    return ordered.groupby(key, sort=True, dropna=False)[names].last().reset_index()


def team_season_stats(team_box: pd.DataFrame) -> pd.DataFrame:
    """team_boxscores rows (or LeagueGameFinder team rows) to team_season_stats rows."""
    if team_box.empty:
        return TEAM_SEASON_STATS.empty()
    lines = with_opponents(with_season(team_box)).assign(min=lambda f: game_minutes(f["min"]))
    sums = ["min", *SEASON_COUNTS, "plus_minus", *(f"opp_{s}" for s in OPPONENT_COUNTS)]
    totals = _totals(lines, TEAM_KEY, sums)
    names = _last_names(lines, TEAM_KEY, ["team_abbreviation", "team_name"])
    table = four_factors_and_ratings(rates(totals.merge(names, on=TEAM_KEY)))
    return conform(TEAM_SEASON_STATS, table)


def player_season_stats(
    player_box: pd.DataFrame, stints: pd.DataFrame | None = None
) -> pd.DataFrame:
    """player_boxscores rows (or a PlayerGameLog) to player_season_stats rows; `gs` from
    lineup_stints rows of the same games where they are known (`games_started`)."""
    if player_box.empty:
        return PLAYER_SEASON_STATS.empty()
    lines = with_season(player_box)
    totals = _totals(lines, PLAYER_KEY, ["min", *SEASON_COUNTS, "plus_minus"])
    names = _last_names(lines, PLAYER_KEY, ["player_name", "team_id", "team_abbreviation"])
    teams = lines.groupby(PLAYER_KEY, sort=True)["team_id"].nunique().rename("teams")
    table = rates(totals.merge(names, on=PLAYER_KEY).merge(teams.reset_index(), on=PLAYER_KEY))
    table = table.merge(games_started(lines, stints), on=PLAYER_KEY, how="left")
    return conform(PLAYER_SEASON_STATS, table)


#: lineup_stints columns `games_started` reads: the first stint's ten are the starters.
STARTER_COLUMNS = (
    "game_id",
    "stint",
    *(f"{side}_player_{n}" for side in ("home", "away") for n in range(1, 6)),
)


def starters(stints: pd.DataFrame) -> pd.DataFrame:
    """(game_id, player_id) of the ten on the floor at tip-off: each game's first stint.
    The game logs carry no starter flag; where play-by-play was derived, the lineups do."""
    first = stints[stints["stint"] == 1]
    slots = [c for c in STARTER_COLUMNS if c not in ("game_id", "stint")]
    ten = first.melt(id_vars="game_id", value_vars=slots, value_name="player_id")
    return ten[["game_id", "player_id"]].astype({"player_id": "Int64"})


def games_started(lines: pd.DataFrame, stints: pd.DataFrame | None) -> pd.DataFrame:
    """`gs` per player, season and season type of game lines holding `season`: the games the
    player started, known only if every one of those games has lineup stints (else null: a
    game without play-by-play, or whose lineups were left out, could have been a start)."""
    keys = lines[[*PLAYER_KEY, "game_id"]]
    if stints is None or stints.empty:
        unknown = keys.drop_duplicates(PLAYER_KEY)[PLAYER_KEY]
        return unknown.assign(gs=pd.array([pd.NA] * len(unknown), dtype="Int64"))
    started = starters(stints).astype({"player_id": keys["player_id"].dtype}).assign(started=1)
    flags = keys.merge(started, on=["game_id", "player_id"], how="left")
    flags = flags.assign(
        started=flags["started"].fillna(0).astype("int64"),
        known=flags["game_id"].isin(stints["game_id"]),
    )
    grouped = flags.groupby(PLAYER_KEY, sort=True, dropna=False)
    gs = grouped["started"].sum().astype("Int64").where(grouped["known"].all())
    return gs.rename("gs").reset_index()
