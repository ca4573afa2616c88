"""Slack acted, but its answer never came: every such post is "maybe posted", decided by the
bot's own read-back in a narrow window placed by Slack's clock, never by a blind resend.

The sandbox carries out the call and then loses the answer the ways the network does (a reset,
an EOF, a proxy's 502), swallows calls whole (a black hole), runs its clock off the machine's,
and gives conversations.history 15 messages a call, as Slack does for apps that are not
internal.
"""

from __future__ import annotations

from typing import get_args

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.delivery.poster import METADATA_EVENT, READ_BACK_PAGE_SIZE
from bot.sandbox.slack import SlackRecorder
from bot.sandbox.slack.recorder import LostAnswer
from bot.store.deliveries import DONE
from bot.store.models import InboxEvent, PostedMessage
from tests.conftest import BOT_TOKEN, NOTIFY_CHANNEL, start_bot

#: The bot's clock three minutes ahead of Slack's (issue 20, item 13).
BOT_AHEAD_SECONDS = 180


def delivered(db: Engine) -> bool:
    with Session(db) as session:
        states = list(session.scalars(select(InboxEvent.state)))
    return bool(states) and all(state == DONE for state in states)


def posts_in(slack: SlackRecorder, channel: str) -> list[str]:
    """The refs of the bot's messages in `channel`, by their metadata."""
    return [
        message["metadata"]["event_payload"]["ref"]
        for message in slack.messages(channel)
        if message.get("metadata")
    ]


def deliver(settings: Settings, slack: SlackRecorder, db: Engine, call_id: str) -> None:
    """Start the bot, send it one missed call, and stop it once it is delivered."""
    bot = start_bot(settings, slack)
    try:
        assert bot.send("call.missed", id=call_id).status_code == 200
        slack.wait_for(lambda: delivered(db), timeout=20)
    finally:
        bot.stop()


@pytest.mark.parametrize("how", get_args(LostAnswer))
def test_a_post_whose_answer_is_lost_shows_once(
    settings: Settings, slack: SlackRecorder, db: Engine, how: LostAnswer
) -> None:
    slack.lose_next_answer("chat.postMessage", how)
    deliver(settings, slack, db, f"call_lost_{how}")

    assert posts_in(slack, NOTIFY_CHANNEL) == [f"missed_call:call_lost_{how}"]
    [message] = slack.messages(NOTIFY_CHANNEL)
    with Session(db) as session:
        assert session.scalar(select(PostedMessage.ts)) == message["ts"]
    # Decided by reading back, not by resending.
    assert len(slack.calls("chat.postMessage")) == 1
    [read] = slack.calls("conversations.history")
    assert int(read.args["limit"]) <= READ_BACK_PAGE_SIZE
    assert {"oldest", "latest"} <= read.args.keys()


def test_a_lost_answer_with_the_bots_clock_minutes_ahead_of_slacks_still_shows_once(
    settings: Settings, slack: SlackRecorder, db: Engine
) -> None:
    slack.set_clock(-BOT_AHEAD_SECONDS)
    slack.lose_next_answer("chat.postMessage", "reset")
    deliver(settings, slack, db, "call_skewed")

    assert posts_in(slack, NOTIFY_CHANNEL) == ["missed_call:call_skewed"]
    [read] = slack.calls("conversations.history")
    [message] = slack.messages(NOTIFY_CHANNEL)
    assert float(read.args["oldest"]) < float(message["ts"]) < float(read.args["latest"])


def test_a_rate_limited_read_back_is_asked_again_never_taken_for_not_posted(
    settings: Settings, slack: SlackRecorder, db: Engine
) -> None:
    slack.lose_next_answer("chat.postMessage", "eof")
    slack.fail_next("conversations.history", status=429, retry_after=1)
    deliver(settings, slack, db, "call_limited")

    assert posts_in(slack, NOTIFY_CHANNEL) == ["missed_call:call_limited"]
    assert [call.status for call in slack.calls("conversations.history")] == [429, 200]


def post_as_the_bot(slack: SlackRecorder, ref: str) -> str:
    """A message carrying `ref` in its metadata, posted straight to the sandbox: its ts."""
    answer = httpx.post(
        f"{slack.api_url}chat.postMessage",
        headers={"Authorization": f"Bearer {BOT_TOKEN}"},
        json={
            "channel": NOTIFY_CHANNEL,
            "text": "Missed call",
            "metadata": {"event_type": METADATA_EVENT, "event_payload": {"ref": ref}},
        },
    ).json()
    return str(answer["ts"])


def test_the_read_back_reads_one_narrow_window_of_a_busy_channel(
    settings: Settings, slack: SlackRecorder, db: Engine
) -> None:
    # A busy channel: talk before the attempt, the post that landed (its answer lost, then
    # the worker died), and minutes of talk after it before the retry.
    slack.set_clock(-1200)
    for number in range(3 * READ_BACK_PAGE_SIZE):
        slack.post_as_user(NOTIFY_CHANNEL, f"earlier {number}", user_id="U0BOB")
    slack.set_clock(-600)
    attempt = post_as_the_bot(slack, "ignore:me")  # Slack's time before the attempt
    with Session(db) as session:
        session.add(
            PostedMessage(
                kind="missed_call",
                key="call_buried",
                channel_id=NOTIFY_CHANNEL,
                attempted_ts=attempt,
            )
        )
        session.commit()
    landed = post_as_the_bot(slack, "missed_call:call_buried")
    slack.set_clock(0)  # ten minutes on
    for number in range(3 * READ_BACK_PAGE_SIZE):
        slack.post_as_user(NOTIFY_CHANNEL, f"later {number}", user_id="U0BOB")

    deliver(settings, slack, db, "call_buried")

    assert posts_in(slack, NOTIFY_CHANNEL).count("missed_call:call_buried") == 1
    with Session(db) as session:
        assert (
            session.scalar(select(PostedMessage.ts).where(PostedMessage.key == "call_buried"))
            == landed
        )
    [read] = slack.calls("conversations.history")  # one call: the window holds two messages
    assert int(read.args["limit"]) <= READ_BACK_PAGE_SIZE


def test_the_slack_timeout_applies_to_a_black_holed_slack(
    settings: Settings, slack: SlackRecorder, db: Engine
) -> None:
    slack.black_hole("chat.postMessage")
    bot = start_bot(settings.model_copy(update={"slack_timeout_seconds": 0.5}), slack)
    try:
        assert bot.send("call.missed", id="call_black_holed").status_code == 200

        def timed_out() -> bool:
            with Session(db) as session:
                error = session.scalar(select(InboxEvent.last_error))
            return error is not None and "Timeout" in error

        # aiohttp's default would hold the delivery for 300 s; the setting's half second applies.
        slack.wait_for(timed_out, timeout=10)
        slack.black_hole("chat.postMessage", on=False)
        slack.wait_for(lambda: delivered(db), timeout=20)
    finally:
        bot.stop()

    assert posts_in(slack, NOTIFY_CHANNEL) == ["missed_call:call_black_holed"]
