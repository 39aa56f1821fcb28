"""nba_assets: a Dagster asset platform for stats.nba.com data."""

__version__ = "0.1.0"
