"""Whole-file writes that a reader never sees half-done, on a local disk or an object store."""

from __future__ import annotations

import os
import tempfile

from upath import UPath

_LOCAL_PROTOCOLS = ("", "file", "local")


def is_local(path: UPath) -> bool:
    return path.protocol in _LOCAL_PROTOCOLS


def write_atomic(path: UPath, data: bytes) -> None:
    """Publish `data` at `path` in one step: temp file + rename locally, one PUT on S3.

    An object store makes an object visible only when its upload completes, so a
    single `pipe` is already atomic there; a local file needs the rename.
    """
    if is_local(path):
        local = os.fspath(path.path)
        os.makedirs(os.path.dirname(local) or ".", exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(local) or ".")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, local)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    else:
        path.fs.pipe_file(path.path, data)


def as_upath(location: str | os.PathLike[str]) -> UPath:
    """A warehouse location (local path or URL) as an absolute UPath."""
    text = os.fspath(location)
    if "://" in text:
        return UPath(text)
    return UPath(os.path.abspath(text))
