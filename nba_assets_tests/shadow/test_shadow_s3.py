"""A shadow on an s3:// warehouse (moto's S3 server): the same commands, the same code path."""

from __future__ import annotations

import json

import dagster as dg

from nba_assets import cli
from nba_assets.assets import boxscores as box_asset
from nba_assets.assets.boxscores import team_boxscores
from nba_assets.io import delta
from nba_assets_tests.conftest import resources
from nba_assets_tests.production.conftest import bucket, moto_server, s3, s3_client

__all__ = ["bucket", "moto_server", "s3"]  # the production fixtures, used here too

START, END = "2024-10-22", "2024-10-23"


def keys(name: str, prefix: str) -> list[str]:
    pages = s3_client().get_paginator("list_objects_v2").paginate(Bucket=name, Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def test_shadow_run_diff_promote_and_discard_on_s3(
    synthetic, bucket, s3, tmp_path, monkeypatch, capsys
):
    warehouse = f"s3://{bucket}/nba"
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    cli.ensure_instance_home()
    tags = {"dagster/asset_partition_range_start": START, "dagster/asset_partition_range_end": END}
    assert dg.materialize(
        [team_boxscores], resources=resources(synthetic, warehouse), tags=tags
    ).success
    synthetic.reset()
    parse_box = box_asset.parse_boxscores

    def abbreviated(spec, body, *args):
        frame = parse_box(spec, body, *args)
        return frame.assign(team_name=frame["team_abbreviation"])

    common = ["--warehouse", warehouse]
    with monkeypatch.context() as patched:  # the fixture's AWS variables stay set
        patched.setattr(box_asset, "parse_boxscores", abbreviated)
        run = ["shadow", "run", "--label", "s3", "--select", "team_boxscores"]
        code = cli.main([*run, "--partition-range", f"{START}...{END}", *common])
    assert code == 0, capsys.readouterr()
    assert synthetic.requests_for() == []
    assert keys(bucket, "nba/_shadow/s3/team_boxscores/_delta_log/")
    capsys.readouterr()
    assert cli.main(["shadow", "diff", "s3", "--json", "--no-record", *common]) == 0
    team = json.loads(capsys.readouterr().out)["tables"]["team_boxscores"]
    assert team["changed"] == team["rows_published"] > 0 and list(team["columns"]) == ["team_name"]
    assert cli.main(["shadow", "promote", "s3", *common]) == 0
    assert delta.open_table(warehouse, "team_boxscores").version() == 1
    assert cli.main(["shadow", "discard", "s3", *common]) == 0
    assert keys(bucket, "nba/_shadow/") == []
    assert keys(bucket, "nba/team_boxscores/_delta_log/")  # the published table stays
