"""The buttons' updates of the bot's messages (`ClickUpdates`, which is `Runtime.updates`),
performed with the worker's exactly-once machinery (`bot.delivery.poster`).

An update goes through `SlackPoster.update`, so it honours the rate limit any process was
given for the channel and records a 429's Retry-After for all of them; where the worker would
hand its event back to the inbox until then (`ChannelCoolingDown`), this waits that long and
tries again, a bounded number of times, telling its caller each time it has to wait.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlalchemy import select

from bot.delivery.poster import CLAIM_AHEAD, ChannelCoolingDown, Refused, SlackPoster, Unreadable
from bot.runtime import Runtime
from bot.slack.api_errors import describe
from bot.slack.blocks.kit import Message
from bot.store.models import PostedMessage, utcnow

logger = logging.getLogger(__name__)

UPDATE_ATTEMPTS = 5
"""Tries at one update Slack keeps rate-limiting; each waits as long as Slack asked."""


class ClickUpdates:
    """`Runtime.updates`: message updates asked for by a click, on the poster's path."""

    def __init__(self, runtime: Runtime) -> None:
        self.sessions = runtime.sessions
        self.poster = SlackPoster(runtime.slack)

    async def update(
        self,
        channel: str,
        ts: str,
        text: str,
        blocks: Sequence[Mapping[str, Any]],
        waiting: Callable[[datetime], Awaitable[None]],
    ) -> bool:
        """Show the message at (`channel`, `ts`), one the bot posted; whether it landed."""
        message = Message(text, [dict(block) for block in blocks])
        for _ in range(UPDATE_ATTEMPTS):
            async with self.sessions() as session:
                ref = await session.scalar(
                    select(PostedMessage)
                    .where(PostedMessage.channel_id == channel, PostedMessage.ts == ts)
                    .order_by(PostedMessage.id)
                    .limit(1)
                )
                if ref is None:
                    return False
                try:
                    await self.poster.update(session, ref, message)
                    return True
                except ChannelCoolingDown as cooling:
                    until = cooling.until + CLAIM_AHEAD
                except (SlackApiError, Refused, Unreadable) as error:
                    reason = describe(error) if isinstance(error, SlackApiError) else str(error)
                    logger.warning("message in %s not updated: %s", channel, reason)
                    return False
            await waiting(until)
            await asyncio.sleep(max(0.0, (until - utcnow()).total_seconds()))
        logger.warning("message in %s not updated: Slack kept asking to wait", channel)
        return False
