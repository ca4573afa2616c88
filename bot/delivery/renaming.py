"""A number gets a name: every open message about it shows that name, in every copy.

`contact.created` and `contact.updated` (from QTvoice's webhooks, or stored by Save contact
and Edit in Slack the moment QTvoice answered, with the same dedupe key) come here through
the notifier. Each item about the number that nobody has handled yet (a missed call, a
voicemail, a text conversation) is rendered again from the event data stored with its
message, with the caller as the directory knows them now; the item keeps the new rendering
(`followup.track`), and its notifications, DM copies and reminder DMs are updated in place
with their ownership, as any click would show them. A message whose data was not kept
(posted before it was) keeps its number; the next notification about it shows the name.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import consent
from bot.delivery import followup
from bot.delivery.poster import SlackPoster
from bot.qtvoice.events import VoicemailData
from bot.qtvoice.models import Call
from bot.slack.blocks import notifications as blocks
from bot.slack.blocks import ownership as ownership_blocks
from bot.slack.blocks.kit import Message, RenderContext
from bot.slack.blocks.notifications import Caller, Line
from bot.slack.plans import Track
from bot.store import ownership
from bot.store.groupcommit import GroupCommit
from bot.store.models import OpenItem, PostedMessage, utcnow

logger = logging.getLogger(__name__)

#: Items older than this are history: a name learned today does not rewrite last month.
RENAME_HORIZON = timedelta(days=7)
#: The kinds whose first message can be rendered again from what is stored with it.
RENAMED_KINDS = (ownership.MISSED_CALL, ownership.VOICEMAIL, ownership.SMS_THREAD)

CallerOf = Callable[[AsyncSession, str], Awaitable[Caller]]


async def show_new_name(
    session: AsyncSession,
    group: GroupCommit,
    poster: SlackPoster,
    ctx: RenderContext,
    number: str,
    caller_of: CallerOf,
) -> int:
    """Update every copy of every open item about `number` (E.164); how many items.

    `caller_of` is how the notifier names a number (the contact directory), so the messages
    show exactly what a new notification would.
    """
    items = await session.scalars(
        select(OpenItem).where(
            OpenItem.party == number,
            OpenItem.handled_at.is_(None),
            OpenItem.kind.in_(RENAMED_KINDS),
            OpenItem.arrived_at > utcnow() - RENAME_HORIZON,
        )
    )
    renamed = 0
    for item in list(items):
        copies = await ownership.messages_of(session, item)
        source = next((ref for ref in copies if ref.kind == item.kind and ref.state), None)
        if source is None:
            continue
        caller = await caller_of(session, number)
        again = await _rendered_again(session, item, source, caller, ctx)
        if again is None:
            continue
        message, line = again
        renamed_item = Track(
            item.kind, item.key, message, caller, line, item.arrived_at, item.conversation
        )
        item = await followup.track(session, group, ctx, renamed_item)
        for ref in copies:
            if ref.ts is None:
                continue
            shown = ownership_blocks.rendered(item, ctx, copy=ref.kind)
            await poster.update(session, ref, shown)
        renamed += 1
    return renamed


async def _rendered_again(
    session: AsyncSession,
    item: OpenItem,
    source: PostedMessage,
    caller: Caller,
    ctx: RenderContext,
) -> tuple[Message, Line] | None:
    """The item's notification as first posted, but naming `caller`; None when its stored
    data cannot be read."""
    try:
        if item.kind == ownership.MISSED_CALL:
            call = Call.model_validate(source.state)
            line = Line(number=call.to, extension_id=call.extension_id)
            return blocks.missed_call(call, caller, line, ctx), line
        if item.kind == ownership.VOICEMAIL:
            voicemail = VoicemailData.model_validate(source.state)
            line = Line(number=voicemail.to, extension_id=voicemail.extension_id)
            return blocks.voicemail(voicemail, caller, line, ctx), line
    except ValidationError:
        logger.warning("item %s keeps its number: its stored data is unreadable", item.id)
        return None
    line = Line(number=str(source.state.get("line") or "") or None)
    opted_out = await consent.is_opted_out(session, str(source.state.get("customer") or ""))
    return blocks.sms_thread_parent(caller, line, ctx, opted_out=opted_out), line
