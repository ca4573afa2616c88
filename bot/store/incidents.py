"""Incidents: open while something needs an operator, closed when it is over.

Whoever sees the trouble calls `observe` with what it saw; the unique `open_kind` keeps one
incident of a kind open at a time, so two leaders seeing the same thing at a takeover open
it once. `bot.ops.incidents` tells the admins (one DM each at start, one at end) and the
App Home shows `open_now` at the top of an admin's tab.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.db import dialect_insert
from bot.store.models import Incident

#: Each kind, and the one line an admin reads about it (with the fix).
KINDS: dict[str, str] = {
    "qtvoice_key": "QTvoice refused the API key: create a new key in the QTvoice dashboard"
    " (Settings → API Keys) and set QTVOICE_API_KEY to it",
    "delivery_failed": "a notification was parked as failed: see `python -m bot deliveries"
    " --failed`, fix the cause, then `replay ID`",
    "webhook_signatures": "10 or more webhooks were refused for their signature within an hour:"
    " check that QTVOICE_WEBHOOK_SECRET matches QTvoice's Settings → Webhooks",
    "webhooks_missed": "the reconcile poller found events QTvoice's webhooks never brought:"
    " check the webhook URL in QTvoice's Settings → Webhooks",
    "socket_mode": "Socket Mode has been disconnected for over 5 minutes: check SLACK_APP_TOKEN"
    " and that Socket Mode is on in the Slack app's settings",
    "canary": "the canary's test notification did not reach CANARY_CHANNEL: invite the bot"
    " there, or check the channel id",
}

Change = Literal["opened", "closed"]


async def observe(
    session: AsyncSession, kind: str, failing: bool, detail: str, now: datetime
) -> Change | None:
    """Open an incident of `kind` while `failing` (none open yet), close the open one when not.

    `detail` is the bot's own words about what it saw (kept at most 255 characters). Commits.
    Returns what changed, or None.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown incident kind {kind!r}")
    if failing:
        statement = (
            dialect_insert(session, Incident)
            .values(kind=kind, open_kind=kind, detail=detail[:255], opened_at=now)
            .on_conflict_do_nothing()
        )
        opened = (await session.execute(statement)).rowcount  # type: ignore[attr-defined]
        await session.commit()
        return "opened" if opened else None
    closed = (
        await session.execute(
            update(Incident).where(Incident.open_kind == kind).values(open_kind=None, closed_at=now)
        )
    ).rowcount  # type: ignore[attr-defined]
    await session.commit()
    return "closed" if closed else None


async def open_now(session: AsyncSession) -> list[Incident]:
    """The open incidents, oldest first."""
    found = await session.scalars(
        select(Incident).where(Incident.open_kind.is_not(None)).order_by(Incident.opened_at)
    )
    return list(found)


async def untold(session: AsyncSession) -> list[Incident]:
    """Incidents some admin may not have been told about yet (start, or end), oldest first."""
    found = await session.scalars(
        select(Incident)
        .where(
            or_(
                Incident.start_told_at.is_(None),
                Incident.closed_at.is_not(None) & Incident.end_told_at.is_(None),
            )
        )
        .order_by(Incident.id)
    )
    return list(found)


async def told(session: AsyncSession, incident_id: int, phase: str, now: datetime) -> None:
    """Every admin has the `phase` ("start" or "end") DM of this incident. Commits."""
    column = Incident.start_told_at if phase == "start" else Incident.end_told_at
    await session.execute(update(Incident).where(Incident.id == incident_id).values({column: now}))
    await session.commit()
