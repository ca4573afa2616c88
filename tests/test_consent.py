"""The opt-out keyword rule (`bot.consent.opt_keyword`), pinned by examples and properties.

The contract: STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT or the phrase
"opt out" opts out; START, YES, UNSTOP opts back in; any case, punctuation ignored.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.consent import OPT_IN_KEYWORDS, OPT_OUT_KEYWORDS, opt_keyword, opts_out

KEYWORDS = sorted(OPT_OUT_KEYWORDS | OPT_IN_KEYWORDS)


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("STOP", "STOP"),
        ("stop", "STOP"),
        ("  Stop. ", "STOP"),
        ("stop!", "STOP"),
        ("Unsubscribe!", "UNSUBSCRIBE"),
        ("stopall", "STOPALL"),
        ("optout", "OPTOUT"),
        ("opt out", "OPTOUT"),
        ("Opt-out", "OPTOUT"),
        ("OPT OUT.", "OPTOUT"),
        ("\uff33\uff34\uff2f\uff30", "STOP"),  # full-width
        ("STOP 🛑", "STOP"),
        ("start", "START"),
        ("Yes", "YES"),
        ("unstop", "UNSTOP"),
    ],
)
def test_a_lone_keyword_in_any_case_with_any_punctuation_is_recognised(
    text: str, keyword: str
) -> None:
    assert opt_keyword(text) == keyword


@pytest.mark.parametrize(
    "text", ["please stop calling", "stop it", "STOPPED", "stop 2", "opt in", "", "...", None]
)
def test_anything_but_a_lone_keyword_is_an_ordinary_text(text: str | None) -> None:
    assert opt_keyword(text) is None


def test_opt_out_and_opt_in_keywords_are_told_apart() -> None:
    assert all(opts_out(keyword) for keyword in OPT_OUT_KEYWORDS)
    assert not any(opts_out(keyword) for keyword in OPT_IN_KEYWORDS)


#: Separators the contract says to ignore: punctuation, symbols and spaces.
noise = st.text(alphabet=st.sampled_from(" \t\n.,!?;:-_'\"()¡¿…*#@/🛑"), max_size=3)


@given(data=st.data(), keyword=st.sampled_from(KEYWORDS))
def test_a_keyword_survives_any_case_and_punctuation(data: st.DataObject, keyword: str) -> None:
    letters = [
        data.draw(st.sampled_from([char.lower(), char.upper()])) + data.draw(noise)
        for char in keyword
    ]
    text = data.draw(noise) + "".join(letters)

    assert opt_keyword(text) == keyword


@given(
    keyword=st.sampled_from(KEYWORDS),
    extra=st.text(alphabet=st.characters(categories=["Lu", "Ll", "Nd"]), min_size=1, max_size=8),
    before=st.booleans(),
)
def test_any_other_letter_or_digit_makes_it_an_ordinary_text(
    keyword: str, extra: str, before: bool
) -> None:
    text = f"{extra} {keyword}" if before else f"{keyword} {extra}"
    joined = "".join(char for char in text.upper() if char.isalnum())

    assert opt_keyword(text) is None or opt_keyword(text) == joined


@given(text=st.text(max_size=300))
def test_any_text_is_a_keyword_or_nothing(text: str) -> None:
    assert opt_keyword(text) in {*KEYWORDS, None}
