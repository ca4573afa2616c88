"""When scheduled jobs last finished a run, so the next run (or another worker) knows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import JobRun


async def last_finished(session: AsyncSession, name: str) -> datetime | None:
    """When the last finished run of job `name` started; None before the first."""
    run = await session.get(JobRun, name)
    return None if run is None else run.started_at


async def finished(session: AsyncSession, name: str, started_at: datetime) -> None:
    """Record a finished run of `name` that started at `started_at`; never moves back. Commits."""
    run = await session.get(JobRun, name)
    if run is None:
        session.add(JobRun(name=name, started_at=started_at))
    elif run.started_at < started_at:
        run.started_at = started_at
    try:
        await session.commit()
    except IntegrityError:  # another worker recorded its run a moment ago; a newer one wins next
        await session.rollback()
