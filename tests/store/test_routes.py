"""What an admin may type as a route's kinds (`bot.store.routes.parse_kinds`)."""

from __future__ import annotations

import pytest

from bot.qtvoice.events import CALL_LIVE, SMS_EVENTS, VOICEMAIL_EVENTS
from bot.store.routes import parse_kinds


def test_parse_kinds_expands_aliases_into_event_types() -> None:
    assert parse_kinds(["voicemail"]) == VOICEMAIL_EVENTS
    assert parse_kinds(["texts"]) == SMS_EVENTS
    assert parse_kinds(["live"]) == (*CALL_LIVE, "call.missed")


def test_parse_kinds_accepts_event_types_as_they_are() -> None:
    assert parse_kinds(["call.missed", "sms.received"]) == ("call.missed", "sms.received")


def test_parse_kinds_ignores_case_commas_and_repeats() -> None:
    assert parse_kinds(["Missed,", "MISSED", "", "call.missed"]) == ("call.missed",)


def test_parse_kinds_is_none_without_words() -> None:
    assert parse_kinds([]) is None
    assert parse_kinds(["", " "]) is None


def test_parse_kinds_names_the_word_it_does_not_know() -> None:
    with pytest.raises(ValueError, match="faxes"):
        parse_kinds(["sms", "faxes"])
