"""The SMS modal (open, submit, the form's own error messages).

Modals are opened by clicking Text back on a missed call the worker really posted, then
submitted as Slack submits them; what a submission answers is Slack's HTTP response body.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from bot.config import Settings
from bot.sandbox.qtvoice import ALICE_LINE, QTvoiceSandbox
from bot.sandbox.samples import CUSTOMER_NUMBER, MAIN_LINE
from bot.sandbox.slack import Delivery, SlackRecorder
from tests.conftest import NOTIFY_CHANNEL, RunningBot
from tests.helpers.qtvoice import texts
from tests.helpers.slack import form_errors, open_modal_on

ACK_DEADLINE_SECONDS = 3.0
SMS_PER_MINUTE = 2


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A low texting allowance, so the limit is reached in a test."""
    return settings.model_copy(update={"sms_per_minute": SMS_PER_MINUTE})


def whispers(slack: SlackRecorder, channel: str = NOTIFY_CHANNEL) -> list[dict[str, Any]]:
    return [e for e in slack.ephemerals("U0ALICE") if e["channel"] == channel]


@pytest.fixture
def linked(bot: RunningBot, slack: SlackRecorder) -> None:
    bot.link()


@pytest.fixture
def missed_call(bot: RunningBot, slack: SlackRecorder, linked: None) -> dict[str, Any]:
    """A missed call from John Doe (who texted the main line before) to the main line."""
    assert bot.send("call.missed").status_code == 200
    return slack.wait_for(lambda: slack.messages(NOTIFY_CHANNEL))[-1]


@pytest.fixture
def text_back_modal(
    bot: RunningBot, slack: SlackRecorder, missed_call: dict[str, Any]
) -> dict[str, Any]:
    return open_modal_on(bot, slack, missed_call, "text_back")


def submit(bot: RunningBot, text: str) -> Delivery:
    return bot.slack.view_submission("sms_send", {"sms_message": {"message": text}})


# The modal


def test_modal_shows_the_conversation_escaped(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox, missed_call: dict[str, Any]
) -> None:
    qtvoice.state.add_sms(CUSTOMER_NUMBER, MAIN_LINE, "<!channel> call me & <@U0BOB>")

    view = open_modal_on(bot, slack, missed_call, "text_back")

    history = history_text(view)
    assert "&lt;!channel&gt; call me &amp; &lt;@U0BOB&gt;" in history
    assert "<!channel>" not in history


def test_modal_leaves_out_texts_on_other_lines(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox, missed_call: dict[str, Any]
) -> None:
    qtvoice.state.add_sms(CUSTOMER_NUMBER, ALICE_LINE, "Alice, it's John")

    view = open_modal_on(bot, slack, missed_call, "text_back")

    assert "quote" in history_text(view)
    assert "Alice, it's John" not in history_text(view)


def history_text(view: dict[str, Any]) -> str:
    return str(next(b for b in view["blocks"] if b["block_id"] == "sms_history")["text"]["text"])


def test_modal_has_a_multiline_field_with_a_segment_hint(text_back_modal: dict[str, Any]) -> None:
    field = next(b for b in text_back_modal["blocks"] if b["block_id"] == "sms_message")
    assert field["element"]["multiline"] is True
    assert "160 characters" in field["hint"]["text"]


def test_submitted_text_is_sent_from_the_calls_line(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox, text_back_modal: dict[str, Any]
) -> None:
    delivery = submit(bot, "Sorry we missed you!")

    assert delivery.status_code == 200
    assert delivery.response.content == b""
    assert texts(qtvoice) == [
        {"to": CUSTOMER_NUMBER, "message": "Sorry we missed you!", "from": MAIN_LINE}
    ]
    confirmation = slack.wait_for(lambda: whispers(slack))[0]
    assert confirmation["text"] == "📤 Text sent to (215) 555-1234."


def test_empty_text_is_refused_on_the_form(
    bot: RunningBot, qtvoice: QTvoiceSandbox, text_back_modal: dict[str, Any]
) -> None:
    assert form_errors(submit(bot, "   ")) == {"sms_message": "Type the text to send."}
    assert texts(qtvoice) == []


