"""Each box-score check as a plain function, on real recorded rows with one thing broken."""

import datetime as dt

import dagster as dg
import pandas as pd
import pytest

from nba_assets.checks import (
    CHECKS_BY_TABLE,
    AuditInput,
    audit_result,
    describe,
    run_checks,
    schema_problems,
)
from nba_assets.parsing import parse_boxscores
from nba_assets.schemas import PLAYER_BOXSCORES, TEAM_BOXSCORES
from nba_assets_tests.conftest import fixture_body

DAY = dt.date(2025, 11, 3)


@pytest.fixture(scope="module")
def real_day() -> pd.DataFrame:
    frame = parse_boxscores(TEAM_BOXSCORES, fixture_body("leaguegamelog-d25cde14d9.json"))
    return frame[frame["game_date"] == DAY].reset_index(drop=True)


def outcome(name: str, frame: pd.DataFrame, table: str = "team_boxscores", **neighbours):
    [check] = [c for c in CHECKS_BY_TABLE[table] if c.name == name]
    spec = TEAM_BOXSCORES if table == "team_boxscores" else PLAYER_BOXSCORES
    return check, check.run(AuditInput(frame, spec, DAY, DAY, **neighbours))


def test_real_day_passes_every_team_check(real_day):
    for check in CHECKS_BY_TABLE["team_boxscores"]:
        result = check.run(AuditInput(real_day, TEAM_BOXSCORES, DAY, DAY))
        assert result.passed, (check.name, result.message)


@pytest.mark.parametrize(
    ("name", "column", "value", "words"),
    [
        ("points_add_up", "pts", 1, "2·FGM + FG3M + FTM"),
        ("made_not_above_attempted", "ftm", 99, "more shots made than attempted"),
        ("rebounds_add_up", "oreb", 0, "offensive + defensive"),
        ("no_negative_counts", "stl", -1, "negative count"),
        ("game_dates_in_partition", "game_date", dt.date(2025, 11, 4), "outside the run's games"),
        ("matchups_agree", "matchup", "XXX vs. YYY", "same two teams"),
    ],
)
def test_one_broken_line_is_named(real_day, name, column, value, words):
    broken = real_day.copy()
    broken[column] = broken[column].astype(object)
    broken.at[3, column] = value
    check, result = outcome(name, broken)
    assert not result.passed and words in result.message
    assert real_day.at[3, "game_id"] in set(result.bad["game_id"])
    meta = describe(check, result, len(broken), 0.001)
    assert meta["failing_rows"] >= 1 and meta["failing_dates"] and not meta["passed"]
    assert check.blocking
    # the table's one audit check fails as an error, naming the rule and sampling its rows
    results = run_checks(
        CHECKS_BY_TABLE["team_boxscores"], AuditInput(broken, TEAM_BOXSCORES, DAY, DAY)
    )
    audit = audit_result("team_boxscores", results, len(broken))
    assert not audit.passed and audit.severity == dg.AssetCheckSeverity.ERROR
    assert audit.metadata[name].value.startswith("FAILED:") and name in audit.description
    assert audit.metadata[f"sample: {name}"].value.count("|") > 0
    assert {d["rule"] for d in audit.metadata["rules"].value} == {
        c.name for c in CHECKS_BY_TABLE["team_boxscores"]
    }


def test_unknown_team_blocks_but_unknown_player_only_warns(real_day):
    teams = pd.DataFrame({"team_id": real_day["team_id"].iloc[1:]})
    _, result = outcome("team_ids_known", real_day, teams=teams)
    assert not result.passed and str(real_day.at[0, "team_id"]) in result.message
    players = pd.DataFrame(
        {"game_id": ["0022500001"] * 2, "player_id": [1, 2], "game_date": [DAY, DAY]}
    )
    check, result = outcome(
        "player_ids_known", players, "player_boxscores", players=pd.DataFrame({"player_id": [1]})
    )
    assert not result.passed and not check.blocking and "rookies" in result.message
    _, skipped = outcome("player_ids_known", players, "player_boxscores")
    assert skipped.passed and skipped.skipped == "players not materialized"
    # a reported rule alone turns the audit into a warning, which does not block publishing
    audit = audit_result("player_boxscores", [(check, result, 0.0)], len(players))
    assert not audit.passed and audit.severity == dg.AssetCheckSeverity.WARN
    assert audit.metadata["player_ids_known"].value.startswith("warning:")


def test_schema_problems_name_missing_extra_and_mistyped_columns(real_day):
    drifted = real_day.drop(columns=["fg3m"]).assign(new_stat=1)
    drifted["pts"] = drifted["pts"].astype(str) + " pts"
    problems = schema_problems(TEAM_BOXSCORES, drifted)
    assert problems["missing"] == ["fg3m"] and problems["extra"] == ["new_stat"]
    assert problems["wrong_type"][0].startswith("pts")
    assert schema_problems(TEAM_BOXSCORES, real_day) == {}
