"""The daily digest job: yesterday's callers, per notified channel, once a day at `DIGEST_AT`.

A caller counts as called back by the first call to their number after they arrived
(`bot.delivery.callbacks`); QTvoice is asked once per run, for the outbound calls since the
start of the day. Each channel's digest is posted with
`post_once` under the day's date, so a restart or a second worker never posts it twice, and
a run that posted them all is recorded (`job_runs`): a new leader that runs the job again
that day, to catch up on one its predecessor may have missed, does nothing and asks nothing.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.callbacks import callbacks_since
from bot.delivery.followup import ESCALATION_HORIZON, is_direct_message
from bot.delivery.poster import SlackPoster
from bot.qtvoice.models import Sms
from bot.runtime import Runtime
from bot.slack.blocks import digest as digest_blocks
from bot.slack.blocks.digest import Digest, DigestItem
from bot.slack.rendering import render_context
from bot.store import job_runs
from bot.store.models import InboxEvent, OpenItem, PostedMessage, utcnow

logger = logging.getLogger(__name__)

#: How far back "still open" looks: older items are history, not a to-do list.
OPEN_HORIZON = ESCALATION_HORIZON
#: Its name in `job_runs`.
JOB = "digest"

Returns = dict[str, list[datetime]]


async def send_digests(runtime: Runtime, now: datetime | None = None) -> int:
    """Post yesterday's digest (in `TIMEZONE`) to each notified channel; how many posted."""
    now = now or utcnow()
    settings = runtime.settings
    zone = settings.zone
    day = now.astimezone(zone).date() - timedelta(days=1)
    start = datetime.combine(day, time(0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0), zone)
    ctx = render_context(settings)
    poster = SlackPoster(runtime.slack)
    async with runtime.sessions() as session:
        done = await job_runs.last_finished(session, JOB)
        if done is not None and done.astimezone(zone).date() - timedelta(days=1) == day:
            return 0
        returns = await _returns(runtime, session, start)
        per_channel = await _digests(session, day, start, end, now, returns)
        per_channel.setdefault(settings.notify_channel, Digest(day))
        posted = await poster.post_each(
            session,
            kind="digest",
            key=day.isoformat(),
            messages={
                channel: digest_blocks.digest(summary, ctx)
                for channel, summary in per_channel.items()
            },
        )
        if posted == len(per_channel):
            await job_runs.finished(session, JOB, now)
    return posted


async def _digests(
    session: AsyncSession,
    day: date,
    start: datetime,
    end: datetime,
    now: datetime,
    returns: Returns,
) -> dict[str, Digest]:
    """Each channel's digest: the items posted there that arrived on `day`, and open ones."""
    arrived: dict[str, list[DigestItem]] = defaultdict(list)
    still_open: dict[str, list[DigestItem]] = defaultdict(list)
    # Each item with its copies in channels, in one read (a query per item cost a week's
    # worth of round trips each morning); the columns alone, not the stored message.
    copies = await session.execute(
        select(
            OpenItem.id,
            OpenItem.kind,
            OpenItem.party,
            OpenItem.arrived_at,
            OpenItem.handled_by,
            OpenItem.handled_at,
            PostedMessage.channel_id,
        )
        .join(
            PostedMessage,
            (PostedMessage.kind == OpenItem.kind)
            & (PostedMessage.key == OpenItem.key)
            & PostedMessage.ts.is_not(None),
        )
        .where(OpenItem.arrived_at >= min(start, now - OPEN_HORIZON), OpenItem.arrived_at < end)
        .order_by(OpenItem.arrived_at, OpenItem.id, PostedMessage.id)
    )
    summaries: dict[int, DigestItem] = {}
    for item_id, kind, party, arrived_at, handled_by, handled_at, channel in copies:
        if is_direct_message(channel):
            continue
        summary = summaries.get(item_id)
        if summary is None:
            summary = summaries[item_id] = DigestItem(
                kind=kind,
                party=party,
                arrived_at=arrived_at,
                handled_by=handled_by,
                returned_after=_returned_after(party, arrived_at, returns),
            )
        if arrived_at >= start:
            arrived[channel].append(summary)
        if handled_at is None:
            still_open[channel].append(summary)
    texts = await _texts_received(session, start, end)
    return {
        channel: Digest(day, tuple(arrived[channel]), tuple(still_open[channel]), texts[channel])
        for channel in dict.fromkeys([*arrived, *still_open, *texts])
    }


async def _texts_received(session: AsyncSession, start: datetime, end: datetime) -> Counter[str]:
    """Texts received in the window (by their own time), counted in each channel they were
    posted to. Read from the inbox, which keeps every accepted event for weeks."""
    received = await session.execute(
        select(InboxEvent.object_id, InboxEvent.payload, InboxEvent.received_at).where(
            InboxEvent.event == "sms.received",
            InboxEvent.received_at >= start,
        )
    )
    in_window = [
        sms_id
        for sms_id, payload, received_at in received
        if sms_id and start <= (_created_at(payload) or received_at) < end
    ]
    if not in_window:
        return Counter()
    posts = await session.scalars(
        select(PostedMessage.channel_id).where(
            PostedMessage.kind == "sms", PostedMessage.key.in_(in_window)
        )
    )
    return Counter(channel for channel in posts if not is_direct_message(channel))


def _created_at(payload: dict[str, Any]) -> datetime | None:
    """The text's own time, from the stored envelope's `data`."""
    try:
        return Sms.model_validate(payload.get("data") or {}).created_at
    except ValidationError:
        return None


async def _returns(runtime: Runtime, session: AsyncSession, since: datetime) -> Returns:
    """When each number was called since `since`: through the bot, or as QTvoice recorded."""
    return {
        number: [call.at for call in calls]
        for number, calls in (await callbacks_since(runtime, session, since)).items()
    }


def _returned_after(party: str | None, arrived_at: datetime, returns: Returns) -> timedelta | None:
    """How long after `arrived_at` the first call to `party` came; None when none did."""
    if party is None:
        return None
    after = [moment for moment in returns.get(party, []) if moment >= arrived_at]
    return min(after) - arrived_at if after else None
