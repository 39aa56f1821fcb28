"""The season layer on real files: season = its days, deterministic, stale when a day changes."""

import datetime as dt

import dagster as dg
import pandas as pd
import pytest
from upath import UPath

import nba_assets
from nba_assets.assets.boxscores import player_boxscores, team_boxscores
from nba_assets.assets.seasons import player_boxscores_by_season, team_boxscores_by_season
from nba_assets.io.parquet import PROVENANCE_ATTR, ParquetIOManager, read_frame, read_provenance
from nba_assets.parsing import parse_boxscores
from nba_assets.partitions import (
    BOXSCORE_SEASON_TYPES,
    game_date_partitions,
    season_days,
    season_partition_mapping,
    season_partitions,
)
from nba_assets.schemas import PLAYER_BOXSCORES, TEAM_BOXSCORES, conform
from nba_assets.source.synthetic import SyntheticLeague
from nba_assets_tests.conftest import LEAGUEGAMELOG_2025_26, resources

RANGE_TAGS = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")
SEASON_FILE = "team_boxscores_by_season/{}.parquet"


def ingest(server, warehouse, assets, start, end, instance=None):
    result = dg.materialize(
        assets,
        resources=resources(server, warehouse),
        tags={RANGE_TAGS[0]: start, RANGE_TAGS[1]: end},
        instance=instance,
    )
    assert result.success


def compact(server, warehouse, season_asset, daily, season, instance=None):
    return dg.materialize(
        [daily, season_asset],
        selection=[season_asset],
        resources=resources(server, warehouse),
        partition_key=season,
        instance=instance,
    )


def daily_concat(warehouse, table: str, season: str) -> tuple[pd.DataFrame, list[str]]:
    """The season's days read one file at a time, in day order, and the days without a file."""
    frames, missing = [], []
    for day in season_days(season):
        path = warehouse / table / f"{day}.parquet"
        if path.exists():
            frames.append(read_frame(UPath(path)))
        else:
            missing.append(day)
    return pd.concat(frames, ignore_index=True), missing


def test_mapping_follows_the_one_season_calendar():
    def upstream(season: str) -> list[str]:
        subset = season_partitions.empty_subset().with_partition_keys([season])
        result = season_partition_mapping.get_upstream_mapped_partitions_result_for_partitions(
            subset, season_partitions, game_date_partitions
        )
        return list(result.partitions_subset.get_partition_keys())

    def downstream(day: str) -> list[str]:
        subset = game_date_partitions.empty_subset().with_partition_keys([day])
        return list(
            season_partition_mapping.get_downstream_partitions_for_partitions(
                subset, game_date_partitions, season_partitions
            ).get_partition_keys()
        )

    bubble = upstream("2019-20")
    assert "2020-10-11" in bubble and "2019-10-22" in bubble  # the bubble final, opening night
    assert downstream("2020-10-11") == ["2019-20"] and downstream("2020-12-22") == ["2020-21"]
    assert "2018-10-16" in upstream("2018-19") and downstream("2018-10-16") == ["2018-19"]
    assert not set(bubble) & set(upstream("2020-21"))  # no day feeds two seasons
    assert downstream("2019-07-15") == ["2018-19"]  # an off-season day belongs to a season too


def test_season_file_is_the_concatenation_of_its_recorded_days(replay, warehouse):
    ingest(replay, warehouse, [team_boxscores], "2025-10-21", "2025-11-30")
    result = compact(replay, warehouse, team_boxscores_by_season, team_boxscores, "2025-26")
    assert result.success
    season = read_frame(UPath(warehouse / SEASON_FILE.format("2025-26")))
    days, missing = daily_concat(warehouse, "team_boxscores", "2025-26")
    pd.testing.assert_frame_equal(season, days)
    recorded = parse_boxscores(
        TEAM_BOXSCORES,
        __import__("json").loads(LEAGUEGAMELOG_2025_26.read_text())["response"]["body"],
    )
    in_range = recorded[recorded["game_date"] <= dt.date(2025, 11, 30)].reset_index(drop=True)
    pd.testing.assert_frame_equal(season, in_range)  # and those are the recorded rows
    [event] = result.get_asset_materialization_events()
    meta = event.materialization.metadata
    assert meta["missing_days"].value == missing and meta["missing_days_count"].value > 200
    assert meta["dagster/row_count"].value == len(in_range)
    provenance = read_provenance(UPath(warehouse / SEASON_FILE.format("2025-26")))
    assert [p["endpoint"] for p in provenance] == ["leaguegamelog"]
    assert provenance == read_provenance(UPath(warehouse / "team_boxscores/2025-11-01.parquet"))


def test_same_daily_files_give_byte_identical_season_files(replay, tmp_path):
    ingest(replay, tmp_path / "a", [team_boxscores], "2025-10-21", "2025-10-31")
    ingest(replay, tmp_path / "b", [team_boxscores], "2025-10-21", "2025-10-31")
    for root in (tmp_path / "a", tmp_path / "b", tmp_path / "a"):
        assert compact(replay, root, team_boxscores_by_season, team_boxscores, "2025-26").success
    first = (tmp_path / "a" / SEASON_FILE.format("2025-26")).read_bytes()
    assert first == (tmp_path / "b" / SEASON_FILE.format("2025-26")).read_bytes()


