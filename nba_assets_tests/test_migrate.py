"""`nba-assets migrate`: an old daily-file warehouse becomes Delta tables with equal rows.

The old warehouse is written as the daily-file code wrote it (Parquet, zstd, provenance in the
key-value metadata) from rows a demo-like run published, so equal rows (source_sha256 too)
mean the migration recovered what the old files held.
"""

import datetime as dt
import json
import shutil
import uuid
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from nba_assets import cli
from nba_assets.assets.boxscores import player_boxscores, team_boxscores
from nba_assets.assets.reference import players, teams
from nba_assets.assets.schedule import schedule
from nba_assets.io import delta
from nba_assets.partitions import GAME_ID_KINDS, NBA_CUP
from nba_assets.quality import health
from nba_assets.schemas import TABLES
from nba_assets.warehouse import migrate
from nba_assets.warehouse.revisions import REVISION_SCHEMA, REVISIONS_TABLE, read_revisions
from nba_assets_tests.conftest import resources

# the end of a regular season into its play-in: two requests (season types), two responses
START, END, SEASON = "2024-04-12", "2024-04-17", "2023-24"
DAILY = ("team_boxscores", "player_boxscores")
#: Days whose daily file the old warehouse lost: their rows live only in the season file.
GAP_DAY = "2024-04-13"
SEASON_TYPE_OF_KIND = {kind: season_type for season_type, kind in GAME_ID_KINDS.items()}
#: The old revisions file's columns (before delta_version and run_id existed).
OLD_REVISION_SCHEMA = pa.schema(
    [f for f in REVISION_SCHEMA if f.name not in ("delta_version", "run_id")]
)


def record(sha: str, season_type: str, first: str, last: str) -> dict:
    """A provenance record as the daily-file code wrote it."""
    return {
        "endpoint": "leaguegamelog",
        "params": {"SeasonType": season_type, "Season": SEASON},
        "sha256": sha,
        "archive": f"raw/leaguegamelog/x/{sha}.json",
        "covers": [first, last],
    }


def responses(rows: pa.Table, first: str, last: str) -> list[dict]:
    """One record per response the rows came from, with its request's season type."""
    pairs = zip(
        rows.column("game_id").to_pylist(), rows.column("source_sha256").to_pylist(), strict=True
    )
    kinds = {sha: game_id[2] for game_id, sha in pairs}
    return [
        record(sha, SEASON_TYPE_OF_KIND[kind], first, last) for sha, kind in sorted(kinds.items())
    ]


