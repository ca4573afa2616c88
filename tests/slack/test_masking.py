"""With MASK_NUMBERS on, what the bot says in Slack names a customer's number masked.

The notifications always did; these are the answers that did not: the refusal of a reply to a
number that opted out (said in a thread whose parent shows the number masked) and the
confirmation of a text or call to a contact chosen by name.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.config import Settings
from bot.sandbox.qtvoice import JANE_ROE
from bot.sandbox.samples import CUSTOMER_NUMBER
from bot.sandbox.slack import SlackRecorder
from tests.conftest import NOTIFY_CHANNEL, RunningBot, start_bot


def full_forms(e164: str) -> list[str]:
    national = e164.removeprefix("+1")
    return [e164, national, f"({national[:3]}) {national[3:6]}-{national[6:]}"]


@pytest.fixture
def masked(settings: Settings, slack: SlackRecorder) -> Iterator[RunningBot]:
    running = start_bot(settings.model_copy(update={"mask_numbers": True}), slack)
    yield running
    running.stop()


def test_refusing_a_reply_to_an_opted_out_number_shows_it_masked(
    masked: RunningBot, slack: SlackRecorder
) -> None:
    masked.link()
    masked.send("sms.received", message="STOP")
    slack.wait_for(lambda: any("opted out" in m["text"] for m in slack.messages(NOTIFY_CHANNEL)))
    thread = slack.messages(NOTIFY_CHANNEL)[0]["ts"]

    masked.slack.message_in_thread(NOTIFY_CHANNEL, thread, "Still there?")

    whisper = slack.wait_for(
        lambda: [e for e in slack.ephemerals("U0ALICE") if "opted out" in e["text"]]
    )[-1]["text"]
    assert "opted out" in whisper
    assert CUSTOMER_NUMBER[-4:] in whisper
    assert not [form for form in full_forms(CUSTOMER_NUMBER) if form in whisper]


def test_a_text_to_a_contact_by_name_confirms_with_the_number_masked(
    masked: RunningBot,
) -> None:
    masked.link()

    answer = masked.command("/sms", '"Jane Roe" Running late')["text"]

    assert "Text sent" in answer
    assert not [form for form in full_forms(JANE_ROE) if form in answer]
