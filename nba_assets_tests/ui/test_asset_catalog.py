"""What the UI shows of each asset before any run: description, owner, group, kinds, code, columns."""

from pathlib import Path

import pytest

from nba_assets.definitions import build_definitions
from nba_assets.settings import Settings


@pytest.mark.parametrize(
    ("warehouse", "s3"), [("/tmp/warehouse", False), ("s3://bucket/nba", True)]
)
def test_every_asset_is_described_for_the_ui(warehouse, s3):
    defs = build_definitions(Settings.from_env({"NBA_ASSETS_WAREHOUSE": warehouse}))
    specs = list(defs.resolve_all_asset_specs())
    assert len(specs) >= 4
    for spec in specs:
        name = spec.key.to_user_string()
        assert spec.description and spec.owners and spec.group_name, name
        (reference,) = spec.metadata["dagster/code_references"].code_references
        source = Path(reference.file_path).read_text().splitlines()
        # the reference is the decorator or def of the function that builds the asset
        nearby = source[reference.line_number - 1 : reference.line_number + 40]
        assert any(line.lstrip().startswith("def ") for line in nearby), name
        if name == "training_snapshot":  # files in the DVC workspace, not a warehouse table
            assert "dvc" in spec.kinds and "s3" not in spec.kinds, spec.kinds
            continue
        assert "deltalake" in spec.kinds and ("s3" in spec.kinds) == s3, (name, spec.kinds)
        assert spec.metadata["dagster/column_schema"].columns, name
