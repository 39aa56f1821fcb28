"""`nba-assets history` and `rollback`: versions listed, earlier rows restored exactly, recorded."""

import datetime as dt
import json
import os
import subprocess
import sys

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from nba_assets import cli
from nba_assets.assets.boxscores import team_boxscores
from nba_assets.io import delta
from nba_assets.schemas import TEAM_BOXSCORES
from nba_assets.warehouse import versions
from nba_assets_tests.conftest import resources

TABLE = "team_boxscores"


def days(start: str, end: str) -> dict[str, str]:
    return {
        "dagster/asset_partition_range_start": start,
        "dagster/asset_partition_range_end": end,
    }


def every_row(warehouse, version=None):
    """All stored columns of one version, in the table's order."""
    table = delta.open_table(str(warehouse), TABLE, version)
    return delta.scan(table, order=delta.layout(TEAM_BOXSCORES).order)


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    cli.ensure_instance_home()
    return tmp_path / "home"


@pytest.fixture
def three_versions(replay, warehouse, home):
    """v0: two days; v1: two more days; v2: a correction of one row's pts (out of band)."""
    with dg.DagsterInstance.get() as instance:
        res = resources(replay, warehouse)
        for start, end in (("2025-11-01", "2025-11-02"), ("2025-11-03", "2025-11-04")):
            result = dg.materialize(
                [team_boxscores], resources=res, instance=instance, tags=days(start, end)
            )
            assert result.success
    corrected = every_row(warehouse).filter(pc.field("game_date") == pc.scalar(_day("2025-11-04")))
    pts = corrected.column("pts").to_pylist()
    corrected = corrected.set_column(
        corrected.schema.get_field_index("pts"),
        "pts",
        pa.array([pts[0] + 2, *pts[1:]], pa.int64()),
    )
    delta.replace(
        str(warehouse),
        TEAM_BOXSCORES,
        corrected,
        delta.Selection.days(_day("2025-11-04"), _day("2025-11-04")),
        {"run_id": "correction"},
    )
    assert delta.open_table(str(warehouse), TABLE).version() == 2
    return warehouse


def _day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def test_history_lists_each_version_with_run_range_and_rows(three_versions, capsys):
    code = cli.main(["history", TABLE, "--warehouse", str(three_versions), "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [r["version"] for r in rows] == [2, 1, 0]
    assert [r["range"] for r in rows] == [
        "2025-11-04...2025-11-04",
        "2025-11-03...2025-11-04",
        "2025-11-01...2025-11-02",
    ]
    assert rows[2]["operation"] == "CREATE TABLE" and rows[0]["run_id"] == "correction"
    assert rows[2]["rows"] == every_row(three_versions, 0).num_rows
    assert all(r["run_id"] for r in rows) and all(r["time"].endswith("+00:00") for r in rows)

    assert cli.main(["history", TABLE, "--warehouse", str(three_versions), "--limit", "2"]) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[1].split() == ["version", "time", "(UTC)", "operation", "run", "range", "rows"]
    assert [line.split()[0] for line in text[2:4]] == ["2", "1"]
    assert "--limit 3" in text[-1]  # how to see the older one


def test_time_travel_reads_exactly_the_earlier_rows(three_versions):
    first, second, third = (every_row(three_versions, v) for v in (0, 1, 2))
    assert first.num_rows < second.num_rows == third.num_rows
    assert not second.equals(third)  # the correction
    assert second.filter(pc.field("game_date") <= pc.scalar(_day("2025-11-02"))).equals(first)


def test_rollback_restores_exactly_the_earlier_rows_as_a_new_commit(three_versions, home, capsys):
    before = every_row(three_versions, 1)
    code = cli.main(["rollback", TABLE, "--to-version", "1", "--warehouse", str(three_versions)])
    assert code == 0, capsys.readouterr()
    assert "restored version 1 as version 3" in capsys.readouterr().out
    assert delta.open_table(str(three_versions), TABLE).version() == 3
    assert every_row(three_versions).equals(before)
    assert every_row(three_versions, 2).num_rows == before.num_rows  # v2 is still in the log
    newest = versions.history_rows(str(three_versions), TABLE, 1)[0]
    assert newest["operation"] == "RESTORE" and newest["meta"]["restored_from"] == "1"
    assert newest["rows"] == before.num_rows
    with dg.DagsterInstance.get() as instance:
        records = instance.fetch_observations(dg.AssetKey(TABLE), limit=5).records
    restore = next(
        r.asset_observation.metadata
        for r in records
        if "restored_from" in r.asset_observation.metadata
    )
    assert restore["delta_version"].value == 3 and restore["restored_from"].value == 1
    assert restore["table_uri"].value == delta.table_uri(str(three_versions), TABLE)


def test_rollback_errors_are_short_and_exit_non_zero(three_versions, capsys):
    wh = str(three_versions)
    assert cli.main(["rollback", TABLE, "--to-version", "9", "--warehouse", wh]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) <= 2 and "no version 9" in err[0] and "Traceback" not in "".join(err)

    delta.vacuum(wh, TABLE, retention_days=0)  # v0's and v1's replaced files are gone
    assert cli.main(["rollback", TABLE, "--to-version", "1", "--warehouse", wh]) == 1
    err = capsys.readouterr().err
    assert "version 1 cannot be restored" in err and "vacuumed" in err
    assert delta.open_table(wh, TABLE).version() == 4  # vacuum's own commits; no restore

    with pytest.raises(versions.RollbackError):
        cli.main(["rollback", TABLE, "--to-version", "1", "--warehouse", wh, "--debug"])


def test_unknown_table_names_it_in_two_lines(warehouse, capsys):
    warehouse.mkdir()
    assert cli.main(["history", "nope", "--warehouse", str(warehouse)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "no table 'nope'" in err[0] and "--debug" in err[1]


def test_history_exits_zero_every_time_in_a_fresh_process(three_versions):
    """The Arrow thread-teardown abort (apache/arrow#34314) must never hit a CLI command."""
    command = [sys.executable, "-m", "nba_assets.cli", "history", TABLE]
    env = {**os.environ, "NBA_ASSETS_WAREHOUSE": str(three_versions)}
    codes = []
    for n in range(20):
        args = command + (["--json"] if n % 2 else [])
        codes.append(subprocess.run(args, env=env, capture_output=True, timeout=120).returncode)
    assert codes == [0] * 20


def test_rollback_withdraws_the_responses_of_the_undone_commits(three_versions, home, capsys):
    """After a rollback, the archive no longer answers settled windows with the undone rows."""
    from nba_assets.source.index import ResponseIndex

    [undone] = json.loads(versions.history_rows(str(three_versions), TABLE)[1]["meta"]["responses"])
    kept = set(every_row(three_versions, 0).column(delta.SOURCE_SHA256).to_pylist())
    assert undone not in kept
    assert ResponseIndex(str(three_versions)).published_in(TABLE, {undone})
    code = cli.main(["rollback", TABLE, "--to-version", "0", "--warehouse", str(three_versions)])
    assert code == 0, capsys.readouterr()
    assert ResponseIndex(str(three_versions)).published_in(TABLE, {undone}) == []
    still = ResponseIndex(str(three_versions)).published_in(TABLE, kept)
    assert {v.sha256 for v in still} == kept
