from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from include.etl.business_day import business_day, day_window_utc, local_midnight_utc

BRUSSELS = ZoneInfo("Europe/Brussels")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.mark.parametrize(
    ("tz", "start", "end"),
    [
        (BRUSSELS, datetime(2025, 1, 4, 23), datetime(2025, 1, 5, 23)),
        (NEW_YORK, datetime(2025, 1, 5, 5), datetime(2025, 1, 6, 5)),
        (TOKYO, datetime(2025, 1, 4, 15), datetime(2025, 1, 5, 15)),
        (ZoneInfo("UTC"), datetime(2025, 1, 5), datetime(2025, 1, 6)),
    ],
)
def test_day_window_is_store_local_midnight_to_midnight_in_naive_utc(tz, start, end):
    assert day_window_utc(date(2025, 1, 5), tz) == (start, end)


def test_dst_spring_forward_day_has_23_hours():
    start, end = day_window_utc(date(2025, 3, 30), BRUSSELS)
    assert end - start == timedelta(hours=23)
    assert start == datetime(2025, 3, 29, 23)


def test_dst_fall_back_day_has_25_hours():
    start, end = day_window_utc(date(2025, 11, 2), NEW_YORK)
    assert end - start == timedelta(hours=25)
    assert (start, end) == (datetime(2025, 11, 2, 4), datetime(2025, 11, 3, 5))


def test_consecutive_windows_tile_time_without_gap_or_overlap():
    day = date(2025, 1, 1)
    for _ in range(400):
        assert day_window_utc(day, BRUSSELS)[1] == day_window_utc(day + timedelta(days=1), BRUSSELS)[0]
        day += timedelta(days=1)


@pytest.mark.parametrize("tz", [BRUSSELS, NEW_YORK, TOKYO])
def test_business_day_of_a_local_midnight_logical_date(tz):
    logical = datetime(2025, 1, 5, tzinfo=tz).astimezone(UTC)
    assert business_day(logical, tz) == date(2025, 1, 5)


def test_business_day_rejects_naive_logical_date():
    with pytest.raises(ValueError, match="aware"):
        business_day(datetime(2025, 1, 5), TOKYO)


def test_local_midnight_of_tokyo_is_previous_utc_day():
    assert local_midnight_utc(date(2025, 1, 1), TOKYO) == datetime(2024, 12, 31, 15)
