"""Socket Mode end to end: with SLACK_APP_TOKEN set, Slack's requests arrive over the websocket.

The bot asks the Slack sandbox's `apps.connections.open` (through SLACK_API_URL) for a URL,
connects, and gets slash commands, button clicks and events as envelopes, which it must ack
within 3 seconds. An observer in front of the bot's ASGI app proves no HTTP request reached
`/slack/events`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.config import Settings
from bot.runtime import Runtime
from bot.sandbox.qtvoice import QTvoiceSandbox
from bot.sandbox.samples import CUSTOMER_NUMBER, MAIN_LINE
from bot.sandbox.server import BackgroundServer
from bot.sandbox.slack import DEFAULT_APP_TOKEN, SlackDriver, SlackRecorder
from bot.web import create_app
from tests.conftest import NOTIFY_CHANNEL, SIGNING_SECRET, RunningBot
from tests.helpers.slack_payloads import CANARY, SLACK_PAYLOADS, mutated


class HttpPaths:
    """ASGI middleware that notes the path of every HTTP request the bot receives."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.paths: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.paths.append(scope["path"])
        await self.app(scope, receive, send)


@pytest.fixture
def http_paths() -> list[str]:
    return []


@pytest.fixture
def bot(settings: Settings, slack: SlackRecorder, http_paths: list[str]) -> Iterator[RunningBot]:
    """The bot with SLACK_APP_TOKEN set, and a driver that speaks to it only over the socket."""
    socket_settings = settings.model_copy(update={"slack_app_token": SecretStr(DEFAULT_APP_TOKEN)})
    observed = HttpPaths(create_app(Runtime.create(socket_settings)))
    observed.paths = http_paths
    server = BackgroundServer(observed).start()
    driver = SlackDriver(server.url, SIGNING_SECRET, slack, socket_mode=True)
    running = RunningBot(server, socket_settings, driver, slack)
    yield running
    running.stop()


@pytest.fixture
def no_http_to_slack_events(http_paths: list[str]) -> Iterator[None]:
    yield
    assert "/slack/events" not in http_paths


def acks_all_on_time(slack: SlackRecorder) -> None:
    socket = slack.socket_mode
    assert socket.envelopes(), "nothing was pushed over the socket"
    assert socket.unacked() == []
    assert all(ack.on_time for ack in socket.acks())
    assert socket.unmatched() == []


def test_the_bot_opens_its_socket_with_the_app_token_through_slack_api_url(
    bot: RunningBot, slack: SlackRecorder
) -> None:
    opened = slack.calls("apps.connections.open")

    assert [call.ok for call in opened] == [True]
    assert opened[0].headers["authorization"] == "Bearer <redacted>"
    assert slack.socket_mode.connections == 1
    assert slack.socket_mode.refused_connections == 0


@pytest.mark.usefixtures("no_http_to_slack_events")
def test_a_slash_command_over_the_socket_is_acked_and_answered_by_response_url(
    bot: RunningBot, slack: SlackRecorder
) -> None:
    delivery = bot.slack.slash_command("/qtvoice", "help")

    assert delivery.ack is not None
    assert delivery.ack.envelope_type == "slash_commands"
    key = str(delivery.response_url_key)
    answer = slack.wait_for(lambda: slack.responses(key))[0]
    assert answer["response_type"] == "ephemeral"
    assert "/qtvoice call" in answer["text"]
    acks_all_on_time(slack)


@pytest.mark.usefixtures("no_http_to_slack_events")
def test_a_button_click_over_the_socket_places_the_call_and_answers_the_clicker(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox
) -> None:
    bot.link()
    assert bot.send("call.missed").status_code == 200
    missed = slack.wait_for(lambda: slack.messages(NOTIFY_CHANNEL))[-1]

    delivery = bot.slack.block_action(
        "call_back",
        button_value(missed, "call_back"),
        channel_id=NOTIFY_CHANNEL,
        message_ts=missed["ts"],
    )

    assert delivery.ack is not None
    assert delivery.ack.envelope_type == "interactive"
    key = str(delivery.response_url_key)
    told = slack.wait_for(lambda: slack.responses(key))[0]
    assert "Calling" in told["text"]
    calls = [request.json for request in qtvoice.state.requests("POST", "/calls")]
    assert calls == [{"to": CUSTOMER_NUMBER, "extension_id": "ext_101"}]
    acks_all_on_time(slack)


