import datetime as dt
import json
import math

import pytest

from nba_assets.source.errors import MalformedResponseError, SchemaDriftError
from nba_assets.source.protocol import date_window, parse_api_date, selecting_params
from nba_assets.source.validation import validate_body
from nba_assets_tests.conftest import LEAGUEGAMELOG_2025_26

PARAMS = {"Season": "2025-26", "SeasonType": "Regular Season"}


@pytest.mark.parametrize(
    "text", ["02/21/2026", "2026-02-21", "Feb 21, 2026", "2026-02-21T00:00:00"]
)
def test_every_api_date_form_parses(text):
    assert parse_api_date(text) == dt.date(2026, 2, 21)


def test_unknown_date_form_is_an_error():
    with pytest.raises(ValueError, match=r"21\.02\.2026"):
        parse_api_date("21.02.2026")


def test_selecting_params_drop_paging_sorting_dates_and_blanks():
    params = {
        "Counter": "0",
        "Sorter": "DATE",
        "Direction": "ASC",
        "DateFrom": "01/01/2026",
        "Season": "2025-26",
        "PlayerID": "",
    }
    assert selecting_params(params) == {"Season": "2025-26"}
    assert date_window({"DateFrom": "01/01/2026", "DateTo": ""}) == (dt.date(2026, 1, 1), None)


def _recorded_text() -> str:
    return json.dumps(json.loads(LEAGUEGAMELOG_2025_26.read_text())["response"]["body"])


def test_a_real_recording_validates():
    body = validate_body(
        _recorded_text(),
        endpoint="leaguegamelog",
        params=PARAMS,
        required={"LeagueGameLog": ["GAME_ID", "PTS"]},
    )
    assert len(body["resultSets"][0]["rowSet"]) == 1688


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("", "empty body"),
        ("<html><body>Access Denied</body></html>", "HTML"),
        ("{}", "empty JSON"),
        ('{"resource": "leaguegamelog"}', "no resultSets"),
        (
            '{"resultSets": [{"name": "LeagueGameLog", "headers": ["A", "B"], "rowSet": [[1]]}]}',
            "does not have 2 values",
        ),
    ],
)
def test_malformed_bodies_are_retryable_errors_naming_what_was_received(text, detail):
    with pytest.raises(MalformedResponseError, match=detail) as info:
        validate_body(text, endpoint="leaguegamelog", params=PARAMS, required={})
    assert "leaguegamelog" in str(info.value) and "2025-26" in str(info.value)


def test_truncated_body_is_malformed_and_shows_first_bytes():
    text = _recorded_text()
    with pytest.raises(MalformedResponseError, match="not complete JSON") as info:
        validate_body(text[: len(text) // 2], endpoint="leaguegamelog", params=PARAMS, required={})
    assert info.value.first_bytes == text[:200]


def test_bodies_parse_as_the_standard_library_reads_them_even_where_the_fast_parser_refuses():
    """The recorded body parses to what `json` gives; NaN and a 70-bit integer, which the fast
    parser refuses, still parse as the standard library reads them rather than failing."""
    text = _recorded_text()
    assert validate_body(text, endpoint="leaguegamelog", params=PARAMS, required={}) == json.loads(
        text
    )
    big = 2**70
    odd = '{"resultSets": [{"name": "X", "headers": ["A", "B"], "rowSet": [[NaN, BIG]]}]}'
    row = validate_body(odd.replace("BIG", str(big)), endpoint="x", params=PARAMS, required={})
    assert row["resultSets"][0]["rowSet"][0][1] == big
    assert math.isnan(row["resultSets"][0]["rowSet"][0][0])


def test_missing_column_is_schema_drift():
    body = json.loads(_recorded_text())
    entry = body["resultSets"][0]
    index = entry["headers"].index("PTS")
    entry["headers"].pop(index)
    for row in entry["rowSet"]:
        row.pop(index)
    with pytest.raises(SchemaDriftError, match=r"lacks column\(s\) \['PTS'\]"):
        validate_body(
            json.dumps(body),
            endpoint="leaguegamelog",
            params=PARAMS,
            required={"LeagueGameLog": ["GAME_ID", "PTS"]},
        )
    with pytest.raises(SchemaDriftError, match="result set 'Other' missing"):
        validate_body(
            json.dumps(body), endpoint="leaguegamelog", params=PARAMS, required={"Other": []}
        )
