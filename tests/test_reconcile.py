"""The safety-net poller: what QTvoice has and no webhook brought reaches Slack, once."""

from __future__ import annotations

from datetime import datetime, timedelta

import anyio
import pytest

from bot.config import Settings
from bot.reconcile import reconcile
from bot.runtime import Runtime
from bot.sandbox.qtvoice import QTvoiceSandbox
from bot.sandbox.samples import CUSTOMER_NUMBER, MAIN_LINE
from bot.sandbox.slack import SlackRecorder
from bot.store import job_runs
from bot.store.models import utcnow
from tests.conftest import NOTIFY_CHANNEL, RunningBot

pytestmark = pytest.mark.anyio


def posts(slack: SlackRecorder) -> list[str]:
    return [call.args["channel"] for call in slack.calls("chat.postMessage", ok=True)]


async def poll_once(settings: Settings) -> int:
    runtime = Runtime.create(settings)
    try:
        return await reconcile(runtime.qtvoice, runtime.sessions, interval_seconds=300)
    finally:
        await runtime.close()


async def test_missed_call_no_webhook_brought_is_posted_once(
    bot: RunningBot, settings: Settings, qtvoice: QTvoiceSandbox, slack: SlackRecorder
) -> None:
    qtvoice.state.add_call(CUSTOMER_NUMBER, MAIN_LINE, status="missed")

    first, second = await poll_once(settings), await poll_once(settings)

    assert (first, second) == (1, 0)
    slack.wait_for(lambda: posts(slack) == [NOTIFY_CHANNEL])
    await anyio.sleep(0.5)
    assert posts(slack) == [NOTIFY_CHANNEL]


async def test_an_unanswered_outgoing_call_is_no_missed_call(
    bot: RunningBot, settings: Settings, qtvoice: QTvoiceSandbox, slack: SlackRecorder
) -> None:
    # QTvoice marks a call of ours the customer did not pick up `missed` too.
    qtvoice.state.reset(seed=False)
    qtvoice.state.add_call(MAIN_LINE, CUSTOMER_NUMBER, direction="outbound", status="missed")

    assert await poll_once(settings) == 0
    assert posts(slack) == []


async def test_events_webhooks_already_brought_are_not_stored_again(
    bot: RunningBot, settings: Settings, qtvoice: QTvoiceSandbox, slack: SlackRecorder
) -> None:
    call = qtvoice.state.add_call(CUSTOMER_NUMBER, MAIN_LINE, status="missed")
    text = qtvoice.state.add_sms(CUSTOMER_NUMBER, MAIN_LINE, "Still open?")
    bot.send("call.missed", id=call["id"], from_=CUSTOMER_NUMBER, to=MAIN_LINE)
    bot.send(
        "sms.received", id=text["id"], from_=CUSTOMER_NUMBER, to=MAIN_LINE, message="Still open?"
    )

    assert await poll_once(settings) == 0


async def test_history_older_than_the_window_is_left_alone(
    bot: RunningBot, settings: Settings, qtvoice: QTvoiceSandbox
) -> None:
    assert qtvoice.state.calls()  # the sandbox's seeded history is days old
    assert await poll_once(settings) == 0


async def test_polling_never_spends_the_budget_kept_for_people(
    bot: RunningBot, settings: Settings, qtvoice: QTvoiceSandbox
) -> None:
    qtvoice.state.add_call(CUSTOMER_NUMBER, MAIN_LINE, status="missed")
    qtvoice.state.set_rate_limit(limit=1000, remaining=50, reset_in=3000)
    runtime = Runtime.create(settings)
    try:
        await runtime.qtvoice.list_extensions()  # learns the budget: 49 left, inside the reserve
        qtvoice.state.clear_requests()
        stored = await reconcile(runtime.qtvoice, runtime.sessions, interval_seconds=300)
    finally:
        await runtime.close()

    assert stored == 0
    assert qtvoice.state.requests() == []


async def last_run_finished(settings: Settings, started_at: datetime) -> None:
    """Set the cursor as a run that finished at `started_at` would have left it."""
    runtime = Runtime.create(settings)
    try:
        async with runtime.sessions() as session:
            await job_runs.finished(session, "reconcile", started_at)
    finally:
        await runtime.close()


