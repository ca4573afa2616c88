"""POST /qtvoice/webhooks, row by row of the contract's table, through real HTTP."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.qtvoice.events import DEFAULT_ON, KNOWN_EVENTS
from bot.qtvoice.signing import sign
from bot.sandbox.samples import sample_event
from bot.sandbox.slack import SlackRecorder
from bot.store.deliveries import DONE, IGNORED
from tests.conftest import NOTIFY_CHANNEL, WEBHOOK_SECRET, RunningBot, start_bot
from tests.helpers.webhooks import json_values, post_raw


def posts(slack: SlackRecorder) -> list:
    return [call for call in slack.calls("chat.postMessage") if call.ok]


def test_missed_call_is_posted_to_notify_channel(bot: RunningBot, slack: SlackRecorder) -> None:
    response = bot.send("call.missed", id="call_skeleton", **{"from": "+12155551234"})

    assert response.status_code == 200
    assert response.json()["status"] == "accepted"
    slack.wait_for(lambda: len(posts(slack)) == 1)
    message = posts(slack)[0].args
    assert message["channel"] == NOTIFY_CHANNEL
    assert "John Doe" in message["text"]


def test_bad_signature_is_401_and_stores_nothing(bot: RunningBot, slack: SlackRecorder) -> None:
    body = json.dumps(sample_event("call.missed")).encode()

    response = post_raw(bot, body, **{"X-QTvoice-Signature": "0" * 64})

    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHORIZED"
    assert deliveries_count(bot) == 0


def test_missing_signature_is_401(bot: RunningBot) -> None:
    body = json.dumps(sample_event("call.missed")).encode()
    response = httpx.post(
        bot.webhook_url, content=body, headers={"X-QTvoice-Timestamp": str(int(time.time()))}
    )
    assert response.status_code == 401


def test_prefixed_signature_and_rotated_secret_are_accepted(settings, slack) -> None:
    rotated = settings.model_copy(
        update={
            "qtvoice_webhook_secret": type(settings.qtvoice_webhook_secret)(
                f"new_secret,{WEBHOOK_SECRET}"
            )
        }
    )
    running = start_bot(rotated, slack, run_worker=False)
    try:
        body = json.dumps(sample_event("call.missed")).encode()
        response = post_raw(
            running, body, **{"X-QTvoice-Signature": "sha256=" + sign(body, WEBHOOK_SECRET)}
        )
        assert response.status_code == 200
    finally:
        running.stop()


def test_stale_timestamp_is_401(bot: RunningBot) -> None:
    body = json.dumps(sample_event("call.missed")).encode()
    stale = str(int(time.time()) - 301)

    response = post_raw(bot, body, **{"X-QTvoice-Timestamp": stale})

    assert response.status_code == 401
    assert deliveries_count(bot) == 0


def test_body_over_256_kib_is_413(bot: RunningBot) -> None:
    envelope = sample_event("sms.received", message="x" * (256 * 1024))
    response = post_raw(bot, json.dumps(envelope).encode())
    assert response.status_code == 413


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"event": "call.missed"}',
        b'{"data": {"id": "x"}}',
        b'{"event": 3, "data": {}}',
    ],
    ids=["not-json", "not-object", "no-data", "no-event", "event-not-string"],
)
def test_malformed_body_is_400(bot: RunningBot, body: bytes) -> None:
    response = post_raw(bot, body)
    assert response.status_code == 400
    assert response.json()["code"] == "BAD_REQUEST"


@pytest.mark.parametrize("data", [{}, {"id": ""}, {"id": None}, {"id": ["call_1"]}])
def test_known_event_without_a_usable_id_is_400_with_the_reason(
    bot: RunningBot, data: dict[str, object]
) -> None:
    response = bot.send_envelope({"event": "call.missed", "data": data})

    assert response.status_code == 400
    assert response.json()["code"] == "BAD_REQUEST"
    assert "data.id" in response.json()["error"]
    assert deliveries_count(bot) == 0


def test_deeply_nested_json_is_400_not_500(bot: RunningBot) -> None:
    body = b'{"event": "call.missed", "data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert post_raw(bot, body).status_code == 400


def test_unknown_event_is_recorded_and_not_posted(bot: RunningBot, slack: SlackRecorder) -> None:
    response = bot.send_envelope(
        {"event": "fax.received", "timestamp": None, "data": {"id": "fax_1"}}
    )

    assert response.status_code == 200
    assert deliveries_count(bot) == 1
    time.sleep(0.5)
    assert posts(slack) == []


def test_same_delivery_id_again_posts_once(bot: RunningBot, slack: SlackRecorder) -> None:
    envelope = sample_event("call.missed")
    first = bot.send_envelope(envelope, delivery_id="dlv_same")
    second = bot.send_envelope(envelope, delivery_id="dlv_same")

    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["status"] == "duplicate"
    slack.wait_for(lambda: len(posts(slack)) == 1)
    time.sleep(0.5)
    assert len(posts(slack)) == 1


def test_same_body_under_new_headers_posts_once(bot: RunningBot, slack: SlackRecorder) -> None:
    body = json.dumps(sample_event("call.missed")).encode()
    first = post_raw(bot, body, **{"X-QTvoice-Delivery-ID": "dlv_a"})
    replayed = post_raw(bot, body, **{"X-QTvoice-Delivery-ID": "dlv_forged"})

    assert (first.status_code, replayed.status_code) == (200, 200)
    assert replayed.json()["status"] == "duplicate"
    slack.wait_for(lambda: len(posts(slack)) == 1)


def test_same_event_for_same_object_under_new_delivery_posts_once(
    bot: RunningBot, slack: SlackRecorder
) -> None:
    bot.send("call.missed", id="call_again", duration=0)
    again = bot.send("call.missed", id="call_again", duration=1)

    assert again.json()["status"] == "duplicate"
    slack.wait_for(lambda: len(posts(slack)) == 1)
    time.sleep(0.5)
    assert len(posts(slack)) == 1


def test_healthz_reports_ok(bot: RunningBot) -> None:
    response = httpx.get(f"{bot.url}/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def deliveries_count(bot: RunningBot) -> int:
    from sqlalchemy import create_engine, func, select

    from bot.store.db import sync_url
    from bot.store.models import InboxEvent

    engine = create_engine(sync_url(bot.settings.database_url))
    with engine.connect() as connection:
        count = connection.scalar(select(func.count()).select_from(InboxEvent))
    engine.dispose()
    return int(count or 0)


def test_healthz_is_503_while_the_database_is_unreachable(settings, slack: SlackRecorder) -> None:
    unreachable = settings.model_copy(
        update={"database_url": "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"}
    )
    running = start_bot(unreachable, slack, run_worker=False)
    try:
        response = httpx.get(f"{running.url}/healthz")
    finally:
        running.stop()
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


# Hostile bodies, correctly signed: a 2xx or a 4xx with a reason, never a 5xx

#: Values no column or JSON field of ours holds as they are, spliced into otherwise valid JSON.
RAW_VALUES = [
    "NaN",
    "Infinity",
    "-Infinity",
    "1e400",
    "-1e400",
    "1" + "0" * 400,
    '"\\u0000"',
    '"call\\u0000_1"',
    '"\\ud800"',
    '"a\\udfffb"',
    '"' + "c" * 200 + '"',
    "[" * 940 + "]" * 940,
    '{"a":' * 940 + "1" + "}" * 940,
    '{"a":' * 40 + "1" + "}" * 40,
    "true",
    "[]",
    "{}",
    '"+12155551234"',
    '"ACMEBANK"',
]
ODD_EVENTS = [*sorted(KNOWN_EVENTS), "fax.received", "x" * 70, "call.missed\u0000", " "]
FIELDS = ["id", "from", "to", "message", "duration", "createdAt", "callId", "voicemailId"]


@st.composite
def odd_bodies(draw: st.DrawFn) -> bytes:
    """A webhook body: a known or odd event, odd data, and maybe a raw value spliced in."""
    data = draw(st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=6), json_values))
    if draw(st.integers(0, 3)):
        data["id"] = draw(st.text(min_size=1, max_size=20) | st.integers())
    spliced = draw(st.none() | st.tuples(st.sampled_from(FIELDS), st.sampled_from(RAW_VALUES)))
    if spliced is not None:
        data[spliced[0]] = "__RAW__"
    envelope = {"event": draw(st.sampled_from(ODD_EVENTS)), "data": data}
    text = json.dumps(envelope)
    if spliced is not None:
        text = text.replace('"__RAW__"', spliced[1], 1)
    return text.encode()


def stored_events(bot: RunningBot) -> dict[int, tuple[str, str]]:
    from sqlalchemy import create_engine, select

    from bot.store.db import sync_url
    from bot.store.models import InboxEvent

    engine = create_engine(sync_url(bot.settings.database_url))
    with engine.connect() as connection:
        rows = connection.execute(select(InboxEvent.id, InboxEvent.event, InboxEvent.state))
        stored = {row.id: (row.event, row.state) for row in rows}
    engine.dispose()
    return stored


def test_signed_odd_bodies_never_get_a_5xx_and_what_is_accepted_reaches_slack(
    bot: RunningBot, slack: SlackRecorder
) -> None:
    accepted: list[int] = []

    @settings(max_examples=200, database=None)
    @given(body=odd_bodies(), signed=st.integers(0, 9).map(lambda draw: draw < 8))
    def post(body: bytes, signed: bool) -> None:
        before = deliveries_count(bot)
        response = post_raw(bot, body, **({} if signed else {"X-QTvoice-Signature": "0" * 64}))

        assert response.status_code < 500, (response.status_code, body[:200])
        if not signed:
            assert response.status_code == 401
        if response.status_code >= 400:
            assert response.json()["error"]
            assert deliveries_count(bot) == before
        elif response.json()["status"] == "accepted":
            accepted.append(response.json()["id"])

    post()

    def settled() -> tuple[dict[int, tuple[str, str]]] | None:
        stored = stored_events(bot)
        finished = all(stored[row][1] in (DONE, IGNORED) for row in accepted)
        return (stored,) if finished else None

    [stored] = slack.wait_for(settled, timeout=60)
    assert accepted
    for row in accepted:
        event, state = stored[row]
        assert state == (DONE if event in KNOWN_EVENTS else IGNORED), (row, event, state)
    if any(stored[row][0] in DEFAULT_ON for row in accepted):
        assert posts(slack)
