"""deploy/iam/warehouse-runs.json, the run task's policy, enforced by moto's IAM.

moto (server mode, `/moto-api/reset-auth`) checks each S3 request's signature and whether the
caller's policies allow its action on its resource. It does not know the `s3:prefix`
condition key, so a conditioned statement never matches there: the test drops conditions,
proving the actions and resources, and docs/production.md reasons about the condition.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import dagster as dg
import pytest
import requests
from botocore.exceptions import ClientError

from nba_assets.assets.reference import teams
from nba_assets.io.storage import WarehouseUnavailableError, check_warehouse
from nba_assets_tests.conftest import REPO, published, resources
from nba_assets_tests.moto_process import CREDENTIALS, moto_server

POLICY = REPO / "deploy" / "iam" / "warehouse-runs.json"
PLACES = {"WAREHOUSE_BUCKET": "nba-data", "WAREHOUSE_PREFIX": "warehouse", "LOGS_BUCKET": "logs"}


def rendered(path: Path) -> dict:
    """The policy with this test's bucket names, as an operator fills it in."""
    text = path.read_text()
    for placeholder, value in PLACES.items():
        text = text.replace(placeholder, value)
    return json.loads(text)


def without_conditions(policy: dict) -> dict:
    return {
        **policy,
        "Statement": [
            {k: v for k, v in statement.items() if k != "Condition"}
            for statement in policy["Statement"]
        ],
    }


def client(service: str, endpoint: str, key: str, secret: str):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
    )


def test_the_policy_names_only_the_warehouse_prefix_and_the_compute_logs():
    policy = rendered(POLICY)
    resources_named = {s["Resource"] for s in policy["Statement"]}
    assert resources_named == {
        "arn:aws:s3:::nba-data",
        "arn:aws:s3:::nba-data/warehouse/*",
        "arn:aws:s3:::logs",
        "arn:aws:s3:::logs/dagster-compute-logs/*",
    }
    for statement in policy["Statement"]:
        if statement["Action"] == "s3:ListBucket":  # listing only under the prefix
            assert list(statement["Condition"]["StringLike"]) == ["s3:prefix"]


def test_a_run_with_the_policy_publishes_and_can_touch_nothing_else(replay, monkeypatch):
    bucket, prefix = PLACES["WAREHOUSE_BUCKET"], PLACES["WAREHOUSE_PREFIX"]
    with moto_server() as endpoint:
        admin = {k: CREDENTIALS[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
        s3_admin = client("s3", endpoint, *admin.values())
        for name in (bucket, "other-bucket"):
            s3_admin.create_bucket(Bucket=name)
        iam = client("iam", endpoint, *admin.values())
        iam.create_user(UserName="nba-runs")
        policy = json.dumps(without_conditions(rendered(POLICY)))
        iam.put_user_policy(UserName="nba-runs", PolicyName="runs", PolicyDocument=policy)
        key = iam.create_access_key(UserName="nba-runs")["AccessKey"]
        # from here on every request is authenticated and authorized
        requests.post(f"{endpoint}/moto-api/reset-auth", data=b"0", timeout=10).raise_for_status()
        for name, value in {
            **CREDENTIALS,
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
        }.items():
            monkeypatch.setenv(name, value)

        warehouse = f"s3://{bucket}/{prefix}"
        check_warehouse(warehouse)
        result = dg.materialize([teams], resources=resources(replay, warehouse))
        assert result.success
        assert len(published(warehouse, "teams")) > 0
        s3_runs = client("s3", endpoint, key["AccessKeyId"], key["SecretAccessKey"])
        raw = s3_runs.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/raw/")
        assert raw["KeyCount"] > 0  # the exact response archived under the prefix

        with pytest.raises(WarehouseUnavailableError, match="refused access"):
            check_warehouse(f"s3://other-bucket/{prefix}")
        with pytest.raises(ClientError, match="AccessDenied"):
            s3_runs.put_object(Bucket=bucket, Key="elsewhere/x", Body=b"x")
        with pytest.raises(ClientError, match="AccessDenied"):
            s3_runs.delete_bucket(Bucket=bucket)
        # the administrator's keys are refused too: nothing here runs unauthenticated
        with pytest.raises(ClientError):
            client("s3", endpoint, "AKIAUNKNOWN000000000", "x").list_buckets()
