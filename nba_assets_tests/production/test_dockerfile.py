"""deploy/Dockerfile without a Docker daemon: what it copies exists, what it runs resolves."""

from __future__ import annotations

import importlib
import json
import re
import shlex
import subprocess
import sys
from importlib.metadata import entry_points

import pytest

from nba_assets_tests.production.conftest import DEPLOY

REPO = DEPLOY.parent
DOCKERFILE = (DEPLOY / "Dockerfile").read_text()


def instructions(name: str) -> list[str]:
    """Arguments of every `name` instruction, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [line.split(None, 1)[1] for line in text.splitlines() if line.startswith(f"{name} ")]


def commands() -> list[list[str]]:
    """CMD plus the role commands documented beside it (webserver, daemon)."""
    documented = re.findall(r"#\s+(?:webserver|daemon):\s+(.+)", DOCKERFILE)
    return [json.loads(instructions("CMD")[0]), *(shlex.split(c) for c in documented)]


def test_every_copied_file_exists_in_the_build_context():
    sources = [s for args in instructions("COPY") for s in shlex.split(args)[:-1]]
    assert sources, "the Dockerfile copies the code location"
    missing = [s for s in sources if not (REPO / s).exists()]
    assert missing == []
    assert "requirements.txt" in sources and "deploy/dagster.yaml" in sources


def test_installs_from_the_lock_the_tests_use():
    [install] = [r for r in instructions("RUN") if "pip install" in r]
    assert "-c requirements.txt" in install


@pytest.mark.parametrize("command", commands(), ids=lambda c: c[0])
def test_entry_points_resolve(command):
    scripts = {ep.name: ep for ep in entry_points(group="console_scripts")}
    assert command[0] in scripts, f"{command[0]} is not installed by the lock"
    assert callable(scripts[command[0]].load())
    if "-m" in command:
        module = importlib.import_module(command[command.index("-m") + 1])
        assert module.defs.resolve_job_def("boxscores_job") is not None
    if "-w" in command:
        assert (REPO / command[command.index("-w") + 1]).exists()


@pytest.mark.slow
def test_the_lock_resolves_for_a_fresh_image(tmp_path):
    """What `pip install -c requirements.txt .` would install on an empty image, pinned exactly."""
    report = tmp_path / "report.json"
    pip = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet"]
    subprocess.run(
        [*pip, "--report", str(report), "-c", "requirements.txt", "."],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    pins = dict(
        line.strip().lower().replace("_", "-").split("==", 1)
        for line in (REPO / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    resolved = {
        item["metadata"]["name"].lower().replace("_", "-"): item["metadata"]["version"]
        for item in json.loads(report.read_text())["install"]
    }
    resolved.pop("nba-assets")
    unpinned = {name: v for name, v in resolved.items() if pins.get(name) != v}
    assert unpinned == {}
    assert {"dagster", "dagster-aws", "dagster-postgres", "psycopg2-binary"} <= set(resolved)
