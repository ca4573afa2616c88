"""The safety net: poll QTvoice for what its webhooks should have brought, into the same inbox.

Each run reads the recent missed calls, voicemails and received texts and stores them as the
webhook events they stand for. The inbox's dedupe key (event kind and object id) makes anything
a webhook already brought a no-op, so a webhook QTvoice never delivered still reaches Slack and
one it did deliver reaches it once. The window overlaps the previous run on purpose.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery import inbox
from bot.qtvoice.client import MAX_PAGE_SIZE, QTvoiceClient
from bot.qtvoice.errors import QTvoiceError
from bot.qtvoice.events import EventRefused, parse_envelope
from bot.qtvoice.models import QTvoiceModel
from bot.store.models import utcnow

logger = logging.getLogger(__name__)

#: Never look back further than this, however long the interval: a first start posts no history.
LONGEST_WINDOW = timedelta(hours=1)


async def reconcile(
    qtvoice: QTvoiceClient,
    sessions: async_sessionmaker[AsyncSession],
    interval_seconds: int,
    *,
    default_region: str = "US",
) -> int:
    """Store what QTvoice has that the inbox lacks; how many events were new.

    Each object becomes the typed event its webhook would have been (parsed by the same
    `parse_envelope`), so it carries the same dedupe key.
    """
    since = utcnow() - min(LONGEST_WINDOW, timedelta(seconds=2 * interval_seconds))
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
            signature = f"reconcile:{event.dedupe_key}".encode()
            async with sessions() as session:
                row = await inbox.store(
                    session,
                    event,
                    body_sha256=hashlib.sha256(signature).hexdigest(),
                    source="reconcile",
                )
                stored += row is not None
    except QTvoiceError as error:
        logger.warning("reconcile stopped early: %s", error)
    if stored:
        logger.info("reconcile found %d events the webhooks missed", stored)
    return stored


async def _recent(
    qtvoice: QTvoiceClient, since: datetime
) -> AsyncIterator[tuple[str, QTvoiceModel]]:
    async for call in qtvoice.iter_calls(status="missed", start_date=since, background=True):
        yield "call.missed", call
    # Voicemails and texts cannot be filtered by date: one page of the newest is the window.
    voicemails = await qtvoice.list_voicemails(is_read=False, limit=MAX_PAGE_SIZE, background=True)
    for voicemail in voicemails.data:
        if voicemail.created_at is not None and voicemail.created_at >= since:
            event = "voicemail.transcribed" if voicemail.transcription else "voicemail.new"
            yield event, voicemail
    texts = await qtvoice.list_sms(direction="inbound", limit=MAX_PAGE_SIZE, background=True)
    for sms in texts.data:
        if sms.created_at is not None and sms.created_at >= since:
            yield "sms.received", sms
