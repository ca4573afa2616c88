"""Scheduled jobs, run by exactly one process at a time.

APScheduler 3 must never share a job store between two schedulers (jobs would run twice or
be missed), so each process keeps its jobs in memory and starts its scheduler only while it is
the leader. On PostgreSQL the leader is whoever holds a session-level advisory lock on a
connection of its own: when that process dies its connection drops, PostgreSQL releases the
lock, and a standby takes over within `LEADER_RETRY_SECONDS`. SQLite means one process, which
always leads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from bot.reconcile import reconcile
from bot.runtime import Runtime
from bot.store.db import async_url
from bot.store.deliveries import DONE, IGNORED
from bot.store.models import ChannelCooldown, InboxEvent, SlackEventSeen, utcnow

logger = logging.getLogger(__name__)

#: Any fixed 64-bit number, the same in every process of this deployment.
LEADER_LOCK_KEY = 0x71_74_73_6C_61_63_6B  # "qtslack"
LEADER_RETRY_SECONDS = 15
#: Kept well past any webhook retry horizon, so a late redelivery is still recognised.
INBOX_RETENTION = timedelta(days=30)
#: Slack retries an event for minutes, not days.
SLACK_EVENT_RETENTION = timedelta(days=1)
RETENTION_INTERVAL_SECONDS = 3600


def build_scheduler(runtime: Runtime) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(job_defaults={"coalesce": True, "max_instances": 1})
    interval = runtime.settings.reconcile_interval_seconds
    if interval:
        scheduler.add_job(
            reconcile,
            "interval",
            seconds=interval,
            args=(runtime.qtvoice, runtime.sessions, interval),
            id="reconcile",
        )
    scheduler.add_job(
        prune, "interval", seconds=RETENTION_INTERVAL_SECONDS, args=(runtime,), id="retention"
    )
    return scheduler


async def prune(runtime: Runtime) -> None:
    """Forget finished events past retention, cooldowns that have passed, old Slack event ids."""
    async with runtime.sessions() as session:
        await session.execute(
            delete(InboxEvent).where(
                InboxEvent.state.in_((DONE, IGNORED)),
                InboxEvent.received_at < utcnow() - INBOX_RETENTION,
            )
        )
        await session.execute(delete(ChannelCooldown).where(ChannelCooldown.not_before < utcnow()))
        await session.execute(
            delete(SlackEventSeen).where(SlackEventSeen.seen_at < utcnow() - SLACK_EVENT_RETENTION)
        )
        await session.commit()


async def lead(runtime: Runtime, stop: asyncio.Event) -> None:
    """Run the scheduler whenever this process holds the leader lock, until `stop` is set."""
    if runtime.engine.dialect.name != "postgresql":
        await _run_scheduler(runtime, stop, connection=None)
        return
    # Unpooled: closing the lock's connection must really close it, releasing the lock.
    engine = create_async_engine(async_url(runtime.settings.database_url), poolclass=NullPool)
    try:
        while not stop.is_set():
            try:
                async with engine.connect() as connection:
                    if await _try_lock(connection):
                        logger.info("this process leads the scheduled jobs")
                        await _run_scheduler(runtime, stop, connection)
            except Exception:
                logger.exception("scheduler leadership lost; standing by")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), LEADER_RETRY_SECONDS)
    finally:
        await engine.dispose()


async def _try_lock(connection: AsyncConnection) -> bool:
    locked = await connection.scalar(
        text("SELECT pg_try_advisory_lock(:key)"), {"key": LEADER_LOCK_KEY}
    )
    await connection.commit()
    return bool(locked)


async def _run_scheduler(
    runtime: Runtime, stop: asyncio.Event, connection: AsyncConnection | None
) -> None:
    """Run the jobs until `stop`, checking the lock's connection is alive while they run."""
    scheduler = build_scheduler(runtime)
    scheduler.start()
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), LEADER_RETRY_SECONDS)
            if connection is not None:
                await connection.execute(text("SELECT 1"))
                await connection.commit()
    finally:
        scheduler.shutdown(wait=False)
