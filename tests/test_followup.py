"""The clock: escalation, reminders, business hours and the daily digest.

Each job is called with the `now` the test chooses (the scheduler passes the real one), while
the bot runs over real HTTP against the sandboxes: messages are posted by its worker, buttons
are clicked through Slack's signed requests, and what the jobs post is read back from the
Slack recorder. Nothing sleeps through minutes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select

from bot.config import Settings
from bot.delivery.digest import send_digests
from bot.delivery.extensions import check_extensions
from bot.delivery.followup import RETRY_AFTER, TICK_SECONDS, escalate, send_reminders
from bot.delivery.poster import METADATA_EVENT
from bot.hours import DAYS, parse_weekly_hours
from bot.runtime import Runtime
from bot.sandbox.qtvoice import QTvoiceSandbox
from bot.sandbox.samples import MAIN_LINE, iso_timestamp
from bot.sandbox.slack import SlackRecorder
from bot.sandbox.slack.messages import is_top_level
from bot.store import deliveries, ownership
from bot.store.db import sync_url
from bot.store.deliveries import FAILED
from bot.store.models import InboxEvent, OpenItem, PostedMessage, Reminder, utcnow
from tests.conftest import ADMIN, BOT_TOKEN, NOTIFY_CHANNEL, RunningBot, start_bot
from tests.helpers.runtime import run, stored_items
from tests.helpers.slack import answer, button, click, posted_message, replies

pytestmark = pytest.mark.anyio

NIGHT = "C0NIGHT"


@pytest.fixture
def bot(settings: Settings, slack: SlackRecorder) -> Iterator[RunningBot]:
    """The bot, its own scheduler's leader escalating nothing: the tests play its tick,
    `run(settings, escalate, now)`, at the `now` they choose. Left on, the leader would take
    an item already due at its next look (RECHECK_SECONDS), racing the test for it."""
    running = start_bot(settings.model_copy(update={"escalate_after_minutes": 0}), slack)
    yield running
    running.stop()


def missed_call(bot: RunningBot, slack: SlackRecorder, arrived: datetime) -> dict[str, Any]:
    assert bot.send("call.missed", createdAt=iso_timestamp(arrived)).status_code == 200
    return posted_message(slack, bot)


@pytest.fixture
def office(settings: Settings, slack: SlackRecorder) -> Iterator[RunningBot]:
    """The bot of an office open Mon-Fri 08:00-18:00 in New York."""
    running = start_bot(
        settings.model_copy(
            update={
                "timezone": "America/New_York",
                "business_hours": parse_weekly_hours("Mon-Fri 08:00-18:00"),
            }
        ),
        slack,
    )
    yield running
    running.stop()


# Escalation


async def test_an_untaken_missed_call_is_escalated_once_mentioning_the_lines_people(
    bot: RunningBot, slack: SlackRecorder, settings: Settings
) -> None:
    bot.link("U0ALICE", "101")
    arrived = utcnow() - timedelta(minutes=20)
    parent = missed_call(bot, slack, arrived)

    early = await run(settings, escalate, arrived + timedelta(minutes=14))
    first = await run(settings, escalate, arrived + timedelta(minutes=15))
    again = await run(settings, escalate, arrived + timedelta(minutes=16))

    assert (early, first, again) == (0, 1, 0)
    [reply] = replies(slack, parent)
    assert reply["text"].startswith("🚨 <@U0ALICE>: nobody has taken this in 15 open minutes.")


#: How long before its due time the on-time test's item is made: the call is posted by then.
AHEAD_OF_DUE = timedelta(seconds=10)
#: Generous, for two busy cores: a one-minute poll would be up to 60 s late (50 s here).
ON_TIME_SECONDS = 10


async def test_an_escalation_lands_within_moments_of_its_due_time(
    settings: Settings, slack: SlackRecorder
) -> None:
    bot = start_bot(settings.model_copy(update={"escalate_after_minutes": 1}), slack)
    try:
        due = utcnow() + AHEAD_OF_DUE
        message = missed_call(bot, slack, due - timedelta(minutes=1))
        assert utcnow() < due, "the call was posted after its escalation was due"
        slack.wait_for(lambda: replies(slack, message), timeout=60)
    finally:
        bot.stop()

    [escalation] = [
        call
        for call in slack.calls("chat.postMessage", ok=True)
        if call.args.get("thread_ts") == message["ts"]
    ]
    # createdAt is given in whole seconds: the item may have arrived up to a second earlier.
    assert -1 < escalation.received_at - due.timestamp() < ON_TIME_SECONDS


async def test_an_item_already_overdue_when_it_arrives_is_escalated_at_the_next_look(
    settings: Settings, slack: SlackRecorder
) -> None:
    # Its due time passed before anyone looked (a webhook retried late, a leader taking over,
    # the clock set forward): the running bot's leader escalates it at its next look for due
    # items, not at its next tick, which is further off than this wait.
    bot = start_bot(settings, slack)
    try:
        message = missed_call(bot, slack, utcnow() - timedelta(minutes=20))

        slack.wait_for(lambda: replies(slack, message), timeout=TICK_SECONDS / 2)
    finally:
        bot.stop()


async def test_nobody_linked_to_the_line_means_here(
    bot: RunningBot, slack: SlackRecorder, settings: Settings
) -> None:
    arrived = utcnow() - timedelta(minutes=20)
    parent = missed_call(bot, slack, arrived)

    assert await run(settings, escalate, utcnow()) == 1

    [reply] = replies(slack, parent)
    assert reply["text"].startswith("🚨 <!here>:")


async def test_several_workers_escalate_it_exactly_once(
    bot: RunningBot, slack: SlackRecorder, settings: Settings
) -> None:
    parent = missed_call(bot, slack, utcnow() - timedelta(minutes=20))
    now = utcnow()

    counts = await asyncio.gather(*(run(settings, escalate, now) for _ in range(3)))

    assert sorted(counts) == [0, 0, 1]
    assert len(replies(slack, parent)) == 1


#: Items falling due together (a night's, at opening time), and Slack's lateness for each.
ITEMS_DUE_TOGETHER = 10
SLACK_LATE_SECONDS = 0.4


async def test_items_due_together_are_escalated_side_by_side(
    bot: RunningBot, slack: SlackRecorder, settings: Settings
) -> None:
    """One at a time, each escalation would wait for Slack's answer to the one before it:
    side by side, Slack receives an escalation while it is still answering another."""
    arrived = utcnow() - timedelta(minutes=20)
    parents = [
        missed_call(bot, slack, arrived + timedelta(seconds=n)) for n in range(ITEMS_DUE_TOGETHER)
    ]
    slack.delay("chat.postMessage", SLACK_LATE_SECONDS)

    escalated = await run(settings, escalate, utcnow())

    assert escalated == ITEMS_DUE_TOGETHER
    assert all(len(replies(slack, parent)) == 1 for parent in parents)
    received = sorted(
        call.received_at
        for call in slack.calls("chat.postMessage", ok=True)
        if call.args.get("thread_ts") in {parent["ts"] for parent in parents}
    )
    # Posted one after another's answer, no two arrive within Slack's lateness of each other.
    assert any(later - earlier < SLACK_LATE_SECONDS for earlier, later in pairwise(received))


@pytest.mark.parametrize("action", ["take_it", "mark_handled"])
async def test_taking_or_handling_it_first_cancels_the_escalation(
    bot: RunningBot, slack: SlackRecorder, settings: Settings, action: str
) -> None:
    parent = missed_call(bot, slack, utcnow() - timedelta(minutes=20))
    click(bot, parent, action)
    slack.wait_for(lambda: slack.calls("chat.update", ok=True))

    assert await run(settings, escalate, utcnow()) == 0
    assert replies(slack, parent) == []


def reach_out(bot: RunningBot, slack: SlackRecorder, parent: dict[str, Any], way: str) -> None:
    """Alice (linked) calls or texts the caller back, `way`, and QTvoice takes it."""
    if way == "call_back":
        answer(slack, click(bot, parent, "call_back"))
    elif way == "/call":
        bot.command("/call", "(215) 555-1234")
    elif way == "/sms":
        bot.command("/sms", "215-555-1234 Sorry we missed you, calling you shortly")
    elif way == "text_back":
        click(bot, parent, "text_back")
        slack.wait_for(lambda: slack.views_opened("U0ALICE"))
        bot.slack.view_submission("sms_send", {"sms_message": {"message": "Call you soon"}})
    else:  # a reply in the thread of the conversation
        bot.slack.message_in_thread(NOTIFY_CHANNEL, parent["ts"], "On it, calling you now")


def taken_by_note(slack: SlackRecorder, parent: dict[str, Any]) -> str:
    message = slack.message(NOTIFY_CHANNEL, parent["ts"]) or {}
    return json.dumps([b for b in message.get("blocks") or [] if b.get("block_id") == "ownership"])


@pytest.mark.parametrize("way", ["call_back", "/call", "/sms", "text_back"])
async def test_calling_or_texting_the_caller_back_takes_the_missed_call(
    bot: RunningBot, slack: SlackRecorder, settings: Settings, way: str
) -> None:
    """Whoever calls or texts back is on it, for everyone to see, and nobody is paged."""
    bot.link("U0ALICE", "101")
    parent = missed_call(bot, slack, utcnow() - timedelta(minutes=20))

    reach_out(bot, slack, parent, way)

    slack.wait_for(lambda: "<@U0ALICE>" in taken_by_note(slack, parent))
    assert await run(settings, escalate, utcnow()) == 0
    assert replies(slack, parent) == []


async def test_replying_in_its_thread_takes_the_conversation(
    bot: RunningBot, slack: SlackRecorder, settings: Settings, qtvoice: QTvoiceSandbox
) -> None:
    bot.link("U0ALICE", "101")
    assert bot.send("sms.received", message="Are you open Saturday?").status_code == 200
    slack.wait_for(lambda: len(slack.messages(NOTIFY_CHANNEL)) >= 2)
    parent = slack.messages(NOTIFY_CHANNEL)[0]

    reach_out(bot, slack, parent, "reply")

    slack.wait_for(lambda: "<@U0ALICE>" in taken_by_note(slack, parent))
    assert await run(settings, escalate, utcnow() + timedelta(hours=1)) == 0


async def test_calling_back_leaves_an_item_someone_else_took_with_them(
    bot: RunningBot, slack: SlackRecorder, settings: Settings
) -> None:
    bot.link("U0ALICE", "101")
    parent = missed_call(bot, slack, utcnow() - timedelta(minutes=20))
    answer(slack, click(bot, parent, "take_it", user="U0BOB"))

    reach_out(bot, slack, parent, "/call")

    [item] = await stored_items(settings)
    assert item.taken_by == "U0BOB"


async def test_escalation_off_never_escalates(
    bot: RunningBot, slack: SlackRecorder, settings: Settings
) -> None:
    parent = missed_call(bot, slack, utcnow() - timedelta(hours=2))

    off = settings.model_copy(update={"escalate_after_minutes": 0})

    assert await run(off, escalate, utcnow()) == 0
    assert replies(slack, parent) == []


async def test_escalation_waits_for_opening_time(office: RunningBot, slack: SlackRecorder) -> None:
    friday = datetime(2025, 11, 21, 17, 55, tzinfo=office.settings.zone)
    monday = datetime(2025, 11, 24, 8, 0, tzinfo=office.settings.zone)
    parent = missed_call(office, slack, friday)

    evening = await run(office.settings, escalate, friday + timedelta(minutes=30))
    weekend = await run(office.settings, escalate, monday - timedelta(hours=1))
    early = await run(office.settings, escalate, monday + timedelta(minutes=9))
    due = await run(office.settings, escalate, monday + timedelta(minutes=10))

    assert (evening, weekend, early, due) == (0, 0, 0, 1)
    assert len(replies(slack, parent)) == 1


# Exactly once across crashes: a claim runs out, the post is made or adopted

#: The process id a claim names; this process is gone, so it never posts nor gives it back.
DEAD = "gone-host:4242:dead00"


def lease(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.delivery_lease_seconds)


async def claimed_by_a_process_that_died(
    settings: Settings, claim: Any, row: type[OpenItem] | type[Reminder], now: datetime
) -> int:
    """The one row of `row`'s table, claimed at `now` by the bot's own claim as `DEAD`, which
    then died before it posted (or before Slack's answer came back); the row's id."""
    runtime = Runtime.create(settings)
    try:
        async with runtime.sessions() as session:
            [row_id] = await session.scalars(select(row.id))
            assert await claim(session, row_id, now, DEAD, lease(settings))
    finally:
        await runtime.close()
    return int(row_id)


def post_as_the_bot(slack: SlackRecorder, parent: dict[str, Any], ref: str) -> str:
    """A reply that reached Slack carrying the bot's identity metadata, unrecorded; its ts."""
    response = httpx.post(
        f"{slack.api_url}chat.postMessage",
        headers={"Authorization": f"Bearer {BOT_TOKEN}"},
        json={
            "channel": NOTIFY_CHANNEL,
            "thread_ts": parent["ts"],
            "text": "🚨 <!here>: nobody has taken this in 15 open minutes.",
            "metadata": {"event_type": METADATA_EVENT, "event_payload": {"ref": ref}},
        },
    )
    return str(response.json()["ts"])


async def test_an_escalation_whose_process_died_before_posting_is_posted_once_later(
    bot: RunningBot, slack: SlackRecorder, settings: Settings
) -> None:
    parent = missed_call(bot, slack, utcnow() - timedelta(minutes=20))
    now = utcnow()
    await claimed_by_a_process_that_died(settings, ownership.claim_escalation, OpenItem, now)

    held = await run(settings, escalate, now + timedelta(seconds=1))
    run_out = now + lease(settings) + timedelta(seconds=1)
    due = await run(settings, escalate, run_out)
    again = await run(settings, escalate, run_out + timedelta(minutes=1))

    assert (held, due, again) == (0, 1, 0)
    [reply] = replies(slack, parent)
    assert reply["text"].startswith("🚨 <!here>:")


async def test_an_escalation_that_landed_but_whose_answer_was_lost_is_adopted_not_repeated(
    bot: RunningBot, slack: SlackRecorder, settings: Settings
) -> None:
    parent = missed_call(bot, slack, utcnow() - timedelta(minutes=20))
    now = utcnow()
    item = await claimed_by_a_process_that_died(settings, ownership.claim_escalation, OpenItem, now)
    # What its post left: the intent, recorded just before, and the reply that landed.
    runtime = Runtime.create(settings)
    try:
        async with runtime.sessions() as session:
            session.add(
                PostedMessage(
                    kind="escalation",
                    key=str(item),
                    channel_id=NOTIFY_CHANNEL,
                    thread_ts=parent["ts"],
                )
            )
            await session.commit()
    finally:
        await runtime.close()
    landed = post_as_the_bot(slack, parent, f"escalation:{item}")

    run_out = now + lease(settings) + timedelta(seconds=1)
    due = await run(settings, escalate, run_out)
    again = await run(settings, escalate, run_out + timedelta(minutes=1))

    assert (due, again) == (1, 0)
    assert [reply["ts"] for reply in replies(slack, parent)] == [landed]
    assert len(slack.calls("chat.postMessage")) == 2  # the missed call, and the one that landed


async def test_an_item_whose_message_is_not_in_slack_yet_is_escalated_once_it_is(
    settings: Settings, slack: SlackRecorder
) -> None:
    slack.fail_next("chat.postMessage", status=500)
    bot = start_bot(
        settings.model_copy(update={"delivery_max_attempts": 1, "escalate_after_minutes": 0}),
        slack,
    )
    try:
        arrived = iso_timestamp(utcnow() - timedelta(minutes=20))
        assert bot.send("call.missed", createdAt=arrived).status_code == 200
        slack.wait_for(lambda: delivery_states(settings) == [FAILED])  # tracked, not posted
        before = await run(settings, escalate, utcnow())
        runtime = Runtime.create(settings)
        try:
            async with runtime.sessions() as session:
                [row] = await session.scalars(select(InboxEvent.id))
                assert (
                    await deliveries.replay(session, row) == FAILED
                )  # an admin's `replay`, Slack back
        finally:
            await runtime.close()
        parent = posted_message(slack, bot)
    finally:
        bot.stop()

    # Given back, the item is tried again at the next tick, not at each look for due items.
    again = await run(settings, escalate, utcnow())
    after = await run(settings, escalate, utcnow() + RETRY_AFTER)

    assert (before, again, after) == (0, 0, 1)
    assert len(replies(slack, parent)) == 1


def delivery_states(settings: Settings) -> list[str]:
    engine = create_engine(sync_url(settings.database_url))
    try:
        with engine.connect() as connection:
            return list(connection.scalars(select(InboxEvent.state)))
    finally:
        engine.dispose()


async def test_a_reminder_whose_process_died_before_sending_is_sent_once_later(
    bot: RunningBot, slack: SlackRecorder, settings: Settings
) -> None:
    parent = missed_call(bot, slack, utcnow())
    answer(slack, click(bot, parent, "remind_hour", user="U0BOB"))
    now = utcnow() + timedelta(minutes=61)
    await claimed_by_a_process_that_died(settings, ownership.claim_reminder, Reminder, now)

    held = await run(settings, send_reminders, now + timedelta(seconds=1))
    run_out = now + lease(settings) + timedelta(seconds=1)
    due = await run(settings, send_reminders, run_out)
    again = await run(settings, send_reminders, run_out + timedelta(minutes=1))

    assert (held, due, again) == (0, 1, 0)
    [dm] = slack.messages("U0BOB")
    assert dm["text"].startswith("Reminder: Missed call from")


# A caller who writes again


def text(bot: RunningBot, slack: SlackRecorder, message: str, at: datetime) -> None:
    """An inbound text from the sample customer, delivered (the worker is done with it)."""
    assert bot.send("sms.received", message=message, createdAt=iso_timestamp(at)).status_code == 200
    posted_message(slack, bot)


def in_channel(slack: SlackRecorder) -> list[dict[str, Any]]:
    """What the channel shows: its messages, and thread replies also sent to it."""
    return [message for message in slack.messages(NOTIFY_CHANNEL) if is_top_level(message)]


def handled_by(bot: RunningBot, slack: SlackRecorder, message: dict[str, Any], user: str) -> None:
    click(bot, message, "mark_handled", user=user)
    slack.wait_for(
        lambda: f"Handled by <@{user}>" in str(slack.message(NOTIFY_CHANNEL, message["ts"]))
    )


async def test_a_text_after_its_conversation_was_handled_reopens_it_for_someone_to_take(
    bot: RunningBot, slack: SlackRecorder
) -> None:
    text(bot, slack, "Are you open Saturday?", utcnow() - timedelta(hours=2))
    [parent] = in_channel(slack)
    handled_by(bot, slack, parent, "U0BOB")

    text(bot, slack, "Still there?", utcnow())

    [_, reopened] = in_channel(slack)  # a reply, also sent to the channel
    assert reopened["thread_ts"] == parent["ts"]
    assert reopened["text"].endswith("wrote again: Still there?")
    assert "wrote again, after <@U0BOB> handled it" in str(reopened["blocks"])
    for action in ("take_it", "remind_hour", "mark_handled", "sms_reply"):
        assert button(reopened, action)
    thread = slack.thread(NOTIFY_CHANNEL, parent["ts"])
    assert [message["ts"] for message in thread][-1] == reopened["ts"]
    assert "Still there?" in thread[-2]["text"]  # the text itself, as always

    answer(slack, click(bot, reopened, "take_it", user="U0CAROL"))
    shown = slack.wait_for(
        lambda: (
            "Taken by <@U0CAROL>" in str(slack.message(NOTIFY_CHANNEL, reopened["ts"]))
            and slack.message(NOTIFY_CHANNEL, reopened["ts"])
        )
    )
    assert "Handled by <@U0BOB>" in str(slack.message(NOTIFY_CHANNEL, parent["ts"]))
    assert button(shown, "mark_handled")


async def test_a_reopened_conversation_is_escalated_counting_from_its_new_text(
    bot: RunningBot, slack: SlackRecorder, settings: Settings
) -> None:
    text(bot, slack, "Are you open Saturday?", utcnow() - timedelta(hours=2))
    [parent] = in_channel(slack)
    handled_by(bot, slack, parent, "U0BOB")
    again = utcnow() - timedelta(minutes=1)
    text(bot, slack, "Still there?", again)

    early = await run(settings, escalate, again + timedelta(minutes=14))
    due = await run(settings, escalate, again + timedelta(minutes=15))
    later = await run(settings, escalate, again + timedelta(minutes=16))

    assert (early, due, later) == (0, 1, 0)
    assert slack.thread(NOTIFY_CHANNEL, parent["ts"])[-1]["text"].startswith("🚨 <!here>:")


async def test_texts_while_a_reopened_conversation_is_open_reopen_nothing_more(
    bot: RunningBot, slack: SlackRecorder
) -> None:
    text(bot, slack, "Are you open Saturday?", utcnow() - timedelta(hours=2))
    [parent] = in_channel(slack)
    handled_by(bot, slack, parent, "U0BOB")
    text(bot, slack, "Still there?", utcnow())
    text(bot, slack, "Hello??", utcnow())

    assert len(in_channel(slack)) == 2
    assert len(slack.thread(NOTIFY_CHANNEL, parent["ts"])) == 5  # 3 texts and the reopening


async def test_a_second_missed_call_after_the_first_was_handled_is_an_item_of_its_own(
    bot: RunningBot, slack: SlackRecorder, settings: Settings
) -> None:
    first = missed_call(bot, slack, utcnow() - timedelta(hours=2))
    handled_by(bot, slack, first, "U0BOB")
    bot.send("call.missed", createdAt=iso_timestamp(utcnow() - timedelta(minutes=20)))
    [_, second] = slack.wait_for(lambda: len(in_channel(slack)) == 2 and in_channel(slack))
    posted_message(slack, bot)

    assert button(second, "take_it")
    assert await run(settings, escalate, utcnow()) == 1
    assert len(replies(slack, second)) == 1
    assert replies(slack, first) == []


# Business hours


def closed_all_day_today(now: datetime) -> str:
    other_day = DAYS[(now.weekday() + 3) % 7]
    return f"{other_day} 00:00-24:00"


async def test_while_closed_notifications_go_to_the_after_hours_channel(
    settings: Settings, slack: SlackRecorder
) -> None:
    closed = settings.model_copy(
        update={
            "after_hours_channel": NIGHT,
            "business_hours": parse_weekly_hours(closed_all_day_today(utcnow())),
        }
    )
    bot = start_bot(closed, slack)
    try:
        assert bot.send("call.missed").status_code == 200
        slack.wait_for(lambda: slack.messages(NIGHT))
    finally:
        bot.stop()
    assert slack.messages(NOTIFY_CHANNEL) == []


async def test_while_open_notifications_go_to_the_usual_channel(
    settings: Settings, slack: SlackRecorder
) -> None:
    today = DAYS[utcnow().weekday()]
    open_now = settings.model_copy(
        update={
            "after_hours_channel": NIGHT,
            "business_hours": parse_weekly_hours(f"{today} 00:00-24:00"),
        }
    )
    bot = start_bot(open_now, slack)
    try:
        assert bot.send("call.missed").status_code == 200
        slack.wait_for(lambda: slack.messages(NOTIFY_CHANNEL))
    finally:
        bot.stop()
    assert slack.messages(NIGHT) == []


# Reminders


async def test_a_reminder_set_before_a_restart_fires_after_it(
    settings: Settings, slack: SlackRecorder
) -> None:
    first = start_bot(settings, slack)
    try:
        parent = missed_call(first, slack, utcnow())
        answer(slack, click(first, parent, "remind_hour", user="U0BOB"))
    finally:
        first.stop()
    now = utcnow()

    second = start_bot(settings, slack)
    try:
        early = await run(settings, send_reminders, now + timedelta(minutes=30))
        due = await run(settings, send_reminders, now + timedelta(minutes=61))
        again = await run(settings, send_reminders, now + timedelta(minutes=62))
        [dm] = slack.messages("U0BOB")
        assert dm["text"].startswith("Reminder: Missed call from")
        for action in ("call_back", "take_it", "mark_handled"):
            assert button(dm, action)

        answer(slack, click(second, dm, "take_it", user="U0BOB", channel=dm["channel"]))
        shown = slack.wait_for(
            lambda: (
                "U0BOB" in str(slack.message(NOTIFY_CHANNEL, parent["ts"]))
                and slack.message(NOTIFY_CHANNEL, parent["ts"])
            )
        )
    finally:
        second.stop()
    assert (early, due, again) == (0, 1, 0)
    assert "Taken by <@U0BOB>" in str(shown["blocks"])


async def test_a_reminder_about_something_handled_since_is_dropped(
    bot: RunningBot, slack: SlackRecorder, settings: Settings
) -> None:
    parent = missed_call(bot, slack, utcnow())
    answer(slack, click(bot, parent, "remind_hour", user="U0BOB"))
    click(bot, parent, "mark_handled")
    slack.wait_for(lambda: slack.calls("chat.update", ok=True))

    assert await run(settings, send_reminders, utcnow() + timedelta(hours=2)) == 0
    assert slack.messages("U0BOB") == []


# Digest


async def test_digest_counts_returns_and_median_on_a_known_day(
    bot: RunningBot, slack: SlackRecorder, settings: Settings, qtvoice: QTvoiceSandbox
) -> None:
    today = utcnow().date()
    yesterday = datetime.combine(today - timedelta(days=1), time(0), UTC)
    numbers = [f"+1215555{n:04d}" for n in (111, 122, 133, 144, 155, 166)]
    sent = []
    for hour, number in zip((9, 10, 11), numbers, strict=False):
        bot.send("call.missed", from_=number, createdAt=iso_timestamp(yesterday.replace(hour=hour)))
        sent.append(slack.wait_for(lambda: len(slack.messages(NOTIFY_CHANNEL)) == len(sent) + 1))
    calls = slack.messages(NOTIFY_CHANNEL)
    bot.send("voicemail.new", from_=numbers[3], createdAt=iso_timestamp(yesterday.replace(hour=12)))
    for minute in (0, 5):
        at = yesterday.replace(hour=13, minute=minute)
        bot.send("sms.received", from_=numbers[4], createdAt=iso_timestamp(at))
    two_days_ago = yesterday - timedelta(hours=12)
    bot.send("call.missed", from_=numbers[5], createdAt=iso_timestamp(two_days_ago))
    slack.wait_for(lambda: len(slack.messages(NOTIFY_CHANNEL)) == 8)  # texts: thread + 2
    # Returned: two from desk phones (10 and 30 minutes later), one with Call back (now).
    for number, after in ((numbers[0], 10), (numbers[1], 30)):
        returned_at = yesterday.replace(hour=9 if number == numbers[0] else 10) + timedelta(
            minutes=after
        )
        qtvoice.state.add_call(MAIN_LINE, number, direction="outbound", created_at=returned_at)
    bot.link()
    answer(slack, click(bot, calls[2], "call_back"))
    click(bot, calls[0], "mark_handled", user="U0HANDLER")
    # Its own update, not any: Call back's (it takes the item) would let the digest run first.
    slack.wait_for(
        lambda: [c for c in slack.calls("chat.update", ok=True) if c.args["ts"] == calls[0]["ts"]]
    )
    digest_time = datetime.combine(today, time(8), UTC)

    posted = await run(settings, send_digests, digest_time)
    await run(settings, send_digests, digest_time + timedelta(minutes=1))

    assert posted == 1
    digests = [m for m in slack.messages(NOTIFY_CHANNEL) if "Daily digest" in (m["text"] or "")]
    assert len(digests) == 1
    sections = {b["block_id"]: b["text"]["text"] for b in digests[0]["blocks"]}
    assert sections["digest_counts"].endswith(
        "3 missed calls · 1 voicemail · 2 texts (1 new text conversation)"
    )
    assert sections["digest_returned"] == (
        "📞 Called back: *3 of 4* · median time to call back *30 min*"
    )
    assert sections["digest_handled"] == "✅ Handled: <@U0HANDLER> 1"
    assert sections["digest_open"].startswith("📭 *Still open (5)*")


async def test_a_digest_run_again_the_same_day_posts_nothing_and_asks_qtvoice_nothing(
    bot: RunningBot, slack: SlackRecorder, settings: Settings, qtvoice: QTvoiceSandbox
) -> None:
    morning = datetime.combine(utcnow().date(), time(8), UTC)
    first = await run(settings, send_digests, morning)
    qtvoice.state.clear_requests()

    again = await run(settings, send_digests, morning + timedelta(hours=3))  # a new leader

    assert (first, again) == (1, 0)
    assert qtvoice.state.requests("GET", "/calls") == []
    assert len([m for m in slack.messages(NOTIFY_CHANNEL) if "Daily digest" in m["text"]]) == 1


# Extension check


async def test_a_link_to_a_vanished_extension_is_told_once_to_its_user_and_admins(
    bot: RunningBot, slack: SlackRecorder, settings: Settings, qtvoice: QTvoiceSandbox
) -> None:
    bot.link("U0ALICE", "101")
    bot.link("U0BOB", "102")
    qtvoice.state.data.extensions.pop("ext_101")

    gone = await run(settings, check_extensions, utcnow())
    await run(settings, check_extensions, utcnow())

    assert gone == 1
    [to_alice] = slack.messages("U0ALICE")
    assert to_alice["text"].startswith("⚠️ Your QTvoice extension 101")
    [to_admin] = slack.messages(ADMIN)
    assert to_admin["text"].startswith("⚠️ <@U0ALICE> is linked to QTvoice extension 101")
    assert slack.messages("U0BOB") == []


async def test_a_transcript_after_closing_updates_the_voicemail_where_it_is(
    settings: Settings, slack: SlackRecorder
) -> None:
    today = DAYS[utcnow().weekday()]
    day = settings.model_copy(
        update={
            "after_hours_channel": NIGHT,
            "business_hours": parse_weekly_hours(f"{today} 00:00-24:00"),
        }
    )
    night = settings.model_copy(
        update={
            "after_hours_channel": NIGHT,
            "business_hours": parse_weekly_hours(closed_all_day_today(utcnow())),
        }
    )
    open_bot = start_bot(day, slack)
    try:
        left = open_bot.send("voicemail.new", transcription=None)
        [posted] = slack.wait_for(lambda: slack.messages(NOTIFY_CHANNEL))
    finally:
        open_bot.stop()
    data = json.loads(left.request.content)["data"]

    closed_bot = start_bot(night, slack)
    try:
        closed_bot.send(
            "voicemail.transcribed",
            id=data["id"],
            callId=data["callId"],
            transcription="Call me back",
        )
        slack.wait_for(lambda: "Call me back" in str(slack.messages(NOTIFY_CHANNEL)[0]["blocks"]))
    finally:
        closed_bot.stop()
    assert slack.messages(NIGHT) == []
    assert [message["ts"] for message in slack.messages(NOTIFY_CHANNEL)] == [posted["ts"]]
