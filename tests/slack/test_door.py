"""`POST /slack/events` against hostile input: size and signature before any parse, no body logged.

The bot runs for real over HTTP with every logger at DEBUG (the worst case for what reaches the
log); hypothesis throws random, mutated and correctly signed odd requests at it.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from slack_sdk.signature import SignatureVerifier

from bot.config import Settings
from bot.sandbox.slack import SlackRecorder, slack_signature
from bot.slack.door import MAX_BODY_BYTES
from bot.tls import client_context
from tests.conftest import SIGNING_SECRET, RunningBot, start_bot
from tests.helpers.slack_payloads import CANARY, SLACK_PAYLOADS, json_values, mutated

EXAMPLES = settings(
    max_examples=150,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def door(
    caplog: pytest.LogCaptureFixture, settings: Settings, slack: SlackRecorder
) -> Iterator[RunningBot]:
    """The bot with DEBUG logging switched on before Bolt creates its loggers."""
    caplog.set_level(logging.DEBUG)
    for chatter in ("httpcore", "httpx"):  # the test's own client, not the bot
        caplog.set_level(logging.WARNING, logger=chatter)
    running = start_bot(settings, slack, run_worker=False)
    yield running
    running.stop()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10, verify=client_context()) as client:
        yield client


def post(
    http: httpx.Client, bot: RunningBot, body: bytes, headers: Mapping[str, str]
) -> httpx.Response:
    """POST to the bot's /slack/events; header values go as their UTF-8 bytes, cleaned of what
    HTTP cannot carry (controls, outer spaces)."""
    raw = {name.encode(): sendable(value) for name, value in headers.items()}
    return http.post(f"{bot.url}/slack/events", content=body, headers=raw)


def signed(body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": slack_signature(SIGNING_SECRET, stamp, body),
    }


def sendable(value: str) -> bytes:
    """A header value HTTP can carry: its UTF-8 bytes without controls or outer spaces."""
    return bytes(b for b in value.encode() if b == 0x20 or (b > 0x20 and b != 0x7F)).strip()


def help_command(recorder: SlackRecorder) -> bytes:
    """`/qtvoice help` as Slack sends it: a listener that answers through its response_url."""
    form = {
        "command": "/qtvoice",
        "text": f"help {CANARY}",
        "user_id": "U0ALICE",
        "channel_id": "C0GENERAL",
        "team_id": "T0TEAM",
        "response_url": recorder.response_url("door"),
        "trigger_id": recorder.new_trigger_id("U0ALICE"),
    }
    return urlencode(form).encode()


def assert_nothing_logged_of_the_body(caplog: pytest.LogCaptureFixture) -> None:
    leaked = [r.getMessage() for r in caplog.records if CANARY in r.getMessage()]
    assert not leaked, leaked[:3]


# --- strategies ------------------------------------------------------------------------------


slack_keys = st.sampled_from(
    [
        *("type", "subtype", "event", "authorizations", "user", "team", "channel", "actions"),
        *("view", "command", "callback_id", "text", "thread_ts", "bot_id", "message", "tab"),
        *("action_id", "channel_type", "enterprise", "container", "response_url", "trigger_id"),
        "state",
    ]
)
slack_values = st.sampled_from(["event_callback", "block_actions", "view_submission", "message"])
slack_nested = st.recursive(
    json_values | slack_values,
    lambda inner: st.dictionaries(slack_keys, inner, max_size=5) | st.lists(inner, max_size=2),
    max_leaves=12,
)
slack_shaped = st.dictionaries(slack_keys, slack_nested, max_size=5)
"""JSON objects with Slack's keys, nested, holding Slack's type names or values of any type."""


@st.composite
def mutated_slack_bodies(draw: st.DrawFn) -> bytes:
    """A real Slack payload, mutated once or twice, on its own wire."""
    wire, payload = draw(st.sampled_from(SLACK_PAYLOADS))
    payload = draw(mutated(draw(mutated(payload))))
    if wire == "payload":
        return urlencode({"payload": json.dumps(payload), "canary": CANARY}).encode()
    return json.dumps([payload, CANARY] if not isinstance(payload, dict) else payload).encode()


@st.composite
def odd_bodies(draw: st.DrawFn) -> bytes:
    """A body with the canary in it: raw bytes, bad or odd JSON, forms with odd payloads,
    mutated Slack payloads."""
    kind = draw(
        st.sampled_from(["bytes", "json", "slack_json", "form", "payload", "deep", "mutated"])
    )
    if kind == "mutated":
        return draw(mutated_slack_bodies())
    noise = draw(st.binary(max_size=40))
    if kind == "bytes":
        return noise + CANARY.encode() + draw(st.binary(max_size=40))
    if kind == "json":
        return json.dumps([CANARY, draw(json_values)]).encode()
    if kind == "slack_json":
        return json.dumps({**draw(slack_shaped), "canary": CANARY}).encode()
    if kind == "form":
        fields = draw(st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=4))
        return urlencode({**fields, "text": CANARY}).encode()
    if kind == "payload":
        payload = draw(st.sampled_from(["notjson", "{not json", "[1]", '"x"', "1e999"]))
        return urlencode({"payload": payload + CANARY}).encode()
    depth = draw(st.integers(min_value=900, max_value=5000))
    return ("[" * depth + json.dumps(CANARY) + "]" * depth).encode()


bad_timestamps = st.one_of(
    st.sampled_from(
        [
            "",
            "abc",
            "-1",
            "1e9",
            " 1700000000",
            "\uff11\uff12\uff13",
            "\u0661\u0667\u0660\u0660",
            "0x10",
        ]
    ),
    st.text(max_size=30),
    st.integers().map(str),
    st.text("0123456789", min_size=13, max_size=6000),
)


@st.composite
def unsigned_headers(draw: st.DrawFn, body: bytes) -> dict[str, str]:
    """Every way a request is not signed by Slack now: missing, malformed, stale or wrong."""
    now = int(time.time())
    kind = draw(st.sampled_from(["none", "bad_timestamp", "stale", "wrong_secret", "garbage"]))
    if kind == "none":
        return {}
    if kind == "bad_timestamp":
        stamp = draw(bad_timestamps)
        signature = slack_signature(SIGNING_SECRET, stamp, body)
        return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}
    if kind == "stale":
        offset = draw(st.sampled_from([-1, 1])) * draw(st.integers(301, 10**9))
        return signed(body, timestamp=now + offset)
    if kind == "wrong_secret":
        secret = draw(st.text(min_size=1, max_size=40).filter(lambda s: s != SIGNING_SECRET))
        return {
            "X-Slack-Request-Timestamp": str(now),
            "X-Slack-Signature": slack_signature(secret, now, body),
        }
    return {
        "X-Slack-Request-Timestamp": draw(st.sampled_from([str(now), draw(bad_timestamps)])),
        "X-Slack-Signature": draw(st.text(max_size=80)),
    }


# --- properties ------------------------------------------------------------------------------


@EXAMPLES
@given(data=st.data())
def test_an_unsigned_request_is_a_401_and_reaches_no_listener(
    door: RunningBot,
    http: httpx.Client,
    slack: SlackRecorder,
    caplog: pytest.LogCaptureFixture,
    data: st.DataObject,
) -> None:
    caplog.clear()
    body = data.draw(st.one_of(odd_bodies(), st.just(help_command(slack))), label="body")
    headers = data.draw(unsigned_headers(body), label="headers")

    response = post(http, door, body, headers)

    assert response.status_code == 401
    # auth.test is start-up's own (naming the workspace and bot user), not the request's.
    assert [call for call in slack.calls() if call.method != "auth.test"] == []
    assert slack.responses("door") == []
    assert_nothing_logged_of_the_body(caplog)


def interaction(payload: dict[str, Any]) -> bytes:
    """An interaction payload as Slack sends it: a `payload` form field, with the canary."""
    return urlencode({"payload": json.dumps({**payload, "canary": CANARY})}).encode()


SMS_SEND_VIEW = {
    "id": "V1",
    "type": "modal",
    "callback_id": "sms_send",
    "private_metadata": '{"to":"+12155551234"}',
    "state": {"values": {"sms_message": {"message": {"type": "plain_text_input", "value": "hi"}}}},
}
BUTTON_WITHOUT_ACTION_ID = {"block_id": "b", "type": "button", "value": "v"}


@EXAMPLES
@given(body=odd_bodies())
# Found by bench/fuzz.py: the user of an interaction not an object, or its id not a string.
@example(body=interaction({"type": "view_submission", "user": "1", "view": SMS_SEND_VIEW}))
@example(body=interaction({"type": "view_submission", "user": [{"id": []}], "view": SMS_SEND_VIEW}))
@example(body=interaction({"type": "view_submission", "user": {"id": []}, "view": SMS_SEND_VIEW}))
# Found by bench/fuzz.py: a block action without its action_id.
@example(
    body=interaction(
        {
            "type": "block_actions",
            "user": {"id": "U0ALICE"},
            "container": {"type": "message", "message_ts": "1.2", "channel_id": "C0NOTIFY"},
            "actions": [BUTTON_WITHOUT_ACTION_ID],
        }
    )
)
# Found by hypothesis in CI: Bolt reads `body.get("event", {})`, so a null event was a 500.
@example(body=b'{"event": null, "canary": "CANARY-7f3a9c"}')
@example(body=b'{"type": "view_submission", "view": null, "canary": "CANARY-7f3a9c"}')
def test_a_signed_odd_body_is_never_a_5xx(
    door: RunningBot, http: httpx.Client, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    caplog.clear()
    response = post(http, door, body, signed(body))

    assert response.status_code < 500
    assert_nothing_logged_of_the_body(caplog)


@settings(max_examples=20, suppress_health_check=list(HealthCheck))
@given(size=st.integers(min_value=MAX_BODY_BYTES + 1, max_value=4 * MAX_BODY_BYTES))
def test_a_body_over_1_mib_is_a_413_signed_or_not(
    door: RunningBot, http: httpx.Client, caplog: pytest.LogCaptureFixture, size: int
) -> None:
    body = (CANARY * (size // len(CANARY) + 1)).encode()[:size]

    assert post(http, door, body, signed(body)).status_code == 413
    assert post(http, door, body, {}).status_code in {401, 413}
    assert_nothing_logged_of_the_body(caplog)


# --- the examples from the issue, and the control -------------------------------------------


def test_the_same_command_correctly_signed_does_reach_its_listener(
    door: RunningBot, http: httpx.Client, slack: SlackRecorder
) -> None:
    """The control for the property above: its "reaches no listener" check can fail."""
    body = help_command(slack)

    assert post(http, door, body, signed(body)).status_code == 200
    assert slack.wait_for(lambda: slack.responses("door"))


CLICK = b'payload={"type": "block_actions", "user": {"id": "U1"}, "actions": [{"action_id": "a"}]'
"""A block action Slack could send, open for one more field."""


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"payload=notjson", {"X-Slack-Signature": "v0=" + "0" * 64}, 401),
        (b"{}", {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=" + "0" * 64}, 401),
        (b"{not json", {}, 401),
        (b"{not json", None, 400),
        (b"payload=notjson", None, 400),
        (b'{"type": "event_callback", "event": [1, 2]}', None, 400),
        (b'{"type": "block_actions", "actions": [null]}', None, 400),
        (b'payload={"type": "block_actions", "actions": []}', None, 400),
        (b'payload={"type": "view_submission", "view": {"callback_id": "x"}}', None, 400),
        (
            b'payload={"type": "view_submission", "user": "U1", "view": {"type": "modal"}}',
            None,
            400,
        ),
        (b'payload={"type": "block_actions", "user": {"id": "U1"}, "actions": [{}]}', None, 400),
        # Found by bench/fuzz.py: ids Bolt hands its clients (auth.test's team_id) not text.
        (b'{"type": "event_callback", "authorizations": [{"team_id": -Infinity}]}', None, 400),
        (b'{"type": "event_callback", "authorizations": [{"team_id": ["T1"]}]}', None, 400),
        (b'payload={"type": "shortcut", "user": {"id": "U1"}, "team": {"id": 5}}', None, 400),
        (b'{"type": "event_callback", "enterprise": {"id": 1}}', None, 400),
        (b'{"type": "event_callback", "event": null}', None, 400),
        # Found by bench/fuzz.py: acked with 200, then a traceback in the listener.
        (CLICK + b', "channel": "C1"}', None, 400),
        (b'payload={"type": "shortcut", "user": {"id": "U1"}, "response_url": 5}', None, 400),
        (CLICK + b', "message": {"ts": {}}}', None, 400),
        (
            b'{"type": "event_callback", "event": {"type": "app_home_opened", "tab": "home"}}',
            None,
            400,
        ),
        (
            b'{"type": "event_callback", "event": {"type": "message", "thread_ts": "1.1"}}',
            None,
            400,
        ),
        (
            b'{"type": "event_callback", "event":'
            b' {"type": "message", "channel": "C1", "ts": "1.2", "thread_ts": "\\udb8a"}}',
            None,
            400,
        ),
        (b'{"authorizations": 5}', None, 400),
        (b"\xff\xfe not utf-8", None, 401),
    ],
)
def test_regressions_from_the_issue(
    door: RunningBot,
    http: httpx.Client,
    body: bytes,
    headers: dict[str, str] | None,
    status: int,
) -> None:
    """`headers=None` means correctly signed; 400 is a signed body Bolt cannot read."""
    assert (
        post(http, door, body, signed(body) if headers is None else headers).status_code == status
    )


def test_an_unhandled_signed_payload_is_logged_without_its_fields(
    door: RunningBot, http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    """Bolt's "Unhandled request" warning quoted the payload (here a typed option search)."""
    payload = {"type": "block_suggestion", "action_id": "a", "block_id": "b", "value": CANARY}
    body = urlencode({"payload": json.dumps(payload)}).encode()

    assert post(http, door, body, signed(body)).status_code == 404

    assert "Unhandled Slack request: no listener matches it" in caplog.messages
    assert_nothing_logged_of_the_body(caplog)


