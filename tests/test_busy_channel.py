"""A post whose answer was lost, in a channel that got busy before the retry.

The worker finds the post that landed by its metadata, reading the channel's history back to
the attempt's time. More than one page (200 messages) arriving in between must not make it
post again.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.delivery.poster import HISTORY_PAGE_SIZE, METADATA_EVENT
from bot.sandbox.slack import SlackRecorder
from bot.store.db import sync_url
from bot.store.deliveries import DONE
from bot.store.models import InboxEvent, PostedMessage
from tests.conftest import BOT_TOKEN, NOTIFY_CHANNEL, start_bot

#: Enough people talking after the lost answer to push the post past one page of history.
LATER_MESSAGES = HISTORY_PAGE_SIZE + 50


@pytest.fixture
def db(settings: Settings) -> Iterator[Engine]:
    engine = create_engine(sync_url(settings.database_url))
    yield engine
    engine.dispose()


def test_a_post_buried_under_more_than_a_page_of_messages_is_adopted_not_repeated(
    settings: Settings, slack: SlackRecorder, db: Engine
) -> None:
    # What an attempt whose answer was lost leaves: the intent, and the post that landed.
    with Session(db) as session:
        session.add(PostedMessage(kind="missed_call", key="call_buried", channel_id=NOTIFY_CHANNEL))
        session.commit()
    landed = httpx.post(
        f"{slack.api_url}chat.postMessage",
        headers={"Authorization": f"Bearer {BOT_TOKEN}"},
        json={
            "channel": NOTIFY_CHANNEL,
            "text": "Missed call",
            "metadata": {
                "event_type": METADATA_EVENT,
                "event_payload": {"ref": "missed_call:call_buried"},
            },
        },
    ).json()["ts"]
    for number in range(LATER_MESSAGES):
        slack.post_as_user(NOTIFY_CHANNEL, f"chatter {number}", user_id="U0BOB")

    bot = start_bot(settings, slack)
    try:
        bot.send("call.missed", id="call_buried")

        def delivered() -> bool:
            with Session(db) as session:
                return list(session.scalars(select(InboxEvent.state))) == [DONE]

        slack.wait_for(delivered)
    finally:
        bot.stop()

    assert len(slack.calls("chat.postMessage")) == 1  # only the post that landed
    assert len(slack.calls("conversations.history")) >= 2  # it really paged back
    with Session(db) as session:
        assert session.scalar(select(PostedMessage.ts)) == landed
