"""Exactly once when a delivery outlives its lease: the worker delivering it keeps it.

Two bots (each with its own delivery worker) share one database, with a two-second lease, and
the Slack sandbox answers `chat.postMessage` four seconds late. The first worker to claim the
event is still waiting on Slack when its original lease has run out; the other worker must not
claim and post it again. (The lease is renewed every third of it: two seconds leave a renewal
1.3 s of slack on two busy cores, where one second once left too little.)
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.delivery.inbox import DONE
from bot.sandbox.slack import SlackRecorder
from bot.store.db import sync_url
from bot.store.models import InboxEvent, utcnow
from tests.conftest import NOTIFY_CHANNEL, RunningBot, start_bot

LEASE_SECONDS = 2.0
SLACK_LATE_SECONDS = 4.0
#: Slack's lateness while the lease is taken away; each delivery of a text posts twice.
LATE = 1.5


@pytest.fixture
def two_bots(settings: Settings, slack: SlackRecorder) -> Iterator[list[RunningBot]]:
    short_lease = settings.model_copy(update={"delivery_lease_seconds": LEASE_SECONDS})
    bots = [start_bot(short_lease, slack), start_bot(short_lease, slack)]
    yield bots
    for bot in bots:
        bot.stop()


def states(settings: Settings) -> list[str]:
    engine: Engine = create_engine(sync_url(settings.database_url))
    try:
        with Session(engine) as session:
            return list(session.scalars(select(InboxEvent.state)))
    finally:
        engine.dispose()


def holder(engine: Engine) -> str | None:
    with Session(engine) as session:
        return session.scalars(select(InboxEvent.locked_by)).one()


def test_a_delivery_slower_than_its_lease_is_posted_once(
    two_bots: list[RunningBot], slack: SlackRecorder, settings: Settings
) -> None:
    slack.delay("chat.postMessage", SLACK_LATE_SECONDS)

    assert two_bots[0].send("call.missed").status_code == 200

    slack.wait_for(lambda: states(settings) == [DONE], timeout=20)
    # Time for a second worker that claimed it after the first lease ran out to post too.
    time.sleep(SLACK_LATE_SECONDS + LEASE_SECONDS)
    posts = [c for c in slack.calls("chat.postMessage") if c.args["channel"] == NOTIFY_CHANNEL]
    assert len(posts) == 1
    assert len(slack.messages(NOTIFY_CHANNEL)) == 1


def test_a_worker_that_lost_its_lease_gives_the_event_up(
    settings: Settings, slack: SlackRecorder, db: Engine
) -> None:
    """Another worker took the row (as its claim would) while ours waited on Slack: ours
    posts nothing more for it and neither finishes nor retries it."""
    bot = start_bot(settings.model_copy(update={"delivery_lease_seconds": LEASE_SECONDS}), slack)
    try:
        slack.delay("chat.postMessage", LATE)
        assert bot.send("sms.received", message="Hello").status_code == 200
        slack.wait_for(lambda: holder(db))  # claimed: its first post waits on Slack

        with Session(db) as session:
            row = session.scalars(select(InboxEvent)).one()
            row.locked_by = "another-worker"
            row.locked_until = utcnow() + timedelta(minutes=5)
            session.commit()
        # Without giving it up, both posts would be answered and the row finished by now.
        time.sleep(3 * LATE + LEASE_SECONDS)

        with Session(db) as session:
            row = session.scalars(select(InboxEvent)).one()
            assert (row.state, row.locked_by, row.attempts) == ("pending", "another-worker", 0)
        assert len(slack.calls("chat.postMessage")) <= 1
    finally:
        bot.stop()
