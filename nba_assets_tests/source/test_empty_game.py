"""An empty play-by-play answer is rejected before it is archived, and asked again."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest
from nba_api.stats.endpoints import PlayByPlayV3

from nba_assets.source.errors import MalformedResponseError, RetriesExhaustedError
from nba_assets.source.recordings import Reply
from nba_assets.source.replay import ReplayServer, SyntheticBackend
from nba_assets.source.validation import validate_body
from nba_assets_tests.conftest import SYNTHETIC_SEASONS, make_client

REQUIRED = {"game": ["gameId", "actions"]}
GAME = "0022400061"


class EmptyFirst:
    """The synthetic league, but the first `times` play-by-play answers have no actions."""

    def __init__(self, times: int) -> None:
        self.inner, self.times = SyntheticBackend(seed=7, seasons=SYNTHETIC_SEASONS), times

    def respond(self, endpoint: str, params: Mapping[str, str]) -> Reply:
        reply = self.inner.respond(endpoint, params)
        if endpoint != "playbyplayv3" or self.times <= 0:
            return reply
        self.times -= 1
        body = json.loads(reply.text)
        body["game"]["actions"] = []
        return Reply(reply.status, reply.content_type, json.dumps(body))


def test_empty_actions_are_malformed():
    with pytest.raises(MalformedResponseError, match="empty actions"):
        validate_body(
            json.dumps({"meta": {}, "game": {"gameId": GAME, "actions": []}}),
            endpoint="playbyplayv3",
            params={"GameID": GAME},
            required=REQUIRED,
        )


@pytest.mark.parametrize("times", [1, 9])
def test_an_empty_game_is_never_archived_and_is_asked_again(warehouse, times):
    server = ReplayServer(EmptyFirst(times)).start()
    try:
        client = make_client(server, warehouse, max_attempts=2)

        def fetch():
            return client.fetch(
                PlayByPlayV3, required=REQUIRED, game_id=GAME, start_period=0, end_period=0
            )

        if times == 1:  # the retry asks again and gets the game
            fetched = fetch()
            assert fetched.attempts == 2 and fetched.body["game"]["actions"]
            assert len(list((warehouse / "raw").rglob("*.json"))) == 1
        else:  # never a good answer: nothing archived for a later run to replay
            with pytest.raises(RetriesExhaustedError, match="empty actions"):
                fetch()
            raw = warehouse / "raw"
            assert not raw.exists() or not list(raw.rglob("*.json"))
    finally:
        server.stop()
