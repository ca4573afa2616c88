"""Times no calendar holds, and events that cannot be delivered, through real HTTP.

Every time field of every event type (and of an unknown one) holding a time out of any
calendar's range is read as absent: the webhook is answered 2xx, never 5xx, and what it
brings is delivered, never parked. And one event of a conversation that Slack keeps failing
does not hold back the later ones: they are posted while it waits for its retry.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.qtvoice.events import KNOWN_EVENTS
from bot.sandbox.samples import CUSTOMER_NUMBER, EVENT_TYPES, sample_event
from bot.sandbox.slack import SlackRecorder
from bot.store.deliveries import DONE, IGNORED
from bot.store.models import InboxEvent
from tests.conftest import NOTIFY_CHANNEL, RunningBot, start_bot
from tests.helpers.webhooks import post_raw

#: Raw JSON values that name no time any calendar holds (or no instant every zone can show).
UNCALENDARED = {
    "the last second of 9999, west of UTC": '"9999-12-31T23:59:59-01:00"',
    "the first instant of year 1 (Go's and .NET's empty date)": '"0001-01-01T00:00:00Z"',
    "a 4,000-digit number": "9" * 4000,
    "a 4,000-digit numeral": '"' + "9" * 4000 + '"',
    "10^21": "1" + "0" * 21,
    "1e21": "1e21",
    "a negative year": '"-0001-01-01T00:00:00Z"',
}
#: Every key a time arrives in, in every event (a field an event does not have is kept as
#: an unknown field, so it too must never fail).
TIME_FIELDS = ("createdAt", "answeredAt", "endedAt", "updatedAt", "created_at")
#: Where `TIMEZONE` is west of UTC, the empty date shown in local time is before year 1.
WEST = "America/Los_Angeles"


def with_raw_times(event: str, raw: str) -> bytes:
    """A sample `event` (any type) whose every time field, envelope's too, is `raw` JSON."""
    envelope = sample_event("call.missed" if event not in KNOWN_EVENTS else event)
    envelope["event"] = event
    envelope["timestamp"] = "__TIME__"
    envelope["data"].update(dict.fromkeys(TIME_FIELDS, "__TIME__"))
    return json.dumps(envelope).replace('"__TIME__"', raw).encode()


def states(db: Engine) -> dict[int, tuple[str, str, str | None]]:
    with Session(db) as session:
        rows = session.execute(
            select(InboxEvent.id, InboxEvent.event, InboxEvent.state, InboxEvent.last_error)
        )
        return {row.id: (row.event, row.state, row.last_error) for row in rows}


@pytest.fixture
def west_bot(settings: Settings, slack: SlackRecorder) -> Iterator[RunningBot]:
    running = start_bot(settings.model_copy(update={"timezone": WEST}), slack)
    yield running
    running.stop()


def test_a_time_no_calendar_holds_is_absent_in_every_time_field_of_every_event(
    west_bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    accepted: dict[int, str] = {}
    for event in (*EVENT_TYPES, "fax.received"):
        for label, raw in UNCALENDARED.items():
            response = post_raw(west_bot, with_raw_times(event, raw))

            assert response.status_code == 200, (event, label, response.status_code)
            accepted[response.json()["id"]] = f"{event} with {label}"

    def settled() -> dict[int, tuple[str, str, str | None]] | None:
        stored = states(db)
        return stored if all(stored[row][1] in (DONE, IGNORED) for row in accepted) else None

    stored = slack.wait_for(settled, timeout=120)
    for row, what in accepted.items():
        event, state, error = stored[row]
        assert state == (DONE if event in KNOWN_EVENTS else IGNORED), (what, state, error)
    assert slack.calls("chat.postMessage", ok=True)


def test_a_text_slack_keeps_failing_does_not_hold_back_the_next_from_that_number(
    settings: Settings, slack: SlackRecorder, db: Engine
) -> None:
    # Its retry comes 10-20 s later: the next text must not wait for it.
    bot = start_bot(settings.model_copy(update={"delivery_retry_seconds": 20.0}), slack)
    try:
        slack.fail_next("chat.postMessage", error="internal_error")
        first = bot.send("sms.received", from_=CUSTOMER_NUMBER, message="first, failed once")
        slack.wait_for(lambda: slack.calls("chat.postMessage", ok=False))
        bot.send("sms.received", from_=CUSTOMER_NUMBER, message="second, fine")

        def shown(text: str) -> bool:
            return any(text in json.dumps(message) for message in slack.messages(NOTIFY_CHANNEL))

        slack.wait_for(lambda: shown("second, fine"), timeout=6)
        assert not shown("first, failed once")
        slack.wait_for(lambda: shown("first, failed once"), timeout=30)
    finally:
        bot.stop()
    assert first.status_code == 200
    texts = [m for m in slack.messages(NOTIFY_CHANNEL) if "failed once" in json.dumps(m)]
    assert len(texts) == 1
