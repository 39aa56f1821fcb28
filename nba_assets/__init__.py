"""nba_assets: a Dagster asset platform for stats.nba.com data."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterable, Sequence

    import pandas as pd

__version__ = "0.1.0"

# dagster-pandas typed frames and single-run backfills are beta APIs we rely on knowingly.
warnings.filterwarnings("ignore", message=r".* is currently in beta")


def read(
    table: str,
    seasons: Iterable[str] | str | None = None,
    columns: Sequence[str] | None = None,
    filters: Any = None,
    version: int | None = None,
    as_of: dt.datetime | str | None = None,
    *,
    warehouse: str | None = None,
) -> pd.DataFrame:
    """One committed version of a warehouse table as pandas (see `nba_assets.query.reader.read`).

    The module is `reader`, not `read`: a submodule named `read` would shadow this function.
    """
    from nba_assets.query.reader import read as _read

    return _read(table, seasons, columns, filters, version, as_of, warehouse=warehouse)
