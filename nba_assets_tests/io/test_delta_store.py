"""The Delta store (nba_assets/io/delta.py) on local disk: ranged replaces, no-op reruns,
refusals, schema merge, time travel, and a reader in another process that never sees a mix."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import random
import shutil
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError

from nba_assets.io import delta
from nba_assets.io.manager import PROVENANCE_ATTR, publish
from nba_assets.io.staging import StagedRange
from nba_assets.schemas import Column, TableSpec

SCORES = TableSpec(
    "scores",
    "test table: two or three rows a game day",
    (
        Column("game_id", "string", nullable=False),
        Column("game_date", "date", nullable=False),
        Column("team_id", "int", nullable=False),
        Column("pts", "int"),
    ),
    ("game_id", "team_id"),
)
#: The same table a release later: one more (nullable) column.
SCORES_WIDER = TableSpec(
    SCORES.name, SCORES.description, (*SCORES.columns, Column("plus_minus", "float")), SCORES.key
)
#: Game days in two seasons: June 2025 is 2024-25, October 2025 is 2025-26.
DAYS = [dt.date(2025, 6, 10) + dt.timedelta(days=i) for i in range(10)] + [
    dt.date(2025, 10, 21) + dt.timedelta(days=i) for i in range(10)
]
RUN = {"run_id": "test-run", "step": "scores", "asset": "scores"}


def frame(days, pts, teams: int = 2, spec: TableSpec = SCORES) -> pd.DataFrame:
    """`teams` rows a day; `pts` a number, or a function of (day, team)."""
    rows = [
        {
            "game_id": f"00{d:%y%m%d}{t // 2:02d}"[:10],
            "game_date": d,
            "team_id": 1610612737 + t,
            "pts": pts(d, t) if callable(pts) else pts,
        }
        for d in days
        for t in range(teams)
    ]
    data = pd.DataFrame(rows, columns=["game_id", "game_date", "team_id", "pts"])
    data = data.astype({"team_id": "int64", "pts": "Int64"})
    if "plus_minus" in spec.names:
        data["plus_minus"] = 1.5
    return data


def stored(data: pd.DataFrame, spec: TableSpec = SCORES, sha: str = "a" * 64) -> pa.Table:
    return delta.to_stored(spec, data, sha)


def window(first: dt.date, last: dt.date) -> delta.Selection:
    return delta.Selection.days(first, last)


def everything(warehouse: Path, version: int | None = None) -> pd.DataFrame:
    return delta.to_frame(delta.read_rows(str(warehouse), SCORES, version=version))


def files(warehouse: Path) -> dict[str, tuple[int, int]]:
    """Every file of the table, log included: path -> (size, mtime_ns)."""
    root = Path(delta.table_uri(str(warehouse), SCORES.name))
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file()
    }


@pytest.fixture
def seeded(warehouse: Path) -> Path:
    """Version 0: every day of DAYS, pts 100."""
    commit = delta.replace(
        str(warehouse), SCORES, stored(frame(DAYS, 100)), window(DAYS[0], DAYS[-1]), RUN
    )
    assert (commit.version, commit.unchanged, commit.rows) == (0, False, 2 * len(DAYS))
    return warehouse


def test_a_ranged_replace_replaces_exactly_its_dates(seeded: Path):
    first, last = dt.date(2025, 6, 13), dt.date(2025, 6, 16)
    inside = [d for d in DAYS if first <= d <= last]
    # three rows on the 13th, none on the 16th (a game removed), new points elsewhere
    new = pd.concat(
        [frame(inside[:1], 120, teams=3), frame(inside[1:3], lambda d, t: 101 + t)],
        ignore_index=True,
    )
    commit = delta.replace(str(seeded), SCORES, stored(new), window(first, last), RUN)

    assert (commit.version, commit.unchanged) == (1, False)
    assert (commit.rows, commit.removed_rows) == (len(new), 2 * len(inside))
    after = everything(seeded)
    in_range = after["game_date"].between(first, last)
    got = after[in_range].drop(columns=[delta.SEASON, delta.SOURCE_SHA256])
    expected = new.sort_values(["game_date", "game_id", "team_id"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected, check_dtype=False)
    before = everything(seeded, version=0)
    untouched = before[~before["game_date"].between(first, last)].reset_index(drop=True)
    pd.testing.assert_frame_equal(after[~in_range].reset_index(drop=True), untouched)
    [entry] = [e for e in delta.history(str(seeded), SCORES.name) if e["version"] == 1]
    assert entry["range"] == f"{first}...{last}" and entry["run_id"] == "test-run"


def test_a_range_across_two_seasons_replaces_its_days_in_both(seeded: Path):
    first, last = dt.date(2025, 6, 18), dt.date(2025, 10, 22)
    inside = [d for d in DAYS if first <= d <= last]
    delta.replace(str(seeded), SCORES, stored(frame(inside, 7)), window(first, last), RUN)
    after = everything(seeded).set_index("game_date")["pts"]
    assert {d: int(v) for d, v in after.items() if v == 7} == dict.fromkeys(inside, 7)
    assert (after != 7).sum() == 2 * (len(DAYS) - len(inside))
    assert sorted(everything(seeded)[delta.SEASON].unique()) == ["2024-25", "2025-26"]


def test_an_identical_rerun_commits_nothing_and_writes_no_byte(seeded: Path):
    first, last = DAYS[3], DAYS[12]
    days = [d for d in DAYS if first <= d <= last]
    data = frame(days, lambda d, t: 90 + t)
    data.attrs[PROVENANCE_ATTR] = [{"sha256": "b" * 64}]
    changed = publish(str(seeded), SCORES, data, window(first, last), RUN)
    assert (changed.version, changed.unchanged) == (1, False)
    before = files(seeded)

    again = data.sample(frac=1, random_state=3)  # same rows, another order
    again.attrs[PROVENANCE_ATTR] = [{"sha256": "b" * 64}]
    commit = publish(str(seeded), SCORES, again, window(first, last), RUN)

    assert (
        commit.unchanged
        and commit.version == 1 == delta.open_table(str(seeded), "scores").version()
    )
    assert commit.as_metadata()["commit"] == "unchanged"
    assert files(seeded) == before  # no data file, no log entry, not a byte rewritten


def test_a_rerun_whose_provenance_differs_is_a_change(seeded: Path):
    """The per-row source_sha256 is part of the published rows: a new response is a commit."""
    commit = delta.replace(
        str(seeded), SCORES, stored(frame(DAYS, 100), sha="c" * 64), window(DAYS[0], DAYS[-1]), RUN
    )
    assert (commit.version, commit.unchanged) == (1, False)


def test_rows_outside_the_range_are_refused_and_nothing_is_written(seeded: Path):
    before = files(seeded)
    with pytest.raises(ValueError, match="outside the run's range"):
        delta.replace(
            str(seeded), SCORES, stored(frame(DAYS[2:5], 1)), window(DAYS[2], DAYS[3]), RUN
        )
    with pytest.raises(ValueError, match=r"season\(s\) \['2025-26'\] outside"):
        delta.replace(
            str(seeded),
            SCORES,
            stored(frame(DAYS[8:12], 1)),
            delta.Selection.of_seasons(["2024-25"]),
            RUN,
        )
    assert files(seeded) == before
    assert delta.open_table(str(seeded), "scores").version() == 0


def test_a_new_column_merges_into_the_schema(seeded: Path):
    first, last = DAYS[0], DAYS[4]
    wider = frame(DAYS[:5], 50, spec=SCORES_WIDER)
    commit = delta.replace(
        str(seeded), SCORES_WIDER, stored(wider, SCORES_WIDER), window(first, last), RUN
    )
    assert (commit.version, commit.unchanged) == (1, False)

    rows = delta.to_frame(delta.read_rows(str(seeded), SCORES_WIDER))
    new = rows["game_date"].between(first, last)
    assert rows.loc[new, "plus_minus"].tolist() == [1.5] * len(wider)
    assert rows.loc[~new, "plus_minus"].isna().all() and (~new).sum() == 2 * (len(DAYS) - 5)
    # the wider rows rerun: unchanged; the narrower spec still reads (and replaces) its columns
    again = delta.replace(
        str(seeded), SCORES_WIDER, stored(wider, SCORES_WIDER), window(first, last), RUN
    )
    assert again.unchanged and again.version == 1
    narrow = delta.read_rows(str(seeded), SCORES, columns=SCORES.names)
    assert narrow.column_names == SCORES.names and narrow.num_rows == 2 * len(DAYS)


def test_a_table_read_by_a_spec_with_a_column_it_never_had(seeded: Path):
    """An older version (or a table written before the column existed) reads it as nulls."""
    rows = delta.read_rows(str(seeded), SCORES_WIDER, version=0)
    assert rows.num_rows == 2 * len(DAYS)
    assert rows.column("plus_minus").null_count == rows.num_rows
    commit = delta.replace(
        str(seeded),
        SCORES_WIDER,
        stored(frame(DAYS[:2], 100).assign(plus_minus=None), SCORES_WIDER),
        window(DAYS[0], DAYS[1]),
        RUN,
    )
    assert not commit.unchanged  # the table has to learn the column


def test_time_travel_and_restore_give_back_exactly_the_earlier_rows(seeded: Path):
    original = everything(seeded)
    delta.replace(str(seeded), SCORES, stored(frame(DAYS[:3], 1)), window(DAYS[0], DAYS[2]), RUN)
    delta.replace(str(seeded), SCORES, stored(frame(DAYS[5:], 2)), window(DAYS[5], DAYS[-1]), RUN)
    pd.testing.assert_frame_equal(everything(seeded, version=0), original)

    version = delta.restore(str(seeded), "scores", 0, {"run_id": "rollback"})
    assert version == 3
    pd.testing.assert_frame_equal(everything(seeded), original)
    assert delta.history(str(seeded), "scores")[0]["range"] == "restore to version 0"


def test_reads_come_back_in_the_table_order_whatever_the_files(seeded: Path):
    """Rewritten and appended files of a season, in no particular order: reads are in order."""
    for first, last, pts in [(DAYS[2], DAYS[3], 1), (DAYS[6], DAYS[6], 2), (DAYS[0], DAYS[0], 3)]:
        days = [d for d in DAYS if first <= d <= last]
        delta.replace(str(seeded), SCORES, stored(frame(days, pts)), window(first, last), RUN)
    uri = delta.table_uri(str(seeded), SCORES.name)
    for day in (dt.date(2025, 11, 2), dt.date(2025, 6, 1), dt.date(2025, 10, 25)):
        write_deltalake(uri, stored(frame([day], 7)), mode="append")  # files of one day each
    current = delta.open_table(str(seeded), SCORES.name)
    assert max(delta.files_per_partition(current).values()) > 1
    order = delta.layout(SCORES).order
    rows = delta.scan(current, None, None, order)
    expected = rows.take(pa.compute.sort_indices(rows, [(c, "ascending") for c in order]))
    assert rows.equals(expected) and rows.num_rows == 2 * (len(DAYS) + 3)


def test_in_order_sorts_shuffled_and_overlapping_batches():
    table = pa.table({"day": [3, 1, 2, 2, 5, 4], "key": ["b", "a", "a", "c", None, "z"]})
    batches = [table.slice(0, 1), table.slice(1, 2), table.slice(3, 3)]  # [3] [1,2] [2,5,4]
    shuffled = pa.concat_tables([batches[2], batches[0], batches[1]])
    ordered = delta.in_order(shuffled, ["day", "key"])
    assert ordered.column("day").to_pylist() == [1, 2, 2, 3, 4, 5]
    assert ordered.column("key").to_pylist() == ["a", "a", "c", "b", "z", None]
    sorted_already = pa.concat_tables([table.slice(1, 1), table.slice(2, 1), table.slice(0, 1)])
    assert delta.in_order(sorted_already, ["day"]).column("day").to_pylist() == [1, 2, 3]


def test_runs_out_of_order_are_put_in_order_without_a_copy():
    """A season file rewritten from a parallel scan: sorted runs out of order. The ordered table
    is slices of the read one (no copy), equal to a take; interleaved rows are taken."""
    rows = pa.table({"day": list(range(4096)), "name": [f"n{i}" for i in range(4096)]})
    runs = [rows.slice(2048, 2048), rows.slice(0, 1024), rows.slice(1024, 1024)]
    shuffled = pa.concat_tables(runs).combine_chunks()
    ordered = delta.in_order(shuffled, ["day"])
    assert ordered.equals(rows)
    shared = {b.buffers()[1].address for b in shuffled.column("day").chunks}
    starts = {c.buffers()[1].address for c in ordered.column("day").chunks}
    assert starts <= shared  # the slices' data buffers are the shuffled table's own
    interleaved = pa.table({"day": [i // 2 if i % 2 else 4000 - i for i in range(4000)]})
    assert delta.in_order(interleaved, ["day"]).column("day").to_pylist() == sorted(
        interleaved.column("day").to_pylist()
    )


def test_views_read_back_as_plain_types_at_any_depth_and_sort():
    """delta-rs hands back string_view, also inside lists; Arrow's take has no kernel for it."""
    views = pa.table(
        {
            "day": pa.array([2, 1]),
            "name": pa.array(["b", "a"], pa.string_view()),
            "rules": pa.array([["x"], ["y", "z"]], pa.list_(pa.string_view())),
            "meta": pa.array([{"k": "v"}, {"k": "w"}], pa.struct([("k", pa.string_view())])),
        }
    )
    plain = delta.plain_types(views)
    assert plain.schema == pa.schema(
        [
            ("day", pa.int64()),
            ("name", pa.string()),
            ("rules", pa.list_(pa.string())),
            ("meta", pa.struct([("k", pa.string())])),
        ]
    )
    assert delta.in_order(plain, ["day"]).column("rules").to_pylist() == [["y", "z"], ["x"]]


