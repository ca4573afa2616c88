"""The ownership buttons: I'll take it, Remind me (in an hour, tomorrow at opening time).

A click names only the item (`i`); what it did is written to the store and every copy of
the item (its notifications and reminder DMs) is rebuilt from what is stored
(`bot.slack.copies`), so everyone sees the same owner whichever copy was clicked. Mark handled (`actions.py`) closes the item
through `close`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime import Runtime
from bot.slack import copies, ownership_blocks
from bot.slack.blocks import format_when
from bot.slack.ownership_blocks import REMIND_HOUR, REMIND_MORNING, TAKE_IT
from bot.slack.rendering import render_context
from bot.slack.views import whisper
from bot.store import ownership
from bot.store.models import OpenItem

logger = logging.getLogger(__name__)

Ack = Callable[..., Awaitable[Any]]
Respond = Callable[..., Awaitable[Any]]

GONE = "That one isn't in my records any more; it may have been closed long ago."
ALREADY_HANDLED = "That one is already handled. ✅"
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
            await copies.refresh(session, client, taken.item, self.ctx)
        if taken.previous:
            told = f"🙋 It's yours now; <@{taken.previous}> had it before."
        else:
            told = "🙋 It's yours: everyone can see you're on it."
        await _tell(body, client, respond, told)

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
            return await copies.refresh(session, client, item, self.ctx)


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
    for remind in (REMIND_HOUR, REMIND_MORNING):
        app.action(remind)(handlers.remind)
