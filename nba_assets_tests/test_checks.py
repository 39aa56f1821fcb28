"""Each box-score check as a plain function, on real recorded rows with one thing broken."""

import datetime as dt

import dagster as dg
import pandas as pd
import pytest

from nba_assets.quality.checks import (
    CHECKS_BY_TABLE,
    AuditInput,
    BoxScoreCheck,
    audit_result,
    describe,
    run_checks,
    schema_problems,
)
from nba_assets.schemas import PLAYER_BOXSCORES, TEAM_BOXSCORES
from nba_assets.source.parsing import parse_boxscores
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


def as_player_rows(team_rows: pd.DataFrame) -> pd.DataFrame:
    """Each team line as its one player's line: players that add up to the team exactly."""
    return team_rows.assign(player_id=team_rows["team_id"] + 1, player_name="Only Player")


def neighbours(real_day: pd.DataFrame, table: str = "team_boxscores") -> dict:
    counterpart = as_player_rows(real_day) if table == "team_boxscores" else real_day
    schedule = real_day[real_day["matchup"].str.contains("@")].assign(
        game_status=3, game_status_text="Final", season_type="Regular Season", game_label=""
    )
    return {
        "counterpart": counterpart,
        "teams": real_day[["team_id"]],
        "players": pd.DataFrame({"player_id": as_player_rows(real_day)["player_id"]}),
        "schedule": schedule[["game_id", "game_date", "game_status", "game_status_text"]]
        .assign(season_type="Regular Season", matchup="", game_label="")
        .reset_index(drop=True),
        "today": DAY + dt.timedelta(days=1),
    }


def test_real_day_passes_every_team_check(real_day):
    for check in CHECKS_BY_TABLE["team_boxscores"]:
        result = check.run(AuditInput(real_day, TEAM_BOXSCORES, DAY, DAY, **neighbours(real_day)))
        assert result.passed, (check.name, result.message, result.skipped)


def test_a_skipped_rule_is_never_a_pass(real_day):
    """No neighbour published: the rules that need one say so and what to run; the audit fails
    (WARN: they can still run later) and its summary counts passed, failed and skipped apart."""
    results = run_checks(
        CHECKS_BY_TABLE["team_boxscores"], AuditInput(real_day, TEAM_BOXSCORES, DAY, DAY)
    )
    skipped = {rule.name: o.skipped for rule, o, _ in results if o.state == "skipped"}
    assert set(skipped) == {
        "players_sum_to_team",
        "games_in_both_tables",
        "team_ids_known",
        "scheduled_games_present",
    }
    assert all("materialize" in why for why in skipped.values()), skipped
    assert "player_boxscores has no published rows" in skipped["players_sum_to_team"]
    assert "reference_job" in skipped["team_ids_known"]
    assert all(not o.passed for _, o, _ in results if o.skipped)
    audit = audit_result("team_boxscores", results, len(real_day))
    assert not audit.passed and audit.severity == dg.AssetCheckSeverity.WARN
    total = len(CHECKS_BY_TABLE["team_boxscores"])
    assert audit.description.startswith(f"{total - 4} passed, 0 failed, 4 skipped")
    assert audit.metadata["rules_skipped"].value == 4
    assert audit.metadata["team_ids_known"].value.startswith("skipped (WARN): `teams`")


def test_a_rule_that_raises_is_an_error_skip_that_blocks(real_day):
    rule = BoxScoreCheck("explodes", "a rule with a bug", lambda data: 1 / 0)
    outcome, _ = rule.evaluate(AuditInput(real_day, TEAM_BOXSCORES, DAY, DAY))
    assert outcome.state == "skipped" and "ZeroDivisionError" in outcome.skipped
    assert rule.blocks(outcome)
    audit = audit_result("team_boxscores", [(rule, outcome, 0.0)], len(real_day))
    assert audit.severity == dg.AssetCheckSeverity.ERROR and not audit.passed


def test_winner_with_fewer_points_fails(real_day):
    """W 86 vs L 112: every sum still adds up, only WL contradicts the points."""
    game = real_day.at[0, "game_id"]
    broken = real_day.copy()
    rows = broken.index[broken["game_id"] == game]
    broken.loc[rows, "wl"] = broken.loc[rows[::-1], "wl"].to_numpy()  # swap W and L
    check, result = outcome("winner_scored_more", broken)
    assert not result.passed and check.blocking and game in result.message
    _, player_side = outcome("winner_scored_more", as_player_rows(broken), "player_boxscores")
    assert not player_side.passed
    assert outcome("winner_scored_more", real_day)[1].passed


def test_a_game_without_a_result_is_not_final(real_day):
    unfinished = as_player_rows(real_day).astype({"wl": object})
    unfinished.loc[unfinished["game_id"] == real_day.at[2, "game_id"], "wl"] = None
    check, result = outcome("games_final", unfinished, "player_boxscores")
    assert not result.passed and check.blocking and "not final" in result.message
    assert set(result.bad["game_id"]) == {real_day.at[2, "game_id"]}


def test_rows_outside_the_requested_window_are_a_warning_with_count_and_dates(real_day):
    strays = real_day.head(3).assign(game_date=dt.date(2025, 10, 30))
    data = AuditInput(real_day, TEAM_BOXSCORES, DAY, DAY, strays=strays)
    [check] = [c for c in CHECKS_BY_TABLE["team_boxscores"] if c.name == "rows_outside_request"]
    result = check.run(data)
    assert not result.passed and not check.blocking
    assert "3 row(s)" in result.message and "2025-10-30" in result.message
    assert describe(check, result, len(real_day), 0.0)["failing_dates"] == ["2025-10-30"]


@pytest.mark.parametrize("table", ["team_boxscores", "player_boxscores"])
def test_players_sum_to_team_runs_in_both_directions(real_day, table):
    players = as_player_rows(real_day)
    players.at[4, "pts"] += 2  # and FGM, so the line itself still adds up
    players.at[4, "fgm"] += 1
    frame, counterpart = (real_day, players) if table == "team_boxscores" else (players, real_day)
    check, result = outcome("players_sum_to_team", frame, table, counterpart=counterpart)
    assert not result.passed and result.extra["columns_off"] == {"pts": 1, "fgm": 1}
    assert check.blocks(result)
    if table == "team_boxscores":  # in a run that replaces the player rows next: reported
        _, later = outcome(
            "players_sum_to_team", frame, table, counterpart=counterpart, counterpart_in_run=True
        )
        assert not later.passed and not check.blocks(later) and "replaces next" in later.message


def test_days_the_other_table_lacks_are_a_named_skip(real_day):
    other_day = real_day.assign(game_date=DAY - dt.timedelta(days=1))
    check, result = outcome("games_in_both_tables", real_day, counterpart=as_player_rows(other_day))
    assert result.state == "skipped" and "1 of the run's game days (2025-11-03)" in result.skipped
    assert not check.blocks(result)


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
    assert not skipped.passed and skipped.skipped.startswith("`players` is not materialized")
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
