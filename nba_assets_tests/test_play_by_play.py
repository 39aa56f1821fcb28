"""Play-by-play: the real V3 recording, the synthetic league at season scale, resume and checks."""

import datetime as dt
import json
import os
import signal
import time

import dagster as dg
import pandas as pd
import pyarrow as pa
import pytest
from nba_api.stats.endpoints import PlayByPlayV3

from nba_assets.assets import play_by_play as pbp_asset
from nba_assets.assets.boxscores import team_boxscores
from nba_assets.assets.play_by_play import POINTS_CHECK, play_by_play, request_params
from nba_assets.io import delta, staging
from nba_assets.io.delta import Selection, to_stored
from nba_assets.io.staging import StagedRange
from nba_assets.partitions import BOXSCORE_SEASON_TYPES, season_of
from nba_assets.quality.pbp_checks import box_score_mismatches
from nba_assets.schemas import PLAY_BY_PLAY, TEAM_BOXSCORES
from nba_assets.source.archive import sha256_text
from nba_assets.source.parsing import parse_boxscores
from nba_assets.source.parsing_pbp import (
    COUNTED,
    NoPlayByPlay,
    parse_play_by_play,
    parse_play_by_play_games,
)
from nba_assets.source.synthetic import SyntheticLeague
from nba_assets_tests.conftest import (
    REPO,
    fixture_body,
    make_client,
    published,
    resources,
    table_version,
)

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
    return sorted(published(warehouse, "team_boxscores", first=start, last=end)["game_id"].unique())


def events(warehouse, start: str, end: str) -> pd.DataFrame:
    return published(warehouse, "play_by_play", first=start, last=end)


def archived_shas(warehouse) -> dict[str, str]:
    """GameID -> sha256 of every play-by-play response in the raw archive."""
    shas = {}
    for path in (warehouse / "raw" / "playbyplayv3").glob("*/*.json"):
        record = json.loads(path.read_text())
        shas[record["request"]["params"]["GameID"]] = record["response"]["sha256"]
    return shas


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
    rows = events(warehouse, START, END)
    assert sorted(rows["game_id"].unique()) == every
    assert rows.groupby("game_id").size().between(400, 620).all()
    # refresh asks again, for exactly the games of the range
    synthetic.reset()
    assert materialize_pbp(synthetic, warehouse, START, START, refresh=True).success
    assert sorted(pbp_requests(synthetic)) == synthetic_games(warehouse, START, START)


def test_a_bad_response_fails_the_check_commits_nothing_and_is_never_reused(synthetic, warehouse):
    """The API answers one game wrongly on a later run: that run fails naming the game, keeps
    the published rows, and the next run answers the game from the good (published) response."""
    day = "2024-10-25"
    assert dg.materialize(
        [team_boxscores], resources=resources(synthetic, warehouse), partition_key=day
    ).success
    assert materialize_pbp(synthetic, warehouse, day, day).success
    victim = synthetic_games(warehouse, day, day)[0]
    good = archived_shas(warehouse)[victim]
    body = synthetic_body(synthetic, victim)
    actions = body["game"]["actions"]
    # a made shot removed: the scores after it still add up, the events' points do not
    del actions[next(i for i, a in enumerate(actions) if a["actionType"] == "Made Shot")]
    text = json.dumps(body)
    archive = make_client(synthetic, warehouse).archive
    archive.store(
        "playbyplayv3",
        request_params(victim),
        status=200,
        content_type="application/json",
        body_text=text,
        sha256=sha256_text(text),
        url="http://stats.test/bad",
    )  # archived by a run that died before its audit: not judged yet
    before, version = events(warehouse, day, day), table_version(warehouse, "play_by_play")
    synthetic.reset()
    result = materialize_pbp(synthetic, warehouse, day, day)
    assert pbp_requests(synthetic) == []  # everything came from the archive
    check = result.get_asset_check_evaluations()[0]
    assert not check.passed
    assert check.metadata["failing_games"].value == [victim]
    # the step failed and nothing was committed: the published rows are the good ones
    assert not result.success
    assert table_version(warehouse, "play_by_play") == version
    pd.testing.assert_frame_equal(events(warehouse, day, day), before)
    [report] = (warehouse / "_quarantine" / "play_by_play").glob("*/*/report.json")
    assert json.loads(report.read_text())["failed_checks"][0]["failing_games"] == [victim]
    # rejected: the next run answers the game from the published response, and commits nothing
    again = materialize_pbp(synthetic, warehouse, day, day)
    assert again.success and pbp_requests(synthetic) == []
    assert materialization(again)["commit"] == "unchanged"
    assert set(events(warehouse, day, day).query("game_id == @victim")["source_sha256"]) == {good}


