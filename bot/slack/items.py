"""The bot's messages changed by a click: every posted copy of an open item shown as the store
says (who took it, whether it was handled), and any other message closed out.

A click names only the item; every copy of it (its notifications, reminder and assignment
DMs) is rebuilt from what is stored, so everyone sees the same owner whichever copy was
clicked, or whichever way it was taken (calling or texting the caller back: `show`). A copy
still on its way is settled by the worker once it lands (`bot.delivery.followup.settle`).
Each update goes the worker's way (`Runtime.updates`: the poster's stored rate limits, and
again when Slack says to wait), and while Slack makes it wait the clicker is told so
(`Patience`), never that everyone can see a change that has not landed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.runtime import Runtime
from bot.slack.api_errors import describe
from bot.slack.blocks import ownership as ownership_blocks
from bot.slack.blocks.kit import Message
from bot.slack.rendering import render_context
from bot.slack.tell import Tell
from bot.store import ownership
from bot.store.models import OpenItem, PostedMessage

logger = logging.getLogger(__name__)

Waiting = Callable[[datetime], Awaitable[None]]


class Patience:
    """What a clicker is told the first time Slack makes an update of theirs wait; `waited`
    says whether it did."""

    def __init__(self, tell: Tell, text: str) -> None:
        self.tell = tell
        self.text = text
        self.waited = False

    async def __call__(self, until: datetime) -> None:
        if not self.waited:
            self.waited = True
            await self.tell(self.text)


async def unattended(until: datetime) -> None:
    """The `Waiting` of an update nobody is waiting on (no clicker to tell)."""


async def show_message(
    runtime: Runtime, channel: str, ts: str, message: Message, waiting: Waiting
) -> bool:
    """Show `message` at (`channel`, `ts`), a message the bot posted; whether it landed."""
    if runtime.updates is None:
        raise RuntimeError("Runtime.updates is not wired in (bot.web.create_app does it)")
    return await runtime.updates.update(channel, ts, message.text, message.blocks, waiting)


class ItemCopies:
    """Updates the posted copies of open items from the store."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.ctx = render_context(runtime.settings)

    async def refresh(self, item_id: int, waiting: Waiting) -> bool:
        """Show the stored state in every posted copy of the item; whether they all landed."""
        async with self.runtime.sessions() as session:
            item = await session.get(OpenItem, item_id)
            if item is None:
                return False
            copies = [
                (
                    posted.channel_id,
                    posted.ts,
                    ownership_blocks.rendered(item, self.ctx, copy=posted.kind),
                )
                for posted in await ownership.messages_of(session, item)
                if posted.ts is not None
            ]
        shown = True
        for channel, ts, message in copies:
            shown = await show_message(self.runtime, channel, ts, message, waiting) and shown
        return shown

    async def show(self, items: Sequence[OpenItem]) -> None:
        """Show items changed outside a click on them in every copy: `bot.telephony`'s
        `on_taken`, when someone called or texted the caller back."""
        for item in items:
            await self.refresh(item.id, unattended)

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
        self, channel: str, ts: str, user: str, when: datetime, waiting: Waiting
    ) -> bool | None:
        """Mark handled on a message of an item: closed for good, shown in every copy.

        None when the message is about no item (the caller closes it itself); else whether
        every copy shows it.
        """
        async with self.runtime.sessions() as session:
            item = await ownership.item_in_message(session, channel, ts)
            if item is None:
                return None
            await ownership.handle(session, item, user, when)
            item_id = item.id
        return await self.refresh(item_id, waiting)
