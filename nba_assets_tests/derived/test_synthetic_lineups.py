"""Lineups and possessions of a whole synthetic season, from its play-by-play alone.

The synthetic league plays rotations (exactly five a side, each player's box-score minutes to
the second) and places every player event while its player is on the floor; some period
breaks change players with no Substitution event, as the real feed does. So every game's
lineups must be inferred, and inferred exactly: the stints equal the rotation the league
really played."""

import pandas as pd
import pytest

from nba_assets.derived import lineups, season_stats
from nba_assets.partitions import BOXSCORE_SEASON_TYPES
from nba_assets.schemas import PLAYER_BOXSCORES, TEAM_BOXSCORES
from nba_assets.source.parsing import parse_boxscores
from nba_assets.source.parsing_pbp import parse_play_by_play_games
from nba_assets.source.synthetic import SyntheticLeague
from nba_assets.source.synthetic.pbp import true_rotation

SEASON = "2024-25"
SIDES = [f"{side}_player_{n}" for side in ("home", "away") for n in range(1, 6)]


@pytest.fixture(scope="module")
def league() -> SyntheticLeague:
    return SyntheticLeague(seed=7, first_season=SEASON, last_season=SEASON)


def _game_log(league: SyntheticLeague, spec, kind: str) -> pd.DataFrame:
    return pd.concat(
        parse_boxscores(
            spec,
            league.respond(
                "leaguegamelog", {"Season": SEASON, "SeasonType": t, "PlayerOrTeam": kind}
            ),
        )
        for t in BOXSCORE_SEASON_TYPES
    )


@pytest.fixture(scope="module")
def season(league) -> dict:
    """Every game of the season (regular, play-in, playoffs): events, box scores, and the
    derived stints and possessions (~25 s on the 2-core machine)."""
    teams = _game_log(league, TEAM_BOXSCORES, "T")
    players = _game_log(league, PLAYER_BOXSCORES, "P")
    days = teams.drop_duplicates("game_id").set_index("game_id")["game_date"]
    bodies = [(league.respond("playbyplayv3", {"GameID": g}), g, day) for g, day in days.items()]
    events = parse_play_by_play_games(bodies)
    stints, possessions, failed = lineups.lineups_and_possessions(events, players)
    return {
        "teams": teams,
        "players": players,
        "events": events,
        "stints": stints,
        "possessions": possessions,
        "failed": failed,
    }


@pytest.mark.slow
def test_every_game_of_a_synthetic_season_has_its_lineups(season):
    stints, teams, players = season["stints"], season["teams"], season["players"]
    assert season["failed"] == []
    assert stints["game_id"].nunique() == teams["game_id"].nunique() > 1300
    assert len(stints) > 30 * 1300
    # five different players a side in every stint
    assert stints[SIDES].notna().all().all()
    for side in ("home", "away"):
        five = stints[[f"{side}_player_{n}" for n in range(1, 6)]]
        assert (five.nunique(axis=1) == 5).all()
    # every player's seconds on the floor are his box-score minutes, to the second
    on_floor = stints.melt(id_vars=["game_id", "seconds"], value_vars=SIDES, value_name="player")
    seconds = on_floor.groupby(["game_id", "player"])["seconds"].sum()
    box = players.set_index(["game_id", "player_id"])["min"].astype(float) * 60
    box = box[box > 0]
    seconds.index.names = box.index.names
    assert seconds.index.sort_values().equals(box.index.sort_values())
    assert (seconds.reindex(box.index) - box).abs().max() < 1


@pytest.mark.slow
def test_points_from_possessions_and_stints_equal_the_box_scores(season):
    teams = season["teams"].set_index(["game_id", "team_id"])["pts"].astype(int)
    possessions = season["possessions"]
    scored = possessions.groupby(["game_id", "offense_team_id"])["pts"].sum()
    scored.index.names = teams.index.names
    assert scored.reindex(teams.index).fillna(-1).astype(int).equals(teams)
    stints = season["stints"]
    home = stints.groupby(["game_id", "home_team_id"])["home_pts"].sum()
    away = stints.groupby(["game_id", "away_team_id"])["away_pts"].sum()
    for part in (home, away):
        part.index.names = teams.index.names
        assert (part - teams.reindex(part.index)).abs().max() == 0


