"""Where the inbox stands: the state of each stored event, and how many are in each.

`bot.delivery.inbox` moves events between these states; `/qtvoice status`, the `deliveries`
command, `/healthz` and the scheduler's clean-up read them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import InboxEvent

PENDING = "pending"
"""Waiting for the worker (possibly until a retry time)."""
DONE = "done"
"""Shown in Slack."""
FAILED = "failed"
"""Parked after its last attempt; `qtslack replay ID` queues it again."""
IGNORED = "ignored"
"""An event type the bot does not know: recorded, never posted."""


async def counts(session: AsyncSession) -> dict[str, int]:
    """How many stored events are in each state; a state with none is absent."""
    rows = await session.execute(select(InboxEvent.state, func.count()).group_by(InboxEvent.state))
    # Not `dict(rows)`: a Result has `keys()`, so dict() would read it as a mapping.
    return dict(rows.all())


async def last_webhook_at(session: AsyncSession) -> datetime | None:
    """When the newest webhook (not a reconciliation poll) was stored, in UTC; None if never."""
    return await session.scalar(
        select(func.max(InboxEvent.received_at)).where(InboxEvent.source == "webhook")
    )
