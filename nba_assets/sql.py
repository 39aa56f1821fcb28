"""`nba-assets sql "SELECT ..."`: DuckDB over the same files the read API picks.

Each readable table is a view over Arrow datasets (season files, and daily files newer than
them), so DuckDB never opens S3 itself: no httpfs extension, nothing downloaded at run time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import pyarrow as pa

from nba_assets.io.datasets import dataset
from nba_assets.reader import READABLE, plan_read, warehouse_path


def query(
    sql: str, *, warehouse: str | None = None, storage_options: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """Run `sql` with `team_boxscores` and `player_boxscores` as tables; returns pandas."""
    import duckdb

    root = warehouse_path(warehouse, storage_options)
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    for table, spec in READABLE.items():
        plan = plan_read(root, table)
        parts = []
        if plan.season_files:
            con.register(f"_{table}_seasons", dataset(plan.season_files, spec.arrow_schema()))
            con.register(
                f"_{table}_superseded", pa.table({"d": pa.array(plan.superseded_days, pa.date32())})
            )
            parts.append(
                f"SELECT * FROM _{table}_seasons "
                f"WHERE game_date NOT IN (SELECT d FROM _{table}_superseded)"
            )
        if plan.daily_files:
            con.register(f"_{table}_days", dataset(plan.daily_files, spec.arrow_schema()))
            parts.append(f"SELECT * FROM _{table}_days")
        if not parts:
            con.register(f"_{table}_empty", spec.arrow_schema().empty_table())
            parts.append(f"SELECT * FROM _{table}_empty")
        con.execute(f"CREATE VIEW {table} AS {' UNION ALL '.join(parts)}")
    return con.execute(sql).df()
