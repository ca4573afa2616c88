"""The bot's own messages rendered again from what it stored, never from what a click carries.

A block_actions payload is signed by Slack, but its `message` is whatever the clicking client
says the message was: rewriting a message from it would let anyone who can click put their
own blocks (a `<!channel>`, a fake link) into the bot's message. So a button that changes a
message finds the message's `PostedMessage` by channel and ts and renders it from the event
data stored with it (or, for a message posted before that data was kept, the stored webhook).
A message that landed before its worker wrote down where (`adopt_landed`) is found by the
identity Slack keeps with it, read back from Slack.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.qtvoice.models import Call, Voicemail
from bot.runtime import Runtime
from bot.slack.api_errors import describe
from bot.slack.blocks import notifications
from bot.slack.blocks.kit import Message
from bot.slack.blocks.notifications import Line
from bot.slack.rendering import lookup_caller, render_context
from bot.store.models import InboxEvent, PostedMessage

logger = logging.getLogger(__name__)

#: The kinds of posted message a button may rewrite, and the webhook each was first posted for.
_SOURCE_EVENTS = {"missed_call": "call.missed", "voicemail": "voicemail.new"}


def landed_ref(message: Mapping[str, Any]) -> str | None:
    """The `kind:key` of its `PostedMessage` that a message the bot posted carries in its
    metadata (`delivery.poster`), read from a message as Slack's history returns it; else None."""
    payload = (message.get("metadata") or {}).get("event_payload") or {}
    ref = payload.get("ref") if isinstance(payload, Mapping) else None
    return ref if isinstance(ref, str) else None


async def adopt_landed(runtime: Runtime, client: AsyncWebClient, channel: str, ts: str) -> bool:
    """Record `ts` on the bot's post that landed there when its worker has not yet; whether a
    `PostedMessage` in `channel` now has that `ts`.

    The worker writes a post's ts down after Slack answers: a moment later, or, when the answer
    was lost or the worker died, once its retry finds the post. A click in between must not be
    told the message is not the bot's. Which post it is comes from Slack's own copy of the
    message (conversations.history, top-level messages: every message with buttons that
    change it is one), never from the click's.
    """
    try:
        history = await client.conversations_history(
            channel=channel,
            oldest=ts,
            latest=ts,
            inclusive=True,
            limit=1,
            include_all_metadata=True,
        )
    except SlackApiError as error:
        logger.warning("message %s in %s not read back: %s", ts, channel, describe(error))
        return False
    messages: list[dict[str, Any]] = history.get("messages") or []
    ref = next((landed_ref(message) for message in messages if message.get("ts") == ts), None)
    if ref is None:
        return False
    kind, _, key = ref.partition(":")
    async with runtime.sessions() as session:
        result = await session.execute(
            update(PostedMessage)
            .where(
                PostedMessage.kind == kind,
                PostedMessage.key == key,
                PostedMessage.channel_id == channel,
                PostedMessage.ts.is_(None) | (PostedMessage.ts == ts),
            )
            .values(ts=ts)
        )
        await session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def posted_at(runtime: Runtime, channel: str, ts: str) -> Message | None:
    """The bot's message at (`channel`, `ts`) and how it looks now, from the store.

    None when the bot keeps no message there of a kind a button may rewrite, or no longer
    has what it showed.
    """
    async with runtime.sessions() as session:
        refs = await session.scalars(
            select(PostedMessage).where(
                PostedMessage.channel_id == channel,
                PostedMessage.ts == ts,
                PostedMessage.kind.in_(tuple(_SOURCE_EVENTS)),
            )
        )
        ref = refs.first()
        if ref is None:
            return None
        data = ref.state if ref.state.get("id") else await _webhook_data(session, ref)
    if not data:
        return None
    return await _render(runtime, ref.kind, data)


async def _webhook_data(session: AsyncSession, ref: PostedMessage) -> dict[str, Any] | None:
    """The stored webhook a message was posted for (kept for the retention period)."""
    row = await session.scalar(
        select(InboxEvent)
        .where(InboxEvent.event == _SOURCE_EVENTS[ref.kind], InboxEvent.object_id == ref.key)
        .order_by(InboxEvent.id)
        .limit(1)
    )
    data = (row.payload or {}).get("data") if row is not None else None
    return data if isinstance(data, dict) else None


async def _render(runtime: Runtime, kind: str, data: dict[str, Any]) -> Message:
    ctx = render_context(runtime.settings)
    if kind == "voicemail":
        voicemail = Voicemail.model_validate(data)
        caller = await lookup_caller(runtime, voicemail.from_)
        line = Line(number=voicemail.to, extension_id=voicemail.extension_id)
        return notifications.voicemail(voicemail, caller, line, ctx)
    call = Call.model_validate(data)
    caller = await lookup_caller(runtime, call.from_)
    return notifications.missed_call(
        call, caller, Line(number=call.to, extension_id=call.extension_id), ctx
    )
