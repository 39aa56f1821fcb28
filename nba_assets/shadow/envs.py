"""The code a shadow runs: the checkout's own, or a git ref's, built from that ref's lock.

A ref is resolved to its commit, exported with `git archive` (no worktree to clean up) and
installed into a virtual environment of its own with `pip install -c requirements.txt` (the
lock of that commit; pip's cache and the configured indexes are reused). Environments are cached
by commit under `NBA_ASSETS_SHADOW_ENVS` (default `~/.cache/nba_assets/shadow-envs`): the second
shadow of a commit builds nothing. A build happens in a temporary directory renamed into place
when complete, so a killed build leaves nothing that looks ready.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from nba_assets.shadow.store import ShadowError

ENVS_VARIABLE = "NBA_ASSETS_SHADOW_ENVS"
#: Environments kept; building another removes the least recently used beyond these.
KEEP = 5
_READY = ".ready"
_USED = ".used"


def checkout() -> Path:
    """The git checkout this package runs from (refs are resolved there), else the cwd."""
    here = Path(__file__).resolve().parents[2]
    return here if (here / ".git").exists() else Path.cwd()


def _git(*args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(checkout()), *args], capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise ShadowError(f"git {' '.join(args)}: {done.stderr.strip() or done.returncode}")
    return done.stdout.strip()


def resolve(ref: str) -> str:
    """The commit a ref names (a branch, tag, sha or HEAD~N)."""
    return _git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")


def describe_code(ref: str | None) -> dict[str, Any]:
    """Which code a shadow runs: a ref and its commit, or the working tree (and whether it
    differs from its commit)."""
    if ref is not None:
        return {"ref": ref, "commit": resolve(ref), "dirty": False}
    try:
        commit = _git("rev-parse", "HEAD")
        dirty = bool(_git("status", "--porcelain", "--untracked-files=no", "--", "nba_assets"))
    except (ShadowError, OSError):
        commit, dirty = "", True
    return {"ref": "working tree", "commit": commit, "dirty": dirty}


def envs_root() -> Path:
    configured = os.environ.get(ENVS_VARIABLE, "").strip()
    if configured:
        return Path(configured).expanduser().resolve()
    return Path.home() / ".cache" / "nba_assets" / "shadow-envs"


def python_of(commit: str) -> Path:
    return envs_root() / commit / "venv" / "bin" / "python"


def is_built(commit: str) -> bool:
    return (envs_root() / commit / _READY).exists()


def ensure(commit: str) -> Path:
    """The python of `commit`'s environment, built first if it is not cached."""
    if not is_built(commit):
        build(commit)
    (envs_root() / commit / _USED).touch()  # the most recently used are pruned last
    return python_of(commit)


def build(commit: str) -> None:
    """Export `commit`, make a venv, install it with its lock as constraints; then publish."""
    root = envs_root()
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{commit[:12]}-", dir=root))
    try:
        source = work / "src"
        source.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(checkout()), "archive", "--format=tar", commit],
            capture_output=True,
            check=False,
        )
        if archive.returncode:
            raise ShadowError(f"git archive {commit}: {archive.stderr.decode().strip()}")
        with tempfile.TemporaryFile() as tar:
            tar.write(archive.stdout)
            tar.seek(0)
            with tarfile.open(fileobj=tar) as files:
                files.extractall(source, filter="data")
        _run([sys.executable, "-m", "venv", str(work / "venv")], commit)
        lock = (
            ["-c", str(source / "requirements.txt")]
            if (source / "requirements.txt").exists()
            else []
        )
        pip = [str(work / "venv" / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        _run([*pip, *lock, str(source)], commit)
        (work / _READY).write_text(commit + "\n")
        try:
            work.rename(root / commit)
        except OSError:  # another build of the same commit finished first: use that one
            if not is_built(commit):
                raise
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    prune(keep=KEEP)


def _last_used(env: Path) -> float:
    used = env / _USED
    return (used if used.exists() else env / _READY).stat().st_mtime


def prune(keep: int) -> list[str]:
    """Remove all but the `keep` most recently used environments (~0.8 GB each)."""
    built = [p for p in envs_root().iterdir() if (p / _READY).exists()]
    built.sort(key=_last_used, reverse=True)
    for stale in built[keep:]:
        shutil.rmtree(stale, ignore_errors=True)
    return [p.name for p in built[keep:]]


def _run(command: list[str], commit: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise ShadowError(
            f"building the environment of {commit[:12]} failed ({command[2] if len(command) > 2 else command[0]}): "
            + " / ".join(tail)
        )
