"""Who is on which caller: open items, taking and handling them, reminders, calls placed.

Every change that must happen once, whatever number of workers and restarts (an escalation,
a reminder), is claimed with a conditional UPDATE that only one transaction can win: the
database is the referee, not the process.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.store.db import dialect_insert
from bot.store.landing import when_landed
from bot.store.models import OpenItem, PlacedCall, PostedMessage, Reminder, utcnow

#: The kinds of item, named like the Slack messages (`PostedMessage.kind`) they live in.
MISSED_CALL, VOICEMAIL, SMS_THREAD = "missed_call", "voicemail", "sms_thread"
#: The `PostedMessage.kind` of a reminder DM; its key is "<item id>:<reminder id>".
REMINDER = "reminder"


@dataclass(frozen=True)
class Taken:
    """The item after a take, and who had it before (None when nobody, or the same person)."""

    item: OpenItem
    previous: str | None


@dataclass(frozen=True)
class Sighting:
    """A notification about an item, to `record`: its kind and key, and the message without
    ownership ({"text", "blocks"}) with what it is about."""

    kind: str
    key: str
    message: dict[str, Any]
    arrived_at: datetime
    line: str | None
    extension_id: str | None
    party: str | None


async def record(connection: AsyncConnection, sightings: list[Sighting]) -> list[OpenItem]:
    """The item of each notification, created on first sight; later sights update its message.

    `arrived_at` is kept from the first sight. One upsert for the lot, in the caller's
    transaction (the worker's `GroupCommit` commits many deliveries' at once); the items come
    back as plain objects to render, in the order given.
    """
    items: list[OpenItem | None] = [None] * len(sightings)
    waiting = list(range(len(sightings)))
    now = utcnow()
    while waiting:
        # PostgreSQL updates a row once per statement: a repeated key waits for the next one.
        wave = {(sightings[i].kind, sightings[i].key): i for i in reversed(waiting)}
        chosen = set(wave.values())
        waiting = [i for i in waiting if i not in chosen]
        insert = dialect_insert(connection, OpenItem)
        rows = await connection.execute(
            insert.on_conflict_do_update(
                index_elements=["kind", "key"], set_={"message": insert.excluded.message}
            ).returning(*OpenItem.__table__.columns),
            [
                {
                    "kind": sighting.kind,
                    "key": sighting.key,
                    "message": sighting.message,
                    "arrived_at": min(sighting.arrived_at, now),
                    "line": sighting.line,
                    "extension_id": sighting.extension_id,
                    "party": sighting.party,
                }
                for sighting in (sightings[i] for i in wave.values())
            ],
        )
        for row in rows:
            items[wave[(row.kind, row.key)]] = OpenItem(**row._mapping)
    recorded = [item for item in items if item is not None]
    if len(recorded) != len(sightings):
        raise RuntimeError("an upsert of open items returned fewer rows than it was given")
    return recorded


async def _find(session: AsyncSession, kind: str, key: str) -> OpenItem | None:
    return await session.scalar(select(OpenItem).where(OpenItem.kind == kind, OpenItem.key == key))


async def item_in_message(session: AsyncSession, channel: str, ts: str) -> OpenItem | None:
    """The item a posted Slack message (a notification or a reminder DM) is about; a message
    posted a moment ago is waited for (`when_landed`)."""
    posted = await when_landed(
        session,
        channel,
        lambda: session.scalar(
            select(PostedMessage).where(PostedMessage.channel_id == channel, PostedMessage.ts == ts)
        ),
    )
    if posted is None:
        return None
    if posted.kind == REMINDER:
        return await session.get(OpenItem, int(posted.key.split(":")[0]))
    return await _find(session, posted.kind, posted.key)


async def take(session: AsyncSession, item_id: int, user: str, now: datetime) -> Taken | None:
    """`user` takes the item; None when there is no such item or it is handled. Commits."""
    item = await session.get(OpenItem, item_id)
    if item is None or item.handled_at is not None:
        return None
    previous = item.taken_by if item.taken_by != user else None
    if item.taken_by != user:
        item.taken_from = item.taken_by
        item.taken_by, item.taken_at = user, now
    await session.commit()
    return Taken(item, previous)


async def handle(session: AsyncSession, item: OpenItem, user: str, now: datetime) -> None:
    """Close the item for good (Mark handled); marking it again names the latest. Commits."""
    item.handled_by, item.handled_at = user, now
    await session.commit()


async def remind(session: AsyncSession, item: OpenItem, user: str, due_at: datetime) -> Reminder:
    """A DM to `user` about `item` at `due_at`. Commits."""
    reminder = Reminder(slack_user_id=user, item_id=item.id, due_at=due_at)
    session.add(reminder)
    await session.commit()
    return reminder


async def messages_of(session: AsyncSession, item: OpenItem) -> list[PostedMessage]:
    """Every posted copy of the item: its notifications and the reminder DMs about it."""
    found = await session.scalars(
        select(PostedMessage)
        .where(
            PostedMessage.ts.is_not(None),
            or_(
                (PostedMessage.kind == item.kind) & (PostedMessage.key == item.key),
                (PostedMessage.kind == REMINDER) & PostedMessage.key.startswith(f"{item.id}:"),
            ),
        )
        .order_by(PostedMessage.id)
    )
    return list(found)


async def waiting(
    session: AsyncSession, arrived_after: datetime, arrived_before: datetime
) -> list[OpenItem]:
    """Items nobody took, handled or escalated that arrived in the window, oldest first."""
    found = await session.scalars(
        select(OpenItem)
        .where(
            OpenItem.escalated_at.is_(None),
            OpenItem.handled_at.is_(None),
            OpenItem.taken_at.is_(None),
            OpenItem.arrived_at > arrived_after,
            OpenItem.arrived_at <= arrived_before,
        )
        .order_by(OpenItem.arrived_at)
    )
    return list(found)


async def claim_escalation(session: AsyncSession, item_id: int, now: datetime) -> bool:
    """Whether this caller won the right to escalate the item (still untaken and unhandled).

    Exactly one transaction can move `escalated_at` off NULL. Commits.
    """
    result = await session.execute(
        update(OpenItem)
        .where(
            OpenItem.id == item_id,
            OpenItem.escalated_at.is_(None),
            OpenItem.taken_at.is_(None),
            OpenItem.handled_at.is_(None),
        )
        .values(escalated_at=now)
    )
    await session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def release_escalation(session: AsyncSession, item_id: int) -> None:
    """Give a claimed escalation back (its reply could not be posted), to be tried again."""
    await session.execute(update(OpenItem).where(OpenItem.id == item_id).values(escalated_at=None))
    await session.commit()


async def due_reminders(session: AsyncSession, now: datetime) -> list[Reminder]:
    found = await session.scalars(
        select(Reminder)
        .where(Reminder.sent_at.is_(None), Reminder.due_at <= now)
        .order_by(Reminder.due_at)
    )
    return list(found)


async def claim_reminder(session: AsyncSession, reminder_id: int, now: datetime) -> bool:
    """Whether this caller won the right to send the reminder. Commits."""
    result = await session.execute(
        update(Reminder)
        .where(Reminder.id == reminder_id, Reminder.sent_at.is_(None))
        .values(sent_at=now)
    )
    await session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def release_reminder(session: AsyncSession, reminder_id: int) -> None:
    await session.execute(update(Reminder).where(Reminder.id == reminder_id).values(sent_at=None))
    await session.commit()


async def record_placed_call(
    session: AsyncSession, user: str, to: str, call_id: str | None
) -> None:
    """A call placed from Slack to `to` (E.164): the digest counts it as a caller called back."""
    session.add(PlacedCall(slack_user_id=user, to=to, call_id=call_id))
    await session.commit()


async def taken_by(session: AsyncSession, user: str, limit: int) -> list[OpenItem]:
    """What `user` took and nobody has handled yet, the most recently taken first."""
    found = await session.scalars(
        select(OpenItem)
        .where(OpenItem.taken_by == user, OpenItem.handled_at.is_(None))
        .order_by(OpenItem.taken_at.desc())
        .limit(limit)
    )
    return list(found)


async def reminders_of(
    session: AsyncSession, user: str, limit: int
) -> list[tuple[Reminder, OpenItem]]:
    """`user`'s reminders still to come, soonest first, with their items."""
    rows = await session.execute(
        select(Reminder, OpenItem)
        .join(OpenItem, OpenItem.id == Reminder.item_id)
        .where(Reminder.slack_user_id == user, Reminder.sent_at.is_(None))
        .order_by(Reminder.due_at)
        .limit(limit)
    )
    return [(reminder, item) for reminder, item in rows]
