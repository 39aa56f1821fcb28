"""nba_assets: a Dagster asset platform for stats.nba.com data."""

import warnings

__version__ = "0.1.0"

# dagster-pandas typed frames and single-run backfills are beta APIs we rely on knowingly.
warnings.filterwarnings("ignore", message=r".* is currently in beta")


def read(table, seasons=None, columns=None, filters=None, **options):
    """Rows of a table from season files and newer daily files (see `nba_assets.reader.read`).

    The module is `reader`, not `read`: a submodule named `read` would shadow this function.
    """
    from nba_assets.reader import read as _read

    return _read(table, seasons, columns, filters, **options)
