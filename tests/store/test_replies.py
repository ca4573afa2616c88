"""Saved replies' names: one word a person can type again, whatever was typed."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.store.replies import ReplyRefused, reply_name

SAFE = set(string.ascii_lowercase + string.digits + "-_")


@given(st.text(max_size=40))
def test_a_name_is_one_short_safe_word_or_refused_with_a_reason(typed: str) -> None:
    try:
        name = reply_name(typed)
    except ReplyRefused as refused:
        message = str(refused)
    else:
        assert 0 < len(name) <= 32
        assert set(name) <= SAFE
        return
    assert "one word" in message


def test_names_differ_only_in_case_are_one_name() -> None:
    assert reply_name(" Hours ") == reply_name("hours") == "hours"
    with pytest.raises(ReplyRefused):
        reply_name("<!channel>")
