"""Sent by: a text sent from Slack names its sender in its conversation's thread, whichever
way it was sent (here `/sms`; a thread reply is the sender's own message)."""

from __future__ import annotations

from bot.sandbox.qtvoice import QTvoiceSandbox
from bot.sandbox.samples import CUSTOMER_NUMBER
from bot.sandbox.slack import SlackRecorder
from tests.conftest import NOTIFY_CHANNEL, WEBHOOK_SECRET, RunningBot


def test_a_text_sent_with_slash_sms_shows_who_sent_it_in_its_thread(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox
) -> None:
    qtvoice.state.webhook_url, qtvoice.state.webhook_secret = bot.webhook_url, WEBHOOK_SECRET
    bot.link()

    bot.command("/sms", f"{CUSTOMER_NUMBER} Your order is ready")

    line = slack.wait_for(
        lambda: next(
            (m for m in slack.messages(NOTIFY_CHANNEL) if "Your order is ready" in str(m)), None
        )
    )
    assert line["thread_ts"] is not None
    assert "sent by <@U0ALICE>" in str(line["blocks"])
