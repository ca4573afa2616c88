"""The durable inbox: store an event once; claim, finish, retry or park it.

Claiming is one statement that works on SQLite and PostgreSQL alike. On PostgreSQL,
`FOR UPDATE SKIP LOCKED` lets any number of workers claim side by side without waiting on or
taking each other's rows; SQLite has a single writer and ignores the clause. A claim is a lease
(`locked_until`), not a state: a worker that dies holding rows only delays them until the lease
runs out, when another worker claims them again. A worker renews the leases of the rows it is
delivering (`renew`), so a slow delivery is never claimed a second time while it is alive.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from bot import consent
from bot.delivery import identity
from bot.qtvoice.events import KnownEvent, UnknownEvent, VoicemailEvent, load_stored
from bot.store.deliveries import DONE, FAILED, IGNORED, PENDING
from bot.store.models import InboxEvent, utcnow

#: Tries at storing one event when concurrent writers keep taking its keys first.
STORE_ATTEMPTS = 3
#: The unique key every inbox row fills, which tells stored rows apart in a batch.
IDENTITY = "dedupe_key"


class NotYet(Exception):
    """An event that cannot be delivered before `until`; it waits without counting a failure."""

    def __init__(self, reason: str, until: datetime) -> None:
        super().__init__(reason)
        self.until = until


def new_row(
    event: KnownEvent | UnknownEvent,
    *,
    body_sha256: str,
    delivery_id: str | None = None,
    source: str = "webhook",
) -> dict[str, Any] | None:
    """The inbox row for an event whose keys are all its own, as column values, for
    `InboxWriter`; None for an event `store` must take in its own transaction: a voicemail
    event, whose ordering key it decides at the door, or an inbound STOP or START, whose
    opt-out it records with the event (`consent.record`).
    """
    if isinstance(event, VoicemailEvent) or consent.keyword_of(event) is not None:
        return None
    return {
        "event": event.event,
        "object_id": event.object_id,
        "dedupe_key": event.dedupe_key,
        "body_sha256": body_sha256,
        "delivery_id": delivery_id,
        "ordering_key": event.ordering_key,
        "payload": event.canonical(),
        "source": source,
        "state": _first_state(event),
    }


async def store(
    session: AsyncSession,
    event: KnownEvent | UnknownEvent,
    *,
    body_sha256: str,
    delivery_id: str | None = None,
    source: str = "webhook",
) -> InboxEvent | None:
    """Store a typed event unless it is already here; None when it was (by any of its keys).

    Its keys: `event.dedupe_key` (the same event about the same object, unless it tells
    more: `_dedupe_key`), the signed body's hash and QTvoice's delivery id. What identifies the event beyond itself (a voicemail's
    aliases) and what it decides at once (an inbound STOP or START: `consent.record`) are
    written in the same transaction. Unknown event types are recorded as
    `ignored`: kept for `deliveries`, never posted. Raises IntegrityError only when the
    store keeps refusing the row after STORE_ATTEMPTS tries.
    """
    for attempt in range(1, STORE_ATTEMPTS + 1):
        dedupe_key = await _dedupe_key(session, event)
        if dedupe_key is None or await _already_stored(
            session, dedupe_key, body_sha256, delivery_id
        ):
            return None
        row = InboxEvent(
            event=event.event,
            object_id=event.object_id,
            dedupe_key=dedupe_key,
            body_sha256=body_sha256,
            delivery_id=delivery_id,
            ordering_key=await identity.remember(session, event),
            payload=event.canonical(),
            source=source,
            state=_first_state(event),
        )
        session.add(row)
        await consent.record(session, event)
        try:
            await session.commit()
        except IntegrityError:
            # Another request stored this event, or an alias of its voicemail, between our
            # look and our insert: look again.
            await session.rollback()
            if attempt == STORE_ATTEMPTS:
                raise
            continue
        return row
    return None


async def _dedupe_key(session: AsyncSession, event: KnownEvent | UnknownEvent) -> str | None:
    """The key to store `event` under: its `dedupe_key`, or when that is taken and the event
    fills a key of `data` the stored one did not (`filled`: a voicemail sent again, now with
    its transcript), that key marked with what it fills; None when it tells nothing new.

    A repeat of such a fuller event finds its marked key taken (`_already_stored`).
    """
    stored = await session.scalar(
        select(InboxEvent.payload).where(InboxEvent.dedupe_key == event.dedupe_key)
    )
    if stored is None:
        return event.dedupe_key
    if event.filled <= load_stored(stored).filled:
        return None
    filled = ",".join(sorted(event.filled))
    return f"{event.dedupe_key}+{hashlib.sha256(filled.encode()).hexdigest()[:16]}"


async def store_own(
    sessions: async_sessionmaker[AsyncSession], event: KnownEvent | UnknownEvent, *, source: str
) -> bool:
    """Store an event the bot learned by itself, not from a webhook (the reconcile poller's
    finds; the contact QTvoice answers Save contact with); whether it was new.

    Nobody signed it, so its body key is its source and dedupe key: the webhook that brings
    the same event later is a duplicate, and so is the same find stored twice.
    """
    signature = f"{source}:{event.dedupe_key}".encode()
    async with sessions() as session:
        row = await store(
            session, event, body_sha256=hashlib.sha256(signature).hexdigest(), source=source
        )
    return row is not None


async def _already_stored(
    session: AsyncSession, dedupe_key: str, body_sha256: str, delivery_id: str | None
) -> bool:
    keys = [InboxEvent.dedupe_key == dedupe_key, InboxEvent.body_sha256 == body_sha256]
    if delivery_id:
        keys.append(InboxEvent.delivery_id == delivery_id)
    found = await session.scalar(select(InboxEvent.id).where(or_(*keys)).limit(1))
    return found is not None


async def claim(
    session: AsyncSession, worker_id: str, *, limit: int, lease_seconds: float
) -> Sequence[InboxEvent]:
    """Lease up to `limit` due events, oldest first, at most one per ordering key.

    An event waits while an older one with its ordering key is still pending, so a voicemail's
    transcript never overtakes the voicemail, and a conversation's first two texts never open
    two threads; but not behind one that failed and waits out its backoff (`retry_later`):
    one event that cannot be delivered never holds back the rest of its conversation. An
    older event that is due, leased, or waiting without having failed (a rate-limited post)
    still holds the later ones back, so two deliveries of one key never run at once.
    """
    now = utcnow()
    older = aliased(InboxEvent)
    blocked_by_older = exists().where(
        older.ordering_key == InboxEvent.ordering_key,
        older.id < InboxEvent.id,
        older.state == PENDING,
        or_(
            older.attempts == 0,
            older.next_attempt_at <= now,
            older.locked_until > now,
        ),
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


async def renew(
    session: AsyncSession, row_ids: Sequence[int], worker_id: str, *, lease_seconds: float
) -> set[int]:
    """Extend `worker_id`'s leases on the pending rows it is delivering to `lease_seconds`
    from now; the ids of the rows another worker took since. Commits.

    Another worker took a row when its claim overwrote `locked_by` (after this worker's lease
    ran out): this worker must give that event up, as writing to Slack for it could post it
    twice. A row this worker still holds but that is no longer pending or leased is left
    alone and is not lost: its own delivery finished, postponed or set it to retry, and the
    delivery's task ends a moment after that write is committed (with other deliveries', in
    the worker's group commit), so a renewal often sees the row before the task is gone.
    """
    await session.execute(
        update(InboxEvent)
        .where(
            InboxEvent.id.in_(row_ids),
            InboxEvent.locked_by == worker_id,
            InboxEvent.locked_until.is_not(None),
            InboxEvent.state == PENDING,
        )
        .values(locked_until=utcnow() + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )
    taken = await session.scalars(
        select(InboxEvent.id).where(InboxEvent.id.in_(row_ids), InboxEvent.locked_by != worker_id)
    )
    lost = set(taken)
    await session.commit()
    return lost


async def finish(connection: AsyncConnection, row_ids: list[int]) -> list[None]:
    """Mark delivered events done: one statement in the caller's transaction (the worker's
    `GroupCommit` commits many deliveries' at once)."""
    await connection.execute(
        update(InboxEvent)
        .where(InboxEvent.id.in_(row_ids))
        .values(state=DONE, finished_at=utcnow(), last_error=None)
    )
    return [None] * len(row_ids)


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


