"""dvc.lock is current with the code its stages depend on: a stage's code changed without a
regenerated lock would make `dvc repro` rerun it in every clone (and `dvc status` dirty)."""

import hashlib

import yaml

from nba_assets_tests.conftest import REPO


def test_every_code_dependency_in_dvc_lock_matches_the_checkout():
    lock = yaml.safe_load((REPO / "dvc.lock").read_text())
    stale = [
        f"{stage}: {dep['path']}"
        for stage, entry in lock["stages"].items()
        for dep in entry.get("deps", [])
        if dep["path"].endswith(".py")
        and hashlib.md5((REPO / dep["path"]).read_bytes()).hexdigest() != dep["md5"]
    ]
    assert not stale, (
        f"dvc.lock is stale for {stale}: in a fresh clone run `make demo && .venv/bin/dvc "
        "repro` and commit its dvc.lock (docs/modelers.md, 'Same bytes everywhere')"
    )
