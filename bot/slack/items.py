"""Every posted copy of an open item shows what the store says of it (who took it, whether
it was handled): the ownership buttons and Mark handled change the store, then this.

A click names only the item; every copy of it (its notifications, reminder and assignment
DMs) is rebuilt from what is stored, so everyone sees the same owner whichever copy was
clicked, or whichever way it was taken (calling or texting the caller back: `show`). A copy
still on its way is settled by the worker once it lands (`bot.delivery.followup.settle`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.runtime import Runtime
from bot.slack.api_errors import describe
from bot.slack.blocks import ownership as ownership_blocks
from bot.slack.rendering import render_context
from bot.store import ownership
from bot.store.models import OpenItem, PostedMessage

logger = logging.getLogger(__name__)


class ItemCopies:
    """Updates the posted copies of open items from the store."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.ctx = render_context(runtime.settings)

    async def refresh(self, session: AsyncSession, client: AsyncWebClient, item: OpenItem) -> bool:
        """Show the stored state in every posted copy of the item; whether Slack took them all."""
        updated = True
        for posted in await ownership.messages_of(session, item):
            if posted.ts is None:
                continue
            message = ownership_blocks.rendered(item, self.ctx, copy=posted.kind)
            try:
                await client.chat_update(
                    channel=posted.channel_id, ts=posted.ts, **message.as_kwargs()
                )
            except SlackApiError as error:
                logger.warning("item %s not updated in Slack: %s", item.id, describe(error))
                updated = False
        return updated

    async def show(self, items: Sequence[OpenItem]) -> None:
        """Show items changed outside a click on them in every copy: `bot.telephony`'s
        `on_taken`, when someone called or texted the caller back."""
        async with self.runtime.sessions() as session:
            for item in items:
                await self.refresh(session, self.runtime.slack, item)

    async def hand_over(
        self, session: AsyncSession, client: AsyncWebClient, item: OpenItem, assignee: str
    ) -> bool:
        """The assignee's DM copy of the item (Assign…), posted once and recorded with the
        other copies, so `refresh` keeps it up to date; whether it is there."""
        key = f"{item.id}:{assignee}"
        posted = await session.scalar(
            select(PostedMessage).where(
                PostedMessage.kind == ownership.ASSIGNED, PostedMessage.key == key
            )
        )
        if posted is not None:
            return True  # assigned to them before: `refresh` just updated their copy
        message = ownership_blocks.rendered(item, self.ctx, copy=ownership.ASSIGNED)
        try:
            opened = await client.conversations_open(users=assignee)
            dm = str(opened["channel"]["id"])
            answer = await client.chat_postMessage(channel=dm, **message.as_kwargs())
        except SlackApiError as error:
            logger.warning("item %s: the assignee was not told: %s", item.id, describe(error))
            return False
        session.add(
            PostedMessage(kind=ownership.ASSIGNED, key=key, channel_id=dm, ts=str(answer["ts"]))
        )
        await session.commit()
        return True

    async def close(
        self, client: AsyncWebClient, channel: str, ts: str, user: str, when: datetime
    ) -> bool | None:
        """Mark handled on a message of an item: closed for good, shown in every copy.

        None when the message is about no item (the caller closes it itself); else whether
        Slack took every update.
        """
        async with self.runtime.sessions() as session:
            item = await ownership.item_in_message(session, channel, ts)
            if item is None:
                return None
            await ownership.handle(session, item, user, when)
            return await self.refresh(session, client, item)
