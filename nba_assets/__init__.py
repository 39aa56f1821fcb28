"""nba_assets: a Dagster asset platform for stats.nba.com data."""

import warnings

__version__ = "0.1.0"

# dagster-pandas typed frames and single-run backfills are beta APIs we rely on knowingly.
warnings.filterwarnings("ignore", message=r".* is currently in beta")