def test_a_copy_of_the_warehouse_reads_the_same_rows(seeded: Path, tmp_path: Path):
    delta.replace(str(seeded), SCORES, stored(frame(DAYS[:3], 1)), window(DAYS[0], DAYS[2]), RUN)
    copy = tmp_path / "copied"
    shutil.copytree(seeded, copy)  # cp -r: the log's paths are relative to the table
    pd.testing.assert_frame_equal(everything(copy), everything(seeded))
    pd.testing.assert_frame_equal(everything(copy, version=0), everything(seeded, version=0))


def test_a_writer_that_read_an_older_version_never_publishes_over_a_newer_one(
    seeded: Path, monkeypatch: pytest.MonkeyPatch
):
    """Two runs of one range read version 0; the second to commit fails cleanly, nothing lost."""
    days = DAYS[12:15]
    stale = DeltaTable(delta.table_uri(str(seeded), SCORES.name))
    first = delta.replace(
        str(seeded), SCORES, stored(frame(days, 1)), window(days[0], days[-1]), RUN
    )
    assert first.version == 1
    monkeypatch.setattr(delta, "_current", lambda *_: stale)  # the second run read version 0
    with pytest.raises(CommitFailedError, match="another writer committed to"):
        delta.replace(str(seeded), SCORES, stored(frame(days, 2)), window(days[0], days[-1]), RUN)
    monkeypatch.undo()
    assert set(everything(seeded).query("pts < 100")["pts"]) == {1}
    assert delta.open_table(str(seeded), SCORES.name).version() == 1