def test_synthetic_season_of_players_is_its_days_and_every_served_row(synthetic, warehouse):
    ingest(synthetic, warehouse, [player_boxscores], "2023-10-01", "2024-06-30")
    # one per season type: Regular Season, NBA Cup final (IST), PlayIn, Playoffs
    assert len(synthetic.requests_for("leaguegamelog")) == 4
    result = compact(synthetic, warehouse, player_boxscores_by_season, player_boxscores, "2023-24")
    assert result.success
    season = read_frame(UPath(warehouse / "player_boxscores_by_season/2023-24.parquet"))
    days, missing = daily_concat(warehouse, "player_boxscores", "2023-24")
    pd.testing.assert_frame_equal(season, days)
    assert missing == [d for d in season_days("2023-24") if d > "2024-06-30"]
    league = SyntheticLeague(seed=7, first_season="2023-24", last_season="2024-25")
    served = pd.concat(
        parse_boxscores(
            PLAYER_BOXSCORES,
            league.respond(
                "leaguegamelog",
                {"Season": "2023-24", "SeasonType": kind, "PlayerOrTeam": "P"},
            ),
        )
        for kind in BOXSCORE_SEASON_TYPES
    )
    assert len(season) == len(served) > 20_000
    assert season["season_type"].value_counts().to_dict().keys() == {
        "Regular Season",
        "NBA Cup",
        "PlayIn",
        "Playoffs",
    }
    assert (
        season.set_index(["game_id", "player_id"])
        .sort_index()["pts"]
        .equals(served.set_index(["game_id", "player_id"]).sort_index()["pts"])
    )


def _fixed_day(rows: pd.DataFrame):
    """A stand-in `team_boxscores` that lands given rows through the same IO manager."""

    @dg.asset(
        name="team_boxscores",
        partitions_def=game_date_partitions,
        metadata={"partition_column": "game_date"},
    )
    def corrected() -> pd.DataFrame:
        out = conform(TEAM_BOXSCORES, rows)
        out.attrs[PROVENANCE_ATTR] = [{"endpoint": "correction"}]
        return out

    return corrected


def test_rematerialized_day_makes_only_its_season_stale_and_recompaction_takes_it(
    replay, warehouse
):
    with dg.instance_for_test() as instance:
        ingest(replay, warehouse, [team_boxscores], "2025-10-21", "2025-10-23", instance)
        assert compact(
            replay, warehouse, team_boxscores_by_season, team_boxscores, "2025-26", instance
        ).success
        assets = dg.Definitions(
            assets=[team_boxscores, team_boxscores_by_season],
            resources=resources(replay, warehouse),
        )
        quiet = dg.evaluate_automation_conditions(defs=assets, instance=instance)
        quiet = dg.evaluate_automation_conditions(
            defs=assets, instance=instance, cursor=quiet.cursor
        )
        assert quiet.total_requested == 0  # compacted after its days: current

        day = read_frame(UPath(warehouse / "team_boxscores/2025-10-22.parquet"))
        day.loc[0, "pts"] = 999  # a stat correction lands on one day
        io = ParquetIOManager(warehouse=str(warehouse))
        assert dg.materialize(
            [_fixed_day(day)],
            resources={"io_manager": io},
            partition_key="2025-10-22",
            instance=instance,
        ).success

        after = dg.evaluate_automation_conditions(
            defs=assets, instance=instance, cursor=quiet.cursor
        )
        assert after.get_requested_partitions(team_boxscores_by_season.key) == {"2025-26"}
        assert after.total_requested == 1

        before = read_frame(UPath(warehouse / SEASON_FILE.format("2025-26")))
        assert 999 not in set(before["pts"])
        assert compact(
            replay, warehouse, team_boxscores_by_season, team_boxscores, "2025-26", instance
        ).success
        season = read_frame(UPath(warehouse / SEASON_FILE.format("2025-26")))
        assert (season["pts"] == 999).sum() == 1 and len(season) == len(before)
        assert {"endpoint": "correction"} in read_provenance(
            UPath(warehouse / SEASON_FILE.format("2025-26"))
        )
        settled = dg.evaluate_automation_conditions(
            defs=assets, instance=instance, cursor=after.cursor
        )
        assert settled.total_requested == 0


def test_duplicate_rows_across_days_fail_and_publish_nothing(warehouse):
    from nba_assets.assets.seasons import compact as compact_rows

    row = {c.name: None for c in TEAM_BOXSCORES.columns}
    row.update(game_id="0022500001", team_id=1, game_date=dt.date(2025, 11, 1))
    frame = conform(TEAM_BOXSCORES, pd.DataFrame([row, row]))
    with pytest.raises(ValueError, match="duplicate"):
        compact_rows(TEAM_BOXSCORES, frame)


def test_play_by_play_season_is_its_days(synthetic, warehouse):
    from nba_assets.assets.play_by_play import play_by_play
    from nba_assets.assets.seasons import play_by_play_by_season

    start, end = "2024-10-22", "2024-10-24"
    ingest(synthetic, warehouse, [team_boxscores], start, end)
    ingest(synthetic, warehouse, [play_by_play, team_boxscores.to_source_asset()], start, end)
    result = dg.materialize(
        [team_boxscores.to_source_asset(), play_by_play, play_by_play_by_season],
        selection=[play_by_play_by_season],
        resources=resources(synthetic, warehouse),
        partition_key="2024-25",
    )
    assert result.success
    season = read_frame(UPath(warehouse / "play_by_play_by_season/2024-25.parquet"))
    days, _ = daily_concat(warehouse, "play_by_play", "2024-25")
    pd.testing.assert_frame_equal(season, days)  # days are in (game_date, game_id, action_id) order
    assert season["game_id"].nunique() == len(
        pd.concat(
            pd.read_parquet(warehouse / "team_boxscores" / f"{d}.parquet")
            for d in ("2024-10-22", "2024-10-23", "2024-10-24")
        )["game_id"].unique()
    )
    [event] = result.get_asset_materialization_events()
    assert event.materialization.metadata["dagster/row_count"].value == len(season) > 1000
    # and the read API serves it, season file first
    read = nba_assets.read("play_by_play", ["2024-25"], warehouse=str(warehouse))
    pd.testing.assert_frame_equal(read, season)
