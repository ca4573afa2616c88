"""The weekly report's figures against a hand computation over a seeded week."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.report_figures import Callback, Caller, Speed, nearest_rank, weekly_figures

MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
LINE_A, LINE_B = "+12155550100", "+12155550111"


def minutes(count: float) -> timedelta:
    return timedelta(minutes=count)


def seeded_week() -> tuple[list[Caller], dict[str, list[Callback]]]:
    """Line A: eight callers, six called back after 5, 10, 20, 40, 60 and 120 minutes (U1 took
    5, 20, 60; U2 10, 40, 120); two never. Line B: a voicemail returned after 7 minutes by a
    desk phone nobody is linked to, and a missed call called only *before* it arrived."""
    callers: list[Caller] = []
    callbacks: dict[str, list[Callback]] = {}
    delays = [(5, "U1"), (10, "U2"), (20, "U1"), (40, "U2"), (60, "U1"), (120, "U2")]
    for day, (delay, person) in enumerate(delays):
        number = f"+1267555010{day}"
        arrived = MONDAY + timedelta(days=day % 5, hours=day)
        callers.append(Caller("missed_call" if day % 2 else "voicemail", LINE_A, number, arrived))
        callbacks[number] = [
            Callback(number, arrived + minutes(delay + 300), "U9"),  # a later call: not the first
            Callback(number, arrived + minutes(delay), person),
        ]
    callers.append(Caller("missed_call", LINE_A, "+12675550190", MONDAY))
    callers.append(Caller("missed_call", LINE_A, None, MONDAY))
    callers.append(Caller("voicemail", LINE_B, "+12675550191", MONDAY))
    callbacks["+12675550191"] = [Callback("+12675550191", MONDAY + minutes(7), None)]
    callers.append(Caller("missed_call", LINE_B, "+12675550192", MONDAY + minutes(30)))
    callbacks["+12675550192"] = [Callback("+12675550192", MONDAY, "U1")]
    return callers, callbacks


def test_per_line_counts_share_median_and_p90_match_the_hand_computation() -> None:
    figures = weekly_figures(*seeded_week())

    line_a, line_b = figures.lines
    assert (line_a.line, line_a.missed, line_a.voicemails) == (LINE_A, 5, 3)
    assert line_a.share_returned == 6 / 8
    # Sorted: 5 10 20 40 60 120 -> median (20 + 40) / 2; p90 rank ceil(5.4) = 6th -> 120.
    assert line_a.speed == Speed(6, minutes(30), minutes(120))
    assert (line_b.missed, line_b.voicemails, line_b.share_returned) == (1, 1, 0.5)
    assert line_b.speed == Speed(1, minutes(7), minutes(7))


def test_per_person_median_and_p90_match_the_hand_computation() -> None:
    figures = weekly_figures(*seeded_week())

    # U1: 5 20 60 -> median 20, p90 rank ceil(2.7) = 3rd -> 60. U2: 10 40 120 -> 40, 120.
    # The desk phone nobody is linked to counts for its line only.
    assert dict(figures.people) == {
        "U1": Speed(3, minutes(20), minutes(60)),
        "U2": Speed(3, minutes(40), minutes(120)),
    }


def test_nearest_rank_of_ten_values() -> None:
    values = [float(n) for n in range(1, 11)]
    assert (nearest_rank(values, 90), nearest_rank(values, 50), nearest_rank(values, 1)) == (
        9.0,
        5.0,
        1.0,
    )


def test_a_week_without_callers_has_no_lines() -> None:
    assert weekly_figures([], {}).lines == ()
