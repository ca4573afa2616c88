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
from bot.store.models import (
    ChannelCooldown,
    InboxEvent,
    JobRun,
    OpenItem,
    PlacedCall,
    Reminder,
    SlackEventSeen,
    VoicemailAlias,
    utcnow,
)
from bot.store.ownership import MISSED_CALL, SMS_REOPENED, SMS_THREAD

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


CONVERSATION = "+12155550100|+12155551234"


def open_item(key: str, *, kind: str = MISSED_CALL, handled: timedelta | None = None) -> OpenItem:
    """An item that arrived 40 days ago, handled `handled` ago (None: not handled)."""
    return OpenItem(
        kind=kind,
        key=key,
        arrived_at=utcnow() - timedelta(days=40),
        handled_by=None if handled is None else "U0BOB",
        handled_at=None if handled is None else utcnow() - handled,
        conversation=CONVERSATION if kind in (SMS_THREAD, SMS_REOPENED) else None,
    )


async def test_prune_forgets_old_follow_up_history_and_keeps_what_is_still_read(
    settings: Settings,
) -> None:
    month, day = timedelta(days=31), timedelta(days=1)
    runtime = Runtime.create(settings)
    try:
        async with runtime.sessions() as session:
            items = {
                "handled_long_ago": open_item("handled_long_ago", handled=month),
                "handled_lately": open_item("handled_lately", handled=day),
                "never_handled": open_item("never_handled"),
                # A conversation's first item, and the one its next text reopened.
                CONVERSATION: open_item(CONVERSATION, kind=SMS_THREAD, handled=month),
                "sms_2": open_item("sms_2", kind=SMS_REOPENED, handled=month),
            }
            session.add_all(items.values())
            await session.flush()
            kept_item = items["handled_lately"].id
            session.add_all(
                [
                    Reminder(
                        slack_user_id="U0OLD",
                        item_id=kept_item,
                        due_at=utcnow() - month,
                        sent_at=utcnow() - month,
                    ),
                    Reminder(
                        slack_user_id="U0NEW",
                        item_id=kept_item,
                        due_at=utcnow() - day,
                        sent_at=utcnow() - day,
                    ),
                    Reminder(slack_user_id="U0SOON", item_id=kept_item, due_at=utcnow() + day),
                    PlacedCall(
                        slack_user_id="U0OLD",
                        to="+12155550001",
                        placed_at=utcnow() - timedelta(days=8),
                    ),
                    PlacedCall(slack_user_id="U0NEW", to="+12155550002", placed_at=utcnow() - day),
                    VoicemailAlias(
                        alias="vm:old", voicemail_key="vm:old", created_at=utcnow() - month
                    ),
                    VoicemailAlias(alias="vm:new", voicemail_key="vm:new"),
                    # Reconcile's cursor after a long outage, and the digest's last run.
                    JobRun(name="reconcile", started_at=utcnow() - timedelta(days=60)),
                    JobRun(name="digest", started_at=utcnow() - day),
                ]
            )
            await session.commit()

        await prune(runtime)

        async with runtime.sessions() as session:
            kept = set(await session.scalars(select(OpenItem.key)))
            reminded = set(await session.scalars(select(Reminder.slack_user_id)))
            placed = set(await session.scalars(select(PlacedCall.slack_user_id)))
            aliases = set(await session.scalars(select(VoicemailAlias.alias)))
            runs = set(await session.scalars(select(JobRun.name)))
    finally:
        await runtime.close()
    assert kept == {"handled_lately", "never_handled", CONVERSATION}
    assert reminded == {"U0NEW", "U0SOON"}
    assert placed == {"U0NEW"}
    assert aliases == {"vm:new"}
    assert runs == {"reconcile", "digest"}


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
