"""Shadow runs end to end: re-derive from the archive (0 requests), diff, promote, roll back."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pytest

from nba_assets import cli
from nba_assets.assets import boxscores as box_asset
from nba_assets.assets import play_by_play as pbp_asset
from nba_assets.assets.boxscores import player_boxscores, team_boxscores
from nba_assets.assets.play_by_play import play_by_play
from nba_assets.io import delta
from nba_assets.schemas import TABLES
from nba_assets.shadow import diff, envs, promote, store
from nba_assets.source import index
from nba_assets.warehouse.revisions import read_revisions
from nba_assets_tests.conftest import REPO, resources

START, END = "2024-10-22", "2024-10-25"
SELECT = "team_boxscores,player_boxscores,play_by_play"
TABLE_NAMES = SELECT.split(",")


@pytest.fixture(scope="module")
def built(tmp_path_factory, synthetic_server) -> Path:
    """Both box-score tables and play-by-play of four synthetic days, published once."""
    warehouse = tmp_path_factory.mktemp("published") / "warehouse"
    result = dg.materialize(
        [team_boxscores, player_boxscores, play_by_play],
        resources=resources(synthetic_server, warehouse),
        tags={
            "dagster/asset_partition_range_start": START,
            "dagster/asset_partition_range_end": END,
        },
    )
    assert result.success
    return warehouse


@pytest.fixture
def warehouse(built, tmp_path, synthetic, monkeypatch) -> Path:
    """A copy of the published warehouse (`cp -r`), the instance in tmp, the request log clear."""
    copy = tmp_path / "warehouse"
    shutil.copytree(built, copy)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    cli.ensure_instance_home()
    synthetic.reset()
    return copy


def shadow(*args: str) -> int:
    return cli.main(["shadow", *args])


def run_shadow(warehouse: Path, label: str = "candidate", select: str = SELECT) -> int:
    return shadow(
        "run",
        "--label",
        label,
        "--select",
        select,
        "--partition-range",
        f"{START}...{END}",
        "--warehouse",
        str(warehouse),
    )


def diff_report(warehouse: Path, capsys, label: str = "candidate") -> dict:
    capsys.readouterr()
    assert shadow("diff", label, "--json", "--warehouse", str(warehouse)) == 0
    return json.loads(capsys.readouterr().out)


def every_row(warehouse: Path, table: str, version: int | None = None) -> pa.Table:
    opened = delta.open_table(str(warehouse), table, version)
    return delta.scan(opened, order=delta.layout(TABLES[table]).order)


def published_files(warehouse: Path) -> dict[str, int]:
    """Every file of the warehouse outside `_shadow/`, with its size."""
    return {
        str(p.relative_to(warehouse)): p.stat().st_size
        for p in warehouse.rglob("*")
        if p.is_file() and p.relative_to(warehouse).parts[0] != store.SHADOW_DIR
    }


def test_unchanged_code_makes_no_request_and_no_difference(warehouse, synthetic, capsys):
    before = published_files(warehouse)
    assert run_shadow(warehouse) == 0, capsys.readouterr()
    out = capsys.readouterr().out
    assert "shadow candidate: derived" in out
    assert synthetic.requests_for() == []
    assert published_files(warehouse) == before  # the published warehouse was only read
    manifest = store.read_manifest(str(warehouse), "candidate")
    assert {t: f["base_version"] for t, f in manifest["tables"].items()} == dict.fromkeys(
        TABLE_NAMES, 0
    )
    report = diff_report(warehouse, capsys)
    assert report["differences"] == 0 and report["complete"]
    for table in TABLE_NAMES:
        facts = report["tables"][table]
        assert (facts["added"], facts["removed"], facts["changed"]) == (0, 0, 0)
        assert facts["rows_shadow"] == facts["rows_published"] > 0
    assert shadow("diff", "candidate", "--warehouse", str(warehouse), "--exit-code") == 0
    assert "total: no differences" in capsys.readouterr().out
    # the report is on each asset in the UI, as an observation
    with dg.DagsterInstance.get() as instance:
        seen = instance.fetch_observations(dg.AssetKey("play_by_play"), limit=5).records
    meta = seen[0].asset_observation.metadata
    assert meta["shadow_label"].value == "candidate" and meta["shadow_differences"].value == 0
    assert "0 differences" in meta["shadow_report"].value
    assert shadow("discard", "candidate", "--warehouse", str(warehouse)) == 0
    assert not (warehouse / store.SHADOW_DIR / "candidate").exists()
    assert published_files(warehouse) == before


def parsing_change(monkeypatch) -> tuple[str, int]:
    """team_name spelled differently for one game; Timeout events filtered out of play-by-play.
    Returns the game changed and how many Timeout events the range has."""
    parse_box, parse_pbp = box_asset.parse_boxscores, pbp_asset.parse_play_by_play_games
    changed: dict[str, str] = {}

    def renamed(spec, body, *args):
        frame = parse_box(spec, body, *args)
        if spec.name == "team_boxscores" and len(frame):
            game = changed.setdefault("game", frame["game_id"].min())
            rows = frame["game_id"] == game
            frame.loc[rows, "team_name"] = frame.loc[rows, "team_name"].str.upper()
        return frame

    def without_timeouts(games):
        frame = parse_pbp(games)
        return frame[frame["action_type"] != "Timeout"].reset_index(drop=True)

    monkeypatch.setattr(box_asset, "parse_boxscores", renamed)
    monkeypatch.setattr(pbp_asset, "parse_play_by_play_games", without_timeouts)
    return changed


def test_a_parsing_change_is_named_with_its_column_rows_and_counts(
    warehouse, synthetic, capsys, monkeypatch
):
    changed = parsing_change(monkeypatch)
    assert run_shadow(warehouse) == 0, capsys.readouterr()
    assert synthetic.requests_for() == []
    report = diff_report(warehouse, capsys)
    team = report["tables"]["team_boxscores"]
    assert (team["added"], team["removed"], team["changed"]) == (0, 0, 2)
    assert list(team["columns"]) == ["team_name"] and team["columns"]["team_name"]["changed"] == 2
    sample = team["columns"]["team_name"]["sample"][0]
    assert sample["game_id"] == changed["game"]
    assert sample["shadow"] == sample["published"].upper() != sample["published"]
    assert [d["changed"] for d in team["days"]] == [2]
    events = every_row(warehouse, "play_by_play")
    timeouts = events.filter(pa.compute.equal(events["action_type"], "Timeout")).num_rows
    pbp = report["tables"]["play_by_play"]
    assert (pbp["added"], pbp["removed"], pbp["changed"]) == (0, timeouts, 0) and timeouts > 0
    assert sum(d["removed"] for d in pbp["days"]) == timeouts
    assert report["tables"]["player_boxscores"]["differences"] == 0
    assert report["differences"] == 2 + timeouts
    capsys.readouterr()
    assert shadow("diff", "candidate", "--warehouse", str(warehouse), "--exit-code") == 1
    text = capsys.readouterr().out
    assert "team_name: 2 values changed" in text and f"{timeouts} removed" in text


def test_a_schema_change_is_reported_as_one(warehouse, capsys, monkeypatch):
    """A new column `pace` on team_boxscores (declared by the store, derived by the code)."""
    stored_schema, stored_rows = delta.Layout.schema, delta.to_stored

    def with_pace(layout):
        schema = stored_schema(layout)
        if layout.spec.name == "team_boxscores":
            schema = schema.insert(len(schema) - 1, pa.field("pace", pa.float64()))
        return schema

    def derived(spec, frame, *args):
        if spec.name == "team_boxscores":
            frame = frame.assign(pace=99.5)
        return stored_rows(spec, frame, *args)

    monkeypatch.setattr(delta.Layout, "schema", with_pace)
    monkeypatch.setattr(delta, "to_stored", derived)
    assert run_shadow(warehouse, select="team_boxscores") == 0, capsys.readouterr()
    monkeypatch.undo()
    team = diff_report(warehouse, capsys)["tables"]["team_boxscores"]
    assert team["schema"] == {
        "added": [{"column": "pace", "type": "double"}],
        "removed": [],
        "retyped": [],
    }
    assert (team["added"], team["removed"], team["changed"], team["differences"]) == (0, 0, 0, 1)


def test_promote_is_one_commit_per_table_and_rollback_restores_exactly(
    warehouse, capsys, monkeypatch
):
    parsing_change(monkeypatch)
    assert run_shadow(warehouse) == 0, capsys.readouterr()
    monkeypatch.undo()
    before = {t: every_row(warehouse, t) for t in TABLE_NAMES}
    files_before = {t: set(delta.open_table(str(warehouse), t).file_uris()) for t in TABLE_NAMES}
    capsys.readouterr()
    assert shadow("promote", "candidate", "--warehouse", str(warehouse)) == 0
    out = capsys.readouterr().out
    assert "player_boxscores: unchanged" in out
    manifest = store.read_manifest(str(warehouse), "candidate")
    for table in ("team_boxscores", "play_by_play"):
        # one commit: version 0 -> 1, whose rows are exactly the shadow's
        assert delta.open_table(str(warehouse), table).version() == 1
        shadow_version = manifest["tables"][table]["shadow_version"]
        assert every_row(warehouse, table).equals(
            every_row(Path(manifest["shadow"]), table, shadow_version)
        )
        assert f"undo: nba-assets rollback {table} --to-version 0" in out
        entry = delta.history(str(warehouse), table, 1)[0]
        assert (
            entry["meta"]["shadow_label"] == "candidate" and entry["run_id"] == "shadow-candidate"
        )
    assert delta.open_table(str(warehouse), "player_boxscores").version() == 0
    # the changed values are stat revisions of the commit that published them
    revised = read_revisions(str(warehouse), "team_boxscores")
    assert list(revised["column"]) == ["team_name", "team_name"]
    assert set(revised["delta_version"]) == {1} and set(revised["run_id"]) == {"shadow-candidate"}
    # the archive's index knows the responses the promoted rows came from are published there
    verdicts = [v for v in index.read_verdicts(str(warehouse)) if v.run_id == "shadow-candidate"]
    assert {(v.table, v.delta_version, v.verdict) for v in verdicts} == {
        ("team_boxscores", 1, "published"),
        ("play_by_play", 1, "published"),
    }
    assert not every_row(warehouse, "team_boxscores").equals(before["team_boxscores"])
    # a second promote of the same shadow is refused
    assert shadow("promote", "candidate", "--warehouse", str(warehouse)) == 1
    assert "was promoted" in capsys.readouterr().err
    for table in ("team_boxscores", "play_by_play"):
        assert (
            cli.main(["rollback", table, "--to-version", "0", "--warehouse", str(warehouse)]) == 0
        )
        assert every_row(warehouse, table).equals(before[table])
        # byte for byte: the restored version is made of version 0's very files
        assert set(delta.open_table(str(warehouse), table).file_uris()) == files_before[table]


def test_promote_is_refused_when_the_published_table_moved(warehouse, capsys, monkeypatch):
    parsing_change(monkeypatch)
    assert run_shadow(warehouse, select="team_boxscores,play_by_play") == 0, capsys.readouterr()
    monkeypatch.undo()
    rows = every_row(warehouse, "team_boxscores")
    pts = rows.column("pts").to_pylist()
    moved = rows.set_column(
        rows.schema.get_field_index("pts"), "pts", pa.array([pts[0] + 1, *pts[1:]], pa.int64())
    )
    selection = delta.Selection.days(*(rows.column("game_date")[i].as_py() for i in (0, -1)))
    delta.replace(str(warehouse), TABLES["team_boxscores"], moved, selection, {"run_id": "fix"})
    capsys.readouterr()
    assert shadow("promote", "candidate", "--warehouse", str(warehouse)) == 1
    err = capsys.readouterr().err
    assert "moved since it started" in err and "team_boxscores: version(s) 1 after 0" in err
    # every table is checked before any is written: play_by_play did not move, nor was it written
    assert delta.open_table(str(warehouse), "team_boxscores").version() == 1
    assert delta.open_table(str(warehouse), "play_by_play").version() == 0
    assert shadow("promote", "candidate", "--force", "--warehouse", str(warehouse)) == 0
    assert delta.open_table(str(warehouse), "team_boxscores").version() == 2
    assert delta.open_table(str(warehouse), "play_by_play").version() == 1


def test_a_promote_that_fails_midway_finishes_on_the_next_try(warehouse, capsys, monkeypatch):
    parsing_change(monkeypatch)
    assert run_shadow(warehouse, select="team_boxscores,play_by_play") == 0, capsys.readouterr()
    monkeypatch.undo()
    write = promote._write

    def refused(target, rows, selection, spec, *args):
        if spec.name == "team_boxscores":  # the second table (the manifest's order)
            raise OSError("the store went away")
        return write(target, rows, selection, spec, *args)

    with monkeypatch.context() as patched:
        patched.setattr(promote, "_write", refused)
        assert shadow("promote", "candidate", "--warehouse", str(warehouse)) == 1
    assert "the store went away" in capsys.readouterr().err
    assert delta.open_table(str(warehouse), "play_by_play").version() == 1
    assert delta.open_table(str(warehouse), "team_boxscores").version() == 0
    # its own commit is no move: the next try promotes the rest, and only the rest
    assert shadow("promote", "candidate", "--warehouse", str(warehouse)) == 0
    assert delta.open_table(str(warehouse), "team_boxscores").version() == 1
    assert delta.open_table(str(warehouse), "play_by_play").version() == 1


def test_a_request_the_archive_cannot_answer_is_an_error_naming_it(warehouse, synthetic, capsys):
    code = shadow(
        "run",
        "--label",
        "later",
        "--select",
        "team_boxscores",
        "--partition-range",
        "2024-10-26...2024-10-27",
        "--warehouse",
        str(warehouse),
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "NOT derived: " in out and "shadow runs send no requests: leaguegamelog" in out.lower()
    assert synthetic.requests_for() == []
    assert store.read_manifest(str(warehouse), "later")["status"] == "failed"
    assert shadow("promote", "later", "--warehouse", str(warehouse)) == 1
    assert "failed" in capsys.readouterr().err


def test_a_change_the_audit_rejects_is_reported_and_never_published(warehouse, capsys, monkeypatch):
    """Team points off by one in one game: the same blocking audit quarantines it in the shadow."""
    parse_box = box_asset.parse_boxscores

    def miscounted(spec, body, *args):
        frame = parse_box(spec, body, *args)
        if spec.name == "team_boxscores" and len(frame):
            first = frame.index[:1]
            frame.loc[first, "pts"] = frame.loc[first, "pts"] + 1
        return frame

    monkeypatch.setattr(box_asset, "parse_boxscores", miscounted)
    before = published_files(warehouse)
    assert run_shadow(warehouse) == 1
    out = capsys.readouterr().out
    assert "shadow candidate: failed" in out and "NOT derived: " in out
    tables = store.read_manifest(str(warehouse), "candidate")["tables"]
    rejected = [t for t, f in tables.items() if any(a["severity"] == "ERROR" for a in f["audit"])]
    assert rejected == ["team_boxscores"]
    assert "blocking check(s) failed" in tables["team_boxscores"]["error"]
    assert "points_add_up" in tables["team_boxscores"]["error"]
    assert not any(f["published"] for f in tables.values())  # nothing downstream of it ran
    assert (warehouse / store.SHADOW_DIR / "candidate" / "_quarantine" / "team_boxscores").exists()
    assert published_files(warehouse) == before
    assert shadow("promote", "candidate", "--warehouse", str(warehouse)) == 1
    assert "is failed" in capsys.readouterr().err


#: A commit of main from before shadow runs existed (the runner is always this checkout's):
#: environments are cached by commit, so this one is built once per machine, then reused.
#: A clone without that history (a shallow one) uses its own HEAD instead.
FIXED_REF = "fd5d35f"


def _ref() -> str:
    known = subprocess.run(
        ["git", "cat-file", "-e", f"{FIXED_REF}^{{commit}}"], cwd=REPO, capture_output=True
    )
    return FIXED_REF if known.returncode == 0 else "HEAD"


@pytest.mark.slow
def test_a_shadow_from_a_ref_runs_that_commits_code_built_from_its_lock(
    warehouse, synthetic, capsys
):
    ref = _ref()
    commit = envs.resolve(ref)
    code = shadow(
        "run",
        "--label",
        "old",
        "--ref",
        ref,
        "--select",
        SELECT,
        "--partition-range",
        f"{START}...{END}",
        "--warehouse",
        str(warehouse),
    )
    assert code == 0, capsys.readouterr()
    assert synthetic.requests_for() == []
    ready = envs.envs_root() / commit / ".ready"
    assert ready.read_text().strip() == commit
    python = envs.python_of(commit)
    # the ref's own package, installed in its own environment (not this checkout's)
    where = subprocess.run(
        [str(python), "-I", "-c", "import nba_assets; print(nba_assets.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(envs.envs_root()) in where and str(REPO) not in where
    manifest = store.read_manifest(str(warehouse), "old")
    assert manifest["code"] == {"ref": ref, "commit": commit, "dirty": False}
    assert all(f["published"] for f in manifest["tables"].values())
    report = diff_report(warehouse, capsys, "old")
    assert report["complete"]
    # a second shadow of the same commit builds nothing
    built_at = ready.stat().st_mtime_ns
    assert (
        shadow(
            "run",
            "--label",
            "again",
            "--ref",
            commit,
            "--select",
            "team_boxscores",
            "--partition-range",
            f"{START}...{END}",
            "--warehouse",
            str(warehouse),
        )
        == 0
    )
    assert ready.stat().st_mtime_ns == built_at


def test_seasons_compared_one_at_a_time_add_up():
    old = pa.table(
        {
            "game_id": ["0022300001", "0022300002", "0022400001", "0022400002"],
            "team_id": [1, 1, 1, 1],
            "game_date": pa.array([dt.date(2024, 4, 1)] * 2 + [dt.date(2024, 10, 22)] * 2),
            "pts": [100, 101, 102, 103],
        }
    )
    new = old.set_column(3, "pts", pa.array([100, 99, 102, 98]))
    parts = [
        diff.compare("team_boxscores", o, n)
        for o, n in ((old.slice(0, 2), new.slice(0, 2)), (old.slice(2), new.slice(2)))
    ]
    whole = diff.merge(diff.merge({}, parts[0]), parts[1])
    assert whole == {**diff.compare("team_boxscores", old, new), "days": whole["days"]}
    assert whole["changed"] == 2 and whole["columns"]["pts"]["changed"] == 2
    assert [d["day"] for d in whole["days"]] == ["2024-04-01", "2024-10-22"]
