"""The weekly report's figures: per line and per person, how many callers and how fast.

Pure: the week's missed calls and voicemails (`Caller`) and every call made back to a number
since (`Callback`) in, `WeeklyFigures` out. A caller counts as returned by the first call to
their number at or after they arrived, made by whoever placed it (a Slack user through the
bot, or an extension from a desk phone); a caller of whom nobody is named (`person` None)
counts for the line only.

Percentiles are by the nearest-rank method (the smallest time such that at least that share
of the times are no longer; `NIST/SEMATECH e-Handbook` §7.2.6.2 and Wikipedia's "Percentile"):
every figure is a time someone really took, so a reader can check it against the list. The
median is `statistics.median` (the mean of the middle two of an even count), as the daily
digest shows it.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

MISSED_CALL, VOICEMAIL = "missed_call", "voicemail"
KINDS = (MISSED_CALL, VOICEMAIL)


@dataclass(frozen=True)
class Caller:
    """A missed call or voicemail of the week: its kind, our line, the customer's number."""

    kind: str
    line: str | None
    party: str | None
    arrived_at: datetime


@dataclass(frozen=True)
class Callback:
    """A call made to `number` at `at` by `person` (a Slack user id, an extension's label)."""

    number: str
    at: datetime
    person: str | None


@dataclass(frozen=True)
class Speed:
    """How fast callers were called back: how many, the median and the 90th percentile."""

    returned: int
    median: timedelta | None
    p90: timedelta | None

    @classmethod
    def of(cls, times: Sequence[timedelta]) -> Speed:
        if not times:
            return cls(0, None, None)
        seconds = sorted(time.total_seconds() for time in times)
        return cls(
            len(seconds),
            timedelta(seconds=statistics.median(seconds)),
            timedelta(seconds=nearest_rank(seconds, 90)),
        )


@dataclass(frozen=True)
class LineFigures:
    """One line's week: missed calls, voicemails, and how fast they were returned."""

    line: str | None
    missed: int
    voicemails: int
    speed: Speed

    @property
    def callers(self) -> int:
        return self.missed + self.voicemails

    @property
    def share_returned(self) -> float:
        """The share (0-1) of the line's callers that were called back."""
        return self.speed.returned / self.callers if self.callers else 0.0


@dataclass(frozen=True)
class WeeklyFigures:
    """Per line (busiest first) and per person (most returned first)."""

    lines: tuple[LineFigures, ...]
    people: tuple[tuple[str, Speed], ...]


def nearest_rank(sorted_values: Sequence[float], percent: float) -> float:
    """The `percent`th percentile of non-empty ascending `sorted_values` by nearest rank."""
    rank = max(1, math.ceil(percent / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def first_callback(caller: Caller, callbacks: Sequence[Callback]) -> Callback | None:
    """The first call back to `caller`'s number at or after they arrived; None if none."""
    after = [call for call in callbacks if call.at >= caller.arrived_at]
    return min(after, key=lambda call: call.at) if after else None


def weekly_figures(
    callers: Iterable[Caller], callbacks: Mapping[str, Sequence[Callback]]
) -> WeeklyFigures:
    """The report's figures; `callbacks` lists each number's calls back (any order)."""
    counts: dict[str | None, dict[str, int]] = defaultdict(lambda: dict.fromkeys(KINDS, 0))
    line_times: dict[str | None, list[timedelta]] = defaultdict(list)
    person_times: dict[str, list[timedelta]] = defaultdict(list)
    for caller in callers:
        if caller.kind not in KINDS:
            continue
        counts[caller.line][caller.kind] += 1
        call = first_callback(caller, callbacks.get(caller.party or "", ()))
        if call is None:
            continue
        took = call.at - caller.arrived_at
        line_times[caller.line].append(took)
        if call.person:
            person_times[call.person].append(took)
    lines = sorted(
        (
            LineFigures(line, count[MISSED_CALL], count[VOICEMAIL], Speed.of(line_times[line]))
            for line, count in counts.items()
        ),
        key=lambda figures: (-figures.callers, figures.line or ""),
    )
    people = sorted(
        ((person, Speed.of(times)) for person, times in person_times.items()),
        key=lambda entry: (-entry[1].returned, entry[0]),
    )
    return WeeklyFigures(tuple(lines), tuple(people))
