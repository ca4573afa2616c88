"""Where the inbox stands: the state of each stored event, and how many are in each.

`bot.delivery.inbox` moves events between these states; `replay` queues a finished one again
(the `replay` command, the App Home's Replay button); `/qtvoice status`, the `deliveries`
command, the App Home, `/healthz` and the scheduler's clean-up read them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import InboxEvent, utcnow

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


async def failed(session: AsyncSession, limit: int) -> list[InboxEvent]:
    """The newest `limit` parked events, the most recently parked first."""
    rows = await session.scalars(
        select(InboxEvent)
        .where(InboxEvent.state == FAILED)
        .order_by(InboxEvent.finished_at.desc(), InboxEvent.id.desc())
        .limit(limit)
    )
    return list(rows)


async def replay(session: AsyncSession, row_id: int, *, only_failed: bool = False) -> str | None:
    """Queue stored event `row_id` for delivery again; its state before, None if there is none.

    A pending event is left as it is (`PENDING` back: queued already). With `only_failed`,
    so is any but a failed one: a Replay button clicked twice, or after the worker delivered
    the first replay, must not post it again. The change is one conditional UPDATE, so two
    replays at once queue the event once (the second gets `PENDING`).
    """
    state = await session.scalar(select(InboxEvent.state).where(InboxEvent.id == row_id))
    if state is None or state == PENDING or (only_failed and state != FAILED):
        return state
    queued = await session.execute(
        update(InboxEvent)
        .where(InboxEvent.id == row_id, InboxEvent.state == state)
        .values(
            state=PENDING,
            attempts=0,
            next_attempt_at=utcnow(),
            locked_until=None,
            finished_at=None,
        )
    )
    await session.commit()
    return state if queued.rowcount == 1 else PENDING  # type: ignore[attr-defined]