def synthetic_body(server, game_id: str) -> dict:
    """The synthetic league's answer for one game, as the server gives it."""
    return json.loads(server.backend.respond("playbyplayv3", {"GameID": game_id}).text)


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
    assert not (warehouse / "play_by_play").exists()  # nothing was committed
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
    # the killed run committed nothing; the rerun committed the whole range once
    assert table_version(warehouse, "play_by_play") == 0
    assert sorted(events(warehouse, START, END)["game_id"].unique()) == games


def materialization(result) -> dict:
    """The run's metadata, the same on the materialization of every partition of the range."""
    events = result.asset_materializations_for_node("play_by_play")
    metas = [{k: getattr(v, "value", v) for k, v in e.metadata.items()} for e in events]
    shared = {
        k: v for k, v in metas[0].items() if k not in ("dagster/row_count", "games", "sources")
    }
    assert all(shared.items() <= meta.items() for meta in metas)
    return shared


def table_files(warehouse) -> dict[str, int]:
    return {
        str(p): p.stat().st_size for p in (warehouse / "play_by_play").rglob("*") if p.is_file()
    }


def test_a_range_is_one_commit_and_an_equal_rerun_writes_nothing(synthetic, warehouse):
    assert dg.materialize(
        [team_boxscores], resources=resources(synthetic, warehouse), tags=tags(START, END)
    ).success
    result = materialize_pbp(synthetic, warehouse, START, END)
    assert result.success and result.get_asset_check_evaluations()[0].passed
    first = materialization(result)
    assert (first["commit"], first["delta_version"]) == ("committed", 0)
    assert first["table_uri"] == str(warehouse.resolve() / "play_by_play")
    # every row carries the sha256 of its game's response; the commit names all of them
    shas, rows = archived_shas(warehouse), events(warehouse, START, END)
    assert (rows["source_sha256"] == rows["game_id"].map(shas)).all()
    [entry] = delta.history(str(warehouse), "play_by_play")
    meta = entry["meta"]
    assert (meta["run_id"], meta["step"], meta["range"]) == (
        result.run_id,
        "play_by_play",
        f"{START}...{END}",
    )
    assert json.loads(meta["responses"]) == sorted(shas.values())
    # the same range again, from the archive: no request, no commit, not a byte written
    files = table_files(warehouse)
    synthetic.reset()
    again = materialize_pbp(synthetic, warehouse, START, END)
    assert again.success and pbp_requests(synthetic) == []
    second = materialization(again)
    assert (second["commit"], second["delta_version"]) == ("unchanged", 0)
    assert second["table_uri"] == first["table_uri"]
    assert table_files(warehouse) == files


def test_rows_are_compared_not_response_hashes(synthetic, warehouse, monkeypatch):
    """The same responses typed differently (a parser change) make a new version."""
    assert dg.materialize(
        [team_boxscores], resources=resources(synthetic, warehouse), tags=tags(START, END)
    ).success
    assert materialize_pbp(synthetic, warehouse, START, END).success
    before = events(warehouse, START, END)
    victim = synthetic_games(warehouse, END, END)[0]

    def retyped(games):
        frame = parse_play_by_play_games(games)
        first = frame.index[frame["game_id"] == victim][:1]
        frame.loc[first, "description"] = "Start of the game (re-typed)"
        return frame

    monkeypatch.setattr(pbp_asset, "parse_play_by_play_games", retyped)
    synthetic.reset()
    result = materialize_pbp(synthetic, warehouse, START, END)
    assert result.success and pbp_requests(synthetic) == []
    assert materialization(result)["delta_version"] == 1
    after = events(warehouse, START, END)
    changed = before.compare(after)
    assert len(changed) == 1 and after.loc[changed.index[0], "game_id"] == victim
    assert (after["source_sha256"] == before["source_sha256"]).all()


# -- the staged range: seasons compared and rewritten on their own, one streamed commit ---------

TWO_SEASONS = ("2023-24", "2024-25")


def stored_day(league: SyntheticLeague, day: dt.date) -> pa.Table:
    games = sorted(g.game_id for g in league.season(int(season_of(day)[:4])).games if g.day == day)
    frame = parse_play_by_play_games(
        [(league.respond("playbyplayv3", {"GameID": g}), g, day) for g in games]
    )
    frame["source_sha256"] = "0" * 64
    return to_stored(PLAY_BY_PLAY, frame)


@pytest.fixture(scope="module")
def two_days() -> dict[dt.date, pa.Table]:
    """The last game day of 2023-24 and the first of 2024-25, stored as the table keeps them."""
    league = SyntheticLeague(seed=7, first_season=TWO_SEASONS[0], last_season=TWO_SEASONS[1])
    last = max(g.day for g in league.season(2023).games)
    first = min(g.day for g in league.season(2024).games)
    return {day: stored_day(league, day) for day in (last, first)}


def stage(tmp_path, warehouse, days: dict) -> StagedRange:
    spill = tmp_path / f"spill-{len(list(tmp_path.glob('spill-*')))}"
    spill.mkdir()
    staged = StagedRange(str(warehouse), PLAY_BY_PLAY, Selection.days(min(days), max(days)), spill)
    for day, rows in sorted(days.items()):
        staged.add(day, day, rows)
    staged.finish()
    return staged


