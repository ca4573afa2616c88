"""The weekly report, end to end: a week of missed calls and voicemails sent as webhooks,
calls back placed as QTvoice records them, the job run as the scheduler's leader runs it,
and the report read back from the Slack sandbox; its figures checked against a hand
computation."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from bot.config import Settings, parse_weekly_time
from bot.delivery.report import report_week, send_reports
from bot.runtime import Runtime
from bot.sandbox.qtvoice import ALICE_LINE, QTvoiceSandbox
from bot.sandbox.samples import MAIN_LINE, iso_timestamp
from bot.sandbox.slack import SlackRecorder
from bot.scheduler import build_scheduler
from bot.store.models import utcnow
from tests.conftest import NOTIFY_CHANNEL, RunningBot

pytestmark = pytest.mark.anyio

CALLERS = [f"+1267555{n:04d}" for n in range(1, 5)]


async def run_report(settings: Settings, now: datetime) -> int:
    runtime = Runtime.create(settings)
    try:
        return await send_reports(runtime, now)
    finally:
        await runtime.close()


def seed_week(bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox) -> datetime:
    """Last week (UTC): four missed calls on the main line, called back by Alice's desk
    phone (linked) after 10, 20 and 40 minutes, one never; a voicemail on Alice's line
    returned after 90 minutes from Bob's extension (linked to nobody). Now, this Monday."""
    bot.link()
    monday = datetime.combine(report_week(utcnow(), UTC), time(0), UTC)
    for n, (number, delay) in enumerate(zip(CALLERS, (10, 20, 40, None), strict=True)):
        arrived = monday + timedelta(days=n, hours=9)
        bot.send("call.missed", id=f"call_week_{n}", from_=number, createdAt=iso_timestamp(arrived))
        if delay is not None:
            back = arrived + timedelta(minutes=delay)
            qtvoice.state.add_call(
                MAIN_LINE, number, direction="outbound", created_at=back, extension_id="ext_101"
            )
    arrived = monday + timedelta(days=5, hours=11)
    bot.send(
        "voicemail.new",
        id="vm_week",
        from_="+12675550999",
        to=ALICE_LINE,
        createdAt=iso_timestamp(arrived),
    )
    qtvoice.state.add_call(
        ALICE_LINE,
        "+12675550999",
        direction="outbound",
        created_at=arrived + timedelta(minutes=90),
        extension_id="ext_102",
    )
    slack.wait_for(lambda: len(top_level_reports(slack, NOTIFY_CHANNEL, "Missed call")) >= 4)
    slack.wait_for(lambda: top_level_reports(slack, NOTIFY_CHANNEL, "Voicemail"))
    return monday + timedelta(days=7, hours=9)


def top_level_reports(slack: SlackRecorder, channel: str, prefix: str) -> list[dict[str, Any]]:
    return [m for m in slack.messages(channel) if str(m["text"]).startswith(prefix)]


def the_report(slack: SlackRecorder) -> dict[str, Any]:
    return slack.wait_for(lambda: top_level_reports(slack, NOTIFY_CHANNEL, "Weekly report"))[0]


async def test_the_weekly_reports_medians_and_90th_percentiles_match_a_hand_computation(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox, settings: Settings
) -> None:
    now = seed_week(bot, slack, qtvoice)

    assert await run_report(settings, now) == 1

    report = the_report(slack)
    table = next(block for block in report["blocks"] if block["type"] == "table")
    rows = [[cell["text"] for cell in row] for row in table["rows"]]
    # Main line: 10, 20, 40 -> median 20 min; nearest rank ceil(0.9 * 3) = 3rd -> 40 min.
    assert ["(215) 555-0100", "4", "0", "3 (75%)", "20 min", "40 min"] in rows
    assert ["(215) 555-0101", "0", "1", "1 (100%)", "1 h 30 min", "1 h 30 min"] in rows
    people = next(block for block in report["blocks"] if block.get("block_id") == "report_people")
    assert "<@U0ALICE>: 3 returned · median 20 min, 90th percentile 40 min" in str(people)
    assert "ext_102: 1 returned" in str(people)


async def test_a_workspace_refusing_tables_gets_the_report_in_sections_and_once(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox, settings: Settings
) -> None:
    now = seed_week(bot, slack, qtvoice)
    slack.refuse_block_type("table")

    assert await run_report(settings, now) == 1
    assert await run_report(settings, now + timedelta(hours=1)) == 0

    report = the_report(slack)
    assert all(block["type"] != "table" for block in report["blocks"])
    assert "returned 3 (75%) · median 20 min, 90th percentile 40 min" in str(report["blocks"])
    assert len(top_level_reports(slack, NOTIFY_CHANNEL, "Weekly report")) == 1


async def test_the_report_is_scheduled_at_report_at_in_the_timezone(settings: Settings) -> None:
    runtime = Runtime.create(
        settings.model_copy(
            update={"report_at": parse_weekly_time("Mon 09:00"), "timezone": "America/New_York"}
        )
    )
    try:
        job = build_scheduler(runtime).get_job("weekly_report")
    finally:
        await runtime.close()
    assert job is not None
    assert str(job.trigger) == "cron[day_of_week='0', hour='9', minute='0']"