@pytest.mark.usefixtures("no_http_to_slack_events")
def test_a_thread_reply_over_the_socket_is_texted_once_even_when_redelivered(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox
) -> None:
    bot.link()
    assert bot.send("sms.received", message="Are you open today?").status_code == 200
    slack.wait_for(lambda: len(slack.messages(NOTIFY_CHANNEL)) >= 2)
    thread_ts = slack.messages(NOTIFY_CHANNEL)[0]["ts"]

    delivery = bot.slack.message_in_thread(NOTIFY_CHANNEL, thread_ts, "Yes, until 6")
    retry = bot.slack.redeliver(delivery, retry_num=1, retry_reason="timeout")

    assert delivery.ack is not None
    assert retry.ack is not None

    def texts() -> list[Any]:
        return [request.json for request in qtvoice.state.requests("POST", "/sms")]

    slack.wait_for(texts)
    reply_ts = delivery.request.payload["event"]["ts"]
    slack.wait_for(lambda: "outbox_tray" in reactions(slack, reply_ts))
    assert texts() == [{"to": CUSTOMER_NUMBER, "message": "Yes, until 6", "from": MAIN_LINE}]
    envelopes = slack.socket_mode.envelopes()
    assert [e["retry_attempt"] for e in envelopes if e["type"] == "events_api"] == [0, 1]
    acks_all_on_time(slack)


def button_value(message: dict[str, Any], action_id: str) -> str:
    for block in message.get("blocks") or []:
        for element in [*(block.get("elements") or []), block.get("accessory") or {}]:
            if element.get("action_id") == action_id:
                return str(element["value"])
    raise LookupError(action_id)


def reactions(slack: SlackRecorder, ts: str) -> list[str]:
    message = next(m for m in slack.messages(NOTIFY_CHANNEL) if m["ts"] == ts)
    return [reaction["name"] for reaction in message["reactions"] or []]


@pytest.mark.usefixtures("no_http_to_slack_events")
def test_after_slack_asks_it_to_reconnect_the_bot_takes_a_new_url_and_keeps_answering(
    bot: RunningBot, slack: SlackRecorder
) -> None:
    socket = slack.socket_mode
    opened = socket.connections_opened

    socket.disconnect("refresh_requested")

    slack.wait_for(lambda: socket.connections_opened == opened + 1 and socket.connections == 1)
    assert len(slack.calls("apps.connections.open", ok=True)) == 2
    delivery = bot.slack.slash_command("/qtvoice", "help")
    assert delivery.ack is not None
    assert slack.wait_for(lambda: slack.responses(str(delivery.response_url_key)))


def test_a_refused_app_token_is_one_line_with_the_fix_and_the_bot_still_serves(
    settings: Settings, slack: SlackRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = settings.model_copy(update={"slack_app_token": SecretStr("xapp-1-A0-1-revoked")})

    server = BackgroundServer(create_app(Runtime.create(wrong))).start()
    try:
        assert httpx.get(f"{server.url}/healthz").status_code == 200
    finally:
        server.stop()

    refused = [r for r in caplog.records if "SLACK_APP_TOKEN" in r.getMessage()]
    assert [r.levelname for r in refused] == ["ERROR"]
    assert "invalid_auth" in refused[0].getMessage()
    assert "connections:write" in refused[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info]
    assert slack.socket_mode.connections == 0


@st.composite
def odd_envelopes(draw: st.DrawFn) -> tuple[str, Any]:
    """A real Slack payload, mutated once or twice, as the envelope type that carries it."""
    wire, payload = draw(st.sampled_from(SLACK_PAYLOADS))
    return wire, draw(mutated(draw(mutated(payload))))


UNMATCHED_VIEW = {"type": "view_submission", "user": {"id": "U0ALICE"}, "view": {"type": "modal"}}


@settings(
    max_examples=60,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(envelope=odd_envelopes())
# Bolt reads an interaction's actions unguarded: a traceback, and the envelope never acked.
@example(envelope=("payload", {"type": "block_actions", "user": "1", "actions": [{}]}))
# No listener matches: Bolt answers 404, which its Socket Mode adapter does not ack.
@example(envelope=("payload", UNMATCHED_VIEW))
def test_an_odd_payload_over_the_socket_is_acked_and_refused_in_one_line(
    bot: RunningBot, slack: SlackRecorder, caplog: pytest.LogCaptureFixture, envelope: Any
) -> None:
    """The door's shape check holds on the socket too: Slack's payloads come over an
    authenticated websocket, but one Bolt cannot read must not be a traceback, nor go unacked
    (Slack would retry an event)."""
    wire, payload = envelope
    caplog.clear()
    envelope_type = "interactive" if wire == "payload" else "events_api"

    ack = slack.socket_mode.push(envelope_type, payload if isinstance(payload, dict) else {})

    assert ack is not None
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not [r for r in caplog.records if CANARY in r.getMessage()]
