"""Player names as play-by-play text writes them, comparable with the feed's own name fields."""

from __future__ import annotations

import functools
import unicodedata


@functools.lru_cache(maxsize=65536)
def plain_name(name: object) -> object:
    """A name without accents: the text writes "Vucevic" where playerName is "Vučević"."""
    if not isinstance(name, str):
        return name
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
