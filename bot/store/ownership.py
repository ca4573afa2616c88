"""Who is on which caller: open items, taking and handling them, reminders, calls placed.

Every post that must happen once, whatever number of workers and restarts (an escalation,
a reminder), is claimed with a conditional UPDATE that only one transaction can win: the
database is the referee, not the process. A claim names its process and runs out after a
lease, and the work is marked done only once posted; so a process that dies between its
claim and its post holds the work back no longer than the lease (the post itself goes
through `SlackPoster.post_once`, which adopts a post that landed unrecorded).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from bot import metrics
from bot.store.db import dialect_insert
from bot.store.models import OpenItem, PlacedCall, PostedMessage, Reminder, utcnow

#: The kinds of item, named like the Slack messages (`PostedMessage.kind`) they live in: a
#: text conversation's first item is its thread's parent (keyed by the conversation), and a
#: text that comes after the conversation was handled opens a `SMS_REOPENED` item (keyed by
#: that text's id), whose message is a reply in the thread, also sent to the channel.
MISSED_CALL, VOICEMAIL, SMS_THREAD = "missed_call", "voicemail", "sms_thread"
SMS_REOPENED = "sms_reopened"
#: The `PostedMessage.kind` of a reminder DM; its key is "<item id>:<reminder id>".
REMINDER = "reminder"
#: The `PostedMessage.kind` of the DM an assignee gets (Assign…); its key is
#: "<item id>:<assignee's user id>".
ASSIGNED = "assigned"
#: DM copies of an item, keyed by the item's id first: they show it as everyone sees it.
ITEM_COPIES = (REMINDER, ASSIGNED)


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
    #: A text item's conversation (`SmsEvent.conversation_key`), None for other items.
    conversation: str | None = None


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
                    "conversation": sighting.conversation,
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


async def reopened_after(
    session: AsyncSession, conversation: str, text_key: str
) -> OpenItem | None:
    """The handled item after which the text `text_key` reopens `conversation`; None when
    the conversation is open (its latest item is not handled), so the text needs no new item.

    Asked again for the same text (its delivery retried), it answers the same: the item
    before the one that text opened. Handling is final, so that one is still handled.
    """
    before = select(OpenItem).where(OpenItem.conversation == conversation)
    own = await _find(session, SMS_REOPENED, text_key)
    if own is not None:
        before = before.where(OpenItem.id < own.id)
    latest = await session.scalar(before.order_by(OpenItem.id.desc()).limit(1))
    return latest if latest is not None and latest.handled_at is not None else None


async def _find(session: AsyncSession, kind: str, key: str) -> OpenItem | None:
    return await session.scalar(select(OpenItem).where(OpenItem.kind == kind, OpenItem.key == key))


async def item_in_message(session: AsyncSession, channel: str, ts: str) -> OpenItem | None:
    """The item a posted Slack message (a notification or a reminder DM) is about."""
    posted = await session.scalar(
        select(PostedMessage).where(PostedMessage.channel_id == channel, PostedMessage.ts == ts)
    )
    return await item_of(session, posted) if posted is not None else None


async def item_of(session: AsyncSession, posted: PostedMessage) -> OpenItem | None:
    """The item a posted copy (a notification, a reminder or an assignment DM) is about, as
    stored now: read again from the database even when `session` holds it, since a click may
    have changed it since; None when the message is about no item."""
    return await session.scalar(
        select(OpenItem).where(_about(posted)).execution_options(populate_existing=True)
    )


async def anyone_on(session: AsyncSession, posted: PostedMessage) -> bool:
    """Whether anybody took or handled the item a posted copy is about, as stored now: a
    read of two columns, for the worker to ask after every post (`followup.settle`)."""
    row = (
        await session.execute(select(OpenItem.taken_at, OpenItem.handled_at).where(_about(posted)))
    ).first()
    return row is not None and (row.taken_at is not None or row.handled_at is not None)


def _about(posted: PostedMessage) -> ColumnElement[bool]:
    """The item a posted copy is about: a reminder's or an assignment DM's key starts with
    its item's id."""
    if posted.kind in ITEM_COPIES:
        return OpenItem.id == int(posted.key.split(":")[0])
    return (OpenItem.kind == posted.kind) & (OpenItem.key == posted.key)


async def take(
    session: AsyncSession,
    item_id: int,
    user: str,
    now: datetime,
    *,
    assigned_by: str | None = None,
) -> Taken | None:
    """`user` takes the item, or is given it by `assigned_by` (Assign…: owning it all the
    same, so its escalation is cancelled the same way); None when there is no such item or
    it is handled. Commits."""
    item = await session.get(OpenItem, item_id)
    if item is None or item.handled_at is not None:
        return None
    previous = item.taken_by if item.taken_by != user else None
    first = item.taken_by is None
    if item.taken_by != user:
        item.taken_from = item.taken_by
        item.taken_by, item.taken_at = user, now
    item.assigned_by = assigned_by if assigned_by != user else None
    await session.commit()
    if first:
        metrics.TIME_TO_TAKE.labels(item.kind).observe((now - item.arrived_at).total_seconds())
    return Taken(item, previous)