def test_starting_with_the_bot_token_in_the_environment_logs_no_bolt_warning(
    settings: Settings,
    slack: SlackRecorder,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every deployment sets SLACK_BOT_TOKEN, which Bolt reads itself and then warns of."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", settings.slack_bot_token.get_secret_value())
    caplog.set_level(logging.WARNING)

    start_bot(settings, slack).stop()

    assert not [record for record in caplog.records if record.name.startswith("slack_bolt")]


def test_door_and_slack_sdk_agree_on_a_valid_signature() -> None:
    body = b"token=x&command=%2Fqtvoice"
    headers = signed(body)
    verifier = SignatureVerifier(SIGNING_SECRET)
    assert verifier.is_valid_request(body, headers)


# --- 413 before the body is read whole ------------------------------------------------------


def _raw_request(bot: RunningBot, head: str, body_parts: list[bytes]) -> bytes:
    """Send a request's head and some body over a raw socket, never finish it, read the answer."""
    address = urlsplit(bot.url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as conn:
        conn.sendall(head.encode())
        for part in body_parts:
            conn.sendall(part)
        return conn.recv(4096)


def test_a_declared_2_mib_body_is_a_413_before_any_of_it_arrives(door: RunningBot) -> None:
    head = (
        "POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
        f"Content-Length: {2 * MAX_BODY_BYTES}\r\n\r\n"
    )
    answer = _raw_request(door, head, [])
    assert answer.startswith(b"HTTP/1.1 413")


def test_a_streamed_body_is_a_413_once_it_passes_1_mib_without_waiting_for_the_rest(
    door: RunningBot,
) -> None:
    """Chunked, no Content-Length, signed headers (a stale signature cannot stop it early), and
    the final chunk never sent: only counting while reading can answer."""
    stamp = str(int(time.time()))
    head = (
        "POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
        f"X-Slack-Request-Timestamp: {stamp}\r\nX-Slack-Signature: v0={'0' * 64}\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"x" * 65536
    parts = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * (MAX_BODY_BYTES // len(chunk) + 1)
    answer = _raw_request(door, head, parts)
    assert answer.startswith(b"HTTP/1.1 413")
