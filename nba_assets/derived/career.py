"""Career stats from season rows: what PlayerCareerStats serves, at 0 requests."""

from __future__ import annotations

import pandas as pd

from nba_assets.derived.season_stats import rates
from nba_assets.schemas import CAREER, PLAYER_CAREER_STATS, SEASON_COUNTS, conform

_SUMMED = ["gp", "w", "l", "min", *SEASON_COUNTS, "plus_minus"]
_KEY = ["player_id", "season_type"]


def career_totals(seasons: pd.DataFrame) -> pd.DataFrame:
    """Per player and season type, the sums of its season rows, with rates recomputed."""
    ordered = seasons.sort_values([*_KEY, "season"], kind="stable")
    grouped = ordered.groupby(_KEY, sort=True)
    totals = grouped[_SUMMED].sum(min_count=1)
    # games started over a career only if known in every season (a partial sum would pass for
    # the whole: a season before play-by-play was derived is unknown, not 0)
    known = grouped["gs"].count() == grouped.size()
    totals["gs"] = grouped["gs"].sum(min_count=1).where(known)
    totals["seasons"] = grouped.size()
    last = grouped[["player_name", "team_id", "team_abbreviation"]].last()
    # distinct teams over a career are not in the season rows (each keeps only a count)
    unknown = pd.array([pd.NA] * len(totals), dtype="Int64")
    return rates(totals.join(last).assign(teams=unknown).reset_index())


def player_career_stats(seasons: pd.DataFrame) -> pd.DataFrame:
    """player_season_stats rows to player_career_stats: the season rows, then career totals."""
    if seasons.empty:
        return PLAYER_CAREER_STATS.empty()
    per_season = seasons.assign(season_id=seasons["season"], seasons=1)
    career = career_totals(seasons).assign(season_id=CAREER)
    career = career.astype({c: per_season[c].dtype for c in career.columns if c in per_season})
    table = pd.concat([per_season, career], ignore_index=True)
    table = table.sort_values(["player_id", "season_type", "season_id"], kind="stable")
    return conform(PLAYER_CAREER_STATS, table)
