"""Batched publishing: one durability barrier, and still nothing half-written or half-published."""

import os

import pytest
from upath import UPath

from nba_assets.io.storage import write_atomic, write_atomic_many


def test_publishes_every_file_and_counts_bytes(tmp_path):
    files = [(UPath(tmp_path / "d" / f"{i}.parquet"), bytes([i]) * (i + 1)) for i in range(5)]
    (tmp_path / "d").mkdir()
    assert write_atomic_many(iter(files)) == sum(len(data) for _, data in files)
    assert {p.name: p.read_bytes() for p, _ in files} == {p.name: d for p, d in files}
    assert sorted(os.listdir(tmp_path / "d")) == [f"{i}.parquet" for i in range(5)]


def test_failure_while_staging_publishes_nothing_and_leaves_no_temp_files(tmp_path):
    directory = tmp_path / "d"
    directory.mkdir()
    write_atomic(UPath(directory / "0.parquet"), b"old")

    def files():
        yield UPath(directory / "0.parquet"), b"new"
        yield UPath(directory / "1.parquet"), b"new"
        raise ValueError("encoding failed")

    with pytest.raises(ValueError, match="encoding failed"):
        write_atomic_many(files())
    assert os.listdir(directory) == ["0.parquet"]
    assert (directory / "0.parquet").read_bytes() == b"old"


def test_data_is_synced_before_any_file_is_renamed_into_place(tmp_path, monkeypatch):
    directory = tmp_path / "d"
    directory.mkdir()
    order: list[str] = []
    real_replace = os.replace
    monkeypatch.setattr(os, "sync", lambda: order.append("sync"))
    monkeypatch.setattr(os, "replace", lambda a, b: (order.append("rename"), real_replace(a, b)))
    write_atomic_many((UPath(directory / f"{i}.parquet"), b"x") for i in range(3))
    assert order == ["sync", "rename", "rename", "rename"]
