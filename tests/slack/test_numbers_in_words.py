"""Numbers in words: a number spoken in a voicemail or written in a text gets Call and Text
buttons that dial exactly it, and with MASK_NUMBERS the words show it masked."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config import Settings
from bot.sandbox.qtvoice import QTvoiceSandbox
from bot.sandbox.samples import CUSTOMER_NUMBER
from bot.sandbox.slack import SlackRecorder
from tests.conftest import NOTIFY_CHANNEL, RunningBot
from tests.helpers.slack import answer, posted_message

SPOKEN = "Call me back on my cell, 215 555 0199, not 2155551234, before 01/02 at 5:30 or pay $12.50"


def number_buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        element
        for block in message["blocks"]
        if str(block.get("block_id", "")).startswith("number_actions")
        for element in block["elements"]
    ]


def visible(node: Any) -> list[str]:
    """Every text a person sees in blocks (not the buttons' values)."""
    if isinstance(node, list):
        return [text for item in node for text in visible(item)]
    if not isinstance(node, dict):
        return []
    own = [node["text"]] if node.get("type") in ("mrkdwn", "plain_text") else []
    return own + [t for key, item in node.items() if key != "value" for t in visible(item)]


def call_the_number(bot: RunningBot, voicemail: dict[str, Any]) -> Any:
    """Press the first number button (a Call) of the voicemail."""
    value = number_buttons(voicemail)[0]["value"]
    return bot.slack.block_action(
        "call_back", value, channel_id=NOTIFY_CHANNEL, message_ts=voicemail["ts"], message=voicemail
    )


def test_a_number_in_a_transcript_gets_a_call_button_that_dials_it(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox
) -> None:
    bot.link()
    bot.send("voicemail.new", from_=CUSTOMER_NUMBER, transcription=SPOKEN)
    voicemail = posted_message(slack, bot)

    buttons = number_buttons(voicemail)
    answer(slack, call_the_number(bot, voicemail))

    assert [b["text"]["text"] for b in buttons] == [
        "📞 Call (215) 555-0199",
        "💬 Text (215) 555-0199",
    ]
    [placed] = qtvoice.state.requests("POST", "/calls")
    assert placed.json["to"] == "+12155550199"


def test_a_number_in_a_text_gets_buttons_in_its_thread(
    bot: RunningBot, slack: SlackRecorder
) -> None:
    bot.send("sms.received", message="new number: (267) 555-0142")

    reply = slack.wait_for(
        lambda: next((m for m in slack.messages(NOTIFY_CHANNEL) if number_buttons(m)), None)
    )
    assert reply["thread_ts"] is not None
    assert "(267) 555-0142" in number_buttons(reply)[0]["text"]["text"]


class TestMasked:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"mask_numbers": True})

    def test_numbers_inside_a_transcript_are_masked_but_their_button_dials_them(
        self, bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox
    ) -> None:
        bot.link()
        bot.send("voicemail.new", from_=CUSTOMER_NUMBER, transcription=SPOKEN)
        voicemail = posted_message(slack, bot)

        answer(slack, call_the_number(bot, voicemail))

        shown = " ".join([voicemail["text"], *visible(voicemail["blocks"])])
        assert "0199" in shown
        assert "555 0199" not in shown
        assert "555-0199" not in shown
        assert "2155551234" not in shown
        [placed] = qtvoice.state.requests("POST", "/calls")
        assert placed.json["to"] == "+12155550199"
