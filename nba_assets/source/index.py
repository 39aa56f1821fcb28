"""The raw archive's index, `raw_responses`: which response was published where, or rejected why.

(Interface only; the index table lands with the archive-index work.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def record_published(
    warehouse: str, requests: Sequence[Mapping[str, Any]], table: str, version: int, run_id: str
) -> None:
    """The responses `requests` name were published in `version` of `table` by `run_id`."""


def record_rejected(
    warehouse: str,
    requests: Sequence[Mapping[str, Any]],
    table: str,
    rules: Sequence[str],
    run_id: str,
) -> None:
    """The responses `requests` name were rejected by `rules` in `run_id`: never answer from them."""