def season_files(warehouse, season: str) -> set[str]:
    return {p.name for p in (warehouse / "play_by_play" / f"season={season}").glob("*.parquet")}


def test_only_the_seasons_that_changed_are_rewritten(tmp_path, warehouse, two_days):
    first = stage(tmp_path, warehouse, two_days).commit({"run_id": "a"})
    assert (first.version, first.unchanged, first.rows) == (
        0,
        False,
        sum(t.num_rows for t in two_days.values()),
    )
    kept = season_files(warehouse, TWO_SEASONS[0])
    # the second season's day changes one value; the first season's rows stay as they are
    later = max(two_days)
    description = two_days[later].column("description").to_pylist()
    description[0] = "changed"
    changed = dict(two_days)
    changed[later] = two_days[later].set_column(
        two_days[later].schema.get_field_index("description"), "description", pa.array(description)
    )
    staged = stage(tmp_path, warehouse, changed)
    assert staged.changed == [TWO_SEASONS[1]]
    second = staged.commit({"run_id": "b"})
    assert (second.version, second.unchanged) == (1, False)
    assert season_files(warehouse, TWO_SEASONS[0]) == kept
    rows = delta.read_rows(str(warehouse), PLAY_BY_PLAY, Selection.days(min(two_days), later))
    assert rows.column("description").to_pylist() == [
        *two_days[min(two_days)].column("description").to_pylist(),
        *description,
    ]
    # and the same rows a third time: no commit
    third = stage(tmp_path, warehouse, changed)
    assert third.changed == []
    assert third.commit({"run_id": "c"}).unchanged
    assert delta.open_table(str(warehouse), "play_by_play").version() == 1


def test_an_error_while_writing_commits_nothing_and_leaves_no_file(
    tmp_path, warehouse, two_days, monkeypatch
):
    stage(tmp_path, warehouse, two_days).commit({"run_id": "a"})
    before = delta.read_rows(str(warehouse), PLAY_BY_PLAY)
    emptied = {day: rows.slice(0, 10) for day, rows in two_days.items()}
    staged = stage(tmp_path, warehouse, emptied)
    assert staged.changed == list(TWO_SEASONS)

    rebatch = staging.rebatch

    def failing(schema, batches):
        yield from rebatch(schema, batches)
        raise OSError("spill file lost")

    files = table_files(warehouse)
    monkeypatch.setattr(staging, "rebatch", failing)
    with pytest.raises(OSError, match="spill file lost"):
        staged.commit({"run_id": "b"})
    assert delta.open_table(str(warehouse), "play_by_play").version() == 0
    assert delta.read_rows(str(warehouse), PLAY_BY_PLAY).equals(before)
    assert table_files(warehouse) == files  # the half-written season file was removed


def test_a_range_inside_a_season_keeps_the_rest_of_the_season(tmp_path, warehouse):
    league = SyntheticLeague(seed=7, first_season="2024-25", last_season="2024-25")
    first, second = sorted({g.day for g in league.season(2024).games})[:2]
    days = {first: stored_day(league, first), second: stored_day(league, second)}
    stage(tmp_path, warehouse, days).commit({"run_id": "a"})
    description = days[second].column("description").to_pylist()
    description[-1] = "changed"
    index = days[second].schema.get_field_index("description")
    later = days[second].set_column(index, "description", pa.array(description))
    commit = stage(tmp_path, warehouse, {second: later}).commit({"run_id": "b"})
    assert (commit.version, commit.rows, commit.removed_rows) == (1, later.num_rows, later.num_rows)
    rows = delta.read_rows(str(warehouse), PLAY_BY_PLAY)
    assert rows.equals(pa.concat_tables([days[first], later]).cast(rows.schema))
    # one file for the season, with the statistics readers skip files by
    actions = pa.table(delta.open_table(str(warehouse), "play_by_play").get_add_actions(True))
    [action] = actions.to_pylist()
    assert action["num_records"] == rows.num_rows
    assert (action["min.game_date"], action["max.game_date"]) == (first, second)


def test_a_published_table_without_a_new_column_gets_it(tmp_path, warehouse, two_days):
    """Schema evolution: the rows are written through delta-rs with `schema_mode="merge"`."""
    from deltalake import write_deltalake

    older = pa.concat_tables(two_days.values()).drop_columns(["video_available"])
    write_deltalake(str(warehouse / "play_by_play"), older, partition_by=["season"])
    staged = stage(tmp_path, warehouse, two_days)
    assert staged.changed == list(TWO_SEASONS)
    assert staged.commit({"run_id": "b"}).version == 1
    expected = pa.concat_tables(two_days.values())
    rows = delta.read_rows(str(warehouse), PLAY_BY_PLAY).select(expected.schema.names)
    assert rows.equals(expected.cast(rows.schema))
