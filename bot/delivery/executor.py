"""Slack writes performed with the worker's exactly-once machinery (`bot.delivery.poster`):
a handler's plan (`perform`, see `bot.slack.plans`), and the buttons' updates of the bot's
messages (`ClickUpdates`, which is `Runtime.updates`).

A plan is carried out in order: an open item recorded through the group commit
(`bot.delivery.followup.track`), then each Slack write through the poster: a post once per
(kind, key) and channel (a copy of an open item shown with the item's ownership, and settled:
`bot.delivery.followup.settle`), an update or a reaction of what was posted, a recording
uploaded once in a post's thread (`bot.delivery.recordings`); a `Wait` hands the event back
to the inbox (`NotYet`). Run again after a failure, the same plan shows the same as running it
once: the item recorded again is the same item.

An update goes through `SlackPoster.update`, so it honours the rate limit any process was
given for the channel and records a 429's Retry-After for all of them; where the worker would
hand its event back to the inbox until then (`ChannelCoolingDown`), this waits that long and
tries again, a bounded number of times, telling its caller each time it has to wait.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery import followup, renaming
from bot.delivery.inbox import NotYet
from bot.delivery.poster import (
    CLAIM_AHEAD,
    ChannelCoolingDown,
    DmRefused,
    Refused,
    SlackPoster,
    Unreadable,
)
from bot.delivery.recordings import RECORDING_TITLE, RecordingUploader
from bot.runtime import Runtime
from bot.slack.api_errors import describe
from bot.slack.blocks import notifications
from bot.slack.blocks import ownership as ownership_blocks
from bot.slack.blocks.kit import Message, RenderContext
from bot.slack.blocks.notifications import Caller
from bot.slack.plans import DirectMessage, Plan, Post, React, Track, Update, Upload, Wait
from bot.store.groupcommit import GroupCommit
from bot.store.models import PostedMessage, utcnow

logger = logging.getLogger(__name__)

UPDATE_ATTEMPTS = 5
"""Tries at one update Slack keeps rate-limiting; each waits as long as Slack asked."""


async def perform(
    session: AsyncSession,
    poster: SlackPoster,
    group: GroupCommit,
    plan: Plan,
    ctx: RenderContext,
    recordings: RecordingUploader | None = None,
    caller_of: renaming.CallerOf | None = None,
) -> None:
    """Carry out `plan`'s writes in order (see the module's docstring); `group` commits an
    open item (`Track`) with other deliveries' writes, `ctx` renders an item's copy,
    `recordings` uploads (None: uploads are off, an `Upload` does nothing), `caller_of` names
    a number as the directory knows it now (None: a tracked item's name is not checked again;
    see `_names_now`).

    A post or update of an item (`Post.item`, `Update.item`) shows the item that a `Track`
    earlier in the plan recorded; one whose item the plan did not track raises KeyError.

    A direct message is opened when its first write comes, so a failure to open it raises
    after the channels before it were written; a user Slack will never let the bot write to
    (`DmRefused`) is skipped. Raises what the poster raises, or `NotYet` at a `Wait`.
    """
    posted: dict[tuple[str, str, str], PostedMessage] = {}
    opened: dict[str, str | None] = {}
    #: Each tracked item's message, shown with its ownership: (kind, key) → message.
    items: dict[tuple[str, str], Message] = {}
    callers: list[Caller] = []

    async def channel_of(place: str | DirectMessage) -> str | None:
        if isinstance(place, str):
            return place
        if place.user not in opened:
            try:
                opened[place.user] = await poster.dm_channel(session, place.user)
            except DmRefused:
                opened[place.user] = None
        return opened[place.user]

    async def ref_of(kind: str, key: str, channel: str) -> PostedMessage | None:
        known = posted.get((kind, key, channel))
        return known if known is not None else await poster.find(session, kind, key, channel)

    for write in plan:
        if isinstance(write, Wait):
            raise NotYet(write.reason, utcnow() + write.wait)
        if isinstance(write, Track):
            item = await followup.track(session, group, ctx, write)
            items[(write.kind, write.key)] = ownership_blocks.rendered(item, ctx)
            callers.append(write.caller)
            continue
        channel = await channel_of(write.channel)
        if channel is None:
            continue
        if isinstance(write, Post):
            shown = _shown(write, items, ctx)
            thread = await ref_of(*write.thread, channel) if write.thread else None
            post = await poster.post_once(
                session,
                kind=write.kind,
                key=write.key,
                channel=channel,
                message=shown,
                thread_ts=thread.ts if thread is not None else None,
                state=write.state,
                broadcast=write.broadcast,
            )
            posted[(write.kind, write.key, channel)] = post
            if write.settle:
                await followup.settle(session, poster, ctx, post, shown)
            continue
        ref = await ref_of(write.kind, write.key, channel)
        if ref is None or ref.ts is None:
            continue
        if isinstance(write, Update):
            await poster.update(session, ref, _shown(write, items, ctx), state=write.state)
        elif isinstance(write, React):
            await poster.react(session, channel, ref.ts, write.name)
        elif isinstance(write, Upload) and recordings is not None:
            await recordings.upload_once(
                session,
                key=write.key,
                channel=channel,
                thread_ts=ref.ts,
                url=write.url,
                title=RECORDING_TITLE,
            )
    if caller_of is not None:
        await _names_now(session, group, poster, ctx, callers, caller_of)


async def _names_now(
    session: AsyncSession,
    group: GroupCommit,
    poster: SlackPoster,
    ctx: RenderContext,
    callers: Sequence[Caller],
    caller_of: renaming.CallerOf,
) -> None:
    """Show the name a number got while its items' copies were being posted.

    A contact event delivered beside this one renames every open item about its number that
    has landed (`bot.delivery.renaming`); a copy posted after that rename looked, rendered
    with the caller read before the contact was cached, would keep the number alone. The
    rename caches the contact before it looks for copies, and this reads the cache after the
    copies' `ts` are stored, so one of the two always sees the other.
    """
    renamed: set[str] = set()
    for caller in callers:
        number = caller.dialable(ctx)
        if number is None or number in renamed:
            continue
        now = await caller_of(session, number)
        if (now.name, now.company) != (caller.name, caller.company):
            await renaming.show_new_name(session, group, poster, ctx, number, caller_of)
            renamed.add(number)


def _shown(
    write: Post | Update, items: Mapping[tuple[str, str], Message], ctx: RenderContext
) -> Message:
    """What a post or update shows: its item as tracked (`items`: (kind, key) → the message
    with its ownership) or its own message, closed out when someone marked it handled."""
    message = items[(write.kind, write.key)] if write.item else write.message
    if write.closed is None:
        return message
    closed = notifications.handled(message.blocks, write.closed.by, write.closed.at, ctx)
    return Message(message.text, closed)


class ClickUpdates:
    """`Runtime.updates`: message updates asked for by a click, on the poster's path."""

    def __init__(self, runtime: Runtime) -> None:
        self.sessions = runtime.sessions
        self.poster = SlackPoster(runtime.slack)

    async def update(
        self,
        channel: str,
        ts: str,
        text: str,
        blocks: Sequence[Mapping[str, Any]],
        waiting: Callable[[datetime], Awaitable[None]],
    ) -> bool:
        """Show the message at (`channel`, `ts`), one the bot posted; whether it landed."""
        message = Message(text, [dict(block) for block in blocks])
        for _ in range(UPDATE_ATTEMPTS):
            async with self.sessions() as session:
                ref = await session.scalar(
                    select(PostedMessage)
                    .where(PostedMessage.channel_id == channel, PostedMessage.ts == ts)
                    .order_by(PostedMessage.id)
                    .limit(1)
                )
                if ref is None:
                    return False
                try:
                    await self.poster.update(session, ref, message)
                    return True
                except ChannelCoolingDown as cooling:
                    until = cooling.until + CLAIM_AHEAD
                except (SlackApiError, Refused, Unreadable) as error:
                    reason = describe(error) if isinstance(error, SlackApiError) else str(error)
                    logger.warning("message in %s not updated: %s", channel, reason)
                    return False
            await waiting(until)
            await asyncio.sleep(max(0.0, (until - utcnow()).total_seconds()))
        logger.warning("message in %s not updated: Slack kept asking to wait", channel)
        return False
