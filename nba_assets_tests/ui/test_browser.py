"""The UI in a real headless Chromium (Debian's package, driven by Selenium): what a user sees."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nba_assets.partitions import game_date_partitions
from nba_assets_tests.conftest import REPO
from nba_assets_tests.ui.conftest import RECORDED_END, RECORDED_START, days, running_ui
from nba_assets_tests.ui.dagster_ui import BIN, DagsterUI, clean_environ

pytestmark = pytest.mark.slow
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
#: Screenshots a reviewer can open after the run (git-ignored).
ARTIFACTS = REPO / "artifacts" / "ui"
WAIT_SECONDS = 90
PARTITION_KEYS = """
{ assetNodeOrError(assetKey: {path: ["team_boxscores"]}) { ... on AssetNode { partitionKeys } } }
"""
DEMO_RUNS = """
{ runsOrError { ... on Runs { results { runId jobName status
  repositoryOrigin { repositoryLocationName repositoryName } } } } }
"""


def require_browser(chromium: Path = CHROMIUM, chromedriver: Path = CHROMEDRIVER) -> None:
    """Skip without Debian's Chromium, except in CI, which installs it (.ci/run): there its
    absence is a broken CI and fails the test."""
    missing = [str(p) for p in (chromium, chromedriver) if not p.exists()]
    if missing:
        message = f"{', '.join(missing)} missing: apt-get install -y chromium chromium-driver"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    options.add_argument("--window-size=1600,1000")
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def page_text(driver) -> str:
    return driver.find_element("tag name", "body").text


def wait_for(driver, texts: list[str], screenshot: str) -> str:
    """Wait until every text is on the page; save a screenshot either way (what the user saw)."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / screenshot
    try:
        WebDriverWait(driver, WAIT_SECONDS, poll_frequency=1).until(
            lambda d: no_dialog(d) and all(t in page_text(d) for t in texts)
        )
    except TimeoutException:
        driver.save_screenshot(str(path))
        raise AssertionError(
            f"{driver.current_url} never showed {texts} (screenshot {path}):\n{page_text(driver)[:3000]}"
        ) from None
    driver.save_screenshot(str(path))
    print(f"screenshot: {path}")
    return page_text(driver)


def click(driver, xpath: str) -> None:
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, WAIT_SECONDS).until(ec.element_to_be_clickable(("xpath", xpath))).click()


def find_partition(driver, key: str) -> None:
    """Type a key into the partition list's filter box, as a user finds one day of thousands."""
    box = "//input[@placeholder='Filter by name…']"
    click(driver, box)
    driver.find_element("xpath", box).send_keys(key)


SKIP_BUTTON = "//button[normalize-space()='Skip']"


@pytest.fixture(scope="module")
def ui_browser(browser, recorded_ui: DagsterUI, recorded_backfill):
    """The browser on its first visit: the local instance turns Dagster's community pop-up off
    (`nux: enabled: false`), so nothing covers the page."""
    assert recorded_ui.graphql("{ shouldShowNux }") == {"shouldShowNux": False}
    browser.get(f"{recorded_ui.url}/overview")
    wait_for(browser, ["Overview"], "first_open.png")
    time.sleep(2)  # the dialog, where enabled, opens once the page has loaded
    assert no_dialog(browser), "the community pop-up covers the UI"
    return browser


def no_dialog(driver) -> bool:
    return not driver.find_elements("xpath", SKIP_BUTTON)


@pytest.mark.parametrize(
    ("group", "assets"),
    [("boxscores", ["team_boxscores", "player_boxscores"]), ("reference", ["teams", "players"])],
)
def test_asset_graph_shows_our_assets(ui_browser, recorded_ui: DagsterUI, group, assets):
    browser = ui_browser
    browser.get(f"{recorded_ui.url}/locations/nba_assets/asset-groups/{group}")
    wait_for(
        browser,
        [group, "Asset Group in", "nba_assets", *assets, "Delta Lake"],
        f"graph_{group}.png",
    )


