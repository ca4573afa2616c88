"""The durable inbox: store an event once; claim, finish, retry or park it.

Claiming is one statement that works on SQLite and PostgreSQL alike. On PostgreSQL,
`FOR UPDATE SKIP LOCKED` lets any number of workers claim side by side without waiting on or
taking each other's rows; SQLite has a single writer and ignores the clause. A claim is a lease
(`locked_until`), not a state: a worker that dies holding rows only delays them until the lease
runs out, when another worker claims them again.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.delivery.events import KNOWN_EVENTS, dedupe_key, object_id, ordering_key
from bot.delivery.writer import insert_new
from bot.store.models import InboxEvent, utcnow

PENDING, DONE, FAILED, IGNORED = "pending", "done", "failed", "ignored"
#: The unique key every inbox row fills, which tells stored rows apart in a batch.
IDENTITY = "dedupe_key"


class NotYet(Exception):
    """An event that cannot be delivered before `until`; it waits without counting a failure."""

    def __init__(self, reason: str, until: datetime) -> None:
        super().__init__(reason)
        self.until = until


def new_row(
    event: str,
    data: dict[str, Any],
    *,
    body_sha256: str,
    delivery_id: str | None = None,
    timestamp: str | None = None,
    source: str = "webhook",
) -> dict[str, Any]:
    """The inbox row for an event, as column values: its three unique keys included.

    Unknown event types are recorded as `ignored`: kept for `deliveries`, never posted.
    """
    return {
        "event": event,
        "object_id": object_id(data),
        "dedupe_key": dedupe_key(event, data, body_sha256),
        "body_sha256": body_sha256,
        "delivery_id": delivery_id,
        "ordering_key": ordering_key(event, data),
        "payload": {"event": event, "timestamp": timestamp, "data": data},
        "source": source,
        "state": PENDING if event in KNOWN_EVENTS else IGNORED,
    }


async def store(session: AsyncSession, row: dict[str, Any]) -> int | None:
    """Store a `new_row()` and commit, unless it is already here (by any of its three keys).

    The new row's id, or None when it was a duplicate. (Webhooks go through `InboxWriter`,
    which stores many at once under the same rule.)
    """
    connection = await session.connection()
    [row_id] = await insert_new(connection, InboxEvent.__table__, IDENTITY, [row])
    await session.commit()
    return row_id


async def claim(
    session: AsyncSession, worker_id: str, *, limit: int, lease_seconds: float
) -> Sequence[InboxEvent]:
    """Lease up to `limit` due events, oldest first, at most one per ordering key.

    An event waits while an older one with its ordering key is still pending, so a voicemail's
    transcript never overtakes the voicemail, and a conversation's first two texts never open
    two threads.
    """
    now = utcnow()
    older = aliased(InboxEvent)
    blocked_by_older = exists().where(
        older.ordering_key == InboxEvent.ordering_key,
        older.id < InboxEvent.id,
        older.state == PENDING,
    )
    due = (
        select(InboxEvent.id)
        .where(
            InboxEvent.state == PENDING,
            InboxEvent.next_attempt_at <= now,
            or_(InboxEvent.locked_until.is_(None), InboxEvent.locked_until < now),
            ~blocked_by_older,
        )
        .order_by(InboxEvent.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=InboxEvent)
    )
    ids = list(await session.scalars(due))
    if ids:
        # SQLite reads outside the write transaction, so another worker may have leased
        # these rows since our read: lease only those still free, and keep only those.
        leased = await session.scalars(
            update(InboxEvent)
            .where(
                InboxEvent.id.in_(ids),
                or_(InboxEvent.locked_until.is_(None), InboxEvent.locked_until < now),
            )
            .values(locked_until=now + timedelta(seconds=lease_seconds), locked_by=worker_id)
            .returning(InboxEvent.id)
        )
        ids = list(leased)
    await session.commit()
    if not ids:
        return []
    rows = await session.scalars(select(InboxEvent).where(InboxEvent.id.in_(ids)))
    return sorted(rows, key=lambda row: row.id)


async def finish(session: AsyncSession, row_id: int) -> None:
    await _set(session, row_id, state=DONE, finished_at=utcnow(), last_error=None)


async def retry_later(
    session: AsyncSession,
    row_id: int,
    error: str,
    *,
    attempts: int,
    max_attempts: int,
    base_seconds: float,
) -> bool:
    """Count a failed attempt: back off exponentially with jitter, or park the event as failed.

    Returns True when the event was parked. A parked event is never dropped: `deliveries
    --failed` shows it and `replay` queues it again.
    """
    if attempts >= max_attempts:
        await _set(
            session,
            row_id,
            state=FAILED,
            attempts=attempts,
            last_error=error,
            finished_at=utcnow(),
            locked_until=None,
        )
        return True
    await _set(
        session,
        row_id,
        attempts=attempts,
        last_error=error,
        locked_until=None,
        next_attempt_at=utcnow() + timedelta(seconds=backoff(attempts, base_seconds)),
    )
    return False


async def postpone(session: AsyncSession, row_id: int, until: datetime, reason: str) -> None:
    """Try again at `until` without counting an attempt (Slack asked us to wait)."""
    await _set(session, row_id, next_attempt_at=until, locked_until=None, last_error=reason)


async def replay(session: AsyncSession, row_id: int) -> bool:
    """Queue a failed (or any finished) event again; False when there is no such event."""
    row = await session.get(InboxEvent, row_id)
    if row is None or row.state == PENDING:
        return row is not None
    await _set(
        session,
        row_id,
        state=PENDING,
        attempts=0,
        next_attempt_at=utcnow(),
        locked_until=None,
        finished_at=None,
    )
    return True


def backoff(attempts: int, base_seconds: float, cap_seconds: float = 3600) -> float:
    """Exponential backoff with equal jitter: about base·2ⁿ, never all workers at once."""
    delay = min(cap_seconds, base_seconds * 2 ** max(attempts - 1, 0))
    return delay / 2 + random.uniform(0, delay / 2)


async def counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(InboxEvent.state, func.count()).group_by(InboxEvent.state))
    # Not `dict(rows)`: a Result has `keys()`, so dict() would read it as a mapping.
    return dict(rows.all())


async def _set(session: AsyncSession, row_id: int, **values: Any) -> None:
    await session.execute(update(InboxEvent).where(InboxEvent.id == row_id).values(**values))
    await session.commit()
