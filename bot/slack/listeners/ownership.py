"""The ownership buttons: I'll take it, Assign…, Remind me (in an hour, tomorrow at opening time).

A click names only the item (`bot.slack.buttons`); what it did is written to the store and
every copy of the item is rebuilt from what is stored (`bot.slack.items`). Mark handled
(`bot.slack.listeners.actions`) closes an item through the same copies.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from slack_bolt.async_app import AsyncApp

from bot.runtime import Runtime
from bot.slack.blocks.kit import format_when, is_user_id, mention
from bot.slack.blocks.ownership import ASSIGN_TO, REMIND_HOUR, REMIND_MORNING, TAKE_IT
from bot.slack.items import ItemCopies, Patience
from bot.slack.rendering import render_context
from bot.slack.requests import Click, on_click
from bot.slack.tell import Tell
from bot.store import ownership
from bot.store.models import OpenItem
from bot.telephony import Telephony

GONE = "That one isn't in my records any more; it may have been closed long ago."
ALREADY_HANDLED = "That one is already handled. ✅"
SLOWED_DOWN = "Slack asked me to slow down, so the message will show it in a moment."
NOT_SHOWN = "Slack didn't let me update the message, so others don't see it yet; try again."
REMIND_IN = timedelta(hours=1)
NOT_LINKED_TO_ASSIGN = (
    "Only people linked to a QTvoice extension can hand callers out:"
    " link yours with `/qtvoice link <extension>`."
)


class Ownership:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.ctx = render_context(runtime.settings)
        self.copies = ItemCopies(runtime)

    def _item_id(self, click: Click) -> int | None:
        value = self.ctx.buttons.decode(click.value)
        return value.item_id() if value is not None else None

    async def take(self, click: Click, tell: Tell) -> None:
        """I'll take it: the clicking user owns the item, for everyone to see.

        The clicker hears that everyone can see it only once every copy shows it.
        """
        item_id = self._item_id(click)
        async with self.runtime.sessions() as session:
            taken = (
                await ownership.take(session, item_id, click.user_id, datetime.now(UTC))
                if item_id is not None
                else None
            )
            if taken is None:
                item = await session.get(OpenItem, item_id) if item_id is not None else None
                await tell(ALREADY_HANDLED if item else GONE)
                return
        had_it = f" {mention(taken.previous) or 'Someone'} had it before." if taken.previous else ""
        patience = Patience(tell, f"🙋 It's yours.{had_it} {SLOWED_DOWN}")
        if not await self.copies.refresh(taken.item.id, patience):
            await tell(f"🙋 It's yours.{had_it} {NOT_SHOWN}")
        elif patience.waited:
            await tell("🙋 Everyone can see you're on it now.")
        elif taken.previous:
            await tell(f"🙋 It's yours now; {mention(taken.previous) or 'someone'} had it before.")
        else:
            await tell("🙋 It's yours: everyone can see you're on it.")

    async def assign(self, click: Click, tell: Tell) -> None:
        """Assign…: the picked person owns the item, for everyone to see ("assigned to @x by
        @y"), and gets it in a DM with the same buttons; its escalation is off as if taken.
        Only a linked person (or an admin) may hand callers out. The item is the clicked
        message's, read from the store (a menu carries no value)."""
        assignee, channel, ts = click.selected_user, click.channel_id, click.message_ts
        if not await Telephony(self.runtime).acts_for_the_office(click.user_id):
            await tell(NOT_LINKED_TO_ASSIGN)
            return
        if assignee is None or not is_user_id(assignee) or not channel or not ts:
            await tell(GONE)
            return
        async with self.runtime.sessions() as session:
            item = await ownership.item_in_message(session, channel, ts)
            taken = (
                await ownership.take(
                    session, item.id, assignee, datetime.now(UTC), assigned_by=click.user_id
                )
                if item is not None
                else None
            )
            if taken is None:
                await tell(ALREADY_HANDLED if item else GONE)
                return
            told = await self.copies.hand_over(session, tell.client, taken.item, assignee)
            item_id = taken.item.id
        dm = "they have it in a DM" if told else "but I couldn't DM them"
        patience = Patience(tell, f"🙋 Assigned to {mention(assignee)}; {dm}. {SLOWED_DOWN}")
        if not await self.copies.refresh(item_id, patience):
            await tell(f"🙋 Assigned to {mention(assignee)}; {dm}. {NOT_SHOWN}")
        elif not patience.waited:
            await tell(f"🙋 Assigned to {mention(assignee)}; {dm}.")
        else:
            await tell("🙋 Everyone can see who has it now.")

    async def remind(self, click: Click, tell: Tell) -> None:
        """Remind me: a DM to the clicking user in an hour, or tomorrow at opening time."""
        item_id = self._item_id(click)
        now = datetime.now(UTC)
        if click.action_id == REMIND_MORNING:
            due = self.runtime.settings.hours.morning_after(now)
        else:
            due = now + REMIND_IN
        async with self.runtime.sessions() as session:
            item = await session.get(OpenItem, item_id) if item_id is not None else None
            if item is None or item.handled_at is not None:
                await tell(ALREADY_HANDLED if item else GONE)
                return
            await ownership.remind(session, item, click.user_id, due)
        await tell(f"⏰ I'll remind you {format_when(due, self.ctx)}.")


def register(app: AsyncApp, runtime: Runtime) -> None:
    """The take and remind buttons (Mark handled, in `actions`, closes through `items`)."""
    handlers = Ownership(runtime)
    app.action(TAKE_IT)(on_click(handlers.take))
    app.action(ASSIGN_TO)(on_click(handlers.assign))
    for remind in (REMIND_HOUR, REMIND_MORNING):
        app.action(remind)(on_click(handlers.remind))