async def test_after_a_long_gap_each_missed_item_is_posted_once(
    bot: RunningBot, settings: Settings, qtvoice: QTvoiceSandbox, slack: SlackRecorder
) -> None:
    qtvoice.state.reset(seed=False)  # the seeded office has calls hours old too
    now = utcnow()
    for hours_ago in (4.5, 3, 1, 0.1):
        qtvoice.state.add_call(
            f"+1267555{int(hours_ago * 10):04d}",
            MAIN_LINE,
            status="missed",
            created_at=now - timedelta(hours=hours_ago),
        )
    qtvoice.state.add_voicemail(CUSTOMER_NUMBER, MAIN_LINE, created_at=now - timedelta(hours=2))
    qtvoice.state.add_sms(
        CUSTOMER_NUMBER, MAIN_LINE, "Still there?", created_at=now - timedelta(hours=4)
    )
    await last_run_finished(settings, now - timedelta(hours=5))

    first, second = await poll_once(settings), await poll_once(settings)

    assert (first, second) == (6, 0)
    slack.wait_for(lambda: len(slack.messages(NOTIFY_CHANNEL)) == 7)  # the text is 2: thread


async def test_however_long_the_gap_it_looks_back_one_day_at_most(
    bot: RunningBot, settings: Settings, qtvoice: QTvoiceSandbox
) -> None:
    qtvoice.state.reset(seed=False)
    now = utcnow()
    qtvoice.state.add_call(
        "+12675550001", MAIN_LINE, status="missed", created_at=now - timedelta(hours=30)
    )
    qtvoice.state.add_call(
        "+12675550002", MAIN_LINE, status="missed", created_at=now - timedelta(hours=20)
    )
    await last_run_finished(settings, now - timedelta(days=3))

    assert await poll_once(settings) == 1


async def test_a_run_stopped_by_the_budget_leaves_the_cursor_where_it_was(
    bot: RunningBot, settings: Settings, qtvoice: QTvoiceSandbox
) -> None:
    qtvoice.state.reset(seed=False)
    now = utcnow()
    qtvoice.state.add_call(
        CUSTOMER_NUMBER, MAIN_LINE, status="missed", created_at=now - timedelta(hours=3)
    )
    await last_run_finished(settings, now - timedelta(hours=4))
    qtvoice.state.set_rate_limit(limit=1000, remaining=50, reset_in=3000)
    runtime = Runtime.create(settings)
    try:
        await runtime.qtvoice.list_extensions()  # learns the budget: inside the reserve
        assert await reconcile(runtime.qtvoice, runtime.sessions, interval_seconds=300) == 0
    finally:
        await runtime.close()
    qtvoice.state.set_rate_limit(limit=1000, remaining=1000, reset_in=3000)

    assert await poll_once(settings) == 1


async def test_polled_voicemail_has_the_webhooks_dedupe_key(
    bot: RunningBot, settings: Settings, qtvoice: QTvoiceSandbox, slack: SlackRecorder
) -> None:
    voicemail = qtvoice.state.add_voicemail(CUSTOMER_NUMBER, MAIN_LINE, transcription="Hi")
    bot.send(
        "voicemail.transcribed",
        id=voicemail["id"],
        callId=voicemail["callId"],
        transcription="Hi",
    )

    assert await poll_once(settings) == 0


async def test_polled_voicemail_updates_the_message_its_call_event_opened(
    bot: RunningBot, settings: Settings, qtvoice: QTvoiceSandbox, slack: SlackRecorder
) -> None:
    voicemail = qtvoice.state.add_voicemail(
        CUSTOMER_NUMBER, MAIN_LINE, transcription="Please call back"
    )
    bot.send("call.voicemail", id=voicemail["callId"], voicemailId=voicemail["id"])
    slack.wait_for(lambda: posts(slack) == [NOTIFY_CHANNEL])

    assert await poll_once(settings) == 1

    slack.wait_for(lambda: slack.calls("chat.update", ok=True))
    await anyio.sleep(0.5)
    assert posts(slack) == [NOTIFY_CHANNEL]
    [message] = slack.messages(NOTIFY_CHANNEL)
    assert "Please call back" in message["text"]
