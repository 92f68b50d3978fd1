from datetime import date, datetime, timedelta

import pytest

from carecheck.dates import LONDON, DateParseError, WorkingDays, parse_date, parse_datetime


def test_day_first_is_read_as_uk_dates():
    assert parse_date("03/04/2026") == date(2026, 4, 3)
    assert parse_date("3/4/26") == date(2026, 4, 3)
    assert parse_date("03-04-2026") == date(2026, 4, 3)
    assert parse_date("2026-04-03") == date(2026, 4, 3)


def test_times_are_europe_london_and_aware():
    summer = parse_datetime("03/04/2026 09:15")
    assert summer.tzinfo is not None
    assert summer.utcoffset() == timedelta(hours=1)  # BST
    assert summer.hour == 9 and summer.day == 3 and summer.month == 4
    winter = parse_datetime("15/01/2026 23:30")
    assert winter.utcoffset() == timedelta(0)
    # An explicit offset is kept as the same instant, shown in London time.
    utc = parse_datetime("2026-07-01T12:00:00Z")
    assert utc.hour == 13 and utc.tzinfo == LONDON


def test_explicit_format():
    assert parse_datetime("2026.04.03 0915", "%Y.%m.%d %H%M") == datetime(2026, 4, 3, 9, 15, tzinfo=LONDON)
    with pytest.raises(DateParseError, match=r"'03/04/2026' \(expected %Y"):
        parse_datetime("03/04/2026", "%Y.%m.%d %H%M")


@pytest.mark.parametrize("bad", ["31/02/2026", "13/13/2026", "yesterday", "2026-02-30"])
def test_impossible_dates_are_refused(bad):
    with pytest.raises(DateParseError, match="unreadable date"):
        parse_date(bad)


def test_five_working_days_over_easter():
    # Thursday 2 April 2026: Good Friday 3 April and Easter Monday 6 April are bank holidays.
    assert WorkingDays().add(date(2026, 4, 2), 5) == date(2026, 4, 13)


def test_substitute_bank_holiday_and_local_closures(tmp_path):
    days = WorkingDays()
    assert not days.is_working_day(date(2026, 12, 28))  # Boxing Day substitute
    assert days.add(date(2026, 12, 24), 1) == date(2026, 12, 29)
    closures = tmp_path / "closures.txt"
    closures.write_text("# staff training day\n29/12/2026\n")
    assert WorkingDays.from_file(closures).add(date(2026, 12, 24), 1) == date(2026, 12, 30)
