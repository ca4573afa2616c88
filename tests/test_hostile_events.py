"""Any value in any field of any of the twelve events, correctly signed: never a 5xx, and
everything accepted is delivered to the Slack sandbox. Through real HTTP, with `TIMEZONE`
west of UTC (where the empty date of Go and .NET is before year 1)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.qtvoice.events import DEFAULT_ON, KNOWN_EVENTS
from bot.sandbox.samples import EVENT_TYPES, sample_event
from bot.sandbox.slack import SlackRecorder
from bot.store.deliveries import DONE
from bot.store.models import InboxEvent
from tests.conftest import RunningBot, start_bot
from tests.helpers.webhooks import json_values, post_raw

#: Raw JSON no Python value dumps to: numbers beyond any column, times beyond any calendar.
RAW = [
    "9" * 4000,
    "-" + "9" * 4000,
    "1" + "0" * 21,
    "1e21",
    "-1e21",
    "1e308",
    "5e-324",
    '"9999-12-31T23:59:59-01:00"',
    '"0001-01-01T00:00:00Z"',
    '"0001-01-01T00:00:00+14:00"',
    '"' + "9" * 4000 + '"',
    '"2024-02-30T10:00:00Z"',
    '"\\u0000"',
    '"\\ud800"',
]
#: Every key of every event's data the bot reads, in both spellings and its candidates.
EXTRA_KEYS = [
    "callId",
    "call_id",
    "voicemailId",
    "transcript",
    "body",
    "text",
    "updatedAt",
    "created_at",
    "answered_at",
    "ended_at",
    "recording_url",
    "is_read",
    "extension_id",
    "first_name",
    "name",
]
PLACEHOLDER = "__RAW_{}__"


@st.composite
def hostile_bodies(draw: st.DrawFn) -> tuple[str, bytes]:
    """A sample of one of the twelve events with one to four of its fields (or the
    envelope's `timestamp`) replaced by any JSON value or raw JSON no calendar or column holds."""
    event = draw(st.sampled_from(EVENT_TYPES))
    envelope = sample_event(event)
    keys = st.sampled_from([*envelope["data"], *EXTRA_KEYS, "timestamp"])
    raws: list[str] = []
    for key in draw(st.lists(keys, min_size=1, max_size=4, unique=True)):
        if draw(st.booleans()):
            value: Any = draw(json_values)
        else:
            value = PLACEHOLDER.format(len(raws))
            raws.append(draw(st.sampled_from(RAW)))
        (envelope if key == "timestamp" else envelope["data"])[key] = value
    body = json.dumps(envelope)
    for number, raw in enumerate(raws):
        body = body.replace(f'"{PLACEHOLDER.format(number)}"', raw)
    return event, body.encode()


@settings(
    max_examples=150,
    database=None,
    # One bot takes every example, as one takes every webhook.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(examples=st.lists(hostile_bodies(), min_size=1, max_size=4))
def _post_all(bot: RunningBot, accepted: dict[int, tuple[str, bytes]], examples: Any) -> None:
    for event, body in examples:
        response = post_raw(bot, body)

        assert response.status_code < 500, (response.status_code, body[:300])
        if response.status_code >= 400:
            assert response.json()["error"]
        elif response.json()["status"] == "accepted":
            accepted[response.json()["id"]] = (event, body)


def test_any_value_in_any_field_of_any_event_is_never_a_5xx_and_what_is_accepted_is_delivered(
    settings: Settings, slack: SlackRecorder, db: Engine
) -> None:
    bot = start_bot(settings.model_copy(update={"timezone": "America/Los_Angeles"}), slack)
    accepted: dict[int, tuple[str, bytes]] = {}
    try:
        _post_all(bot, accepted)

        def states() -> dict[int, tuple[str, str | None]] | None:
            with Session(db) as session:
                rows = session.execute(
                    select(InboxEvent.id, InboxEvent.state, InboxEvent.last_error)
                )
                stored = {row.id: (row.state, row.last_error) for row in rows}
            return stored if all(stored[row][0] == DONE for row in accepted) else None

        stored = slack.wait_for(states, timeout=180)
    finally:
        bot.stop()
    assert accepted
    for row, (event, body) in accepted.items():
        assert event in KNOWN_EVENTS
        assert stored[row][0] == DONE, (event, stored[row], body[:300])
    # The refs as written (a JSON dump would escape a quote or a non-ASCII id it holds).
    refs = "\n".join(
        str(value)
        for call in slack.calls(ok=True)
        for value in (call.args.get("metadata") or {}).get("event_payload", {}).values()
    )
    for event, body in accepted.values():
        if event in DEFAULT_ON:
            data = json.loads(body)["data"]
            ids = [data.get(key) for key in ("id", "callId", "call_id", "voicemailId")]
            names = [
                str(i).strip() for i in ids if isinstance(i, str | int) and not isinstance(i, bool)
            ]
            assert any(name and name in refs for name in names), body