def staged(warehouse: Path, days: list[dt.date], pts: int, spill: Path) -> StagedRange:
    spill.mkdir()
    run = StagedRange(str(warehouse), SCORES, window(days[0], days[-1]), spill)
    run.add(days[0], days[-1], stored(frame(days, pts)))
    run.finish()
    return run


NEW_SEASON = [dt.date(2026, 10, 27) + dt.timedelta(days=i) for i in range(3)]


@pytest.mark.parametrize(
    "days",
    [
        pytest.param(DAYS[12:15], id="season-with-files"),
        pytest.param(
            NEW_SEASON,
            id="season-without-files",
        ),
    ],
)
def test_two_staged_runs_of_one_range_one_wins(seeded: Path, tmp_path: Path, days):
    """The box-score path (io/staging.py): both staged against version 0, one commit wins."""
    first = staged(seeded, days, 1, tmp_path / "a")
    second = staged(seeded, days, 2, tmp_path / "b")
    assert first.commit(RUN).version == 1
    with pytest.raises(CommitFailedError):
        second.commit(RUN)
    rows = everything(seeded)
    mine = rows[rows["game_date"].isin(days)]
    assert len(mine) == 2 * len(days) and set(mine["pts"]) == {1}


# -- a reader in another process, during commits and compactions ---------------------------------