#: Items one call or text back takes at most: a caller's waiting calls, voicemails and texts.
TAKEN_AT_ONCE = 50


async def take_waiting(
    session: AsyncSession, party: str, user: str, now: datetime
) -> list[OpenItem]:
    """`user` called or texted `party` (E.164) back: every item about `party` that nobody
    has taken or handled is theirs, as if they had clicked I'll take it (so it is not
    escalated). An item someone took stays theirs. Commits; the items taken.
    """
    waiting = await session.scalars(
        select(OpenItem.id)
        .where(
            OpenItem.party == party,
            OpenItem.taken_at.is_(None),
            OpenItem.handled_at.is_(None),
        )
        .order_by(OpenItem.id)
        .limit(TAKEN_AT_ONCE)
    )
    taken: list[int] = []
    for item_id in list(waiting):
        # Only an item still free is taken: a click at the same moment keeps its own.
        result = await session.execute(
            update(OpenItem)
            .where(
                OpenItem.id == item_id,
                OpenItem.taken_at.is_(None),
                OpenItem.handled_at.is_(None),
            )
            .values(taken_by=user, taken_at=now)
        )
        if result.rowcount:  # type: ignore[attr-defined]
            taken.append(item_id)
    await session.commit()
    if not taken:
        return []
    found = await session.scalars(
        select(OpenItem)
        .where(OpenItem.id.in_(taken))
        .order_by(OpenItem.id)
        .execution_options(populate_existing=True)
    )
    return list(found)


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
    """Every posted copy of the item: its notifications, and the reminder and assignment DMs
    about it."""
    found = await session.scalars(
        select(PostedMessage)
        .where(
            PostedMessage.ts.is_not(None),
            or_(
                (PostedMessage.kind == item.kind) & (PostedMessage.key == item.key),
                PostedMessage.kind.in_(ITEM_COPIES) & PostedMessage.key.startswith(f"{item.id}:"),
            ),
        )
        .order_by(PostedMessage.id)
    )
    return list(found)


async def waiting(
    session: AsyncSession, arrived_after: datetime, arrived_before: datetime, now: datetime
) -> list[OpenItem]:
    """Items nobody took, handled, escalated or is escalating (at `now`) that arrived in the
    window, oldest first."""
    found = await session.scalars(
        select(OpenItem)
        .where(*_waiting(arrived_after, arrived_before, now))
        .order_by(OpenItem.arrived_at)
    )
    return list(found)


async def first_waiting_arrival(
    session: AsyncSession, arrived_after: datetime, now: datetime
) -> datetime | None:
    """When the oldest item `waiting` at `now` (arrived after `arrived_after`, up to `now`)
    arrived; None when no item waits. One row off `ix_open_items_waiting`, whatever waits."""
    first: datetime | None = await session.scalar(
        select(OpenItem.arrived_at)
        .where(*_waiting(arrived_after, now, now))
        .order_by(OpenItem.arrived_at)
        .limit(1)
    )
    return first


def _waiting(
    arrived_after: datetime, arrived_before: datetime, now: datetime
) -> list[ColumnElement[bool]]:
    """Nobody took, handled, escalated or is escalating it (at `now`), and it arrived in the
    window (`arrived_after` excluded, `arrived_before` included)."""
    return [
        OpenItem.escalated_at.is_(None),
        OpenItem.handled_at.is_(None),
        OpenItem.taken_at.is_(None),
        OpenItem.arrived_at > arrived_after,
        OpenItem.arrived_at <= arrived_before,
        _unclaimed(OpenItem.escalation_claimed_until, now),
    ]


def _unclaimed(
    claimed_until: InstrumentedAttribute[datetime | None], now: datetime
) -> ColumnElement[bool]:
    """Nobody holds the claim at `now`: never claimed, given back, or run out."""
    return or_(claimed_until.is_(None), claimed_until < now)


@dataclass(frozen=True)
class EscalationClaim:
    """Process `by` asks to escalate item `item_id` for `lease` from `now` (`claim_escalations`)."""

    item_id: int
    now: datetime
    by: str
    lease: timedelta


async def claim_escalation(
    session: AsyncSession, item_id: int, now: datetime, by: str, lease: timedelta
) -> bool:
    """Whether process `by` won the right to escalate the item (still untaken, unhandled and
    unescalated, and nobody else's claim holds) for `lease` from `now`. Commits.

    Exactly one transaction can take a claim that is free; the item is escalated only once
    `escalations_done` says its reply is posted.
    """
    [won] = await claim_escalations(
        await session.connection(), [EscalationClaim(item_id, now, by, lease)]
    )
    await session.commit()
    return won


