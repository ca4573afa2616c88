"""Scheduled jobs: retention, and one leader at a time on PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from datetime import time, timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, create_engine, func, insert, select, text, update

from bot.config import Settings
from bot.delivery.worker import Worker
from bot.runtime import Runtime
from bot.sandbox.qtvoice import QTvoiceSandbox
from bot.sandbox.samples import MAIN_LINE, iso_timestamp
from bot.sandbox.slack import SlackRecorder
from bot.scheduler import PLACED_CALL_RETENTION, build_scheduler, lead, prune
from bot.store import deliveries
from bot.store.advisory import LEADER_LOCK_KEY, take_one
from bot.store.db import sync_url
from bot.store.models import (
    CachedContact,
    ChannelCooldown,
    InboxEvent,
    JobRun,
    OpenItem,
    OutboundText,
    PlacedCall,
    PostedMessage,
    Reminder,
    SlackEventSeen,
    VoicemailAlias,
    utcnow,
)
from bot.store.ownership import MISSED_CALL, SMS_REOPENED, SMS_THREAD
from tests.conftest import NOTIFY_CHANNEL, start_bot
from tests.helpers.slack import click

pytestmark = pytest.mark.anyio

T = TypeVar("T")


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


async def test_prune_keeps_caller_content_retention_days_in_every_table(
    settings: Settings,
) -> None:
    runtime = Runtime.create(settings.model_copy(update={"retention_days": 10}))
    old, young = utcnow() - timedelta(days=11), utcnow() - timedelta(days=9)
    try:
        async with runtime.sessions() as session:
            session.add_all(
                [
                    event(deliveries.DONE, timedelta(days=11), 1),
                    event(deliveries.DONE, timedelta(days=9), 2),
                    *(
                        PostedMessage(
                            kind="sms_thread", key=key, channel_id="C0X", ts="1.1", updated_at=at
                        )
                        for key, at in (("old", old), ("young", young))
                    ),
                    *(
                        CachedContact(phone=phone, found=True, contact={}, fetched_at=at)
                        for phone, at in (("+12155550001", old), ("+12155550002", young))
                    ),
                    *(
                        OutboundText(slack_user_id="U0A", to=to, sent_at=at)
                        for to, at in (("+12155550001", old), ("+12155550002", young))
                    ),
                ]
            )
            await session.commit()

        await prune(runtime)

        async with runtime.sessions() as session:
            events = set(await session.scalars(select(InboxEvent.object_id)))
            posts = set(await session.scalars(select(PostedMessage.key)))
            contacts = set(await session.scalars(select(CachedContact.phone)))
            texts = set(await session.scalars(select(OutboundText.to)))
    finally:
        await runtime.close()
    assert events == {"call_2"}
    assert posts == {"young"}
    assert contacts == texts == {"+12155550002"}


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


async def test_prune_forgets_follow_up_history_past_retention_days(
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
                        placed_at=utcnow() - PLACED_CALL_RETENTION - day,
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
    # RETENTION_DAYS (30) bounds every item's words: handled or not, 40 days old is gone,
    # unless handled within the window.
    assert kept == {"handled_lately"}
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
            assert await take_one(leader, [LEADER_LOCK_KEY])
            async with second.engine.connect() as standby:
                assert await take_one(standby, [LEADER_LOCK_KEY]) is None
        await first.engine.dispose()  # the leader's connection drops, as when its process dies
        async with second.engine.connect() as standby:
            assert await take_one(standby, [LEADER_LOCK_KEY])
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
    assert {"retention", "extension_check"} <= plain_jobs
    # Escalation and reminders run when they fall due (scheduler.follow_up), not on a poll.
    assert not {"escalate", "send_reminders"} & plain_jobs
    assert "digest" not in plain_jobs
    assert digest is not None
    assert str(digest.trigger) == "cron[hour='8', minute='30']"
    assert str(digest.trigger.timezone) == "America/New_York"


# Leader hand-over


LEADS = "this process leads the scheduled jobs"
#: Short enough for a test: a dead leader's claims run out in seconds, not minutes.
HANDOVER_LEASE_SECONDS = 2.0
#: How often the test's leaders tick and their standbys try the lock (production: 60 and 15).
QUICK = {"retry_seconds": 0.2, "tick_seconds": 0.2}


async def until(predicate: Callable[[], T], within: float = 30.0) -> T:
    """`predicate()` once it is truthy, polling without blocking the leaders' event loop."""
    deadline = asyncio.get_running_loop().time() + within
    while not (value := predicate()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still waiting for {predicate.__name__} after {within} s")
        await asyncio.sleep(0.05)
    return value


def lock_holder(db: Engine) -> int | None:
    """The server process id of the connection holding the leader lock in this database."""
    with db.connect() as connection:
        pid = connection.scalar(
            text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        )
    return None if pid is None else int(pid)


def a_zone_past_half_past_midnight() -> str:
    """A time zone where today's 00:30 has passed and tomorrow is not near."""
    return "UTC" if 1 <= utcnow().hour <= 22 else "Asia/Tokyo"


async def test_a_standby_taking_over_from_a_dead_leader_runs_each_due_job_once(
    settings: Settings,
    slack: SlackRecorder,
    qtvoice: QTvoiceSandbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("leader election is PostgreSQL's advisory lock; SQLite has one process")
    caplog.set_level(logging.INFO, logger="bot.scheduler")
    office = settings.model_copy(
        update={
            "reconcile_interval_seconds": 1,
            "delivery_lease_seconds": HANDOVER_LEASE_SECONDS,
            "timezone": a_zone_past_half_past_midnight(),
            "digest_at": time(0, 30),  # passed today, and no digest posted yet
        }
    )
    db = create_engine(sync_url(office.database_url))
    bot = start_bot(office, slack, run_worker=False)
    delivery, leader, standby = (Runtime.create(office) for _ in range(3))
    stop, leader_stop = asyncio.Event(), asyncio.Event()
    worker = asyncio.create_task(Worker(delivery).run(stop))
    tasks = [worker]
    try:
        # Due before any leader runs: three missed calls nobody took for 20 minutes, a
        # reminder, and today's digest…
        arrived = iso_timestamp(utcnow() - timedelta(minutes=20))
        for _ in range(3):
            assert bot.send("call.missed", createdAt=arrived).status_code == 200
        calls = await until(lambda: len(in_channel(slack)) == 3 and in_channel(slack))
        for user, call in (("U0BOB", calls[0]), ("U0CAROL", calls[1])):
            click(bot, call, "remind_hour", user=user)
        await until(lambda: count(db, Reminder) == 2)
        come_due(db, "U0BOB")
        with db.begin() as connection:  # reconcile's cursor
            connection.execute(insert(JobRun).values(name="reconcile", started_at=utcnow()))
        slack.delay("chat.postMessage", 1.0)  # each post takes a while: the leader dies mid-way

        tasks.append(asyncio.create_task(lead(leader, leader_stop, **QUICK)))
        first = await until(lambda: lock_holder(db))
        tasks.append(asyncio.create_task(lead(standby, stop, **QUICK)))
        # Escalations due together go side by side: each is on its way for Slack's second.
        await until(lambda: escalation_on_its_way(db, slack))
        # The leader dies mid-post: its lock's connection drops, its jobs stop where they
        # are, and the post on its way never lands (if it was not sent yet, the next one
        # fails instead, and is retried).
        slack.fail_next("chat.postMessage", status=500)
        with db.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        tasks[1].cancel()
        second = await until(lambda: (lock_holder(db) or first) != first and lock_holder(db))
        await until(lambda: any(call.injected for call in slack.calls("chat.postMessage")))
        slack.delay("chat.postMessage", 0.1)
        # …and, while the standby takes over, another reminder and what no webhook brought.
        come_due(db, "U0CAROL")
        missed = [
            qtvoice.state.add_call(f"+1215555{n:04d}", MAIN_LINE, status="missed")["id"]
            for n in (201, 202, 203)
        ]

        def everything_posted() -> bool:
            refs = posted_refs(slack)
            return (
                all(replies(slack, call) for call in calls)
                and bool(slack.messages("U0BOB") and slack.messages("U0CAROL"))
                and any(ref.startswith("digest:") for ref in refs)
                and all(f"missed_call:{call}" in refs for call in missed)
            )

        await until(everything_posted)
        # Long enough for any claim of the dead leader to run out and be acted on twice if
        # it were going to be, and for many more ticks of the new one.
        await asyncio.sleep(HANDOVER_LEASE_SECONDS + 1)
    finally:
        stop.set()
        leader_stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        for runtime in (delivery, leader, standby):
            await runtime.close()
        slack.delay("chat.postMessage", 0)
        bot.stop()
        db.dispose()

    assert second != first
    leads = [record.getMessage() for record in caplog.records].count(LEADS)
    assert leads == 2  # the leader, then the standby
    refs = Counter(posted_refs(slack))
    assert [ref for ref, posts in refs.items() if posts > 1] == []  # nothing posted twice
    assert [len(replies(slack, call)) for call in calls] == [1, 1, 1]
    assert (len(slack.messages("U0BOB")), len(slack.messages("U0CAROL"))) == (1, 1)
    assert sum(ref.startswith("digest:") for ref in refs) == 1
    assert sum(ref.startswith("escalation:") for ref in refs) == 3
    assert all(refs[f"missed_call:{call}"] == 1 for call in missed)


def in_channel(slack: SlackRecorder) -> list[dict[str, Any]]:
    return [m for m in slack.messages(NOTIFY_CHANNEL) if m["thread_ts"] in (None, m["ts"])]


def replies(slack: SlackRecorder, parent: dict[str, Any]) -> list[dict[str, Any]]:
    return slack.thread(NOTIFY_CHANNEL, parent["ts"])[1:]


def posted_refs(slack: SlackRecorder) -> list[str]:
    """What each post that reached Slack was, by the identity the bot gives it."""
    return [
        str(call.args["metadata"]["event_payload"]["ref"])
        for call in slack.calls("chat.postMessage", ok=True)
    ]


def escalation_on_its_way(db: Engine, slack: SlackRecorder) -> bool:
    """An escalation claimed and recorded as about to be posted that has not reached Slack."""
    with db.connect() as connection:
        about_to = connection.scalars(
            select(PostedMessage.key).where(
                PostedMessage.kind == "escalation", PostedMessage.ts.is_(None)
            )
        )
        return bool({f"escalation:{key}" for key in about_to} - set(posted_refs(slack)))


def come_due(db: Engine, user: str) -> None:
    """The clock moves on to `user`'s reminder."""
    with db.begin() as connection:
        connection.execute(
            update(Reminder)
            .where(Reminder.slack_user_id == user)
            .values(due_at=utcnow() - timedelta(minutes=1))
        )


def count(db: Engine, table: type[Reminder]) -> int:
    with db.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(table)) or 0)
