"""A post is in Slack a moment before the bot has stored where it is: finding it then.

The worker records a post as intended (a `PostedMessage` with no `ts`), posts it, and then
stores the `ts` Slack answered with, committed together with other deliveries' writes
(`bot.store.groupcommit`). A reply in the thread of a text conversation can reach the bot in
between (a person is not that quick, a script is), and a reply in a thread the bot does not
know is none of its business: it would be dropped without a word. So that lookup by `ts`, when
it finds nothing while a post in that channel is still waiting for its `ts`, looks again for a
moment before it concludes the thread is not the bot's. (A button click on such a message reads
the message back from Slack instead: `bot.slack.stored.adopt_landed`; a thread reply cannot
afford a Slack call for every message in every thread of the channel.)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import SENDING_REPLY, PostedMessage, utcnow

T = TypeVar("T")

#: How long to keep looking, and how often. A `ts` is stored milliseconds after Slack answers,
#: or seconds on a loaded machine, where its commit waits its turn; the event was acked first.
LANDING_WAIT_SECONDS = 5.0
LANDING_POLL_SECONDS = 0.05
#: An intended post older than this is not about to land (its delivery failed or waits).
IN_FLIGHT = timedelta(seconds=30)


async def when_landed(
    session: AsyncSession, channel: str, find: Callable[[], Awaitable[T | None]]
) -> T | None:
    """What `find` finds (a lookup by `ts` in `channel`), waiting for a post that is landing."""
    deadline = time.monotonic() + LANDING_WAIT_SECONDS
    while True:
        found = await find()
        if found is not None or time.monotonic() > deadline:
            return found
        if not await _landing(session, channel):
            return None
        await asyncio.sleep(LANDING_POLL_SECONDS)


async def _landing(session: AsyncSession, channel: str) -> bool:
    """A post in `channel` was recorded as intended just now and has no `ts` yet."""
    intended = await session.scalar(
        select(PostedMessage.id)
        .where(
            PostedMessage.channel_id == channel,
            PostedMessage.ts.is_(None),
            PostedMessage.kind != SENDING_REPLY,
            PostedMessage.created_at > utcnow() - IN_FLIGHT,
        )
        .limit(1)
    )
    return intended is not None
