"""Nobody forgets a caller: items are tracked as they are posted, escalated, and reminded of.

`track` records the item behind a missed call, voicemail or text conversation (a plan's
`Track`, carried out by `bot.delivery.executor.perform`; a text that comes after its
conversation was handled is a new item): the item as stored, whose message with its
ownership (who took it, the buttons) `ownership_blocks.rendered` gives.
`escalate` and `send_reminders` are the scheduler's jobs, run as each falls due (`next_due`)
and every `TICK_SECONDS` besides. Each takes `now`, so the clock is whoever calls it (the
scheduler's leader in production, the tests in tests), and each claims its work
with a conditional UPDATE before it talks to Slack, so two workers or a restart never send
the same thing twice. A claim is a lease (`DELIVERY_LEASE_SECONDS`) marked done only once
the post is: a claim whose post fails is given back, to be tried next tick, and one whose
process died runs out. Either way the post goes through `SlackPoster.post_once`, which
adopts a post that landed but whose answer was lost, so the retry never posts it twice.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.delivery.poster import DmRefused, Refused, SlackPoster
from bot.runtime import Runtime
from bot.slack.blocks import ownership as ownership_blocks
from bot.slack.blocks.kit import Message, RenderContext
from bot.slack.plans import Track
from bot.slack.rendering import render_context
from bot.store import ownership
from bot.store.groupcommit import GroupCommit
from bot.store.models import ExtensionLink, OpenItem, PostedMessage, utcnow

logger = logging.getLogger(__name__)

#: An item older than this is never escalated, e.g. when escalation is first turned on.
ESCALATION_HORIZON = timedelta(days=7)
#: Escalations posted side by side at most (`escalate`).
ESCALATE_AT_ONCE = 16
#: How often the jobs run whatever is due: what failed (given back) is tried again then.
TICK_SECONDS = 60
#: An escalation given back is not tried again before this (`release_escalations`): the
#: next tick, unless the caller runs its ticks at another pace (`escalate`'s `retry_after`).
RETRY_AFTER = timedelta(seconds=TICK_SECONDS)
#: How often the leader reads the next due time again: items and reminders made by any
#: process are then seen, so each still fires within moments of its due time.
RECHECK_SECONDS = 2.0
#: Failures no retry can mend (Slack refuses the message, or a DM with the user): the work
#: is given up with a warning. Any other failure gives the claim back for the next tick.
NEVER_POSTED = (Refused, DmRefused)


def after_hours_channel(settings: Settings, now: datetime) -> str | None:
    """`AFTER_HOURS_CHANNEL` while closed at `now`; None while open or when unset."""
    channel = settings.after_hours_channel
    return channel if channel and not settings.hours.is_open(now) else None


async def channels_posted(session: AsyncSession, kind: str, key: str) -> list[str]:
    """Where a message of `kind` and `key` is already posted (channels and DMs): its later
    updates go there, whatever the hours say now (a transcript after closing time)."""
    found = await session.scalars(
        select(PostedMessage.channel_id)
        .where(PostedMessage.kind == kind, PostedMessage.key == key)
        .order_by(PostedMessage.id)
    )
    return list(found)


async def track(
    session: AsyncSession, group: GroupCommit, ctx: RenderContext, item: Track
) -> OpenItem:
    """Record the item a notification is about (`item`, a plan's `Track`; committed with other
    deliveries' writes, after `session`'s): the item as stored, whose message with its
    ownership `ownership_blocks.rendered` gives. Recorded again, it is the same item."""
    return await group.run(
        ownership.record,
        ownership.Sighting(
            kind=item.kind,
            key=item.key,
            message={"text": item.message.text, "blocks": item.message.blocks},
            arrived_at=item.arrived_at or utcnow(),
            line=item.line.number,
            extension_id=item.line.extension_id,
            party=item.caller.dialable(ctx) or item.caller.number,
            conversation=item.conversation,
        ),
        session=session,
    )


async def settle(
    session: AsyncSession,
    poster: SlackPoster,
    ctx: RenderContext,
    posted: PostedMessage,
    shown: Message,
) -> None:
    """Make a copy of an item that was just posted (`shown` in `posted`) show the item as it
    stands now.

    The copy was rendered before it was posted; a click in between (I'll take it, Mark
    handled on another copy) updated every copy Slack had then, and this one was not there
    yet. The click commits before it looks for copies and this looks after the copy's `ts`
    is stored, so one of the two always sees the other: no copy is left showing an owner
    that is not the item's. Taking and handling are never undone: while nobody is on the
    item, the copy shows it as it is, and only two columns are read.
    """
    if posted.ts is None or not await ownership.anyone_on(session, posted):
        return
    item = await ownership.item_of(session, posted)
    if item is None:
        return
    copy = posted.kind if posted.kind in ownership.ITEM_COPIES else None
    now = ownership_blocks.rendered(item, ctx, copy=copy)
    if now != shown:
        await poster.update(session, posted, now)


async def escalate(
    runtime: Runtime, now: datetime | None = None, *, retry_after: timedelta = RETRY_AFTER
) -> int:
    """Reply once in the thread of every item nobody took or handled in time; how many.

    "In time" is `ESCALATE_AFTER_MINUTES` open minutes after it arrived (`BUSINESS_HOURS`),
    so what arrives while closed waits for opening time. An item whose message is not in a
    channel yet (its delivery is waiting for Slack) is escalated once it is. Up to
    `ESCALATE_AT_ONCE` items are escalated side by side, each in a session of its own: at
    opening time a night's items fall due together, and one at a time each waited for the
    previous one's Slack round trip and commits. Raises the first error an item's claim or
    record met (the database's), once every item had its turn.
    """
    settings = runtime.settings
    minutes = settings.escalate_after_minutes
    if not minutes:
        return 0
    now = now or utcnow()
    hours = settings.hours
    async with runtime.sessions() as session:
        candidates = await ownership.waiting(
            session, now - ESCALATION_HORIZON, now - timedelta(minutes=minutes), now
        )
    due = [
        item for item in candidates if hours.add_business_minutes(item.arrived_at, minutes) <= now
    ]
    if not due:
        return 0
    # What the items under way write (claims, the posts intended and landed, done) shares
    # transactions, as the worker's deliveries' writes do: on SQLite, sessions that each
    # committed their own queued for its one write lock (its busy handler sleeps up to 100 ms).
    group = GroupCommit(runtime.engine)
    poster = SlackPoster(runtime.slack, group=group)
    slots = asyncio.Semaphore(ESCALATE_AT_ONCE)

    async def one(item: OpenItem) -> bool:
        async with slots, runtime.sessions() as session:
            return await _escalate_item(
                runtime, session, group, poster, item, now, now + retry_after
            )

    try:
        outcomes = await asyncio.gather(*(one(item) for item in due), return_exceptions=True)
    finally:
        await group.close()
    failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    if failures:
        raise failures[0]
    return sum(1 for outcome in outcomes if outcome is True)


async def _escalate_item(
    runtime: Runtime,
    session: AsyncSession,
    group: GroupCommit,
    poster: SlackPoster,
    item: OpenItem,
    now: datetime,
    retry_at: datetime,
) -> bool:
    """Claim, post and record one item's escalation; whether it was posted now. Its writes
    go through `group`, with the other items' under way; a claim given back waits until
    `retry_at`."""
    me = runtime.process_id
    lease = timedelta(seconds=runtime.settings.delivery_lease_seconds)
    minutes = runtime.settings.escalate_after_minutes
    claim = ownership.EscalationClaim(item.id, now, me, lease)
    if not await group.run(ownership.claim_escalations, claim, session=session):
        return False  # taken, handled, or being escalated by another worker meanwhile
    try:
        posted = await _post_escalation(session, poster, item, minutes)
    except NEVER_POSTED as error:
        logger.warning("escalation of item %s cannot be posted: %s", item.id, error)
        await session.rollback()
        await group.run(ownership.escalations_done, (item.id, now))
        return False
    except Exception as error:
        logger.warning("escalation of item %s not posted yet: %s", item.id, error)
        await session.rollback()
        await group.run(ownership.release_escalations, (item.id, me, retry_at))
        return False
    if not posted:
        await group.run(ownership.release_escalations, (item.id, me, retry_at), session=session)
        return False
    await group.run(ownership.escalations_done, (item.id, now), session=session)
    return True


async def next_due(runtime: Runtime, now: datetime) -> datetime | None:
    """The first moment an escalation or a reminder falls due; None when nothing waiting will.

    The escalation's may be `now` or before: an item that fell due while nobody looked (a
    leader taking over, a clock set forward) and was never tried is due at once. An item
    tried and given back (`release_escalations`) is not waiting until the next tick's time,
    so it is not due again before then; a reminder's is only after `now` (one due already
    and failed is the next tick's). Reads the oldest waiting item's arrival alone: a later
    arrival never falls due sooner.
    """
    settings = runtime.settings
    minutes = settings.escalate_after_minutes
    due: list[datetime] = []
    async with runtime.sessions() as session:
        if minutes:
            first = await ownership.first_waiting_arrival(session, now - ESCALATION_HORIZON, now)
            if first is not None:
                due.append(settings.hours.add_business_minutes(first, minutes))
        reminder = await ownership.next_reminder_at(session, now)
        if reminder is not None:
            due.append(reminder)
    return min(due, default=None)


async def _post_escalation(
    session: AsyncSession, poster: SlackPoster, item: OpenItem, minutes: int
) -> bool:
    """The escalation reply in the thread of the item's first channel message; False when
    the item has no channel message yet."""
    first = next(iter(await channel_messages(session, item)), None)
    if first is None or first.ts is None:
        return False
    await poster.post_once(
        session,
        kind="escalation",
        key=str(item.id),
        channel=first.channel_id,
        message=ownership_blocks.escalation(await _people_of_line(session, item), minutes),
        # A reopened conversation's item is itself a reply: the escalation joins its thread.
        thread_ts=first.thread_ts or first.ts,
    )
    return True


async def _people_of_line(session: AsyncSession, item: OpenItem) -> list[str]:
    """Slack users linked to the item's extension (or, a text having none, to its line)."""
    if item.extension_id:
        linked = ExtensionLink.extension_id == item.extension_id
    elif item.line:
        linked = ExtensionLink.phone_number == item.line
    else:
        return []
    users = await session.scalars(
        select(ExtensionLink.slack_user_id).where(linked).order_by(ExtensionLink.slack_user_id)
    )
    return list(users)


