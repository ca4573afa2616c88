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
from typing import Any

import pytest

from bot.config import Settings
from bot.delivery.digest import send_digests
from bot.delivery.extensions import check_extensions
from bot.delivery.followup import escalate, send_reminders
from bot.hours import DAYS, parse_weekly_hours
from bot.runtime import Runtime
from bot.sandbox.qtvoice import QTvoiceSandbox
from bot.sandbox.samples import MAIN_LINE, iso_timestamp
from bot.sandbox.slack import SlackRecorder
from bot.store.models import utcnow
from tests.conftest import ADMIN, NOTIFY_CHANNEL, RunningBot, start_bot
from tests.slack.test_actions import answer, button, click, posted_message

pytestmark = pytest.mark.anyio

NIGHT = "C0NIGHT"


async def run(settings: Settings, job: Any, now: datetime) -> int:
    """One tick of a scheduled job, in a process of its own (as the scheduler's leader)."""
    runtime = Runtime.create(settings)
    try:
        return int(await job(runtime, now))
    finally:
        await runtime.close()


def replies(slack: SlackRecorder, parent: dict[str, Any]) -> list[dict[str, Any]]:
    return slack.thread(NOTIFY_CHANNEL, parent["ts"])[1:]


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


@pytest.mark.parametrize("action", ["take_it", "mark_handled"])
async def test_taking_or_handling_it_first_cancels_the_escalation(
    bot: RunningBot, slack: SlackRecorder, settings: Settings, action: str
) -> None:
    parent = missed_call(bot, slack, utcnow() - timedelta(minutes=20))
    click(bot, parent, action)
    slack.wait_for(lambda: slack.calls("chat.update", ok=True))

    assert await run(settings, escalate, utcnow()) == 0
    assert replies(slack, parent) == []


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
    slack.wait_for(lambda: slack.calls("chat.update", ok=True))
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
