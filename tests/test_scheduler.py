"""Scheduled jobs: retention, and one leader at a time on PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from datetime import time, timedelta

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.runtime import Runtime
from bot.scheduler import _try_lock, build_scheduler, lead, prune
from bot.store import deliveries
from bot.store.models import ChannelCooldown, InboxEvent, SlackEventSeen, utcnow

pytestmark = pytest.mark.anyio


def event(state: str, age: timedelta, n: int) -> InboxEvent:
    return InboxEvent(
        event="call.missed",
        object_id=f"call_{n}",
        dedupe_key=f"call.missed:call_{n}",
        ordering_key=f"call:call_{n}",
        payload={},
        state=state,
        received_at=utcnow() - age,
    )


async def test_prune_forgets_only_what_is_old_and_finished(settings: Settings) -> None:
    runtime = Runtime.create(settings)
    try:
        async with runtime.sessions() as session:
            session.add_all(
                [
                    event(deliveries.DONE, timedelta(days=31), 1),
                    event(deliveries.DONE, timedelta(days=1), 2),
                    event(deliveries.FAILED, timedelta(days=60), 3),
                    event(deliveries.PENDING, timedelta(days=60), 4),
                    SlackEventSeen(event_id="Ev_old", seen_at=utcnow() - timedelta(days=2)),
                    SlackEventSeen(event_id="Ev_new"),
                    ChannelCooldown(
                        channel_id="C0PAST", not_before=utcnow() - timedelta(seconds=1)
                    ),
                    ChannelCooldown(
                        channel_id="C0FUTURE", not_before=utcnow() + timedelta(hours=1)
                    ),
                ]
            )
            await session.commit()

        await prune(runtime)

        async with runtime.sessions() as session:
            kept = set(await session.scalars(select(InboxEvent.object_id)))
            seen = set(await session.scalars(select(SlackEventSeen.event_id)))
            cooling = set(await session.scalars(select(ChannelCooldown.channel_id)))
    finally:
        await runtime.close()
    assert kept == {"call_2", "call_3", "call_4"}
    assert seen == {"Ev_new"}
    assert cooling == {"C0FUTURE"}


async def test_only_one_process_leads_until_it_goes(settings: Settings) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("leader election is PostgreSQL's advisory lock; SQLite has one process")
    first, second = Runtime.create(settings), Runtime.create(settings)
    try:
        async with first.engine.connect() as leader:
            assert await _try_lock(leader)
            async with second.engine.connect() as standby:
                assert not await _try_lock(standby)
        await first.engine.dispose()  # the leader's connection drops, as when its process dies
        async with second.engine.connect() as standby:
            assert await _try_lock(standby)
    finally:
        await first.close()
        await second.close()


async def test_two_processes_run_the_jobs_in_one_of_them(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("leader election is PostgreSQL's advisory lock; SQLite has one process")
    caplog.set_level(logging.INFO, logger="bot.scheduler")
    runtimes = [Runtime.create(settings), Runtime.create(settings)]
    stop = asyncio.Event()
    contenders = [asyncio.create_task(lead(runtime, stop)) for runtime in runtimes]
    try:
        await asyncio.sleep(1.0)
    finally:
        stop.set()
        await asyncio.gather(*contenders)
        for runtime in runtimes:
            await runtime.close()
    leading = [
        r for r in caplog.records if r.getMessage() == "this process leads the scheduled jobs"
    ]
    assert len(leading) == 1


async def test_the_clock_jobs_are_scheduled_and_the_digest_only_when_asked(
    settings: Settings,
) -> None:
    plain = Runtime.create(settings)
    with_digest = Runtime.create(
        settings.model_copy(update={"digest_at": time(8, 30), "timezone": "America/New_York"})
    )
    try:
        plain_jobs = {job.id for job in build_scheduler(plain).get_jobs()}
        scheduler = build_scheduler(with_digest)
        digest = scheduler.get_job("digest")
    finally:
        await plain.close()
        await with_digest.close()
    assert {"escalate", "send_reminders"} <= plain_jobs
    assert "digest" not in plain_jobs
    assert digest is not None
    assert str(digest.trigger) == "cron[hour='8', minute='30']"
    assert str(digest.trigger.timezone) == "America/New_York"
