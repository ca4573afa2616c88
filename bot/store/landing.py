"""A post is in Slack a moment before the bot has stored where it is: finding it then.

The worker records a post as intended (a `PostedMessage` with no `ts`), posts it, and then
stores the `ts` Slack answered with, committed together with other deliveries' writes
(`bot.store.groupcommit`). A click on the message or a reply in its thread can reach the bot in
between: a person is not that quick, a script or a test is. So a lookup by `ts` that finds
nothing while a post in that channel is still waiting for its `ts` looks again, for a moment,
before it concludes that the message is not the bot's.
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

#: How long to keep looking, and how often. A `ts` is stored milliseconds after Slack answers.
LANDING_WAIT_SECONDS = 2.0
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
