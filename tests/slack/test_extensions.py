"""Numbers typed with an extension in /call, /sms and /contact.

QTvoice's click-to-call and SMS take a number and nothing else, so "215-555-1234 x45" is the
main number, read as a number (not searched as a contact name), and the user is told plainly
that the extension is not dialled.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.sandbox.qtvoice import JOHN_DOE, QTvoiceSandbox
from tests.conftest import RunningBot

TYPED_WITH_EXTENSION = [
    "215-555-1234 x45",
    "(215) 555-1234 ext. 45",
    "215-555-1234,,45#",
    "215 555 1234 extension 45",
]


def sent(qtvoice: QTvoiceSandbox, path: str) -> list[Any]:
    return [request.json for request in qtvoice.state.requests("POST", path)]


@pytest.mark.parametrize("typed", TYPED_WITH_EXTENSION)
def test_call_with_an_extension_dials_the_main_number_and_says_so(
    bot: RunningBot, qtvoice: QTvoiceSandbox, typed: str
) -> None:
    bot.link()

    answer = bot.command("/call", typed)

    assert sent(qtvoice, "/calls") == [{"to": JOHN_DOE, "extension_id": "ext_101"}]
    assert "main number only" in answer["text"]
    assert "extension 45" in answer["text"]


def test_sms_with_an_extension_texts_the_main_number_and_says_so(
    bot: RunningBot, qtvoice: QTvoiceSandbox
) -> None:
    bot.link()

    answer = bot.command("/sms", "215-555-1234 x45 On my way")

    assert [(body["to"], body["message"]) for body in sent(qtvoice, "/sms")] == [
        (JOHN_DOE, "On my way")
    ]
    assert "main number only" in answer["text"]


def test_contact_with_an_extension_shows_the_numbers_card(bot: RunningBot) -> None:
    card = bot.command("/contact", "215-555-1234 ext. 45")

    assert "John Doe" in card["text"]


def test_call_without_an_extension_says_nothing_about_one(
    bot: RunningBot, qtvoice: QTvoiceSandbox
) -> None:
    bot.link()

    answer = bot.command("/call", "215-555-1234")

    assert "extension 45" not in answer["text"]
    assert "main number only" not in answer["text"]
