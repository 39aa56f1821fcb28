"""The snapshot's pure parts: leakage-free features, the date split, byte-stable Parquet, and
its reader of pinned Delta versions."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from nba_assets.io import delta
from nba_assets.schemas import PLAYER_BOXSCORES, TEAM_BOXSCORES, conform
from nba_assets.snapshot.extract import extract, parse_seasons, snapshot_days, write_versions
from nba_assets.snapshot.features import (
    FEATURES_SCHEMA,
    LABELS,
    FeatureInputError,
    build_features,
    features_table,
)
from nba_assets.snapshot.parquet import write_table
from nba_assets.snapshot.split import split_by_date
from nba_assets.snapshot.warehouse import MissingPartitionsError, parse_pin, spans
from nba_assets.source.parsing import parse_boxscores
from nba_assets_tests.conftest import fixture_body

TEAMS = {1: "AAA", 2: "BBB", 3: "CCC", 4: "DDD"}


def _team_row(game_id: str, day: str, team: int, opp: int, home: bool, pts: int) -> dict:
    matchup = f"{TEAMS[team]} vs. {TEAMS[opp]}" if home else f"{TEAMS[team]} @ {TEAMS[opp]}"
    return {
        "game_id": game_id,
        "game_date": dt.date.fromisoformat(day),
        "season_type": "Regular Season",
        "team_id": team,
        "matchup": matchup,
        "pts": pts,
        "fga": 90,
        "fta": 20,
        "oreb": 10,
        "tov": 14,
    }


def _game(game_id: str, day: str, home: int, away: int, home_pts: int, away_pts: int) -> list[dict]:
    return [
        _team_row(game_id, day, home, away, True, home_pts),
        _team_row(game_id, day, away, home, False, away_pts),
    ]


def _league() -> pd.DataFrame:
    rows = [
        *_game("0022400001", "2024-10-22", 1, 2, 110, 100),
        *_game("0022400002", "2024-10-22", 3, 4, 95, 105),
        *_game("0022400003", "2024-10-24", 2, 3, 120, 101),
        *_game("0022400004", "2024-10-25", 4, 1, 99, 98),
        *_game("0022400005", "2024-10-26", 1, 3, 100, 90),
        *_game("0022400006", "2024-10-28", 2, 4, 101, 111),
    ]
    return pd.DataFrame(rows)


def test_features_use_only_earlier_games() -> None:
    rows = build_features(_league(), window=2).set_index("game_id")
    first = rows.loc["0022400001"]
    assert first["home_games_before"] == 0 and pd.isna(first["home_win_pct"])
    # game 5 (10-26): team 1 won 10-22 at home, lost 10-25 away; rest 1 day since 10-25
    fifth = rows.loc["0022400005"]
    assert fifth["home_games_before"] == 2
    assert fifth["home_win_pct"] == 0.5
    assert fifth["home_form_margin"] == pytest.approx((10 + -1) / 2)
    assert fifth["home_venue_win_pct"] == 1.0  # 1-0 at home before
    assert fifth["home_rest_days"] == 1
    # team 3: lost at home 10-22, lost away 10-24
    assert fifth["away_win_pct"] == 0.0 and fifth["away_venue_win_pct"] == 0.0
    assert fifth["home_win"] and fifth["point_margin"] == 10
    poss = 90 - 10 + 14 + 0.44 * 20
    assert fifth["home_off_rating"] == pytest.approx(100 * (110 + 98) / (2 * poss))


def test_changing_a_future_result_changes_no_earlier_feature_row() -> None:
    """Leakage: rewrite the result of 10-25; rows up to and including 10-25 keep every feature."""
    league = _league()
    before = build_features(league, window=3)
    changed = league.copy()
    changed.loc[changed["game_id"] == "0022400004", "pts"] = [140, 60]
    after = build_features(changed, window=3)
    features = [c for c in FEATURES_SCHEMA.names if c not in LABELS]
    cutoff = dt.date(2024, 10, 25)
    upto = before["game_date"] <= cutoff
    pd.testing.assert_frame_equal(before.loc[upto, features], after.loc[upto, features])
    # the game itself has new labels, and a later game of those teams sees the new result
    assert not before.loc[upto, "point_margin"].equals(after.loc[upto, "point_margin"])
    later = before["game_date"] > cutoff
    assert not before.loc[later, features].equals(after.loc[later, features])


def test_half_a_game_is_a_clear_error() -> None:
    league = _league().iloc[:-1]
    with pytest.raises(FeatureInputError, match="0022400006"):
        build_features(league, window=2)


def _schedule(league: pd.DataFrame) -> pd.DataFrame:
    """The schedule of the toy league: the home team of each game is its "vs." row."""
    home = league[league["matchup"].str.contains(" vs. ")].set_index("game_id")["team_id"]
    away = league[league["matchup"].str.contains(" @ ")].set_index("game_id")["team_id"]
    return pd.DataFrame(
        {"game_id": home.index, "home_team_id": home, "away_team_id": away[home.index]}
    )


def test_home_and_away_come_from_the_schedule_not_the_matchup() -> None:
    """Both rows of a game say "@" (the real log's 0022500147 quirk): the schedule settles it;
    without the schedule the game is left out and named, never guessed."""
    league = _league()
    quirk = league["game_id"] == "0022400003"
    league.loc[quirk, "matchup"] = ["BBB @ CCC", "CCC @ BBB"]
    schedule = _schedule(_league())
    table, report = features_table(league, window=2, schedule=schedule)
    rows = table.to_pandas().set_index("game_id")
    assert rows.loc["0022400003", "home_team_id"] == 2 and rows.loc["0022400003", "home_win"]
    assert report["home_away_from_schedule"] == 6 and report["excluded_games"] == 0
    # a matchup that names the wrong side loses to the schedule too
    flipped = _league()
    flipped.loc[flipped["game_id"] == "0022400001", "matchup"] = ["AAA @ BBB", "BBB vs. AAA"]
    assert build_features(flipped, 2, schedule).equals(build_features(_league(), 2, schedule))
    table, report = features_table(league, window=2)
    assert "0022400003" not in set(table.column("game_id").to_pylist())
    assert report["home_away_from_matchup"] == 5 and report["excluded_games"] == 1
    [left_out] = report["excluded"]
    assert left_out["game_id"] == "0022400003"
    assert left_out["matchups"] == ["BBB @ CCC", "CCC @ BBB"]
    assert "not on the pinned schedule" in left_out["why"]


def test_a_game_whose_teams_contradict_the_schedule_is_left_out() -> None:
    schedule = _schedule(_league())
    schedule.loc[schedule["game_id"] == "0022400002", "home_team_id"] = 1  # not a team of it
    _, report = features_table(_league(), window=2, schedule=schedule)
    assert [g["game_id"] for g in report["excluded"]] == ["0022400002"]
    assert report["excluded"][0]["why"] == "neither team row is the schedule's home team"


def test_features_build_the_real_2025_26_range() -> None:
    """The recorded 2025-26 log, home and away from its matchups (the recordings hold no
    schedule): every game builds but those both teams list as away (0022500147, and the
    neutral-site games: the Cup semifinals in Las Vegas, the two in Berlin and London),
    which are left out and named."""
    box = parse_boxscores(TEAM_BOXSCORES, fixture_body("leaguegamelog-d25cde14d9.json"))
    table, report = features_table(box, window=5)
    games = box["game_id"].nunique()
    both_away = ["0022500147", "0022500578", "0022500602", "0022501229", "0022501230"]
    assert [g["game_id"] for g in report["excluded"]] == both_away
    assert table.num_rows == report["games"] == games - len(both_away)
    assert report["excluded"][0]["matchups"] == ["DAL @ DET", "DET @ DAL"]
    first_of_november = box.loc[box["game_date"] == dt.date(2025, 11, 1), "game_id"].nunique()
    built = table.filter(pa.compute.equal(table.column("game_date"), dt.date(2025, 11, 1)))
    assert built.num_rows == first_of_november - 1


def test_split_by_date_covers_every_game_once() -> None:
    table, _ = features_table(_league(), window=2)
    splits = split_by_date(table, "2024-10-24", "2024-10-25")
    assert [s.num_rows for s in splits.values()] == [3, 1, 2]
    with pytest.raises(ValueError, match=r"before split\.train_end"):
        split_by_date(table, "2024-10-25", "2024-10-24")


def test_written_parquet_depends_only_on_rows(tmp_path: Path) -> None:
    table, _ = features_table(_league(), window=2)
    write_table(table, FEATURES_SCHEMA, tmp_path / "a.parquet")
    # same rows arriving in another chunking and column order: same bytes
    shuffled = pa.concat_tables([table.slice(0, 2), table.slice(2)]).select(
        list(reversed(FEATURES_SCHEMA.names))
    )
    write_table(shuffled, FEATURES_SCHEMA, tmp_path / "b.parquet")
    digest = [
        hashlib.md5((tmp_path / n).read_bytes()).hexdigest() for n in ("a.parquet", "b.parquet")
    ]
    assert digest[0] == digest[1]
    assert b"pandas" not in (tmp_path / "a.parquet").read_bytes()


def test_seasons_and_days_follow_the_calendar() -> None:
    assert parse_seasons("2022-23:2024-25") == ["2022-23", "2023-24", "2024-25"]
    with pytest.raises(ValueError, match=r"extract\.seasons"):
        parse_seasons("2024")
    days = snapshot_days(["2024-25"], dt.date(2024, 9, 1), dt.date(2024, 10, 3))
    assert days[0] == dt.date(2024, 10, 1) and days[-1] == dt.date(2024, 10, 3)


def _publish(warehouse: Path, frame: pd.DataFrame, first: str, last: str) -> int:
    """Commit `frame` as team_boxscores' rows for [first, last], as a run does."""
    selection = delta.Selection.days(dt.date.fromisoformat(first), dt.date.fromisoformat(last))
    rows = delta.to_stored(TEAM_BOXSCORES, conform(TEAM_BOXSCORES, _full(frame)), "0" * 64)
    return delta.replace(str(warehouse), TEAM_BOXSCORES, rows, selection, {"run_id": "t"}).version


def _full(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    for column in TEAM_BOXSCORES.names:
        if column not in frame:
            frame[column] = None
    return frame


def test_extract_names_days_no_commit_materialized(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse"
    _publish(warehouse, TEAM_BOXSCORES.empty(), "2024-10-22", "2024-10-22")  # a day, no games
    pins = {"team_boxscores": 0, "player_boxscores": 0}
    with pytest.raises(
        MissingPartitionsError, match=r"1 partition\(s\) of team_boxscores.*2024-10-23"
    ):
        extract(str(warehouse), "2024-25", "2024-10-22", "2024-10-23", pins, tmp_path / "out")
    assert not (tmp_path / "out" / "team_boxscores.parquet").exists()


def test_pins_resolve_to_versions_and_old_versions_read_old_rows(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse"
    league = _league()
    first = _publish(warehouse, league, "2024-10-22", "2024-10-28")
    changed = league[league["game_date"] == dt.date(2024, 10, 28)].assign(pts=[150, 50])
    second = _publish(warehouse, changed, "2024-10-28", "2024-10-28")
    assert (first, second) == (0, 1)
    player = _publish_players(warehouse)
    versions = write_versions(str(warehouse), {"team_boxscores": "latest"}, tmp_path / "v.json")
    # no schedule was ever materialized: pinned null, and a number asked of it is an error
    assert versions == {"player_boxscores": player, "team_boxscores": 1, "schedule": None}
    with pytest.raises(LookupError, match="schedule"):
        write_versions(str(warehouse), {"schedule": "0"}, tmp_path / "v.json")
    with pytest.raises(LookupError, match="no version 5"):
        write_versions(str(warehouse), {"team_boxscores": "5"}, tmp_path / "v.json")
    with pytest.raises(ValueError, match="'latest' or a version number"):
        parse_pin("team_boxscores", "newest")

    out = {}
    for version in (0, 1):
        pins = {"team_boxscores": version, "player_boxscores": player}
        manifest = extract(
            str(warehouse), "2024-25", "2024-10-22", "2024-10-28", pins, tmp_path / str(version)
        )
        out[version] = pd.read_parquet(tmp_path / str(version) / "team_boxscores.parquet")
        assert manifest["tables"]["team_boxscores"]["delta_version"] == version
        # no schedule pinned: an empty file (the features fall back to matchups), no entry
        assert pd.read_parquet(tmp_path / str(version) / "schedule.parquet").empty
        assert "schedule" not in manifest["tables"]
        assert manifest["tables"]["team_boxscores"]["partitions"]["2024-10-23"] == 0
    assert out[0]["pts"].tolist()[-2:] == [101, 111] and out[1]["pts"].tolist()[-2:] == [150, 50]
    assert spans(str(warehouse), "team_boxscores", 1) == [
        (dt.date(2024, 10, 22), dt.date(2024, 10, 28))
    ]


def _publish_players(warehouse: Path) -> int:
    frame = PLAYER_BOXSCORES.empty()
    rows = delta.to_stored(PLAYER_BOXSCORES, frame, "0" * 64)
    selection = delta.Selection.days(dt.date(2024, 10, 1), dt.date(2024, 10, 31))
    return delta.replace(str(warehouse), PLAYER_BOXSCORES, rows, selection, {"run_id": "t"}).version
