"""Replies in SMS threads, through real HTTP: an inbound text opens a thread, a person replies.

QTvoice's side is read from the sandbox's request log, Slack's from the recorder: the
reactions on the reply and the ephemerals its author saw.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, select, update
from sqlalchemy.orm import Session

from bot.sandbox.qtvoice import QTvoiceSandbox
from bot.sandbox.samples import CUSTOMER_NUMBER, MAIN_LINE
from bot.sandbox.slack import DEFAULT_USERS, SlackRecorder, SlackUser
from bot.store.db import sync_url
from bot.store.models import SENDING_REPLY, PostedMessage, utcnow
from tests.conftest import ADMIN, BOT_TOKEN, NOTIFY_CHANNEL, RunningBot
from tests.helpers.qtvoice import texts
from tests.helpers.slack import open_sms_thread, reactions, reply, ts_of
from tests.helpers.waits import SETTLE_SECONDS

#: How long after a reply the test stores where its thread's parent landed.
LANDS_AFTER_SECONDS = 0.5


def whispers(slack: SlackRecorder, user: str) -> list[dict[str, Any]]:
    """What `user` alone was shown in the notification channel."""
    return [e for e in slack.ephemerals(user) if e["channel"] == NOTIFY_CHANNEL]


@pytest.fixture
def thread(bot: RunningBot, slack: SlackRecorder) -> str:
    return open_sms_thread(bot, slack)


def test_linked_reply_is_texted_from_the_conversations_line(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox, thread: str
) -> None:
    bot.link()

    reply_ts = reply(bot, thread, "On my way")

    slack.wait_for(lambda: "outbox_tray" in reactions(slack, reply_ts))
    assert texts(qtvoice) == [{"to": CUSTOMER_NUMBER, "message": "On my way", "from": MAIN_LINE}]


def test_a_reply_under_a_thread_whose_place_is_not_stored_yet_is_texted(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox, thread: str, db: Engine
) -> None:
    """The worker stores where a post landed (its ts) just after Slack answered: a reply in
    between is under the bot's thread all the same, not under one it knows nothing of."""
    bot.link()

    def store_ts(ts: str | None) -> None:
        with db.begin() as connection:
            connection.execute(
                update(PostedMessage)
                .where(PostedMessage.kind == "sms_thread")
                .values(ts=ts, created_at=utcnow())
            )

    store_ts(None)
    landing = threading.Timer(LANDS_AFTER_SECONDS, store_ts, [thread])
    landing.start()
    try:
        reply(bot, thread, "On my way")
        slack.wait_for(lambda: texts(qtvoice))
    finally:
        landing.join()
    assert texts(qtvoice) == [{"to": CUSTOMER_NUMBER, "message": "On my way", "from": MAIN_LINE}]


def test_reply_is_texted_as_typed_not_as_slack_escapes_it(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox, thread: str
) -> None:
    bot.link()

    reply(bot, thread, "Tom &amp; Jerry &lt;3, see <https://example.com|example.com>")

    slack.wait_for(lambda: texts(qtvoice))
    assert texts(qtvoice)[0]["message"] == "Tom & Jerry <3, see example.com"


@pytest.fixture
def slack() -> Iterator[SlackRecorder]:
    """The default workspace, and an admin whose Slack display name is not their handle."""
    users = [*DEFAULT_USERS, SlackUser(ADMIN, "Ada", "Ada Admin", "ada@example.com")]
    with SlackRecorder(bot_token=BOT_TOKEN, users=users) as recorder:
        yield recorder


def test_reply_in_slack_markup_is_texted_as_the_person_would_have_typed_it(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox, thread: str
) -> None:
    """Emoji as emoji (skin tone kept, a custom one by name), a mention by display name."""
    bot.link()

    reply(
        bot,
        thread,
        "Thanks :slightly_smiling_face: <@U0ADMIN> will call you back :wave::skin-tone-3:"
        " :partyparrot: &amp; see <#C0SUPPORT|support>",
    )

    slack.wait_for(lambda: texts(qtvoice))
    assert texts(qtvoice)[0]["message"] == (
        "Thanks \U0001f642 Ada will call you back \U0001f44b\U0001f3fc partyparrot & see #support"
    )


def test_a_person_mentioned_again_is_not_looked_up_again(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox, thread: str
) -> None:
    bot.link()

    reply(bot, thread, "<@U0ADMIN> will call")
    slack.wait_for(lambda: len(texts(qtvoice)) == 1)
    reply(bot, thread, "<@U0ADMIN> is on the way")
    slack.wait_for(lambda: len(texts(qtvoice)) == 2)

    assert [text["message"] for text in texts(qtvoice)] == ["Ada will call", "Ada is on the way"]
    looked_up = [call for call in slack.calls("users.info") if call.args.get("user") == ADMIN]
    assert len(looked_up) == 1


def test_retried_reply_event_is_texted_once(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox, thread: str
) -> None:
    bot.link()
    delivery = bot.slack.message_in_thread(NOTIFY_CHANNEL, thread, "Only once please")

    bot.slack.redeliver(delivery)
    bot.slack.redeliver(delivery, retry_num=2)

    reply_ts = ts_of(delivery)
    slack.wait_for(lambda: "outbox_tray" in reactions(slack, reply_ts))
    time.sleep(SETTLE_SECONDS)
    assert len(texts(qtvoice)) == 1


