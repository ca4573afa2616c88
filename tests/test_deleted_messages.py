"""A message someone deleted from Slack, then updated by a later event: posted anew, once.

Every path that updates a posted message (the voicemail's transcript, a text's sent/delivered
state, the live call card, the text thread's parent on STOP) meets `message_not_found` when
the message is gone; the message is then posted again, remembered at its new ts, and later
updates go there.
"""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.sandbox.qtvoice import JOHN_DOE
from bot.sandbox.samples import MAIN_LINE
from bot.sandbox.slack import SlackRecorder
from bot.store.deliveries import DONE
from bot.store.models import InboxEvent, PostedMessage, Route
from bot.store.routes import parse_kinds
from tests.conftest import ADMIN, NOTIFY_CHANNEL, RunningBot

SALES = "C0SALES"
TRANSCRIPT = "Please call me back about the quote."


def delivered(slack: SlackRecorder, db: Engine, count: int) -> None:
    def done() -> bool:
        with Session(db) as session:
            return list(session.scalars(select(InboxEvent.state))).count(DONE) >= count

    slack.wait_for(done)


def stored(db: Engine, kind: str, channel: str = NOTIFY_CHANNEL) -> tuple[str, str]:
    """The key and ts of the one message of `kind` the bot posted in `channel`."""
    with Session(db) as session:
        [(key, ts)] = session.execute(
            select(PostedMessage.key, PostedMessage.ts).where(
                PostedMessage.kind == kind, PostedMessage.channel_id == channel
            )
        ).all()
    assert ts is not None
    return key, ts


def delete(slack: SlackRecorder, db: Engine, kind: str, channel: str = NOTIFY_CHANNEL) -> None:
    slack.delete_message(channel, stored(db, kind, channel)[1])


def reposted(slack: SlackRecorder, db: Engine, kind: str, channel: str = NOTIFY_CHANNEL) -> str:
    """The one message now shown for the post of `kind` in `channel`: the one stored, carrying
    the same ref; its text."""
    key, ts = stored(db, kind, channel)
    ref = f"{kind}:{key}"
    shown = [
        message
        for message in slack.messages(channel)
        if (message.get("metadata") or {}).get("event_payload", {}).get("ref") == ref
    ]
    assert [message["ts"] for message in shown] == [ts]
    return str(shown[0]["text"])


def test_a_deleted_voicemail_gets_its_transcript_in_a_new_message(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    bot.send("voicemail.new", id="vm_gone", callId="call_vm_gone", transcription=None)
    delivered(slack, db, 1)
    delete(slack, db, "voicemail")

    bot.send("voicemail.transcribed", id="vm_gone", callId="call_vm_gone", transcription=TRANSCRIPT)
    delivered(slack, db, 2)

    reposted(slack, db, "voicemail")
    [message] = slack.messages(NOTIFY_CHANNEL)
    assert TRANSCRIPT in str(message["blocks"])


def test_a_deleted_text_gets_its_delivered_state_in_a_new_message(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    bot.send("sms.sent", id="sms_gone", message="On its way")
    delivered(slack, db, 1)
    delete(slack, db, "sms")

    bot.send("sms.delivered", id="sms_gone", message="On its way")
    delivered(slack, db, 2)

    assert reposted(slack, db, "sms").startswith("Text delivered")


def test_a_deleted_live_call_card_follows_the_call_in_a_new_card(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    live = ",".join(parse_kinds(["live"]) or ())
    with Session(db) as session:
        session.add(Route(target=MAIN_LINE, channel_id=SALES, event_kinds=live, created_by=ADMIN))
        session.commit()
    bot.send("call.incoming", id="call_card_gone")
    delivered(slack, db, 1)
    delete(slack, db, "live_call", SALES)

    bot.send("call.answered", id="call_card_gone")
    delivered(slack, db, 2)
    assert reposted(slack, db, "live_call", SALES).startswith("On the call")

    bot.send("call.completed", id="call_card_gone", duration=145)
    delivered(slack, db, 3)
    assert reposted(slack, db, "live_call", SALES).startswith("Ended")


def test_a_deleted_text_thread_parent_shows_the_opt_out_in_a_new_parent(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    bot.send("sms.received", from_=JOHN_DOE, message="Hello")
    delivered(slack, db, 1)
    delete(slack, db, "sms_thread")

    bot.send("sms.received", from_=JOHN_DOE, message="stop")
    delivered(slack, db, 2)

    reposted(slack, db, "sms_thread")
    parent = slack.message(NOTIFY_CHANNEL, stored(db, "sms_thread")[1])
    assert parent is not None
    assert '"sms_reply"' not in str(parent.get("blocks"))
