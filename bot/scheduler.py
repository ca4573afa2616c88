"""Scheduled jobs, run by exactly one process at a time.

APScheduler 3 must never share a job store between two schedulers (jobs would run twice or
be missed), so each process keeps its jobs in memory and starts its scheduler only while it is
the leader. On PostgreSQL the leader is whoever holds a session-level advisory lock on a
connection of its own: when that process dies its connection drops, PostgreSQL releases the
lock, and a standby takes over within `LEADER_RETRY_SECONDS`. SQLite means one process, which
always leads.

A new leader starts its jobs afresh, so each job claims its work in the database (see
`bot.store.ownership`) and a tick run late, twice, or by the old and new leader at once
neither skips nor repeats anything. The digest, a daily cron, is also run by a leader that
starts after today's `DIGEST_AT`, in case its predecessor died before running it; it does
nothing when today's is done (`bot.delivery.digest`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.digest import send_digests
from bot.delivery.extensions import INTERVAL_SECONDS as EXTENSION_CHECK_SECONDS
from bot.delivery.extensions import check_extensions
from bot.delivery.followup import (
    RECHECK_SECONDS,
    TICK_SECONDS,
    escalate,
    next_due,
    send_reminders,
)
from bot.delivery.report import send_reports
from bot.directory import sync_contacts
from bot.ops.canary import run_canary
from bot.ops.incidents import WATCH_SECONDS, Watch, reconcile_watched
from bot.runtime import Runtime
from bot.store import refusals
from bot.store.advisory import LEADER_LOCK_KEY, Lease, while_holding
from bot.store.deliveries import DONE, IGNORED
from bot.store.models import (
    CachedContact,
    ChannelCooldown,
    InboxEvent,
    OpenItem,
    OutboundText,
    PlacedCall,
    PostedMessage,
    Reminder,
    SlackEventSeen,
    VoicemailAlias,
    utcnow,
)
from bot.store.outage import describe, is_outage

logger = logging.getLogger(__name__)

LEADER_RETRY_SECONDS = 15
#: How long a stopping leader lets its running jobs finish before cancelling them: time
#: for a database statement in flight, not for a Slack call's retries.
JOBS_GRACE_SECONDS = 2.0
#: Slack retries an event for minutes, not days.
SLACK_EVENT_RETENTION = timedelta(days=1)
RETENTION_INTERVAL_SECONDS = 3600
#: The weekly report reads the calls placed since the Monday before last (up to 14 days back);
#: a day more spares a late run.
PLACED_CALL_RETENTION = timedelta(days=15)


def build_scheduler(runtime: Runtime) -> AsyncIOScheduler:
    """Every job of `runtime`'s settings that runs at fixed times or intervals. Not started.

    Escalation and reminders are not among them: `follow_up` runs them when they fall due.
    """
    scheduler = AsyncIOScheduler(job_defaults={"coalesce": True, "max_instances": 1})
    interval = runtime.settings.reconcile_interval_seconds
    if interval:
        scheduler.add_job(
            reconcile_watched,
            "interval",
            seconds=interval,
            args=(runtime, interval),
            id="reconcile",
        )
    scheduler.add_job(Watch(runtime).run, "interval", seconds=WATCH_SECONDS, id="watch")
    canary_minutes = runtime.settings.canary_minutes
    if runtime.settings.canary_channel:
        scheduler.add_job(
            run_canary,
            "interval",
            minutes=canary_minutes,
            args=(runtime,),
            id="canary",
            next_run_time=utcnow(),  # a fresh leader proves the path at once
        )
    scheduler.add_job(
        prune, "interval", seconds=RETENTION_INTERVAL_SECONDS, args=(runtime,), id="retention"
    )
    scheduler.add_job(
        check_extensions,
        "interval",
        seconds=EXTENSION_CHECK_SECONDS,
        args=(runtime,),
        id="extension_check",
    )
    sync_minutes = runtime.settings.contact_sync_minutes
    if sync_minutes:
        scheduler.add_job(
            sync_contacts,
            "interval",
            minutes=sync_minutes,
            args=(runtime,),
            id="contact_sync",
            next_run_time=utcnow(),  # a fresh leader copies at once: lookups stop sooner
        )
    digest_at = runtime.settings.digest_at
    if digest_at is not None:
        zone = runtime.settings.zone
        at = CronTrigger(hour=digest_at.hour, minute=digest_at.minute, timezone=zone)
        # Its next firing is tomorrow's, but today's may be one the last leader never ran (or
        # is still running, if it lost the lock mid-run: so not before its claims run out).
        now, lease = utcnow(), timedelta(seconds=runtime.settings.delivery_lease_seconds)
        passed = now.astimezone(zone).time() >= digest_at
        catch_up = {"next_run_time": now + lease} if passed else {}
        scheduler.add_job(
            send_digests,
            at,
            args=(runtime,),
            id="digest",
            misfire_grace_time=3600,
            **catch_up,
        )
    report_at = runtime.settings.report_at
    if report_at is not None:
        scheduler.add_job(
            send_reports,
            CronTrigger(
                day_of_week=report_at.weekday,
                hour=report_at.at.hour,
                minute=report_at.at.minute,
                timezone=runtime.settings.zone,
            ),
            args=(runtime,),
            id="weekly_report",
            misfire_grace_time=3600,
        )
    return scheduler


async def prune(runtime: Runtime, now: datetime | None = None) -> None:
    """Forget what is past `RETENTION_DAYS` in every table that holds caller content (texts,
    transcripts, numbers, names), and what nothing reads any more: cooldowns that have
    passed, old Slack event ids, refused-webhook counts past their week. Opt-outs are kept
    while in force; events not yet delivered are kept whatever their age."""
    now = now or utcnow()
    cutoff = now - timedelta(days=runtime.settings.retention_days)
    async with runtime.sessions() as session:
        await session.execute(
            delete(InboxEvent).where(
                InboxEvent.state.in_((DONE, IGNORED)), InboxEvent.received_at < cutoff
            )
        )
        await session.execute(delete(ChannelCooldown).where(ChannelCooldown.not_before < now))
        await session.execute(
            delete(SlackEventSeen).where(SlackEventSeen.seen_at < now - SLACK_EVENT_RETENTION)
        )
        await refusals.forget_before(session, now - refusals.RETENTION)
        await forget_followups(session, cutoff, max(cutoff, now - PLACED_CALL_RETENTION))
        await session.execute(delete(PostedMessage).where(PostedMessage.updated_at < cutoff))
        await session.execute(delete(CachedContact).where(CachedContact.fetched_at < cutoff))
        await session.execute(delete(OutboundText).where(OutboundText.sent_at < cutoff))
        await session.commit()


async def forget_followups(session: AsyncSession, cutoff: datetime, calls_cutoff: datetime) -> None:
    """Delete (uncommitted) the follow-up history from before `cutoff` (`RETENTION_DAYS`):
    voicemail aliases (as old as the inbox rows they deduplicate), reminders sent, items that
    arrived and were handled (or never were) before it, with their reminders: an item holds
    the caller's number and words. Calls placed from Slack go at `calls_cutoff` (the digest
    reads a day back).

    `job_runs` keeps only the latest finished run of each job (reconcile's cursor): nothing
    to forget there.
    """
    await session.execute(delete(VoicemailAlias).where(VoicemailAlias.created_at < cutoff))
    past = (OpenItem.arrived_at < cutoff) & or_(
        OpenItem.handled_at.is_(None), OpenItem.handled_at < cutoff
    )
    await session.execute(
        delete(Reminder).where(
            or_(Reminder.sent_at < cutoff, Reminder.item_id.in_(select(OpenItem.id).where(past)))
        )
    )
    await session.execute(delete(OpenItem).where(past))
    await session.execute(delete(PlacedCall).where(PlacedCall.placed_at < calls_cutoff))


async def lead(
    runtime: Runtime,
    stop: asyncio.Event,
    *,
    retry_seconds: float = LEADER_RETRY_SECONDS,
    tick_seconds: float = TICK_SECONDS,
) -> None:
    """Run the scheduler whenever this process holds the leader lock, until `stop` is set.

    Survives the database going away: leadership ends with the lock's connection, and this
    process tries again every `retry_seconds` until the database is back. The scheduler's
    escalation and reminders run every `tick_seconds`.
    """
    if runtime.engine.dialect.name != "postgresql":
        await _run_scheduler(runtime, stop, None, retry_seconds, tick_seconds)
        return

    async def run(lease: Lease, key: int) -> None:
        logger.info("this process leads the scheduled jobs")
        await _run_scheduler(runtime, stop, lease, retry_seconds, tick_seconds)

    await while_holding(
        runtime.settings.database_url,
        (LEADER_LOCK_KEY,),
        stop,
        retry_seconds=retry_seconds,
        what="scheduler",
        run=run,
    )


def _as_leader(
    job: Callable[..., Awaitable[Any]],
    lease: Lease | None,
    running: set[asyncio.Task[Any]] | None = None,
) -> Callable[..., Awaitable[Any]]:
    """`job`, run only while `lease` is held (always, without one), and stopped quietly; each
    run's task is in `running` while it runs, for the scheduler's shutdown to wait for.

    APScheduler cancels a running job when it shuts down (this process stops or stops leading)
    and would log that as the job's failure, with a traceback; it is not one. Nor is a
    database outage, which the next run outlives: both are one line.
    """

    @functools.wraps(job)
    async def run_as_leader(*args: Any, **kwargs: Any) -> Any:
        if lease is not None and not await lease.held():
            logger.info("scheduled job %s skipped: this process no longer leads", job.__name__)
            return None
        this = asyncio.current_task()
        if running is not None and this is not None:
            running.add(this)
        try:
            return await job(*args, **kwargs)
        except asyncio.CancelledError:
            logger.info("scheduled job %s stopped: the scheduler is shutting down", job.__name__)
            return None
        except Exception as error:
            if not is_outage(error):
                raise
            # One line, not APScheduler's traceback: the job runs again at its next time.
            logger.warning(
                "scheduled job %s: database unreachable, runs again next time: %s",
                job.__name__,
                describe(error),
            )
            return None
        finally:
            if running is not None and this is not None:
                running.discard(this)

    return run_as_leader


async def _run_scheduler(
    runtime: Runtime,
    stop: asyncio.Event,
    lease: Lease | None,
    retry_seconds: float,
    tick_seconds: float,
) -> None:
    """Run the jobs until `stop`; with a lease, only while it is held (else raise its error),
    checked at least every `retry_seconds`."""
    scheduler = build_scheduler(runtime)
    running: set[asyncio.Task[Any]] = set()
    for job in scheduler.get_jobs():
        job.modify(func=_as_leader(job.func, lease, running))
    scheduler.start()
    ended = asyncio.Event()
    follow_ups = asyncio.create_task(follow_up(runtime, ended, lease, tick_seconds))
    try:
        if lease is None:
            await stop.wait()
        else:
            await lease.hold(stop, retry_seconds)
    finally:
        # What is running ends where it is, for a while: a task cancelled inside a database
        # call can leave its connection open (psycopg: "deleted while still open").
        ended.set()
        scheduler.pause()
        try:
            await asyncio.wait([follow_ups, *running], timeout=JOBS_GRACE_SECONDS)
        finally:
            scheduler.shutdown(wait=False)  # cancels what is still running
            follow_ups.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follow_ups


async def follow_up(
    runtime: Runtime, stop: asyncio.Event, lease: Lease | None, tick_seconds: float
) -> None:
    """Escalate and remind as each falls due, and every `tick_seconds` besides, until `stop`.

    A one-minute poll would escalate a one-minute item up to a minute late. Here the next due
    time is read from the database (`next_due`) and the jobs run the moment it comes; it is
    read again every RECHECK_SECONDS, so an item made meanwhile by any process is on time
    too, and one that fell due while nobody looked (the clock set forward) runs at the next
    look. The tick retries what was due and failed (its claim given back). Each job claims
    its work in the database, so a run that comes late or twice (a new leader taking over)
    neither skips nor repeats anything.
    """
    tick = timedelta(seconds=tick_seconds)

    async def escalate_each_tick(runtime: Runtime) -> int:
        """`escalate`, an item given back waiting for this loop's next tick."""
        return await escalate(runtime, retry_after=tick)

    jobs = [_as_leader(escalate_each_tick, lease), _as_leader(send_reminders, lease)]
    next_run = utcnow()
    while not stop.is_set():
        now = utcnow()
        ran = now >= next_run
        if ran:
            for job in jobs:
                try:
                    await job(runtime)
                except Exception:
                    logger.exception("scheduled job %s failed; it runs again", job.__name__)
            next_run = now + tick
        try:
            due = await next_due(runtime, now)
        except Exception as error:
            if is_outage(error):
                logger.warning("follow-ups: database unreachable: %s", describe(error))
            else:
                logger.exception("follow-ups: next due time not read; the tick runs them")
            due = None
        # Right after a run, a due time already past is an item that run could not claim (its
        # claim raised): it is run again at the next look, not in a loop without a pause.
        if due is not None and not (ran and due <= now):
            next_run = min(next_run, due)
        wait = min((next_run - utcnow()).total_seconds(), RECHECK_SECONDS)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(wait, 0.0))