@dataclass(frozen=True)
class Postponed:
    """An event to try again at `until`, and why, for `postpone`."""

    row_id: int
    until: datetime
    reason: str


async def postpone(connection: AsyncConnection, events: list[Postponed]) -> list[None]:
    """Try events again at their `until` without counting an attempt (Slack asked us to
    wait): one statement in the caller's transaction (the worker's `GroupCommit`)."""
    await connection.execute(
        update(InboxEvent)
        .where(InboxEvent.id == bindparam("row_id"))
        .values(
            next_attempt_at=bindparam("until"),
            locked_until=None,
            last_error=bindparam("reason"),
        ),
        [
            {"row_id": event.row_id, "until": event.until, "reason": event.reason}
            for event in events
        ],
    )
    return [None] * len(events)


def _first_state(event: KnownEvent | UnknownEvent) -> str:
    """Unknown event types are recorded, never posted; but the canary's (`CANARY_EVENT`)."""
    return IGNORED if isinstance(event, UnknownEvent) and not event.delivered else PENDING


def backoff(attempts: int, base_seconds: float, cap_seconds: float = 3600) -> float:
    """Exponential backoff with equal jitter: about base·2ⁿ, never all workers at once."""
    delay = min(cap_seconds, base_seconds * 2.0 ** max(attempts - 1, 0))
    return delay / 2 + random.uniform(0, delay / 2)


async def _set(session: AsyncSession, row_id: int, **values: Any) -> None:
    await session.execute(update(InboxEvent).where(InboxEvent.id == row_id).values(**values))
    await session.commit()
