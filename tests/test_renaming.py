"""A number gets a name (contact.created / contact.updated): every open message about it,
in the channel and in DMs, shows the name; handled ones are left as they were."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bot.sandbox.qtvoice import STRANGER, QTvoiceSandbox
from bot.sandbox.slack import SlackRecorder
from bot.store.models import OpenItem
from tests.conftest import NOTIFY_CHANNEL, RunningBot
from tests.helpers.database import delivered

DM = "DU0ALICE"


def latest(slack: SlackRecorder, channel: str) -> dict[str, Any]:
    return slack.messages(channel)[-1]


def test_a_new_contact_renames_the_channel_and_dm_copies_of_a_missed_call(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox
) -> None:
    bot.link()
    bot.send("call.missed", id="call_stranger", from_=STRANGER, extensionId="ext_101")
    slack.wait_for(lambda: slack.messages(DM))
    assert "Sam" not in latest(slack, NOTIFY_CHANNEL)["text"]

    bot.send(
        "contact.created",
        id="contact_sam",
        first_name="Sam <!channel>",
        last_name="Stone",
        phone=STRANGER,
    )

    for channel in (NOTIFY_CHANNEL, DM):
        renamed = slack.wait_for(
            lambda channel=channel: (
                "Sam" in latest(slack, channel)["text"] and latest(slack, channel)
            )
        )
        assert "Sam &lt;!channel&gt; Stone" in renamed["text"]
        assert "take_it" in str(renamed["blocks"])


def test_a_handled_missed_call_keeps_its_number(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox, db: Engine
) -> None:
    bot.send("call.missed", id="call_done", from_=STRANGER)
    message = slack.wait_for(lambda: slack.messages(NOTIFY_CHANNEL))[0]
    # Its delivery over (it settles the copy after posting it), only the click updates it.
    slack.wait_for(lambda: delivered(db) == 1)
    bot.slack.block_action(
        "mark_handled", '{"i":"1"}', channel_id=NOTIFY_CHANNEL, message_ts=message["ts"]
    )
    slack.wait_for(lambda: "Handled" in str(latest(slack, NOTIFY_CHANNEL)["blocks"]))
    updates = len(slack.calls("chat.update"))

    bot.send("contact.created", id="contact_late", first_name="Late", phone=STRANGER)
    bot.send("call.missed", id="call_after", from_=STRANGER)

    # The second call shows the name (posted with it, or renamed): the contact is known.
    slack.wait_for(lambda: "Late" in latest(slack, NOTIFY_CHANNEL)["text"])
    handled = slack.message(NOTIFY_CHANNEL, message["ts"])
    assert handled is not None
    assert "Late" not in handled["text"]
    assert all(call.args["ts"] != message["ts"] for call in slack.calls("chat.update")[updates:])


def test_a_name_learned_while_a_call_is_being_posted_reaches_that_call(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox, db: Engine
) -> None:
    # The call is read (no contact yet) and its post is on its way when the contact comes:
    # the rename finds no landed copy to update, so the call's delivery must see the name.
    slack.delay("chat.postMessage", 1.5)
    bot.send("call.missed", id="call_racing", from_=STRANGER)
    with Session(db) as session:
        slack.wait_for(lambda: session.scalar(select(func.count()).select_from(OpenItem)))
    bot.send("contact.created", id="contact_racing", first_name="Racing", phone=STRANGER)

    slack.wait_for(lambda: "Racing" in latest(slack, NOTIFY_CHANNEL)["text"])
    assert len(slack.messages(NOTIFY_CHANNEL)) == 1
