"""Saved replies: admins manage them with `/qtvoice replies`, the Text back modal offers them,
and sending one goes through the same rules as any text (an opted-out number is refused)."""

from __future__ import annotations

from typing import Any

from bot.sandbox.qtvoice import QTvoiceSandbox
from bot.sandbox.samples import CUSTOMER_NUMBER
from bot.sandbox.slack import Delivery, SlackRecorder
from tests.conftest import ADMIN, NOTIFY_CHANNEL, RunningBot
from tests.helpers.qtvoice import texts
from tests.helpers.slack import form_errors, open_modal_on
from tests.helpers.webhooks import inbound


def add_hours_reply(bot: RunningBot) -> dict[str, Any]:
    return bot.command(
        "/qtvoice", "replies add Hours We're open 9-5 <!channel> & weekends", user=ADMIN
    )


def send_saved(bot: RunningBot, name: str) -> Delivery:
    picked = {"type": "static_select", "selected_option": {"value": name}}
    return bot.slack.view_submission(
        "sms_send", {"sms_message": {"message": ""}, "sms_saved": {"saved": picked}}
    )


def linked_missed_call(bot: RunningBot, slack: SlackRecorder) -> dict[str, Any]:
    """A saved reply `hours`, Alice linked, and a missed call from John Doe."""
    add_hours_reply(bot)
    bot.link()
    bot.send("call.missed")
    return slack.wait_for(lambda: slack.messages(NOTIFY_CHANNEL))[-1]


def test_admins_manage_saved_replies_and_everyone_lists_them(bot: RunningBot) -> None:
    assert "Saved reply `hours`" in add_hours_reply(bot)["text"]
    refused = bot.command("/qtvoice", "replies add spam Buy now")
    listed = bot.command("/qtvoice", "replies")
    removed = bot.command("/qtvoice", "replies remove HOURS", user=ADMIN)

    assert "admins" in refused["text"].lower()
    assert "`hours`: We're open 9-5 @channel &amp; weekends" in listed["text"]
    assert "spam" not in listed["text"]
    assert "Removed the saved reply `HOURS`" in removed["text"]
    assert "No saved replies yet" in bot.command("/qtvoice", "replies")["text"]


def test_the_text_back_modal_offers_saved_replies_and_sends_the_one_picked(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox
) -> None:
    missed = linked_missed_call(bot, slack)

    view = open_modal_on(bot, slack, missed, "text_back")
    menu = next(block for block in view["blocks"] if block["block_id"] == "sms_saved")
    delivery = send_saved(bot, "hours")

    assert [o["value"] for o in menu["element"]["options"]] == ["hours"]
    assert delivery.status_code == 200
    sent = slack.wait_for(lambda: texts(qtvoice))
    assert sent[0]["message"] == "We're open 9-5 @channel & weekends"
    assert sent[0]["to"] == CUSTOMER_NUMBER


def test_an_opted_out_number_is_refused_a_saved_reply(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox
) -> None:
    missed = linked_missed_call(bot, slack)
    open_modal_on(bot, slack, missed, "text_back")
    inbound(bot, CUSTOMER_NUMBER, "STOP")

    errors = form_errors(send_saved(bot, "hours"))

    assert "opted out" in errors["sms_message"]
    assert texts(qtvoice) == []
