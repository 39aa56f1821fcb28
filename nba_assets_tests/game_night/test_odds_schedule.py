"""The odds cadence: hourly on a game day, every 10 minutes in the 2 hours before a tip-off."""

import dagster as dg

from nba_assets.assets.game_night import closing_lines_asset, odds_snapshots
from nba_assets.assets.game_night_sensor import build_odds_schedule, odds_due, scheduled_tips
from nba_assets_tests.game_night.conftest import NIGHT, at


def test_odds_due_hourly_then_every_ten_minutes():
    tips = {"a": at(19, 0), "b": at(22, 0)}
    assert odds_due(at(9, 0), tips) == "game day: hourly"
    assert odds_due(at(9, 10), tips) is None
    assert odds_due(at(17, 10), tips) is not None  # within 2 h of the 19:00 tip
    assert odds_due(at(19, 30), tips) is None  # between: hourly again
    assert odds_due(at(20, 0), tips) is not None  # 2 h before the 22:00 tip
    assert odds_due(at(22, 10), tips) is None  # every game has tipped


def test_the_schedule_asks_for_a_capture_from_the_published_schedule(night):
    night.publish_schedule()
    tips = scheduled_tips(str(night.warehouse), NIGHT, NIGHT)[NIGHT]
    assert sorted(t.strftime("%H:%M") for t in tips.values()) == ["00:00", "01:00", "03:00"]
    resources = {"nba_live": night.live()}
    for moment, due in ((at(17, 20), True), (at(15, 30), False), (at(23, 0), False)):
        schedule = build_odds_schedule(clock=lambda moment=moment: moment)
        definitions = dg.Definitions(
            assets=[odds_snapshots, closing_lines_asset],
            schedules=[schedule],
            resources=night.resources(),
        )
        with dg.build_schedule_context(
            resources=resources, repository_def=definitions.get_repository_def()
        ) as context:
            data = schedule.evaluate_tick(context)
        assert bool(data.run_requests) == due, data.skip_message
        for request in data.run_requests or []:
            assert request.partition_key == NIGHT.isoformat()
    assert night.requests() and all(r["endpoint"] == "scheduleleaguev2" for r in night.requests())
