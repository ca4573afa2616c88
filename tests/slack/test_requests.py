"""The one reader of Slack (`bot.slack.requests`): every signed payload shape the bot listens
for, with any value in any field, is answered 2xx or 4xx and never runs into a traceback.

Each example is a payload Slack could send to a listener the bot registers (a slash command,
a click on each of its buttons, the SMS modal submitted or closed, a message, the App Home
opened, a URL verification), signed correctly, with its fields replaced by hypothesis: any
JSON where Slack puts text, objects where it puts lists, and so on.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.config import Settings
from bot.sandbox.slack import SlackRecorder, slack_signature
from tests.conftest import SIGNING_SECRET, RunningBot, start_bot

ACTION_IDS = [
    *("call_back", "text_back", "sms_reply", "mark_handled", "contact_call", "contact_text"),
    *("pick_contact", "take_it", "remind_hour", "remind_morning", "replay_delivery"),
    "link_extension",
]
COMMANDS = ["/qtvoice", "/call", "/sms", "/contact"]

any_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
#: Text that is not a URL anything could be fetched from (a response_url is also tried).
texts = st.text(max_size=40).filter(lambda text: "://" not in text)


@pytest.fixture
def bot(settings: Settings, slack: SlackRecorder) -> Iterator[RunningBot]:
    running = start_bot(settings, slack, run_worker=False)
    yield running
    running.stop()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


def field(draw: st.DrawFn, plausible: Any) -> Any:
    """`plausible` (what Slack sends), absent (None), or anything at all."""
    return draw(
        st.sampled_from(["plausible", "absent", "text", "json"]).flatmap(
            lambda kind: {
                "plausible": st.just(plausible),
                "absent": st.just(None),
                "text": texts,
                "json": any_json,
            }[kind]
        )
    )


def without_absent(payload: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in payload.items() if value is not None}


@st.composite
def slash_commands(draw: st.DrawFn, recorder: SlackRecorder) -> tuple[str, bytes]:
    form = without_absent(
        {
            "command": draw(st.sampled_from(COMMANDS)),
            "text": field(draw, "help"),
            "user_id": field(draw, "U0ALICE"),
            "channel_id": field(draw, "C0GENERAL"),
            "team_id": field(draw, "T0TEAM"),
            "response_url": recorder.response_url("prop"),
            "trigger_id": field(draw, "1.2.3"),
        }
    )
    text_only = {
        key: value if isinstance(value, str) else json.dumps(value) for key, value in form.items()
    }
    return "slash", urlencode(text_only).encode()


@st.composite
def clicks(draw: st.DrawFn, recorder: SlackRecorder) -> tuple[str, bytes]:
    action = without_absent(
        {
            "action_id": draw(st.sampled_from(ACTION_IDS)),
            "block_id": field(draw, "b"),
            "type": "button",
            "value": field(draw, '{"n":"+12155551234","v":1,"s":"x"}'),
        }
    )
    payload = without_absent(
        {
            "type": "block_actions",
            "user": {"id": "U0ALICE", "name": field(draw, "alice")},
            "trigger_id": field(draw, "1.2.3"),
            "channel": field(draw, {"id": "C0NOTIFY"}),
            "container": field(draw, {"channel_id": "C0NOTIFY", "message_ts": "1.2"}),
            "message": field(draw, {"ts": "1.2", "thread_ts": "1.1", "blocks": []}),
            "response_url": draw(st.sampled_from([recorder.response_url("prop"), None])),
            "actions": [action],
        }
    )
    return "click", urlencode({"payload": json.dumps(payload)}).encode()


@st.composite
def views(draw: st.DrawFn) -> tuple[str, bytes]:
    state = field(draw, {"values": {"sms_message": {"message": {"value": field(draw, "Hi")}}}})
    view = without_absent(
        {
            "id": "V1",
            "type": "modal",
            "callback_id": "sms_send",
            "private_metadata": field(draw, '{"n":"+12155551234"}'),
            "state": state,
        }
    )
    kind = draw(st.sampled_from(["view_submission", "view_closed"]))
    payload = {"type": kind, "user": {"id": "U0ALICE"}, "view": view}
    return kind, urlencode({"payload": json.dumps(payload)}).encode()


@st.composite
def events(draw: st.DrawFn) -> tuple[str, bytes]:
    if draw(st.booleans()):
        event = without_absent(
            {
                "type": "message",
                "channel": "C0NOTIFY",
                "user": field(draw, "U0ALICE"),
                "text": field(draw, "hello"),
                "ts": field(draw, "1.3"),
                "thread_ts": field(draw, "1.2"),
                "subtype": field(draw, "thread_broadcast"),
                "files": field(draw, [{"id": "F1"}]),
            }
        )
    else:
        event = without_absent(
            {"type": "app_home_opened", "user": "U0ALICE", "tab": field(draw, "home")}
        )
    payload = without_absent(
        {
            "type": "event_callback",
            "event_id": field(draw, "Ev1"),
            "team_id": "T0TEAM",
            "event": event,
        }
    )
    return event["type"], json.dumps(payload).encode()


@st.composite
def url_verifications(draw: st.DrawFn) -> tuple[str, bytes]:
    payload = without_absent(
        {"type": "url_verification", "challenge": field(draw, "abc"), "token": "t"}
    )
    return "url_verification", json.dumps(payload).encode()


def signed(body: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": slack_signature(SIGNING_SECRET, stamp, body),
    }


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]


@settings(
    max_examples=200,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
# Issue 20 item 10: a signed view_submission whose state, metadata or field is not the bot's.
@example(data=None)
def test_every_signed_payload_shape_with_any_field_values_is_2xx_or_4xx(
    bot: RunningBot,
    http: httpx.Client,
    slack: SlackRecorder,
    caplog: pytest.LogCaptureFixture,
    data: st.DataObject | None,
) -> None:
    if data is None:
        view = {"type": "modal", "callback_id": "sms_send", "private_metadata": [1], "state": []}
        payload = {"type": "view_submission", "user": {"id": "U0ALICE"}, "view": view}
        kind, body = "view_submission", urlencode({"payload": json.dumps(payload)}).encode()
    else:
        kind, body = data.draw(
            st.one_of(slash_commands(slack), clicks(slack), views(), events(), url_verifications()),
            label="payload",
        )

    response = http.post(f"{bot.url}/slack/events", content=body, headers=signed(body))

    assert 200 <= response.status_code < 500, (kind, response.status_code)
    assert tracebacks(caplog) == []


def test_a_view_submission_that_does_not_fit_gets_a_valid_ack_and_a_word(
    bot: RunningBot, http: httpx.Client, slack: SlackRecorder
) -> None:
    """Issue 20 item 10: the modal closes (an empty 200) and its submitter is told, by DM."""
    view = {"type": "modal", "callback_id": "sms_send", "state": {"values": {"b": {"a": 5}}}}
    payload = {"type": "view_submission", "user": {"id": "U0ALICE"}, "view": view}
    body = urlencode({"payload": json.dumps(payload)}).encode()

    response = http.post(f"{bot.url}/slack/events", content=body, headers=signed(body))

    assert response.status_code == 200
    assert response.content in (b"", b"{}")
    told = slack.wait_for(lambda: slack.messages(slack.im_channel("U0ALICE")))
    assert "couldn't read that form" in told[-1]["text"]


def test_a_slash_command_that_does_not_fit_is_answered_with_one_sentence(
    bot: RunningBot, http: httpx.Client
) -> None:
    body = urlencode({"command": "/qtvoice", "text": "help", "channel_id": "C0GENERAL"}).encode()

    response = http.post(f"{bot.url}/slack/events", content=body, headers=signed(body))

    assert response.status_code == 200
    assert "couldn't read" in response.json()["text"]