def test_sent_reply_is_marked_delivered_by_the_worker_instead_of_copied(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox, thread: str
) -> None:
    bot.link()
    reply_ts = reply(bot, thread, "See you at 3")
    slack.wait_for(lambda: "outbox_tray" in reactions(slack, reply_ts))
    sms = qtvoice.state.sms()[-1]
    posted = len(slack.messages(NOTIFY_CHANNEL))

    bot.send("sms.delivered", **{**sms, "status": "delivered"})

    slack.wait_for(lambda: "white_check_mark" in reactions(slack, reply_ts))
    assert len(slack.messages(NOTIFY_CHANNEL)) == posted


def test_note_reply_stays_internal(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox, thread: str
) -> None:
    bot.link()

    reply_ts = reply(bot, thread, "NOTE: customer prefers mornings")

    slack.wait_for(lambda: "memo" in reactions(slack, reply_ts))
    time.sleep(SETTLE_SECONDS)
    assert texts(qtvoice) == []


def test_unlinked_users_reply_is_refused_with_how_to_link(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox, thread: str
) -> None:
    reply_ts = reply(bot, thread, "Hello?", user_id="U0BOB")

    whisper = slack.wait_for(lambda: whispers(slack, "U0BOB"))[0]
    assert "/qtvoice link" in whisper["text"]
    assert whisper["thread_ts"] == thread
    assert "warning" in reactions(slack, reply_ts)
    assert texts(qtvoice) == []


def test_reply_to_a_number_that_opted_out_is_refused(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox, thread: str
) -> None:
    bot.link()
    bot.send("sms.received", message="STOP")
    slack.wait_for(lambda: any("opted out" in m["text"] for m in slack.messages(NOTIFY_CHANNEL)))

    reply_ts = reply(bot, thread, "Are you sure?")

    whisper = slack.wait_for(lambda: whispers(slack, "U0ALICE"))[0]
    assert "opted out" in whisper["text"]
    assert "warning" in reactions(slack, reply_ts)
    assert texts(qtvoice) == []


def test_qtvoice_error_on_a_reply_is_one_friendly_sentence(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox, thread: str
) -> None:
    bot.link()
    qtvoice.state.fail_next("POST", "/sms", 403)

    reply_ts = reply(bot, thread, "Hello")

    whisper = slack.wait_for(lambda: whispers(slack, "U0ALICE"))[0]
    assert "permission" in whisper["text"]
    assert "Traceback" not in whisper["text"]
    assert "warning" in reactions(slack, reply_ts)


def test_reply_in_a_thread_that_is_not_an_sms_thread_is_ignored(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox
) -> None:
    bot.link()
    parent = slack.post_as_user(NOTIFY_CHANNEL, "Lunch?", user_id="U0BOB")

    reply(bot, parent["ts"], "Yes please")

    time.sleep(SETTLE_SECONDS)
    assert texts(qtvoice) == []
    assert slack.calls("reactions.add") == []
    assert whispers(slack, "U0ALICE") == []


def test_reply_is_marked_as_being_sent_while_qtvoice_has_it(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox, thread: str
) -> None:
    bot.link()
    qtvoice.state.delay("POST", "/sms", 1.0)

    reply_ts = reply(bot, thread, "On my way")

    slack.wait_for(lambda: qtvoice.state.requests("POST", "/sms"))
    assert sending_markers(bot) == [reply_ts]
    slack.wait_for(lambda: "outbox_tray" in reactions(slack, reply_ts))
    assert sending_markers(bot) == []


def sending_markers(bot: RunningBot) -> list[str]:
    engine = create_engine(sync_url(bot.settings.database_url))
    with Session(engine) as session:
        keys = session.scalars(
            select(PostedMessage.key).where(PostedMessage.kind == SENDING_REPLY)
        ).all()
    engine.dispose()
    return list(keys)


# Replies with files: QTvoice's texts carry words only


def test_reply_with_a_file_texts_the_words_and_says_the_file_was_not_sent(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox, thread: str
) -> None:
    bot.link()

    reply_ts = reply(bot, thread, "Here is the quote", files=["quote.pdf"])

    slack.wait_for(lambda: "outbox_tray" in reactions(slack, reply_ts))
    assert texts(qtvoice) == [
        {"to": CUSTOMER_NUMBER, "message": "Here is the quote", "from": MAIN_LINE}
    ]
    whisper = slack.wait_for(lambda: whispers(slack, "U0ALICE"))[0]
    assert "not the attached file" in whisper["text"]
    assert whisper["thread_ts"] == thread


def test_reply_with_only_a_file_is_refused_with_the_reason(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox, thread: str
) -> None:
    bot.link()

    reply_ts = reply(bot, thread, "", files=["photo.jpg"])

    whisper = slack.wait_for(lambda: whispers(slack, "U0ALICE"))[0]
    assert whisper["text"].startswith("⚠️ Your reply was not texted")
    assert "words only" in whisper["text"]
    assert "warning" in reactions(slack, reply_ts)
    assert texts(qtvoice) == []