def test_modal_text_is_sent_with_its_emoji_shortcodes_as_emoji(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox, text_back_modal: dict[str, Any]
) -> None:
    submit(bot, "Sorry we missed you :pray: call us back at <noon> & ask for Ada")

    slack.wait_for(lambda: texts(qtvoice))
    assert texts(qtvoice)[0]["message"] == (
        "Sorry we missed you \U0001f64f call us back at <noon> & ask for Ada"
    )


def test_opted_out_number_is_refused_on_the_form(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox, text_back_modal: dict[str, Any]
) -> None:
    bot.send("sms.received", message="stop")
    slack.wait_for(lambda: any("opted out" in m["text"] for m in slack.messages(NOTIFY_CHANNEL)))

    errors = form_errors(submit(bot, "Hello?"))

    assert "opted out" in errors["sms_message"]
    assert texts(qtvoice) == []


def test_texts_beyond_the_per_minute_limit_are_refused_on_the_form(
    bot: RunningBot, qtvoice: QTvoiceSandbox, text_back_modal: dict[str, Any]
) -> None:
    for _ in range(SMS_PER_MINUTE):
        assert submit(bot, "One more thing").response.content == b""

    errors = form_errors(submit(bot, "And another"))

    assert "wait a minute" in errors["sms_message"]
    assert len(texts(qtvoice)) == SMS_PER_MINUTE


def test_qtvoice_error_is_shown_on_the_form(
    bot: RunningBot, qtvoice: QTvoiceSandbox, text_back_modal: dict[str, Any]
) -> None:
    qtvoice.state.fail_next("POST", "/sms", 403)

    errors = form_errors(submit(bot, "Hello"))

    assert errors == {
        "sms_message": "The bot's QTvoice API key doesn't have permission for that;"
        " please ask an admin to grant it."
    }


def test_slow_qtvoice_closes_the_form_in_time_and_reports_later(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox, text_back_modal: dict[str, Any]
) -> None:
    qtvoice.state.delay("POST", "/sms", 3)

    started = time.monotonic()
    delivery = submit(bot, "Running late")

    assert time.monotonic() - started < ACK_DEADLINE_SECONDS
    assert delivery.response.content == b""
    confirmation = slack.wait_for(lambda: whispers(slack), timeout=10)[0]
    assert confirmation["text"].startswith("📤 Text sent")


def test_reply_modal_from_an_sms_thread_posts_nothing_in_the_thread(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox, linked: None
) -> None:
    bot.send("sms.received", message="Can I book for Friday?")
    slack.wait_for(lambda: len(slack.messages(NOTIFY_CHANNEL)) >= 2)
    parent = slack.messages(NOTIFY_CHANNEL)[0]
    open_modal_on(bot, slack, parent, "sms_reply")
    posted = len(slack.messages(NOTIFY_CHANNEL))

    submit(bot, "Yes, Friday works")

    slack.wait_for(lambda: whispers(slack))
    assert texts(qtvoice)[0]["from"] == MAIN_LINE
    assert len(slack.messages(NOTIFY_CHANNEL)) == posted


def test_modal_with_unreadable_metadata_asks_to_start_again(
    bot: RunningBot, text_back_modal: dict[str, Any]
) -> None:
    delivery = bot.slack.view_submission(
        "sms_send", {"sms_message": {"message": "Hi"}}, private_metadata="garbage"
    )

    assert "expired" in form_errors(delivery)["sms_message"]


def test_modal_whose_metadata_names_a_number_the_bot_never_wrote_texts_nothing(
    bot: RunningBot, qtvoice: QTvoiceSandbox, text_back_modal: dict[str, Any]
) -> None:
    sealed = json.loads(text_back_modal["private_metadata"])

    for forged in ('{"n":"+19005550123"}', json.dumps({**sealed, "n": "+19005550123"})):
        delivery = bot.slack.view_submission(
            "sms_send", {"sms_message": {"message": "Hi"}}, private_metadata=forged
        )
        assert "expired" in form_errors(delivery)["sms_message"]

    assert texts(qtvoice) == []