def write_old(path: Path, rows: pa.Table, table: str, provenance: list[dict]) -> None:
    """What `encode_table` did: the table's columns, provenance in the key-value metadata."""
    spec = TABLES.get(table)
    data = rows.select(spec.names).cast(spec.arrow_schema()) if spec else rows
    meta = {
        b"nba_assets.provenance": json.dumps(provenance, sort_keys=True).encode(),
        b"nba_assets.table": table.encode(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(data.replace_schema_metadata(meta), path, compression="zstd")


def stored(warehouse: Path | str, table: str, version: int | None = None) -> pa.Table:
    spec = TABLES[table]
    current = delta.open_table(str(warehouse), table, version)
    return delta.scan(current, delta.layout(spec).schema().names, order=delta.layout(spec).order)


@pytest.fixture(scope="module")
def published(tmp_path_factory, synthetic_server) -> Path:
    """A demo-like warehouse written by the Delta code: the rows the old files will hold."""
    warehouse = tmp_path_factory.mktemp("truth") / "warehouse"
    res = resources(synthetic_server, warehouse)
    players_config = {"ops": {"players": {"config": {"season": SEASON}}}}
    with dg.instance_for_test() as instance:
        assert dg.materialize(
            [teams, players], resources=res, instance=instance, run_config=players_config
        ).success
        assert dg.materialize(
            [schedule], resources=res, instance=instance, partition_key=SEASON
        ).success
        tags = {
            "dagster/asset_partition_range_start": START,
            "dagster/asset_partition_range_end": END,
        }
        result = dg.materialize(
            [team_boxscores, player_boxscores], resources=res, instance=instance, tags=tags
        )
        assert result.success
    return warehouse


def build_old_warehouse(truth: Path, old: Path) -> None:
    """The old layout of the same rows: daily files, season copies, whole files, revisions."""
    for table in DAILY:
        rows = stored(truth, table)
        by_day = rows.column("game_date").to_pylist()
        for offset in range((dt.date.fromisoformat(END) - dt.date.fromisoformat(START)).days + 1):
            day = dt.date.fromisoformat(START) + dt.timedelta(days=offset)
            own = rows.filter(pa.array([d == day for d in by_day]))
            # what the day's requests were; and a Cup-final request covering it that had no rows
            provenance = responses(own, str(day), str(day))
            provenance.append(record("f" * 64, NBA_CUP, str(day), str(day)))
            if str(day) != GAP_DAY:
                write_old(old / table / f"{day}.parquet", own, table, provenance)
        merged = responses(rows, START, END)
        write_old(old / f"{table}_by_season" / f"{SEASON}.parquet", rows, table, merged)
    for table in ("teams", "players"):
        rows = stored(truth, table)
        (sha,) = set(rows.column("source_sha256").to_pylist())
        write_old(
            old / f"{table}.parquet",
            rows,
            table,
            [{"endpoint": table, "params": {}, "sha256": sha}],
        )
    rows = stored(truth, "schedule")
    (sha,) = set(rows.column("source_sha256").to_pylist())
    write_old(
        old / "schedule" / f"{SEASON}.parquet",
        rows,
        "schedule",
        [{"endpoint": "scheduleleaguev2", "params": {"Season": SEASON}, "sha256": sha}],
    )
    write_old(
        old / "_revisions" / "team_boxscores" / f"{uuid.uuid4().hex}.parquet",
        old_revisions(),
        "revisions",
        [],
    )


def old_revisions() -> pa.Table:
    return pa.table(
        {
            "asset": ["team_boxscores"] * 2,
            "game_id": ["0022301201", "0022301202"],
            "game_date": [dt.date(2024, 4, 12)] * 2,
            "team_id": [1610612737, 1610612738],
            "player_id": [None, None],
            "column": ["pts", "reb"],
            "old": ["110", "40"],
            "new": ["112", "41"],
            "old_sha256": ["a" * 64] * 2,
            "new_sha256": ["b" * 64] * 2,
            "detected_at": ["2025-01-01T00:00:00+00:00"] * 2,
        },
        schema=OLD_REVISION_SCHEMA,
    )


@pytest.fixture
def old_warehouse(published, tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    cli.ensure_instance_home()
    old = tmp_path / "old"
    build_old_warehouse(published, old)
    return old


def test_migration_gives_equal_rows_and_changes_nothing_when_rerun(
    published, old_warehouse, capsys
):
    assert cli.main(["migrate", "--warehouse", str(old_warehouse)]) == 0
    out = capsys.readouterr().out
    for table in (*DAILY, "teams", "players", "schedule"):
        assert stored(old_warehouse, table).equals(stored(published, table)), table
        assert f"{table}: migrated in version 0" in out
    assert "old files kept" in out
    assert (old_warehouse / "team_boxscores" / f"{START}.parquet").exists()  # beside Delta
    revisions = read_revisions(str(old_warehouse), "team_boxscores")
    assert revisions["new"].tolist() == ["112", "41"] and revisions["delta_version"].isna().all()

    logs = {
        t: sorted((old_warehouse / t / "_delta_log").iterdir()) for t in (*DAILY, REVISIONS_TABLE)
    }
    assert cli.main(["migrate", "--warehouse", str(old_warehouse)]) == 0
    out = capsys.readouterr().out
    assert "team_boxscores: already migrated in version 0" in out
    assert logs == {t: sorted((old_warehouse / t / "_delta_log").iterdir()) for t in logs}

    result = health.run_health(None, str(old_warehouse))
    assert not result.problems, health.report(result)
    assert any("old-layout file(s) kept" in note for note in result.notes)


def test_rows_take_the_response_of_their_season_type(published):
    rows = stored(published, "team_boxscores")
    assert len(set(rows.column("source_sha256").to_pylist())) >= 2  # one per season type


def test_rows_of_a_lost_daily_file_come_from_the_season_file(published, old_warehouse):
    migrate.migrate(str(old_warehouse))
    gap = pc.field("game_date") == pc.scalar(dt.date.fromisoformat(GAP_DAY))
    migrated = stored(old_warehouse, "team_boxscores").filter(gap)
    assert migrated.num_rows > 0 and migrated.equals(
        stored(published, "team_boxscores").filter(gap)
    )


def test_migration_is_recorded_in_dagster(old_warehouse):
    assert cli.main(["migrate", "--warehouse", str(old_warehouse)]) == 0
    with dg.DagsterInstance.get() as instance:
        (seen,) = instance.fetch_observations(dg.AssetKey("team_boxscores"), limit=5).records
    meta = {k: v.value for k, v in seen.asset_observation.metadata.items()}
    assert meta["delta_version"] == 0 and meta["operation"] == "MIGRATE"
    assert meta["migrated_rows"] == stored(old_warehouse, "team_boxscores").num_rows


def test_remove_old_deletes_only_the_old_files(published, old_warehouse, capsys):
    assert cli.main(["migrate", "--warehouse", str(old_warehouse), "--remove-old"]) == 0
    out = capsys.readouterr().out
    assert "removed" in out
    assert migrate.find_old_layout(str(old_warehouse)) == {}
    assert not (old_warehouse / "team_boxscores_by_season").exists()
    assert not (old_warehouse / "_revisions").exists()
    for table in (*DAILY, "teams", "players", "schedule"):
        assert stored(old_warehouse, table).equals(stored(published, table)), table
    assert cli.main(["migrate", "--warehouse", str(old_warehouse)]) == 0
    assert "nothing to migrate" in capsys.readouterr().out


def test_a_table_already_written_by_the_delta_code_is_not_overwritten(
    published, old_warehouse, capsys
):
    shutil.copytree(published / "teams", old_warehouse / "teams")
    assert cli.main(["migrate", "--warehouse", str(old_warehouse), "--remove-old"]) == 1
    captured = capsys.readouterr()
    assert "not migrated: teams: already a Delta table" in captured.err
    assert "Traceback" not in captured.err
    assert (old_warehouse / "teams.parquet").exists()  # its old file stays
    assert not (old_warehouse / "players.parquet").exists()  # the others went ahead


def test_missing_warehouse_is_an_error_that_names_it(tmp_path, capsys):
    assert cli.main(["migrate", "--warehouse", str(tmp_path / "nowhere")]) == 1
    err = capsys.readouterr().err
    assert "nowhere does not exist" in err and len(err.strip().splitlines()) <= 2


def test_play_by_play_rows_take_their_games_response():
    rows = pa.table(
        {
            "game_id": ["0022400001", "0022400001", "0022400002"],
            "game_date": [dt.date(2024, 10, 22)] * 3,
        }
    )
    records = [
        {"endpoint": "playbyplayv3", "params": {"GameID": "0022400001"}, "sha256": "1" * 64},
        {"endpoint": "playbyplayv3", "params": {"GameID": "0022400002"}, "sha256": "2" * 64},
    ]
    assert migrate.source_hashes(rows, records).to_pylist() == ["1" * 64, "1" * 64, "2" * 64]
    ambiguous = [*records, {"params": {"GameID": "0022400002"}, "sha256": "3" * 64}]
    assert migrate.source_hashes(rows, ambiguous).to_pylist()[2] is None
