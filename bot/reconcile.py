"""The safety net: poll QTvoice for what its webhooks should have brought, into the same inbox.

Each run reads the recent missed calls, voicemails and received texts and stores them as the
webhook events they stand for. The inbox's dedupe key (event kind and object id) makes anything
a webhook already brought a no-op, so a webhook QTvoice never delivered still reaches Slack and
one it did deliver reaches it once.

The window starts where the last run that finished started (a cursor in `job_runs`), a few
minutes early for clocks that differ: after a five-hour outage the next run fills all five
hours, bounded by a day. Every request is a background one, which the client refuses once
`X-RateLimit-Remaining` reaches the share kept for people's commands; a run stopped that way
does not move the cursor, so the next one picks up where it stood.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery import inbox
from bot.qtvoice.client import QTvoiceClient
from bot.qtvoice.errors import QTvoiceError
from bot.qtvoice.events import EventRefused, parse_envelope
from bot.qtvoice.models import QTvoiceModel
from bot.store import job_runs
from bot.store.models import utcnow

logger = logging.getLogger(__name__)

JOB = "reconcile"
#: A first run looks back this far at most, however long the interval: it posts no history.
FIRST_WINDOW = timedelta(hours=1)
#: However long the outage, never look back further than this.
LONGEST_WINDOW = timedelta(days=1)
#: Each window starts this much before the last one did: clocks and QTvoice's writes lag.
OVERLAP = timedelta(minutes=5)


async def reconcile(
    qtvoice: QTvoiceClient,
    sessions: async_sessionmaker[AsyncSession],
    interval_seconds: int,
    now: datetime | None = None,
    *,
    default_region: str = "US",
) -> int:
    """Store what QTvoice has that the inbox lacks since the last finished run; how many.

    Each object becomes the typed event its webhook would have been (parsed by the same
    `parse_envelope`), so it carries the same dedupe key.
    """
    now = now or utcnow()
    async with sessions() as session:
        last = await job_runs.last_finished(session, JOB)
    if last is None:
        since = now - min(FIRST_WINDOW, timedelta(seconds=2 * interval_seconds))
    else:
        since = max(last - OVERLAP, now - LONGEST_WINDOW)
    stored = 0
    try:
        async for event_type, item in _recent(qtvoice, since):
            data = item.model_dump(mode="json", by_alias=True, exclude_none=True)
            try:
                event = parse_envelope(
                    {"event": event_type, "data": data}, default_region=default_region
                )
            except EventRefused as refused:
                logger.warning("reconcile skipped a %s: %s", event_type, refused.reason)
                continue
            stored += await inbox.store_own(sessions, event, source="reconcile")
    except QTvoiceError as error:
        logger.warning("reconcile stopped early; the next run starts where this one did: %s", error)
    else:
        async with sessions() as session:
            await job_runs.finished(session, JOB, now)
    if stored:
        logger.info("reconcile found %d events the webhooks missed", stored)
    return stored


async def _recent(
    qtvoice: QTvoiceClient, since: datetime
) -> AsyncIterator[tuple[str, QTvoiceModel]]:
    async for call in qtvoice.iter_calls(status="missed", start_date=since, background=True):
        if call.is_missed:
            yield "call.missed", call
    # Voicemails and texts cannot be filtered by date; they come newest first.
    async for voicemail in qtvoice.iter_voicemails(is_read=False, background=True):
        if voicemail.created_at is None:
            continue
        if voicemail.created_at < since:
            break
        event = "voicemail.transcribed" if voicemail.transcription else "voicemail.new"
        yield event, voicemail
    async for sms in qtvoice.iter_sms(direction="inbound", background=True):
        if sms.created_at is None:
            continue
        if sms.created_at < since:
            break
        yield "sms.received", sms