@pytest.mark.slow
def test_every_player_event_happens_on_the_floor(season):
    events = season["events"]
    acting = events[
        events["person_id"].notna()
        & events["team_id"].notna()
        & (events["action_type"] != "Substitution")
    ]
    located = lineups.in_stints(acting, season["stints"], "action_id")
    ten = located[SIDES].to_numpy()
    person = located["person_id"].to_numpy().reshape(-1, 1)
    assert len(located) > 300 * 1300
    assert (ten == person).any(axis=1).all()


@pytest.mark.slow
def test_stints_equal_the_rotation_the_league_played(league, season):
    """The inference from the play-by-play alone gives back the league's own rotation, span
    by span, in every game; among them games whose lineups change at a period break with no
    Substitution event (the inference's carried and acting players)."""
    stints = season["stints"].sort_values(["game_id", "stint"])
    found: dict[str, dict[int, list[tuple[int, int]]]] = {}
    for row in stints[["game_id", "start_elapsed", "seconds", *SIDES]].itertuples(index=False):
        spans = found.setdefault(row.game_id, {})
        begin = round(10 * row.start_elapsed)
        end = begin + round(10 * row.seconds)
        for player in row[3:]:
            mine = spans.setdefault(int(player), [])
            if mine and mine[-1][1] == begin:
                mine[-1] = (mine[-1][0], end)
            else:
                mine.append((begin, end))
    wrong = [g for g, spans in found.items() if spans != true_rotation(league, g)]
    assert wrong == []
    assert len(_silent_breaks(season["events"], stints)) > 100


def _silent_breaks(events: pd.DataFrame, stints: pd.DataFrame) -> list[tuple[str, int, str]]:
    """(game, period, side) whose five at the period's start differ from the five that ended the
    period before, with no Substitution event of that team in the new period at its start."""
    subs = events[events["action_type"] == "Substitution"]
    named = set(zip(subs["game_id"], subs["period"], subs["team_id"], subs["clock"], strict=True))
    silent = []
    for game, rows in stints.groupby("game_id", sort=False):
        rows = rows.sort_values("stint")
        for before, after in zip(
            rows.iloc[:-1].itertuples(), rows.iloc[1:].itertuples(), strict=True
        ):
            if after.period == before.period:
                continue
            full = 720.0 if after.period <= 4 else 300.0
            for side in ("home", "away"):
                columns = [f"{side}_player_{n}" for n in range(1, 6)]
                team = getattr(after, f"{side}_team_id")
                changed = {getattr(before, c) for c in columns} != {
                    getattr(after, c) for c in columns
                }
                if changed and (game, after.period, team, full) not in named:
                    silent.append((game, after.period, side))
    return silent


@pytest.mark.slow
def test_games_started_are_the_starters_the_league_played(league, season):
    """gs from the season's stints: per player and season type, the games in which the league
    had him on the floor at tip-off (the five highest-minute players of each side); without
    stints gs is unknown (null), and one game without stints makes its players' gs unknown."""
    players = season["players"]
    true_starters = [
        (game, player)
        for game in players["game_id"].unique()
        for player, spans in true_rotation(league, game).items()
        if spans[0][0] == 0
    ]
    assert len(true_starters) == 10 * players["game_id"].nunique()
    started = pd.DataFrame(true_starters, columns=["game_id", "player_id"])
    lines = players.merge(started.assign(started=1), on=["game_id", "player_id"], how="left")
    expected = lines.groupby(["player_id", "season_type"])["started"].sum().astype(int)
    table = season_stats.player_season_stats(players, season["stints"])
    found = table.set_index(["player_id", "season_type"])["gs"]
    assert found.notna().all() and found.sum() == len(true_starters)
    assert found.astype(int).sort_index().equals(expected.sort_index())
    assert season_stats.player_season_stats(players)["gs"].isna().all()
    game = season["stints"]["game_id"].iloc[0]
    partly = season_stats.player_season_stats(
        players, season["stints"][season["stints"]["game_id"] != game]
    )
    unknown = partly.loc[partly["gs"].isna(), "player_id"]
    in_game = players.loc[players["game_id"] == game, ["player_id", "season_type"]]
    assert set(unknown) == set(in_game["player_id"])
