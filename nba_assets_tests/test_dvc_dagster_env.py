"""The README's environment runs both Dagster and DVC, despite their antlr4 pins.

Dagster 1.13's asset-selection parser needs antlr4-python3-runtime 4.13 (with 4.9 the CLI dies
with ``TypeError: ord() expected string of length 1, but int found``, dagster-io/dagster#27487);
DVC (through hydra-core/omegaconf) pins 4.9, and ``dvc exp run -S`` fails under 4.13 ("Could not
deserialize ATN with version 3"). ``make setup`` therefore puts DVC in its own venv
(``.venv/dvc-env``) behind the shim ``.venv/bin/dvc``. These tests drive the real executables in
``<repo>/.venv/bin`` as subprocesses, exactly as a user following the README would.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

import nba_assets

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
BIN = REPO / ".venv" / "bin"
RECORDINGS = REPO.parent / "shared" / "fixtures" / "stats_nba"
TIMEOUT = 300


def _exe(name: str) -> Path:
    """An executable of the README's environment; a missing one (or the dvc shim) fails the test."""
    for path in (BIN / "dvc", BIN / name):
        if not (path.is_file() and os.access(path, os.X_OK)):
            pytest.fail(f"{path} is missing: run `make setup` in {REPO} to build the environment")
    return BIN / name


def _run(
    args: Sequence[str | Path],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    cmd = [str(a) for a in args]
    try:
        proc = subprocess.run(
            cmd,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(
            f"timed out after {TIMEOUT}s: {cmd}\nstdout:\n{exc.stdout}\nstderr:\n{exc.stderr}"
        )
    if check:
        assert proc.returncode == 0, _describe(proc)
    return proc


def _describe(proc: subprocess.CompletedProcess[str]) -> str:
    return (
        f"command {proc.args} exited {proc.returncode}\n"
        f"--- stdout ---\n{proc.stdout[-8000:]}\n--- stderr ---\n{proc.stderr[-8000:]}"
    )


def test_project_env_has_antlr_413_and_no_dvc(tmp_path: Path) -> None:
    python = _exe("python")
    version = _run(
        [
            python,
            "-c",
            "import antlr4, importlib.metadata as m; print(m.version('antlr4-python3-runtime'))",
        ],
        cwd=tmp_path,
    ).stdout.strip()
    assert version.startswith("4.13."), f"project env has antlr4-python3-runtime {version}"

    proc = _run([python, "-c", "import dvc"], cwd=tmp_path, check=False)
    assert proc.returncode != 0, "dvc is importable from the project env; it must live in dvc-env"
    assert "ModuleNotFoundError" in proc.stderr, _describe(proc)


@pytest.mark.parametrize("select", ["teams", "group:reference and key:teams"])
def test_dagster_materialize_with_asset_selection(tmp_path: Path, select: str) -> None:
    dagster = _exe("dagster")
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    warehouse = tmp_path / "warehouse"
    env = {
        "DAGSTER_HOME": str(home),
        "NBA_ASSETS_SOURCE": "replay",
        "NBA_ASSETS_RECORDINGS": str(RECORDINGS),
        "NBA_ASSETS_WAREHOUSE": str(warehouse),
        "NBA_ASSETS_MIN_REQUEST_INTERVAL": "0",
    }
    args = [dagster, "asset", "materialize", "-m", "nba_assets.definitions", "--select", select]
    proc = _run(args, cwd=tmp_path, env=env)
    log = proc.stdout + proc.stderr
    assert len(nba_assets.read("teams", warehouse=str(warehouse))) >= 30, _describe(proc)
    assert 'Started execution of step "teams"' in log, _describe(proc)
    # The selection picked exactly `teams`, not the rest of its group.
    assert 'Started execution of step "players"' not in log, _describe(proc)


def test_dvc_repro_and_exp_run_through_shim(tmp_path: Path) -> None:
    dvc = _exe("dvc")
    python = _exe("python")
    repo = tmp_path / "scratch"
    repo.mkdir()
    env = {"DVC_NO_ANALYTICS": "1", "GIT_TERMINAL_PROMPT": "0"}

    def sh(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return _run(args, cwd=repo, env=env)

    sh("git", "init", "-q")
    sh("git", "config", "user.name", "nba_assets tests")
    sh("git", "config", "user.email", "tests@nba-assets.invalid")
    sh("git", "config", "commit.gpgsign", "false")
    sh(dvc, "init", "-q")
    sh(dvc, "config", "core.analytics", "false")
    sh(dvc, "config", "core.check_update", "false")

    (repo / "params.yaml").write_text("n: 3\n")
    (repo / "write_n.py").write_text(
        "from pathlib import Path\n"
        "\n"
        "for line in Path('params.yaml').read_text().splitlines():\n"
        "    key, _, value = line.partition(':')\n"
        "    if key.strip() == 'n':\n"
        "        Path('out.txt').write_text(str(int(value)) + '\\n')\n"
    )
    # The stage runs the PROJECT's interpreter, as the real pipeline's stages do.
    (repo / "dvc.yaml").write_text(
        "stages:\n"
        "  write_n:\n"
        f"    cmd: {json.dumps(shlex.join([str(python), 'write_n.py']))}\n"
        "    deps: [write_n.py]\n"
        "    params: [n]\n"
        "    outs: [out.txt]\n"
    )

    sh(dvc, "repro")
    assert (repo / "out.txt").read_text().strip() == "3"
    sh("git", "add", "-A")
    sh("git", "commit", "-q", "-m", "stage")

    sh(dvc, "exp", "run", "-S", "n=5")
    assert (repo / "out.txt").read_text().strip() == "5"
    assert "n: 5" in (repo / "params.yaml").read_text()
