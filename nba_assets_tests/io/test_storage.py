"""Published files: the mode the umask gives, whole or absent."""

from __future__ import annotations

import os
import stat

import pytest

from nba_assets.io.storage import as_upath, write_atomic


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_published_file_mode_follows_the_umask(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        write_atomic(as_upath(tmp_path / "t" / "2025-11-01.parquet"), b"rows")
    finally:
        os.umask(previous)
    path = tmp_path / "t" / "2025-11-01.parquet"
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert path.read_bytes() == b"rows"
    assert os.listdir(tmp_path / "t") == ["2025-11-01.parquet"]  # no temp file left behind


def test_a_failed_write_leaves_neither_file_nor_temp(tmp_path):
    target = tmp_path / "t" / "x.parquet"
    with pytest.raises(TypeError):
        write_atomic(as_upath(target), "not bytes")  # type: ignore[arg-type]  # fails mid-write
    assert os.listdir(tmp_path / "t") == []


def test_an_s3_path_follows_the_endpoint_the_environment_names_now(monkeypatch):
    """fsspec caches filesystems: one built before AWS_ENDPOINT_URL changed must not be reused
    (a later warehouse on another endpoint was written to the first, long gone, server)."""
    from nba_assets_tests.moto_process import CREDENTIALS, create_bucket, moto_server

    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    for body in (b"first", b"second"):
        with moto_server() as endpoint:
            monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
            create_bucket(endpoint, "warehouse")
            path = as_upath("s3://warehouse/nba/x.txt")
            path.write_bytes(body)
            assert path.read_bytes() == body
