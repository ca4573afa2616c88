"""The bot's own messages rendered again from what it stored, never from what a click carries.

A block_actions payload is signed by Slack, but its `message` is whatever the clicking client
says the message was: rewriting a message from it would let anyone who can click put their
own blocks (a `<!channel>`, a fake link) into the bot's message. So a button that changes a
message finds the message's `PostedMessage` by channel and ts and renders it from the event
data stored with it (or, for a message posted before that data was kept, the stored webhook).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.qtvoice.models import Call, Voicemail
from bot.runtime import Runtime
from bot.slack import blocks
from bot.slack.blocks import Line, Message
from bot.slack.rendering import lookup_caller, render_context
from bot.store.landing import when_landed
from bot.store.models import InboxEvent, PostedMessage

#: The kinds of posted message a button may rewrite, and the webhook each was first posted for.
_SOURCE_EVENTS = {"missed_call": "call.missed", "voicemail": "voicemail.new"}


async def posted_at(runtime: Runtime, channel: str, ts: str) -> Message | None:
    """The bot's message at (`channel`, `ts`) and how it looks now, from the store.

    None when the bot keeps no message there of a kind a button may rewrite, or no longer
    has what it showed.
    """
    async with runtime.sessions() as session:
        ref = await when_landed(
            session,
            channel,
            lambda: session.scalar(
                select(PostedMessage)
                .where(
                    PostedMessage.channel_id == channel,
                    PostedMessage.ts == ts,
                    PostedMessage.kind.in_(tuple(_SOURCE_EVENTS)),
                )
                .limit(1)
            ),
        )
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
        return blocks.voicemail(voicemail, caller, line, ctx)
    call = Call.model_validate(data)
    caller = await lookup_caller(runtime, call.from_)
    return blocks.missed_call(
        call, caller, Line(number=call.to, extension_id=call.extension_id), ctx
    )