async def send_reminders(runtime: Runtime, now: datetime | None = None) -> int:
    """DM every reminder that is due, with the item as it stands and its buttons; how many.

    A reminder about an item handled since is dropped: there is nothing left to do.
    """
    now = now or utcnow()
    ctx = render_context(runtime.settings)
    poster = SlackPoster(runtime.slack)
    me, lease = runtime.process_id, timedelta(seconds=runtime.settings.delivery_lease_seconds)
    sent = 0
    async with runtime.sessions() as session:
        for reminder in await ownership.due_reminders(session, now):
            if not await ownership.claim_reminder(session, reminder.id, now, me, lease):
                continue
            item = await session.get(OpenItem, reminder.item_id)
            if item is None or item.handled_at is not None:
                await ownership.reminded(session, reminder.id, now)
                continue
            try:
                channel = await poster.dm_channel(session, reminder.slack_user_id)
                message = ownership_blocks.rendered(item, ctx, copy=ownership.REMINDER)
                posted = await poster.post_once(
                    session,
                    kind=ownership.REMINDER,
                    key=f"{item.id}:{reminder.id}",
                    channel=channel,
                    message=message,
                )
                await settle(session, poster, ctx, posted, message)
            except NEVER_POSTED as error:
                logger.warning("reminder %s cannot be sent: %s", reminder.id, error)
                await session.rollback()
                await ownership.reminded(session, reminder.id, now)
                continue
            except Exception as error:
                logger.warning("reminder %s not sent yet: %s", reminder.id, error)
                await session.rollback()
                await ownership.release_reminder(session, reminder.id, me)
                continue
            await ownership.reminded(session, reminder.id, now)
            sent += 1
    return sent


def is_direct_message(channel: str) -> bool:
    """A DM channel id (D…), as `conversations.open` gives: not a notified channel."""
    return channel.startswith("D")


async def channel_messages(session: AsyncSession, item: OpenItem) -> list[PostedMessage]:
    """The item's notifications in channels (not DMs): where the digest counts it."""
    return [
        posted
        for posted in await ownership.messages_of(session, item)
        if posted.kind == item.kind and not is_direct_message(posted.channel_id)
    ]