async def claim_escalations(
    connection: AsyncConnection, claims: list[EscalationClaim]
) -> list[bool]:
    """`claim_escalation` for many items in the caller's transaction (a `GroupCommit` write:
    on SQLite, escalations that each committed their own claims queued for its one lock)."""
    won = []
    for claim in claims:
        result = await connection.execute(
            update(OpenItem)
            .where(
                OpenItem.id == claim.item_id,
                OpenItem.escalated_at.is_(None),
                OpenItem.taken_at.is_(None),
                OpenItem.handled_at.is_(None),
                _unclaimed(OpenItem.escalation_claimed_until, claim.now),
            )
            .values(
                escalation_claimed_by=claim.by, escalation_claimed_until=claim.now + claim.lease
            )
        )
        won.append(bool(result.rowcount))
    return won


async def escalations_done(
    connection: AsyncConnection, items: list[tuple[int, datetime]]
) -> list[None]:
    """Each (item id, now): the item's escalation is posted (or there is nothing to post it
    in): done. In the caller's transaction (a `GroupCommit` write)."""
    for item_id, now in items:
        await connection.execute(
            update(OpenItem)
            .where(OpenItem.id == item_id)
            .values(escalated_at=now, escalation_claimed_by=None, escalation_claimed_until=None)
        )
    return [None] * len(items)


async def release_escalations(
    connection: AsyncConnection, claims: list[tuple[int, str, datetime]]
) -> list[None]:
    """Each (item id, process, retry at): give that process's claim back (its reply could not
    be posted yet); nobody claims the item again before `retry at` (the next tick), so a
    leader that looks for due items every few seconds does not try it at each look. In the
    caller's transaction (a `GroupCommit` write)."""
    for item_id, by, retry_at in claims:
        await connection.execute(
            update(OpenItem)
            .where(OpenItem.id == item_id, OpenItem.escalation_claimed_by == by)
            .values(escalation_claimed_by=None, escalation_claimed_until=retry_at)
        )
    return [None] * len(claims)


async def due_reminders(session: AsyncSession, now: datetime) -> list[Reminder]:
    """Reminders due at `now` that nobody sent or is sending, the earliest first."""
    found = await session.scalars(
        select(Reminder)
        .where(
            Reminder.sent_at.is_(None),
            Reminder.due_at <= now,
            _unclaimed(Reminder.claimed_until, now),
        )
        .order_by(Reminder.due_at)
    )
    return list(found)


async def next_reminder_at(session: AsyncSession, now: datetime) -> datetime | None:
    """When the first reminder not sent yet falls due after `now`; None when none does."""
    due: datetime | None = await session.scalar(
        select(func.min(Reminder.due_at)).where(Reminder.sent_at.is_(None), Reminder.due_at > now)
    )
    return due


async def claim_reminder(
    session: AsyncSession, reminder_id: int, now: datetime, by: str, lease: timedelta
) -> bool:
    """Whether process `by` won the right to send the reminder, for `lease` from `now`. Commits."""
    result = await session.execute(
        update(Reminder)
        .where(
            Reminder.id == reminder_id,
            Reminder.sent_at.is_(None),
            _unclaimed(Reminder.claimed_until, now),
        )
        .values(claimed_by=by, claimed_until=now + lease)
    )
    await session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def reminded(session: AsyncSession, reminder_id: int, now: datetime) -> None:
    """The reminder is sent (or dropped, its item handled): done. Commits."""
    await session.execute(
        update(Reminder)
        .where(Reminder.id == reminder_id)
        .values(sent_at=now, claimed_by=None, claimed_until=None)
    )
    await session.commit()


async def release_reminder(session: AsyncSession, reminder_id: int, by: str) -> None:
    """Give `by`'s claim back (the DM could not be sent yet), to be tried next tick."""
    await session.execute(
        update(Reminder)
        .where(Reminder.id == reminder_id, Reminder.claimed_by == by)
        .values(claimed_by=None, claimed_until=None)
    )
    await session.commit()


async def record_placed_call(
    session: AsyncSession, user: str, to: str, call_id: str | None
) -> None:
    """A call placed from Slack to `to` (E.164): the digest counts it as a caller called back.

    The items from `to` that no call from Slack had answered yet count it in
    `qtslack_time_to_callback_seconds`, as the digest counts their time to call back.
    """
    now = utcnow()
    called_since = select(PlacedCall.id).where(
        PlacedCall.to == to, PlacedCall.placed_at >= OpenItem.arrived_at
    )
    waiting = await session.execute(
        select(OpenItem.kind, OpenItem.arrived_at).where(
            OpenItem.party == to, OpenItem.arrived_at <= now, ~called_since.exists()
        )
    )
    session.add(PlacedCall(slack_user_id=user, to=to, call_id=call_id, placed_at=now))
    await session.commit()
    for kind, arrived_at in waiting:
        metrics.TIME_TO_CALLBACK.labels(kind).observe((now - arrived_at).total_seconds())


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
