"""Play-by-play: the real V3 recording, the synthetic league at season scale, resume and checks."""

import datetime as dt
import json
import os
import signal
import time

import dagster as dg
import pandas as pd
import pytest
from nba_api.stats.endpoints import PlayByPlayV3

from nba_assets.assets.boxscores import team_boxscores
from nba_assets.assets.play_by_play import POINTS_CHECK, play_by_play, request_params
from nba_assets.parsing import parse_boxscores
from nba_assets.parsing_pbp import (
    COUNTED,
    NoPlayByPlay,
    parse_play_by_play,
    parse_play_by_play_games,
)
from nba_assets.partitions import BOXSCORE_SEASON_TYPES
from nba_assets.pbp_checks import box_score_mismatches
from nba_assets.schemas import TEAM_BOXSCORES
from nba_assets.source.synthetic import SyntheticLeague
from nba_assets_tests.conftest import REPO, fixture_body, make_client, resources

REAL_GAME, REAL_DAY = "0022200552", dt.date(2023, 1, 2)
START, END = "2024-10-22", "2024-10-28"


def tags(start: str, end: str) -> dict[str, str]:
    return {"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end}


def real_events() -> pd.DataFrame:
    return parse_play_by_play(fixture_body("playbyplayv3-d416713a83.json"), REAL_GAME, REAL_DAY)


def real_box() -> pd.DataFrame:
    """The same game's boxscoretraditionalv3 team rows in team_boxscores' columns."""
    box = fixture_body("boxscoretraditionalv3-ac7cd2cc40.json")["boxScoreTraditional"]
    home, away = box["homeTeam"], box["awayTeam"]
    rows = []
    for team, matchup in (
        (home, f"{home['teamTricode']} vs. {away['teamTricode']}"),
        (away, f"{away['teamTricode']} @ {home['teamTricode']}"),
    ):
        s = team["statistics"]
        rows.append(
            {
                "game_id": box["gameId"],
                "team_id": team["teamId"],
                "matchup": matchup,
                "fgm": s["fieldGoalsMade"],
                "fga": s["fieldGoalsAttempted"],
                "fg3m": s["threePointersMade"],
                "fg3a": s["threePointersAttempted"],
                "ftm": s["freeThrowsMade"],
                "fta": s["freeThrowsAttempted"],
                "reb": s["reboundsTotal"],
                "tov": s["turnovers"],
                "pts": s["points"],
            }
        )
    return pd.DataFrame(rows)


def test_real_recording_parses_to_exact_values():
    events = real_events()
    assert len(events) == 560 and events["action_id"].tolist() == list(range(1, 561))
    assert (events["game_id"] == REAL_GAME).all() and (events["game_date"] == REAL_DAY).all()
    first = events.iloc[0]
    assert (first["period"], first["clock"], first["action_type"]) == (1, 720.0, "period")
    assert pd.isna(first["team_id"]) and pd.isna(first["person_id"])
    three = events[events["action_number"] == 7].iloc[0]  # DeRozan 24' 3PT Jump Shot
    assert three["clock"] == 701.0 and three["team_id"] == 1610612741
    assert (three["person_id"], three["player_name"], three["location"]) == (201942, "DeRozan", "v")
    assert (three["shot_value"], three["shot_result"], three["is_field_goal"]) == (3, "Made", 1)
    assert (three["shot_distance"], three["x_legacy"], three["y_legacy"]) == (24, 230, 52)
    assert (three["score_home"], three["score_away"]) == (0, 3)
    missed_ft = events[events["action_number"] == 15].iloc[0]
    assert missed_ft["description"] == "MISS Mitchell Free Throw 2 of 2"
    assert missed_ft["shot_value"] == 0 and pd.isna(missed_ft["shot_result"])
    assert pd.isna(missed_ft["shot_distance"])
    # the score is blank on that event in V3; here it is the score after it
    assert (missed_ft["score_home"], missed_ft["score_away"]) == (1, 3)
    team_rebound = events[events["action_number"] == 119].iloc[0]  # "CAVALIERS Rebound"
    assert team_rebound["team_id"] == 1610612739 and pd.isna(team_rebound["person_id"])
    steal = events[events["description"] == "DeRozan STEAL (1 STL)"].iloc[0]
    assert pd.isna(steal["action_type"]) and steal["person_id"] == 201942
    last = events.iloc[-1]
    assert (last["period"], last["clock"], last["score_home"], last["score_away"]) == (
        5,
        0.0,
        145,
        134,
    )
    assert events["clock"].between(0, 720).all()


def test_real_events_add_up_to_the_real_box_score():
    events, box = real_events(), real_box()
    assert box_score_mismatches(events, box) == []
    # not only points: every counted stat of both teams matches the real box score
    assert box_score_mismatches(events, box, COUNTED) == []


def test_check_names_the_game_when_a_made_shot_is_removed():
    events = real_events()
    made = events.index[events["action_type"] == "Made Shot"][10]
    failures = box_score_mismatches(events.drop(index=made), real_box())
    assert [f["game_id"] for f in failures] == [REAL_GAME]
    assert any("pts: box" in p for p in failures[0]["problems"])


def test_no_events_fails_naming_the_game():
    body = {"meta": {}, "game": {"gameId": REAL_GAME, "actions": []}}
    with pytest.raises(NoPlayByPlay, match=REAL_GAME):
        parse_play_by_play(body, REAL_GAME, REAL_DAY)


def test_client_fetches_the_real_recording_and_the_archive_finds_it(replay, warehouse):
    nba = make_client(replay, warehouse)
    params = request_params(REAL_GAME)
    assert nba.archive.find("playbyplayv3", params) is None
    fetched = nba.fetch(
        PlayByPlayV3,
        required={"game": ["actions"]},
        game_id=REAL_GAME,
        start_period=0,
        end_period=0,
    )
    assert len(fetched.body["game"]["actions"]) == 560 and fetched.params == params
    archived = nba.archive.find("playbyplayv3", params)
    assert archived.sha256 == fetched.sha256
    assert json.loads(archived.body_text) == fetched.body


@pytest.mark.slow
def test_a_whole_synthetic_season_adds_up_to_its_box_scores():
    """Every game of a season (regular, play-in, playoffs): shots, free throws, rebounds,
    turnovers and points from the events equal the league's own team game log."""
    league = SyntheticLeague(seed=7, first_season="2024-25", last_season="2024-25")
    box = pd.concat(
        parse_boxscores(
            TEAM_BOXSCORES,
            league.respond("leaguegamelog", {"Season": "2024-25", "SeasonType": season_type}),
        )
        for season_type in BOXSCORE_SEASON_TYPES
    )
    sizes, failures = [], []
    for day, todays in box.groupby("game_date"):
        bodies = [
            (league.respond("playbyplayv3", {"GameID": g}), g, day)
            for g in sorted(todays["game_id"].unique())
        ]
        sizes += [len(b["game"]["actions"]) for b, _, _ in bodies]
        failures += box_score_mismatches(parse_play_by_play_games(bodies), todays, COUNTED)
    assert len(sizes) == box["game_id"].nunique() > 1300
    assert failures == []
    assert 450 <= sum(sizes) / len(sizes) <= 550


def materialize_pbp(server, warehouse, start, end, **config):
    run_config = {"ops": {"play_by_play": {"config": config}}} if config else None
    return dg.materialize(
        [play_by_play, team_boxscores.to_source_asset()],
        resources=resources(server, warehouse),
        tags=tags(start, end),
        run_config=run_config,
        raise_on_error=False,
    )


def synthetic_games(warehouse, start: str, end: str) -> list[str]:
    days = pd.date_range(start, end).date
    frames = [pd.read_parquet(warehouse / "team_boxscores" / f"{d}.parquet") for d in days]
    return sorted(pd.concat(frames)["game_id"].unique())


def pbp_requests(server) -> list[str]:
    return [r["params"]["GameID"] for r in server.requests_for("playbyplayv3")]


def test_synthetic_range_resumes_from_the_archive(synthetic, warehouse):
    assert dg.materialize(
        [team_boxscores], resources=resources(synthetic, warehouse), tags=tags(START, END)
    ).success
    first_days = synthetic_games(warehouse, START, "2024-10-24")
    synthetic.reset()
    result = materialize_pbp(synthetic, warehouse, START, "2024-10-24")
    assert result.success
    assert sorted(pbp_requests(synthetic)) == first_days  # one request per game
    check = result.get_asset_check_evaluations()[0]
    assert check.check_name == POINTS_CHECK and check.passed
    # the whole range: the games already archived cost nothing
    synthetic.reset()
    assert materialize_pbp(synthetic, warehouse, START, END).success
    every = synthetic_games(warehouse, START, END)
    assert sorted(pbp_requests(synthetic)) == sorted(set(every) - set(first_days))
    events = pd.concat(
        pd.read_parquet(warehouse / "play_by_play" / f"{d}.parquet")
        for d in pd.date_range(START, END).date
    )
    assert sorted(events["game_id"].unique()) == every
    assert events.groupby("game_id").size().between(400, 620).all()
    # refresh asks again, for exactly the games of the range
    synthetic.reset()
    assert materialize_pbp(synthetic, warehouse, START, START, refresh=True).success
    assert sorted(pbp_requests(synthetic)) == synthetic_games(warehouse, START, START)


def test_check_fails_on_a_corrupted_archive_and_names_the_game(synthetic, warehouse):
    day = "2024-10-25"
    assert dg.materialize(
        [team_boxscores], resources=resources(synthetic, warehouse), partition_key=day
    ).success
    assert materialize_pbp(synthetic, warehouse, day, day).success
    victim = synthetic_games(warehouse, day, day)[0]
    [path] = [
        candidate
        for candidate in (warehouse / "raw" / "playbyplayv3").glob("*/*.json")
        if json.loads(candidate.read_text())["request"]["params"]["GameID"] == victim
    ]
    record = json.loads(path.read_text())
    body = json.loads(record["response"]["body_text"])
    actions = body["game"]["actions"]
    # a made shot removed: the scores after it still add up, the events' points do not
    made = next(i for i, a in enumerate(actions) if a["actionType"] == "Made Shot")
    del actions[made]
    record["response"]["body_text"] = json.dumps(body)
    path.write_text(json.dumps(record))
    synthetic.reset()
    result = materialize_pbp(synthetic, warehouse, day, day)
    assert pbp_requests(synthetic) == []  # everything came from the archive
    check = result.get_asset_check_evaluations()[0]
    assert not check.passed
    assert check.metadata["failing_games"].value == [victim]


def test_a_game_without_play_by_play_fails_naming_it(replay, synthetic, warehouse):
    day = "2024-10-25"
    assert dg.materialize(
        [team_boxscores], resources=resources(synthetic, warehouse), partition_key=day
    ).success
    games = synthetic_games(warehouse, day, day)
    # the recordings hold play-by-play for one real game only: these synthetic games get a 404
    result = materialize_pbp(replay, warehouse, day, day)
    assert not result.success
    failure = result.failure_data_for_node("play_by_play").error
    assert games[0] in failure.message
    assert not (warehouse / "play_by_play" / f"{day}.parquet").exists()
    # a game known to lack data is listed as missing, never silently dropped
    replay.reset()
    result = materialize_pbp(replay, warehouse, day, day, known_missing=games)
    assert result.success and pbp_requests(replay) == []
    [materialization] = result.asset_materializations_for_node("play_by_play")
    assert materialization.metadata["missing_games"].value == games


@pytest.mark.slow
def test_a_killed_backfill_reruns_exactly_the_games_not_archived(tmp_path, synthetic):
    """SIGKILL a real `dagster asset materialize` mid-range; the rerun pays only for the rest."""
    from nba_assets_tests.test_end_to_end import (
        MINIMAL_INSTANCE_YAML,
        instance_env,
        materialize_args,
        run,
        start_run,
    )

    env = instance_env(tmp_path, synthetic.url, MINIMAL_INSTANCE_YAML)
    warehouse = tmp_path / "warehouse"
    assert dg.materialize(
        [team_boxscores], resources=resources(synthetic, warehouse), tags=tags(START, END)
    ).success
    games = synthetic_games(warehouse, START, END)
    args = materialize_args("play_by_play", "--partition-range", f"{START}...{END}")
    synthetic.reset()
    synthetic.faults.update({"latency": 0.2})
    proc = start_run(args, env)
    try:
        deadline = time.monotonic() + 300
        while len(pbp_requests(synthetic)) < 10 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    synthetic.faults.update({"latency": 0})
    archived = {
        json.loads(p.read_text())["request"]["params"]["GameID"]
        for p in (warehouse / "raw" / "playbyplayv3").glob("*/*.json")
    }
    assert 0 < len(archived) < len(games)
    synthetic.reset()
    run(args, REPO, **env)
    assert sorted(pbp_requests(synthetic)) == sorted(set(games) - archived)
    assert len(list((warehouse / "play_by_play").glob("*.parquet"))) == 7
