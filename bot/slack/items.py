"""The bot's messages changed by a click: every posted copy of an open item shown as the store
says (who took it, whether it was handled), and any other message closed out.

A click names only the item; every copy of it (its notifications and reminder DMs) is rebuilt
from what is stored, so everyone sees the same owner whichever copy was clicked. Each update
goes the worker's way (`Runtime.updates`: the poster's stored rate limits, and again when
Slack says to wait), and while Slack makes it wait the clicker is told so (`Patience`), never
that everyone can see a change that has not landed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.runtime import Runtime
from bot.slack.blocks import ownership as ownership_blocks
from bot.slack.blocks.kit import Message
from bot.slack.rendering import render_context
from bot.slack.tell import Tell
from bot.store import ownership
from bot.store.models import OpenItem

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


async def show(runtime: Runtime, channel: str, ts: str, message: Message, waiting: Waiting) -> bool:
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
                    ownership_blocks.rendered(
                        item, self.ctx, as_reminder=posted.kind == ownership.REMINDER
                    ),
                )
                for posted in await ownership.messages_of(session, item)
                if posted.ts is not None
            ]
        shown = True
        for channel, ts, message in copies:
            shown = await show(self.runtime, channel, ts, message, waiting) and shown
        return shown

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
