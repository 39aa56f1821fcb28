"""The docs site builds offline and strictly: a page left out of the nav, a broken link or a
missing file fails the build (and so the tests)."""

import os
import subprocess
import sys
from pathlib import Path

from nba_assets_tests.conftest import REPO

MKDOCS = Path(sys.executable).with_name("mkdocs")


def test_the_docs_site_builds_strictly(tmp_path):
    proc = subprocess.run(
        [str(MKDOCS), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    built = {p.parent.name for p in (tmp_path / "site").rglob("index.html")}
    pages = {p.stem for p in (REPO / "docs").glob("*.md")} - {"index"}
    assert pages <= built  # every page is in the site (omitted_files warns, strict fails)
    assert (tmp_path / "site" / "schema.json").exists()