def fingerprint(rows: pd.DataFrame) -> str:
    """Per day: the points seen and the row count (one generation a day when consistent)."""
    days = {}
    for day, group in rows.groupby("game_date"):
        days[day.isoformat()] = [sorted({int(p) for p in group["pts"]}), len(group)]
    return json.dumps(days, sort_keys=True)


def read_loop(warehouse: str, out: str, ready, stop) -> None:
    """In a spawned process: read the current version over and over, one JSON line a read."""
    with open(out, "w") as sink:
        ready.set()
        while not stop.is_set():
            table = delta.open_table(warehouse, SCORES.name)
            rows = delta.to_frame(delta.scan(table, ["game_date", "pts"]))
            print(json.dumps([table.version(), fingerprint(rows)]), file=sink, flush=True)


def test_a_reader_in_another_process_sees_old_or_new_never_a_mix(warehouse: Path, tmp_path: Path):
    rng = random.Random(19)
    state = {d: (100, 2) for d in DAYS}

    def expected() -> str:
        return json.dumps(
            {d.isoformat(): [[p], n] for d, (p, n) in sorted(state.items()) if n}, sort_keys=True
        )

    delta.replace(str(warehouse), SCORES, stored(frame(DAYS, 100)), window(DAYS[0], DAYS[-1]), RUN)
    published = {0: expected()}
    compactions: set[int] = set()

    spawn = multiprocessing.get_context("spawn")
    ready, stop = spawn.Event(), spawn.Event()
    out = tmp_path / "reads.jsonl"
    reader = spawn.Process(target=read_loop, args=(str(warehouse), str(out), ready, stop))
    reader.start()
    try:
        assert ready.wait(60), "the reader process did not start"
        time.sleep(0.3)  # its first reads
        for generation in range(1, 41):
            a, b = sorted(rng.sample(range(len(DAYS)), 2))
            days = DAYS[a : b + 1]
            counts = {d: rng.choice([0, 2, 2, 3]) for d in days}  # games added and removed too
            rows = pd.concat(
                [frame([d], generation, teams=n) for d, n in counts.items() if n] or [frame([], 0)],
                ignore_index=True,
            )
            commit = delta.replace(
                str(warehouse), SCORES, stored(rows), window(days[0], days[-1]), RUN
            )
            state.update({d: (generation, n) for d, n in counts.items()})
            published[commit.version] = expected()
            if generation % 3 == 0:
                result = delta.compact(str(warehouse), SCORES.name, max_files=1)
                if result["seasons_compacted"]:
                    compactions.add(result["delta_version"])
                    published[result["delta_version"]] = expected()
        time.sleep(0.3)
    finally:
        stop.set()
        reader.join(60)
    assert reader.exitcode == 0  # the QueryBuilder path exits cleanly (apache/arrow#34314)

    reads = [json.loads(line) for line in out.read_text().splitlines()]
    mixed = [(v, fp) for v, fp in reads if published.get(v) != fp]
    assert not mixed, f"{len(mixed)} of {len(reads)} reads saw rows of no published version"
    seen = {v for v, _ in reads}
    assert len(reads) >= 20 and len(seen) >= 5, (len(reads), sorted(seen))
    assert compactions and seen & compactions, "no read landed on a compacted version"
    assert len(published) == delta.open_table(str(warehouse), SCORES.name).version() + 1


def test_a_killed_runs_spill_is_swept_by_the_next_run(tmp_path: Path):
    """SIGKILL skips every `finally`: the next run on the host removes the dead run's spill."""
    import signal
    import subprocess
    import sys

    from nba_assets.io.staging import spill_dir

    root = tmp_path / "spill"
    script = (
        "import sys, time; from pathlib import Path; from nba_assets.io.staging import spill_dir\n"
        f"with spill_dir('play_by_play', Path({str(root)!r})) as d:\n"
        "    (d / 'staged.arrow').write_bytes(b'x' * 1024); print(d, flush=True); time.sleep(60)\n"
    )
    run = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    killed = Path(run.stdout.readline().strip())
    assert (killed / "staged.arrow").exists()
    with spill_dir("team_boxscores", root) as live:
        assert killed.exists()  # its run is still alive: not touched
    run.send_signal(signal.SIGKILL)
    run.wait()
    assert killed.exists() and not live.exists()
    with spill_dir("team_boxscores", root) as mine:
        assert not killed.exists() and mine.exists()
    assert list(root.iterdir()) == []