def test_partitions_page_shows_the_backfilled_range(ui_browser, recorded_ui: DagsterUI):
    """Only the materialized partitions listed: exactly the backfilled range, newest first."""
    browser = ui_browser
    browser.get(f"{recorded_ui.url}/assets/team_boxscores?view=partitions")
    materialized = f"Materialized ({len(days(RECORDED_START, RECORDED_END))})"
    wait_for(browser, ["Partitions", materialized, "Missing ("], "partitions_all.png")
    click(browser, "//label[starts-with(normalize-space(), 'Missing')]")
    find_partition(browser, RECORDED_END)  # the list runs in date order, from the oldest
    click(browser, f"//*[normalize-space(text())='{RECORDED_END}']")
    text = wait_for(
        browser,
        [
            f"{len(days(RECORDED_START, RECORDED_END))} Partitions Selected",
            "Latest materialization",
            "dagster/row_count",
            "requests",
        ],
        "partitions_materialized.png",
    )
    # the day's own facts: the one request of the backfill's run, whose window covers the day
    assert f'"covers": [ "{RECORDED_START}", "{RECORDED_END}" ]' in " ".join(text.split())


def test_a_backfilled_season_reads_fully_materialized(
    browser, synthetic_ui: DagsterUI, season_backfill: dict
):
    """A season backfilled whole shows every one of its partitions materialized, and the
    page counts exactly the definition's partitions: days that can hold games, no others."""
    assert season_backfill["status"] == "COMPLETED_SUCCESS", season_backfill
    season = season_backfill["keys"]
    every_key = game_date_partitions.get_partition_keys()
    served = synthetic_ui.graphql(PARTITION_KEYS)["assetNodeOrError"]["partitionKeys"]
    assert served == list(every_key)
    assert "2024-07-15" not in served and "2020-11-15" not in served  # off-season days
    assert {"2024-06-30", "2024-10-01", "2020-09-15"} <= set(served)  # window edges, bubble
    browser.get(f"{synthetic_ui.url}/assets/team_boxscores?view=partitions")
    wait_for(
        browser,
        [
            f"{len(every_key):,} Partitions Selected",
            f"Materialized ({len(season)})",
            f"Missing ({len(every_key) - len(season)})",
        ],
        "season_partitions.png",
    )
    click(browser, "//label[starts-with(normalize-space(), 'Missing')]")  # materialized only
    wait_for(browser, [season[0]], "season_materialized.png")  # in date order
    find_partition(browser, season[-1])
    wait_for(browser, [season[-1]], "season_last_day.png")


@pytest.fixture(scope="module")
def demo_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterUI]:
    """`nba-assets demo` run first, then the webserver and daemon over its instance."""
    root = tmp_path_factory.mktemp("demo_ui")
    env = {
        **clean_environ(),
        "DAGSTER_HOME": str(root / "home"),
        "NBA_ASSETS_WAREHOUSE": str(root / "warehouse"),
    }
    done = subprocess.run(
        [str(BIN / "nba-assets"), "demo"], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    yield from running_ui(root, None)


def test_the_demo_s_runs_show_under_their_code_location(browser, demo_ui: DagsterUI):
    """The demo runs in process, yet its runs are the code location's runs: listed by
    location on the Runs page and as rows of the Timeline, as launched ones are."""
    runs = demo_ui.graphql(DEMO_RUNS)["runsOrError"]["results"]  # the daemon's sensors add some
    from nba_assets.definitions import defs

    schedule = defs.resolve_schedule_def("daily_schedule_refresh").job_name
    demo = [r for r in runs if r["jobName"] in {"reference_job", "boxscores_job", schedule}]
    assert len(demo) == 3 and all(r["status"] == "SUCCESS" for r in demo), runs
    origins = {(r["repositoryOrigin"] or {}).get("repositoryLocationName") for r in runs}
    assert origins == {"nba_assets"}, runs
    browser.get(f"{demo_ui.url}/overview/activity/timeline")
    wait_for(browser, ["Timeline", "nba_assets", "boxscores_job", "reference_job"], "timeline.png")
