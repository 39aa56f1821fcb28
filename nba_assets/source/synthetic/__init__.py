"""A deterministic synthetic NBA league that answers stats.nba.com and live-feed requests in
the real shapes: the simulation (`league.py`) and the response shaping (`responses.py` for the
stats endpoints, `pbp.py` for play-by-play, `live.py` for the live feed and its clock)."""

from nba_assets.source.synthetic.league import (
    DEFAULT_SEED,
    parse_season_range,
    season_name,
    season_start,
)
from nba_assets.source.synthetic.responses import SyntheticLeague

__all__ = ["DEFAULT_SEED", "SyntheticLeague", "parse_season_range", "season_name", "season_start"]
