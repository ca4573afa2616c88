"""Who called whom back, and when: the calls the digest and the weekly report count.

A caller counts as called back by the first call to their number after they arrived: one
placed through the bot (`/call`, Call back; the `placed_calls` table, which names the Slack
user) or any outbound call in QTvoice's call list (someone dialled from a desk phone; named
by the Slack user linked to its extension, else the extension). QTvoice is asked once per
run; when it cannot be, only the calls placed from Slack count.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import phone
from bot.qtvoice.errors import QTvoiceError
from bot.report_figures import Callback
from bot.runtime import Runtime
from bot.store.models import ExtensionLink, PlacedCall

logger = logging.getLogger(__name__)

Callbacks = dict[str, list[Callback]]


async def callbacks_since(runtime: Runtime, session: AsyncSession, since: datetime) -> Callbacks:
    """Every call made to a number since `since`, by number (normalized like items' parties)."""
    region = runtime.settings.default_region
    calls: Callbacks = defaultdict(list)
    placed = await session.execute(
        select(PlacedCall.to, PlacedCall.placed_at, PlacedCall.slack_user_id).where(
            PlacedCall.placed_at >= since
        )
    )
    for number, placed_at, user in placed:
        key = phone.normalize(number, region)
        calls[key].append(Callback(key, placed_at, user))
    links = await session.execute(select(ExtensionLink.extension_id, ExtensionLink.slack_user_id))
    linked = {row.extension_id: row.slack_user_id for row in links}
    try:
        async for call in runtime.qtvoice.iter_calls(
            direction="outbound", start_date=since, background=True
        ):
            if call.to and call.created_at is not None:
                key = phone.normalize(call.to, region)
                person = linked.get(call.extension_id or "") or call.extension_id
                calls[key].append(Callback(key, call.created_at, person))
    except QTvoiceError as error:
        logger.warning("only calls placed from Slack count as returned: %s", error)
    return calls
