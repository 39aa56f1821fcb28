"""The browser test fails, not skips, in CI when Chromium is missing."""

from pathlib import Path

import pytest

from nba_assets_tests.ui.test_browser import require_browser

NOWHERE = Path("/nonexistent/chromium")


def test_missing_browser_fails_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="apt-get install -y chromium"):
        require_browser(chromium=NOWHERE)


def test_missing_browser_skips_outside_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        require_browser(chromium=NOWHERE)
