"""Business hours: when the office is open, and deadlines counted in open minutes only.

Pure: a `WeeklyHours` (parsed once from `BUSINESS_HOURS`, e.g. `Mon-Fri 08:00-18:00, Sat
09:00-13:00`) and a time zone in, aware datetimes out. Opening hours are wall-clock times in
the zone, so an office opening at 08:00 opens at 08:00 on both sides of a DST change; each
day's window is turned into a pair of UTC instants and minutes are counted on the UTC line,
so a day that loses or gains an hour counts the minutes that really pass. A wall time is the
first instant the wall clock shows it (or later): one that does not exist (inside the
spring-forward gap) is the instant the gap ends, so an office opening at 02:30 on the night
the clocks jump from 02:00 to 03:00 opens at 03:00; one that happens twice (the autumn
repeat) is its first time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: "Mon-Fri 08:00-18:00": a day or a range of days (wrapping, like Fri-Mon), then a range of times.
_GROUP = re.compile(
    r"^(?P<first>[a-z]{3})[a-z]*(?:\s*-\s*(?P<last>[a-z]{3})[a-z]*)?"
    r"\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})$"
)
#: A morning to remind people at when the office keeps no hours (always open).
DEFAULT_MORNING = time(9, 0)
MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True)
class WeeklyHours:
    """Open windows per weekday (0 = Monday), each `(start, end)` in minutes after midnight.

    No windows at all means always open (an empty `BUSINESS_HOURS`).
    """

    windows: tuple[tuple[tuple[int, int], ...], ...] = field(default=((),) * 7)

    @property
    def always_open(self) -> bool:
        return not any(self.windows)


def parse_weekly_hours(text: str) -> WeeklyHours:
    """`Mon-Fri 08:00-18:00, Sat 09:00-13:00` → `WeeklyHours`; empty → always open.

    Day names are English, case-insensitive, three letters or longer (`Monday`). Times are
    24-hour `HH:MM`, `24:00` allowed as an end; a window must end after it starts (no
    overnight windows: write `Mon 22:00-24:00, Tue 00:00-06:00`). Raises ValueError saying
    which comma-separated part is wrong and how, without echoing the text.
    """
    windows: list[list[tuple[int, int]]] = [[] for _ in DAYS]
    for number, raw in enumerate(text.split(","), start=1):
        group = " ".join(raw.split()).lower()
        if not group:
            continue
        match = _GROUP.match(group)
        if match is None:
            raise ValueError(f"part {number} cannot be read; write each like Mon-Fri 08:00-18:00")
        first = _day(match["first"], number)
        last = _day(match["last"], number) if match["last"] else first
        start, end = _minutes(match["start"], number), _minutes(match["end"], number)
        if end <= start:
            raise ValueError(f"part {number} closes before it opens")
        day = first
        while True:
            windows[day].append((start, end))
            if day == last:
                break
            day = (day + 1) % 7
    return WeeklyHours(tuple(_merged(day) for day in windows))


def _day(name: str, part: int) -> int:
    if name not in DAYS:
        raise ValueError(f"part {part} names no day; use Mon, Tue, Wed, Thu, Fri, Sat, Sun")
    return DAYS.index(name)


def _minutes(clock: str, part: int) -> int:
    hours, minutes = (int(piece) for piece in clock.split(":"))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(f"part {part} has a time that is not a time of day (00:00-24:00)")
    return hours * 60 + minutes


def _merged(windows: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Overlapping or touching windows of one day as one."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return tuple(merged)


@dataclass(frozen=True)
class BusinessHours:
    """`WeeklyHours` in a time zone: the questions the clock asks. Every `at` must be aware."""

    weekly: WeeklyHours
    zone: ZoneInfo

    def is_open(self, at: datetime) -> bool:
        """Whether `at` falls inside an open window (start included, end excluded)."""
        if self.weekly.always_open:
            return True
        for start, end in self._windows(at - timedelta(days=1)):
            if start > at:
                return False
            if at < end:
                return True
        raise AssertionError("unreachable: windows never run out")  # pragma: no cover

    def next_opening(self, at: datetime) -> datetime:
        """`at` itself when open, else the moment the office next opens (in UTC)."""
        if self.is_open(at):
            return at.astimezone(UTC)
        return next(start for start, _ in self._windows(at) if start > at)

    def add_business_minutes(self, start: datetime, minutes: float) -> datetime:
        """The moment `minutes` open minutes have passed since `start` (in UTC).

        Closed time does not count: 10 business minutes from Friday 17:55 in an office open
        Mon-Fri until 18:00 is Monday 08:05. Adding in two steps is adding once: 5 minutes from
        17:55 is 18:00, and 0 more from there is still 18:00 (0 minutes from any other closed
        instant is the next opening). Raises ValueError for negative `minutes`.
        """
        if minutes < 0:
            raise ValueError("minutes must not be negative")
        left = timedelta(minutes=minutes)
        if self.weekly.always_open:
            return start.astimezone(UTC) + left
        for window_start, window_end in self._windows(start - timedelta(days=1)):
            begin = max(window_start, start)
            if begin > window_end or (begin == window_end and left):
                continue
            if begin + left <= window_end:
                return begin + left
            left -= window_end - begin
        raise AssertionError("unreachable: windows never run out")  # pragma: no cover

    def morning_after(self, at: datetime) -> datetime:
        """Opening time on the day after `at`'s local date (or later, if closed that day).

        With no hours kept, tomorrow at `DEFAULT_MORNING`.
        """
        tomorrow = at.astimezone(self.zone).date() + timedelta(days=1)
        if self.weekly.always_open:
            return _instant(tomorrow, DEFAULT_MORNING.hour * 60 + DEFAULT_MORNING.minute, self.zone)
        return self.next_opening(_instant(tomorrow, 0, self.zone))

    def _windows(self, since: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open windows as UTC instants, in order, from `since`'s local date on, forever.

        Callers stop early; a schedule with at least one window yields one every week.
        Windows come out disjoint and in order even where DST bends the wall clock: a window
        that lies wholly inside a spring-forward gap does not exist that day.
        """
        day = since.astimezone(self.zone).date()
        last_end: datetime | None = None
        while True:
            for start_minute, end_minute in self.weekly.windows[day.weekday()]:
                start = _instant(day, start_minute, self.zone)
                end = _instant(day, end_minute, self.zone)
                if last_end is not None:
                    start = max(start, last_end)
                if end > start:
                    yield start, end
                    last_end = end
            day += timedelta(days=1)


def _instant(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """The UTC instant the wall clock of `zone` first shows `minutes` after `day`'s midnight
    (1440 is the next midnight), or later: inside a gap, the instant the gap ends."""
    if minutes >= MINUTES_PER_DAY:
        day, minutes = day + timedelta(days=1), minutes - MINUTES_PER_DAY
    local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=zone)
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None):
        return instant
    # Skipped: `fold=0` read it with the offset before the gap, as far past the gap's end as
    # it is past its start; `fold=1`, with the offset after, as far before the gap's start.
    # The gap ends between the two, at the first second with the offset after.
    before = int(local.replace(fold=1).timestamp())
    after = int(instant.timestamp())
    offset_after = instant.astimezone(zone).utcoffset()
    while after - before > 1:
        middle = (before + after) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == offset_after:
            after = middle
        else:
            before = middle
    return datetime.fromtimestamp(after, UTC)
