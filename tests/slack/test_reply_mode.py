"""REPLY_MODE: `explicit` texts only replies starting with `send:`; `thread` (the default)
texts every reply but `note:` ones, and reads a leading `send:` as no part of the text."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import Settings
from bot.sandbox.qtvoice import QTvoiceSandbox
from bot.sandbox.samples import CUSTOMER_NUMBER, MAIN_LINE
from bot.sandbox.slack import SlackRecorder
from bot.slack.reply_mode import EXPLICIT, THREAD, texted_words
from tests.conftest import NOTIFY_CHANNEL, RunningBot
from tests.helpers.qtvoice import texts
from tests.helpers.slack import open_sms_thread, reactions, reply
from tests.helpers.waits import SETTLE_SECONDS


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"reply_mode": EXPLICIT})


def test_explicit_mode_texts_nothing_without_send(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox
) -> None:
    thread = open_sms_thread(bot, slack)
    bot.link()
    parent = slack.message(NOTIFY_CHANNEL, thread)
    assert parent is not None
    assert "start with `send:`" in str(parent["blocks"])

    internal = reply(bot, thread, "I think he wants a refund, <!channel>")
    slack.wait_for(lambda: "memo" in reactions(slack, internal))
    time.sleep(SETTLE_SECONDS)
    assert texts(qtvoice) == []

    sent = reply(bot, thread, "SEND: On my way")
    slack.wait_for(lambda: "outbox_tray" in reactions(slack, sent))
    assert texts(qtvoice) == [{"to": CUSTOMER_NUMBER, "message": "On my way", "from": MAIN_LINE}]


@given(st.text(max_size=40))
def test_explicit_mode_never_texts_a_reply_that_does_not_start_with_send(text: str) -> None:
    if text.lstrip().lower().startswith("send:"):
        return
    assert texted_words(text, EXPLICIT) is None


@given(st.text(max_size=40))
def test_a_note_is_never_texted_in_either_mode(text: str) -> None:
    for mode in (THREAD, EXPLICIT):
        assert texted_words(f" Note:{text}", mode) is None
