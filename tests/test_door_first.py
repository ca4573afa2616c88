"""The door first: while webhooks are being answered, the worker in the same process gives way.

Driven through the real app: a webhook whose body is held back keeps the door busy (it is in
flight from its headers until its answer) while a burst of webhooks is sent beside it. With
DELIVERY_GIVE_WAY_SECONDS longer than the test, the worker claims nothing meanwhile; once the
held webhook is answered it catches up, and every event lands exactly once. Told never to give
way (0), it delivers the burst while the held webhook is still in flight, as before.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bot.config import Settings
from bot.qtvoice.signing import sign
from bot.sandbox.samples import fresh_id, sample_event
from bot.sandbox.slack import SlackRecorder
from tests.conftest import WEBHOOK_SECRET, RunningBot, start_bot
from tests.helpers.waits import settle

BURST = 20


def posted_ids(slack: SlackRecorder) -> Counter[str]:
    """How many times each missed call's id was posted (from the posts' metadata)."""
    counts: Counter[str] = Counter()
    for call in slack.calls("chat.postMessage", ok=True):
        payload = (call.args.get("metadata") or {}).get("event_payload") or {}
        ref = str(payload.get("ref", ""))
        if ref.startswith("missed_call:"):
            counts[ref.removeprefix("missed_call:")] += 1
    return counts


def hold_open(bot: RunningBot, envelope: dict[str, Any]) -> tuple[socket.socket, bytes]:
    """Send a signed webhook but its last byte: it stays in flight until `release`."""
    body = json.dumps(envelope, separators=(",", ":")).encode()
    head = (
        "POST /qtvoice/webhooks HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{bot.server.port}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"X-QTvoice-Signature: {sign(body, WEBHOOK_SECRET)}\r\n"
        f"X-QTvoice-Timestamp: {int(time.time())}\r\n"
        f"X-QTvoice-Delivery-ID: {fresh_id('dlv')}\r\n"
        "\r\n"
    ).encode()
    held = socket.create_connection(("127.0.0.1", bot.server.port), timeout=30)
    held.sendall(head + body[:-1])
    return held, body[-1:]


def release(held: socket.socket, rest: bytes) -> bytes:
    """Send the held webhook's last byte; its status line."""
    with held:
        held.sendall(rest)
        return held.recv(65536).split(b"\r\n", 1)[0]


@contextlib.contextmanager
def running(settings: Settings, slack: SlackRecorder, give_way: float) -> Iterator[RunningBot]:
    bot = start_bot(settings.model_copy(update={"delivery_give_way_seconds": give_way}), slack)
    try:
        yield bot
    finally:
        bot.stop()


def test_deliveries_wait_while_a_burst_is_answered_then_all_land_once(
    settings: Settings, slack: SlackRecorder
) -> None:
    with running(settings, slack, give_way=60) as bot:
        held_envelope = sample_event("call.missed")
        held, rest = hold_open(bot, held_envelope)
        settle()  # the held webhook reaches its handler: the door is busy from here on
        burst = [sample_event("call.missed") for _ in range(BURST)]
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(bot.send_envelope, burst))
        assert [answer.status_code for answer in answers] == [200] * BURST
        settle()

        # Acknowledged, stored, and not delivered while a webhook is still being answered
        # (the worker waits up to a minute here, far longer than this test takes).
        assert posted_ids(slack) == Counter()

        assert b" 200 " in release(held, rest)
        wanted = {envelope["data"]["id"] for envelope in [held_envelope, *burst]}
        slack.wait_for(lambda: wanted <= posted_ids(slack).keys())
        settle()  # a second post of any, had it been made, has arrived
        counts = posted_ids(slack)
        assert {call_id: counts[call_id] for call_id in wanted} == dict.fromkeys(wanted, 1)


def test_a_worker_told_never_to_give_way_delivers_while_a_webhook_is_answered(
    settings: Settings, slack: SlackRecorder
) -> None:
    with running(settings, slack, give_way=0) as bot:
        held, rest = hold_open(bot, sample_event("call.missed"))
        settle()
        burst = [sample_event("call.missed") for _ in range(BURST)]
        for envelope in burst:
            assert bot.send_envelope(envelope).status_code == 200

        wanted = {envelope["data"]["id"] for envelope in burst}
        slack.wait_for(lambda: wanted <= posted_ids(slack).keys())
        assert b" 200 " in release(held, rest)
