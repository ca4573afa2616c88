"""Numbers written in texts and transcripts: which get buttons, and how they are masked."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.phone_text import MOST_OFFERED, masked, numbers_in, offered


def test_a_spoken_number_is_found() -> None:
    found = list(numbers_in("call me back on my cell, 215 555 0199 thanks", "US"))
    assert [number.e164 for number in found] == ["+12155550199"]


def test_dates_times_and_amounts_are_not_numbers() -> None:
    text = "on 2024-01-15 at 10:30 it cost $1,250.00, then 12/25/2024, then 2155550100.00"
    assert list(numbers_in(text, "US")) == []


def test_at_most_three_numbers_each_once_never_the_callers_own() -> None:
    text = (
        "me: 215-555-0100, again 2155550100, cell 215 555 0199, office (215) 555-0123,"
        " home 215.555.0145, fax 215 555 0177"
    )
    chosen = offered(text, "US", besides="+12155550100")
    assert chosen == ["+12155550199", "+12155550123", "+12155550145"]
    assert len(chosen) == MOST_OFFERED


def test_numbers_in_a_text_are_masked_but_the_words_kept() -> None:
    shown = masked("Call 215 555 0199 before 5, ask for Sam", "US")
    assert shown == "Call +1 •••-•••-0199 before 5, ask for Sam"


@given(
    st.lists(
        st.one_of(
            st.sampled_from(["215 555 0199", "(215) 555-0123", "+44 20 7946 0958", " ", "$"]),
            st.text(max_size=12),
        ),
        max_size=8,
    )
)
def test_no_number_survives_masking(parts: list[str]) -> None:
    text = " ".join(parts)
    before = {number.e164 for number in numbers_in(text, "US")}
    after = {number.e164 for number in numbers_in(masked(text, "US"), "US")}
    assert not before & after
