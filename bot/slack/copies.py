"""Every copy of an item shows what is stored about it: who took it, who handled it.

An item (a missed call, a voicemail, a text conversation) has copies: its notifications in
channels and DMs and the reminder DMs about it. Whatever changed it (a click on any copy,
calling or texting the caller back) rebuilds each copy Slack has from the store, so everyone
sees the same owner whichever way it was taken. A copy still on its way is settled by the
worker once it lands (`bot.delivery.followup.settle`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession

from bot.runtime import Runtime
from bot.slack import ownership_blocks
from bot.slack.blocks import RenderContext
from bot.slack.rendering import render_context
from bot.store import ownership
from bot.store.models import OpenItem

logger = logging.getLogger(__name__)


async def refresh(
    session: AsyncSession, client: AsyncWebClient, item: OpenItem, ctx: RenderContext
) -> bool:
    """Show the stored state in every posted copy of the item; whether Slack took them all."""
    updated = True
    for posted in await ownership.messages_of(session, item):
        if posted.ts is None:
            continue
        message = ownership_blocks.rendered(
            item, ctx, as_reminder=posted.kind == ownership.REMINDER
        )
        try:
            await client.chat_update(channel=posted.channel_id, ts=posted.ts, **message.as_kwargs())
        except SlackApiError as error:
            logger.warning("item %s not updated in Slack: %s", item.id, error.response.get("error"))
            updated = False
    return updated


class ItemCopies:
    """Refreshes the copies of items changed outside a click on them (`bot.telephony`'s
    `on_taken`: someone called or texted the caller back)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.ctx = render_context(runtime.settings)

    async def show(self, items: Sequence[OpenItem]) -> None:
        async with self.runtime.sessions() as session:
            for item in items:
                await refresh(session, self.runtime.slack, item, self.ctx)
