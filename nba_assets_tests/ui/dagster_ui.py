"""`dagster-webserver` and `dagster-daemon` as real processes, and the GraphQL calls the UI makes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from nba_assets.cli import LOCAL_INSTANCE_YAML
from nba_assets_tests.conftest import REPO

BIN = Path(sys.executable).parent
STARTUP_SECONDS = 240

#: What the UI's "Materialize" dialog sends for a partition backfill of assets
#: (dagster-ui `LAUNCH_PARTITION_BACKFILL_MUTATION`, trimmed to the answers we read).
LAUNCH_PARTITION_BACKFILL = """
mutation LaunchPartitionBackfill($backfillParams: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $backfillParams) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PartitionSetNotFoundError { message }
    ... on PartitionKeysNotFoundError { message }
    ... on UnauthorizedError { message }
    ... on PythonError { message stack }
  }
}
"""
BACKFILL_STATUS = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill {
      status
      numPartitions
      runs { runId status tags { key value } }
      error { message }
    }
    ... on PythonError { message }
  }
}
"""
LOCATIONS = """
{ workspaceOrError { ... on Workspace { locationEntries {
    name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""
MATERIALIZED_RANGES = """
query Ranges($key: AssetKeyInput!) {
  assetNodeOrError(assetKey: $key) {
    ... on AssetNode { partitionKeys assetPartitionStatuses {
      ... on TimePartitionStatuses { ranges { startKey endKey status } }
      ... on DefaultPartitionStatuses { materializedPartitions } } }
  }
}
"""
FINISHED = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_environ() -> dict[str, str]:
    """This process's environment without our settings: the caller states its own."""
    prefixes = ("NBA_ASSETS_", "NBA_STATS_", "DAGSTER_HOME")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


@dataclass
class DagsterUI:
    """A webserver and a daemon over one temporary instance and warehouse, as `dagster dev` runs."""

    root: Path
    settings: dict[str, str]
    port: int = field(default_factory=free_port)
    procs: list[subprocess.Popen] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse"

    def start(self) -> DagsterUI:
        home = self.root / "home"  # may hold runs already (the demo's), then keeps its config
        home.mkdir(parents=True, exist_ok=True)
        if not (home / "dagster.yaml").exists():
            (home / "dagster.yaml").write_text(LOCAL_INSTANCE_YAML)
        env = {
            **clean_environ(),
            "DAGSTER_HOME": str(home),
            "NBA_ASSETS_WAREHOUSE": str(self.warehouse),
            "NBA_ASSETS_MIN_REQUEST_INTERVAL": "0",
            **self.settings,
        }
        # the instance's SQLite schema is created once, before two processes race to create it
        subprocess.run(
            [str(BIN / "python"), "-c", "import dagster as dg; dg.DagsterInstance.get()"],
            env=env,
            check=True,
            timeout=120,
        )
        workspace = ["-w", str(REPO / "workspace.yaml")]
        web = [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(self.port)]
        self._spawn([*web, *workspace], env, "webserver")
        self._spawn([str(BIN / "dagster-daemon"), "run", *workspace], env, "daemon")
        self._wait_until_loaded()
        return self

    def _spawn(self, args: list[str], env: dict[str, str], name: str) -> None:
        log = (self.root / f"{name}.log").open("wb")
        self.procs.append(
            subprocess.Popen(
                args,
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

    def stop(self) -> None:
        """SIGTERM each process group (code servers and run workers included), then SIGKILL."""
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
        self.procs.clear()

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}"
            for p in sorted(self.root.glob("*.log"))
        )

    def graphql(self, query: str, **variables) -> dict:
        reply = requests.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables}, timeout=60
        )
        reply.raise_for_status()
        body = reply.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def _wait_until_loaded(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            dead = [p.args[0] for p in self.procs if p.poll() is not None]
            assert not dead, f"{dead} exited early:\n{self.logs()}"
            try:
                entries = self.graphql(LOCATIONS)["workspaceOrError"]["locationEntries"]
            except requests.RequestException:
                entries = []
            if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                errors = [
                    e
                    for e in entries
                    if e["locationOrLoadError"]["__typename"] != "RepositoryLocation"
                ]
                assert not errors, errors
                return
            time.sleep(1)
        raise AssertionError(f"the webserver did not load the code location:\n{self.logs()}")

    def launch_backfill(self, assets: list[str], partitions: list[str]) -> str:
        """The mutation the Materialize dialog sends for assets (not a named job) and chosen keys."""
        params = {
            "tags": [],
            "assetSelection": [{"path": [asset]} for asset in assets],
            "partitionNames": partitions,
            "fromFailure": False,
        }
        answer = self.graphql(LAUNCH_PARTITION_BACKFILL, backfillParams=params)
        launched = answer["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        return launched["backfillId"]

    def wait_for_backfill(self, backfill_id: str, timeout: float = 420) -> dict:
        """Poll as the backfills page does until the daemon has finished the backfill."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            backfill = self.graphql(BACKFILL_STATUS, id=backfill_id)["partitionBackfillOrError"]
            assert backfill["__typename"] == "PartitionBackfill", backfill
            runs_done = all(
                r["status"] in {"SUCCESS", "FAILURE", "CANCELED"} for r in backfill["runs"]
            )
            if backfill["status"] in FINISHED and runs_done:
                return backfill
            time.sleep(2)
        raise AssertionError(f"backfill {backfill_id} did not finish:\n{self.logs()}")

    def materialized_ranges(self, asset: str) -> list[tuple[str, str]]:
        """Runs of materialized partitions, first and last key of each, in key order."""
        node = self.graphql(MATERIALIZED_RANGES, key={"path": [asset]})["assetNodeOrError"]
        statuses = node["assetPartitionStatuses"]
        if "ranges" in statuses:
            ranges = statuses["ranges"]
            return [(r["startKey"], r["endKey"]) for r in ranges if r["status"] == "MATERIALIZED"]
        done, runs = set(statuses["materializedPartitions"]), []
        for index, key in enumerate(node["partitionKeys"]):
            if key not in done:
                continue
            if runs and runs[-1][2] == index - 1:
                runs[-1] = (runs[-1][0], key, index)
            else:
                runs.append((key, key, index))
        return [(first, last) for first, last, _ in runs]
