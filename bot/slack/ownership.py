"""The ownership buttons: I'll take it, Assign…, Remind me (in an hour, tomorrow at opening time).

A click names only the item (`i`); what it did is written to the store and every copy of
the item (its notifications and reminder DMs) is rebuilt from what is stored, so everyone
sees the same owner whichever copy was clicked. Mark handled (`actions.py`) closes the item
through `close`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.runtime import Runtime
from bot.slack import ownership_blocks
from bot.slack.api_errors import describe
from bot.slack.blocks import format_when
from bot.slack.ownership_blocks import ASSIGN_TO, REMIND_HOUR, REMIND_MORNING, TAKE_IT
from bot.slack.parsing import is_user_id
from bot.slack.rendering import render_context
from bot.slack.views import whisper
from bot.store import ownership
from bot.store.models import OpenItem, PostedMessage
from bot.telephony import Telephony

logger = logging.getLogger(__name__)

Ack = Callable[..., Awaitable[Any]]
Respond = Callable[..., Awaitable[Any]]

GONE = "That one isn't in my records any more; it may have been closed long ago."
ALREADY_HANDLED = "That one is already handled. ✅"
NOT_LINKED_TO_ASSIGN = (
    "Only people linked to a QTvoice extension can hand callers out:"
    " link yours with `/qtvoice link <extension>`."
)
REMIND_IN = timedelta(hours=1)


class Ownership:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.ctx = render_context(runtime.settings)

    async def take(
        self, ack: Ack, body: dict[str, Any], client: AsyncWebClient, respond: Respond
    ) -> None:
        """I'll take it: the clicking user owns the item, for everyone to see."""
        await ack()
        user, item_id = _clicked(body)
        async with self.runtime.sessions() as session:
            taken = (
                await ownership.take(session, item_id, user, datetime.now(UTC))
                if item_id is not None
                else None
            )
            if taken is None:
                item = await session.get(OpenItem, item_id) if item_id is not None else None
                await _tell(body, client, respond, ALREADY_HANDLED if item else GONE)
                return
            await self.refresh(session, client, taken.item)
        if taken.previous:
            told = f"🙋 It's yours now; <@{taken.previous}> had it before."
        else:
            told = "🙋 It's yours: everyone can see you're on it."
        await _tell(body, client, respond, told)

    async def assign(
        self, ack: Ack, body: dict[str, Any], client: AsyncWebClient, respond: Respond
    ) -> None:
        """Assign…: the picked person owns the item, for everyone to see ("assigned to @x by
        @y"), and gets it in a DM with the same buttons; its escalation is off as if taken.
        Only a linked person (or an admin) may hand callers out."""
        await ack()
        user = body["user"]["id"]
        action = (body.get("actions") or [{}])[0]
        assignee = action.get("selected_user")
        container = body.get("container") or {}
        channel, ts = container.get("channel_id"), container.get("message_ts")
        if not await Telephony(self.runtime).acts_for_the_office(user):
            await _tell(body, client, respond, NOT_LINKED_TO_ASSIGN)
            return
        if not isinstance(assignee, str) or not is_user_id(assignee) or not channel or not ts:
            await _tell(body, client, respond, GONE)
            return
        async with self.runtime.sessions() as session:
            item = await ownership.item_in_message(session, channel, ts)
            taken = (
                await ownership.take(
                    session, item.id, assignee, datetime.now(UTC), assigned_by=user
                )
                if item is not None
                else None
            )
            if taken is None:
                await _tell(body, client, respond, ALREADY_HANDLED if item else GONE)
                return
            await self.refresh(session, client, taken.item)
            told = await self._hand_over(session, client, taken.item, assignee)
        if told:
            await _tell(
                body, client, respond, f"🙋 Assigned to <@{assignee}>; they have it in a DM."
            )
        else:
            await _tell(
                body, client, respond, f"🙋 Assigned to <@{assignee}>, but I couldn't DM them."
            )

    async def _hand_over(
        self, session: AsyncSession, client: AsyncWebClient, item: OpenItem, assignee: str
    ) -> bool:
        """The assignee's DM copy of the item, posted once and recorded, so it is kept up to
        date with every other copy (`refresh`); whether it is there."""
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

    async def remind(
        self, ack: Ack, body: dict[str, Any], client: AsyncWebClient, respond: Respond
    ) -> None:
        """Remind me: a DM to the clicking user in an hour, or tomorrow at opening time."""
        await ack()
        user, item_id = _clicked(body)
        now = datetime.now(UTC)
        action = ((body.get("actions") or [{}])[0]).get("action_id")
        if action == REMIND_MORNING:
            due = self.runtime.settings.hours.morning_after(now)
        else:
            due = now + REMIND_IN
        async with self.runtime.sessions() as session:
            item = await session.get(OpenItem, item_id) if item_id is not None else None
            if item is None or item.handled_at is not None:
                await _tell(body, client, respond, ALREADY_HANDLED if item else GONE)
                return
            await ownership.remind(session, item, user, due)
        await _tell(body, client, respond, f"⏰ I'll remind you {format_when(due, self.ctx)}.")

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
                logger.warning(
                    "item %s not updated in Slack: %s", item.id, error.response.get("error")
                )
                updated = False
        return updated

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


def _clicked(body: dict[str, Any]) -> tuple[str, int | None]:
    """The clicking user and the item id the button names (None when unreadable)."""
    action = (body.get("actions") or [{}])[0]
    return body["user"]["id"], ownership_blocks.item_of_value(action.get("value"))


async def _tell(body: dict[str, Any], client: AsyncWebClient, respond: Respond, text: str) -> None:
    """Only to the clicking user: through the response URL, else ephemerally or by DM."""
    if body.get("response_url"):
        await respond(text=text, response_type="ephemeral", replace_original=False)
        return
    channel = (body.get("channel") or {}).get("id")
    await whisper(client, body["user"]["id"], text, channel=channel)


def register(app: AsyncApp, runtime: Runtime) -> None:
    """The take and remind buttons (Mark handled, in `actions`, closes through `close`)."""
    handlers = Ownership(runtime)
    app.action(TAKE_IT)(handlers.take)
    app.action(ASSIGN_TO)(handlers.assign)
    for remind in (REMIND_HOUR, REMIND_MORNING):
        app.action(remind)(handlers.remind)
