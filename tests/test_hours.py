"""Business hours: parsing `BUSINESS_HOURS`, open or closed, and deadlines in open minutes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.hours import DAYS, BusinessHours, WeeklyHours, parse_weekly_hours

NEW_YORK = ZoneInfo("America/New_York")
OFFICE = parse_weekly_hours("Mon-Fri 08:00-18:00, Sat 09:00-13:00")
ZONES = st.sampled_from(
    ["UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kathmandu"]
).map(ZoneInfo)
INSTANTS = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)


def clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@st.composite
def schedules(draw: st.DrawFn) -> str:
    """`BUSINESS_HOURS` text with one to four parts, on quarter hours, each day at least once."""
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        day = draw(st.sampled_from(DAYS)).title()
        start = draw(st.integers(0, 95)) * 15
        end = draw(st.integers(start // 15 + 1, 96)) * 15
        parts.append(f"{day} {clock(start)}-{clock(end)}")
    return ", ".join(parts)


def open_by_the_wall_clock(weekly: WeeklyHours, zone: ZoneInfo, at: datetime) -> bool:
    local = at.astimezone(zone)
    minute = local.hour * 60 + local.minute + local.second / 60
    return any(start <= minute < end for start, end in weekly.windows[local.weekday()])


def dst_changes_near(zone: ZoneInfo, at: datetime) -> bool:
    """The local day of `at`, or a day either side, changes its UTC offset."""
    day = at.astimezone(zone).date()
    offsets = {
        datetime.combine(day + timedelta(days=shift), datetime.min.time(), zone).utcoffset()
        for shift in range(-1, 3)
    }
    return len(offsets) > 1


def test_office_hours_are_read_per_day() -> None:
    assert OFFICE.windows[0] == ((480, 1080),)
    assert OFFICE.windows[5] == ((540, 780),)
    assert OFFICE.windows[6] == ()


def test_empty_hours_are_always_open() -> None:
    assert parse_weekly_hours("").always_open
    assert parse_weekly_hours(" , ").always_open


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("Mon-Fry 08:00-18:00", "names no day"),
        ("Mon 18:00-08:00", "closes before it opens"),
        ("Mon 08:00-25:00", "not a time of day"),
        ("weekdays 9 to 5", "cannot be read"),
        ("Mon-Fri 08:00-18:00, Sat", "part 2"),
    ],
)
def test_malformed_hours_say_which_part_is_wrong(text: str, said: str) -> None:
    with pytest.raises(ValueError, match=said):
        parse_weekly_hours(text)


def test_ranges_wrap_round_the_week_and_names_may_be_long() -> None:
    weekly = parse_weekly_hours("friday-monday 10:00-12:00")
    assert [bool(day) for day in weekly.windows] == [True, False, False, False, True, True, True]


def test_ten_business_minutes_from_friday_evening_end_on_monday_morning() -> None:
    hours = BusinessHours(parse_weekly_hours("Mon-Fri 08:00-18:00"), NEW_YORK)
    friday = datetime(2026, 11, 27, 17, 55, tzinfo=NEW_YORK)

    deadline = hours.add_business_minutes(friday, 10)

    assert deadline == datetime(2026, 11, 30, 8, 5, tzinfo=NEW_YORK)


def test_opening_follows_the_wall_clock_across_the_end_of_dst() -> None:
    hours = BusinessHours(parse_weekly_hours("Mon-Fri 08:00-18:00"), NEW_YORK)
    saturday = datetime(2026, 10, 31, 12, 0, tzinfo=UTC)  # DST ends Sunday, November 1

    opening = hours.next_opening(saturday)

    assert opening == datetime(2026, 11, 2, 13, 0, tzinfo=UTC)  # 08:00 EST
    assert opening.astimezone(NEW_YORK).hour == 8


def test_a_day_that_loses_an_hour_counts_the_minutes_that_really_pass() -> None:
    hours = BusinessHours(parse_weekly_hours("Sun 00:00-24:00"), NEW_YORK)
    sunday = datetime(2026, 3, 8, 0, 0, tzinfo=NEW_YORK)  # clocks jump 02:00 → 03:00

    assert hours.add_business_minutes(sunday, 23 * 60) == datetime(
        2026, 3, 9, 0, 0, tzinfo=NEW_YORK
    )


def test_morning_after_is_the_next_opening_or_nine_when_always_open() -> None:
    office = BusinessHours(OFFICE, NEW_YORK)
    saturday_noon = datetime(2026, 11, 28, 12, 0, tzinfo=NEW_YORK)
    assert office.morning_after(saturday_noon) == datetime(2026, 11, 30, 8, 0, tzinfo=NEW_YORK)

    always = BusinessHours(WeeklyHours(), NEW_YORK)
    assert always.morning_after(saturday_noon) == datetime(2026, 11, 29, 9, 0, tzinfo=NEW_YORK)


@given(st.text())
def test_any_text_is_read_or_refused_with_a_value_error(text: str) -> None:
    try:
        weekly = parse_weekly_hours(text)
    except ValueError:
        return
    assert len(weekly.windows) == 7


@given(schedules(), ZONES, INSTANTS)
def test_open_means_inside_a_window_on_the_local_wall_clock(
    text: str, zone: ZoneInfo, at: datetime
) -> None:
    weekly = parse_weekly_hours(text)
    if dst_changes_near(zone, at):
        return  # the wall clock repeats or skips there; the other properties cover it
    assert BusinessHours(weekly, zone).is_open(at) == open_by_the_wall_clock(weekly, zone, at)


@given(schedules(), ZONES, INSTANTS)
def test_next_opening_is_open_and_nothing_opens_before_it(
    text: str, zone: ZoneInfo, at: datetime
) -> None:
    hours = BusinessHours(parse_weekly_hours(text), zone)

    opening = hours.next_opening(at)

    assert opening >= at
    assert hours.is_open(opening)
    if opening > at:
        assert not hours.is_open(at)
        assert not hours.is_open(at + (opening - at) / 2)
        assert not hours.is_open(opening - timedelta(microseconds=1))


@settings(max_examples=200)
@given(schedules(), ZONES, INSTANTS, st.integers(0, 5000), st.integers(0, 5000))
# Found by hypothesis: the first step ends on a closing instant, and 0 more jumped a week.
@example("Mon 13:15-13:30", ZoneInfo("UTC"), datetime(2026, 11, 30, 13, 15, tzinfo=UTC), 15, 0)
def test_business_minutes_add_up(
    text: str, zone: ZoneInfo, start: datetime, first: int, second: int
) -> None:
    hours = BusinessHours(parse_weekly_hours(text), zone)

    both = hours.add_business_minutes(start, first + second)

    assert both == hours.add_business_minutes(hours.add_business_minutes(start, first), second)
    assert both >= hours.add_business_minutes(start, first) >= start
    if first:
        assert hours.add_business_minutes(start, first) > hours.next_opening(start)
    if first + second:
        assert hours.is_open(both - timedelta(microseconds=1))
    assert both - start >= timedelta(minutes=first + second)


@given(ZONES, INSTANTS, st.integers(0, 10_000))
def test_always_open_counts_every_minute(zone: ZoneInfo, start: datetime, minutes: int) -> None:
    hours = BusinessHours(WeeklyHours(), zone)

    assert hours.is_open(start)
    assert hours.add_business_minutes(start, minutes) == start + timedelta(minutes=minutes)


def _days_the_offset_changes(zone: ZoneInfo) -> list[datetime]:
    """Local midnights (as UTC instants) of the days in 2024-2030 whose UTC offset changes."""
    days = []
    day = datetime(2024, 1, 1).date()
    while day.year < 2031:
        midnight = datetime.combine(day, datetime.min.time(), zone)
        tomorrow = datetime.combine(day + timedelta(days=1), datetime.min.time(), zone)
        if midnight.utcoffset() != tomorrow.utcoffset():
            days.append(midnight.astimezone(UTC))
        day += timedelta(days=1)
    return days


CHANGING = [
    (zone, midnight)
    for zone in map(ZoneInfo, ["America/New_York", "Australia/Lord_Howe", "Europe/London"])
    for midnight in _days_the_offset_changes(zone)
]


def first_showing(zone: ZoneInfo, day: datetime, minute: int) -> datetime:
    """The first whole minute at which the wall clock of `zone` on `day`'s local date (or
    the next, for 24:00) shows `minute` after midnight or later: found by watching the clock."""
    date = day.astimezone(zone).date()
    wanted = datetime.combine(date, datetime.min.time()) + timedelta(minutes=minute)
    at = day - timedelta(hours=3)
    for _ in range(36 * 60):
        if at.astimezone(zone).replace(tzinfo=None) >= wanted:
            return at
        at += timedelta(minutes=1)
    raise AssertionError("the clock never showed it")  # pragma: no cover


@settings(max_examples=300)
@given(
    st.sampled_from(CHANGING),
    st.integers(0, 95).flatmap(lambda start: st.tuples(st.just(start), st.integers(start + 1, 96))),
    st.integers(-90, 90),
    st.booleans(),
)
@example((ZoneInfo("America/New_York"), datetime(2026, 3, 8, 5, tzinfo=UTC)), (10, 24), -20, True)
def test_a_window_opens_when_the_wall_clock_first_shows_its_start_even_past_a_gap(
    day: tuple[ZoneInfo, datetime], window: tuple[int, int], minutes: int, near_start: bool
) -> None:
    # bot/hours.py: a wall time inside the spring-forward gap opens right after the gap
    # (02:30 on the day New York skips 02:00-03:00 opens at 03:00, not 03:30).
    zone, midnight = day
    start, end = window[0] * 15, window[1] * 15
    weekday = DAYS[midnight.astimezone(zone).weekday()].title()
    hours = BusinessHours(parse_weekly_hours(f"{weekday} {clock(start)}-{clock(end)}"), zone)
    opens, closes = first_showing(zone, midnight, start), first_showing(zone, midnight, end)
    at = (opens if near_start else closes) + timedelta(minutes=minutes)

    assert hours.is_open(at) == (opens <= at < closes)
    if opens < closes and at < opens:
        assert hours.next_opening(at) == opens
