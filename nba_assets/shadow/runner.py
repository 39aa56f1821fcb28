"""The shadow derivation: the real assets run through Dagster into a shadow warehouse, 0 requests.

This module runs with whichever `nba_assets` the interpreter has: the checkout's own (imported),
or a git ref's, built into its own environment (run there as a script, `python -I runner.py
SPEC OUT`). So it imports only what every revision since the Delta warehouse has (the
definitions, the stats client, the raw archive) and nothing else of `nba_assets.shadow`.

The assets are the code location's own, materialized in one ranged run on an ephemeral instance
(the shadow never appears as a materialization of the published assets), with two resources:
the IO manager over the shadow warehouse, and a stats client whose every answer comes from the
published warehouse's raw archive. A request the archive cannot answer is an error naming it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import dagster as dg

from nba_assets.io.manager import DeltaIOManager
from nba_assets.io.storage import as_upath, write_atomic
from nba_assets.source.archive import RawArchive
from nba_assets.source.client import Fetched, NbaStatsClient
from nba_assets.source.settled import endpoint_params, from_archive

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


class ShadowRequestError(RuntimeError):
    """A shadow run needed a response the archive does not hold: it never asks the API."""


class ArchiveOnlyClient(NbaStatsClient):
    """The stats client answering every request from `archive_warehouse`'s raw archive.

    Only responses whose verdict in the archive's index is `published` answer (as for settled
    windows). The file of each one used is copied into the shadow warehouse's own archive (the
    shadow's index names it there). Nothing is ever sent: a miss raises `ShadowRequestError`.
    """

    archive_warehouse: str = ""

    @property
    def archive(self) -> RawArchive:
        if self._archive is None:
            self._archive = RawArchive(
                as_upath(self.archive_warehouse) / "raw", self.archive_warehouse
            )
        return self._archive

    def fetch(self, endpoint_cls: type, *, required: Any, **kwargs: Any) -> Fetched:
        answer = from_archive(self.archive, endpoint_cls, required=required, **kwargs)
        if answer is None:
            params = endpoint_params(endpoint_cls, **kwargs)
            raise ShadowRequestError(
                f"shadow runs send no requests: {endpoint_cls.endpoint} {json.dumps(params)} "
                f"has no published response in the archive of {self.archive_warehouse}"
            )
        # the very file (the wider request's, for a window cut from it), byte for byte
        relative = "raw/" + str(answer.archive_path).rsplit("/raw/", 1)[-1]
        copy = as_upath(self.warehouse) / relative
        if not copy.exists():
            write_atomic(copy, as_upath(str(answer.archive_path)).read_bytes())
        return answer

    def _attempt(self, name: str, raw_params: Any, params: dict[str, str], *args: Any) -> Fetched:
        raise ShadowRequestError(
            f"shadow runs send no requests: {name} {json.dumps(params)} would have been asked"
        )


def _asset_defs() -> dict[dg.AssetKey, dg.AssetsDefinition]:
    from nba_assets.definitions import defs

    found: dict[dg.AssetKey, dg.AssetsDefinition] = {}
    for assets_def in defs.assets or []:
        if isinstance(assets_def, dg.AssetsDefinition):
            found.update(dict.fromkeys(assets_def.keys, assets_def))
    return found


def derive(spec: dict[str, Any]) -> dict[str, Any]:
    """Materialize `spec["select"]` for `spec["start"]...spec["end"]` into the shadow warehouse.

    Returns, per asset: whether it was published into the shadow, its `delta_version` there,
    its audit's verdicts, and the failure's message if any.
    """
    by_key = _asset_defs()
    selected = [dg.AssetKey(name) for name in spec["select"]]
    unknown = [k.to_user_string() for k in selected if k not in by_key]
    if unknown:
        raise ShadowRequestError(f"no asset {', '.join(unknown)} in this revision")
    chosen = {id(by_key[k]): by_key[k] for k in selected}
    upstream = {
        dep for a in chosen.values() for dep in a.dependency_keys if dep not in a.keys
    } - set(selected)
    sources = [by_key[k].to_source_asset(k) for k in sorted(upstream) if k in by_key]
    resources = {
        "nba": ArchiveOnlyClient(
            warehouse=spec["shadow"],
            archive_warehouse=spec["warehouse"],
            min_request_interval=0.0,
            max_attempts=1,
        ),
        "io_manager": DeltaIOManager(warehouse=spec["shadow"]),
    }
    quiet = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
    result = dg.materialize(
        [*chosen.values(), *sources],
        selection=selected,
        resources=resources,
        tags={RANGE_START_TAG: spec["start"], RANGE_END_TAG: spec["end"]},
        run_config=quiet,
        raise_on_error=False,
    )
    return {"success": result.success, "assets": _outcomes(result, selected)}


def _outcomes(result: dg.ExecuteInProcessResult, selected: list[dg.AssetKey]) -> dict[str, dict]:
    outcomes: dict[str, dict] = {
        k.to_user_string(): {"published": False, "audit": [], "error": ""} for k in selected
    }
    for event in result.get_asset_materialization_events():
        meta = {k: getattr(v, "value", v) for k, v in event.materialization.metadata.items()}
        if "delta_version" in meta:
            outcome = outcomes[event.asset_key.to_user_string()]
            outcome.update(published=True, delta_version=meta["delta_version"])
            outcome["commit"] = meta.get("commit", "")
    for check in result.get_asset_check_evaluations():
        outcomes[check.asset_key.to_user_string()]["audit"].append(
            {
                "check": check.check_name,
                "passed": check.passed,
                "severity": check.severity.value,
                "description": check.description or "",
            }
        )
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            message = event.step_failure_data.error.message.strip()
            cause = event.step_failure_data.error.cause
            while cause is not None:  # the user code's own error, not Dagster's wrapper
                message = cause.message.strip()
                cause = cause.cause
            name = event.step_key.split(".")[0]
            if name in outcomes and not outcomes[name]["error"]:
                outcomes[name]["error"] = message
    return outcomes


def main(argv: list[str]) -> int:
    """`runner.py SPEC.json OUT.json`: derive as SPEC says, write the outcome to OUT."""
    spec = json.loads(Path(argv[0]).read_text())
    try:
        outcome = derive(spec)
    except Exception as exc:  # reported to the caller in the outcome, one line
        outcome = {"success": False, "assets": {}, "error": f"{type(exc).__name__}: {exc}"}
    Path(argv[1]).write_text(json.dumps(outcome, default=str))
    return 0 if outcome["success"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
