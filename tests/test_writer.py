"""Group commit at the door: concurrent webhooks stored together, each exactly once.

The HTTP tests drive the real app; the batch rule (a batch stores what storing its rows one at
a time would) is pinned against the real database on many generated batches.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import delete

from bot.delivery import inbox
from bot.delivery.writer import insert_new
from bot.qtvoice.signing import sign
from bot.sandbox.samples import sample_event
from bot.sandbox.slack import SlackRecorder
from bot.store.db import create_engine
from bot.store.models import InboxEvent
from bot.tls import client_context
from tests.conftest import WEBHOOK_SECRET, RunningBot


def signed(bot: RunningBot, body: bytes, delivery_id: str) -> httpx.Response:
    headers = {
        "Content-Type": "application/json",
        "X-QTvoice-Signature": sign(body, WEBHOOK_SECRET),
        "X-QTvoice-Timestamp": str(int(time.time())),
        "X-QTvoice-Delivery-ID": delivery_id,
    }
    return httpx.post(
        bot.webhook_url, content=body, headers=headers, timeout=30, verify=client_context()
    )


def test_a_burst_with_every_kind_of_duplicate_stores_and_posts_each_call_once(
    bot: RunningBot, slack: SlackRecorder
) -> None:
    envelopes = [sample_event("call.missed") for _ in range(15)]
    bodies = [json.dumps(envelope).encode() for envelope in envelopes]
    sends = [(body, f"dlv_{n}") for n, body in enumerate(bodies)]
    sends += [(body, f"dlv_{n}") for n, body in enumerate(bodies[:5])]  # QTvoice's retry
    sends += [(body, f"dlv_new_{n}") for n, body in enumerate(bodies[5:10])]  # replayed body
    for n, envelope in enumerate(envelopes[10:]):  # same call, new delivery and body
        again = {**envelope, "data": {**envelope["data"], "duration": 1}}
        sends.append((json.dumps(again).encode(), f"dlv_again_{n}"))
    random.Random(7).shuffle(sends)

    with ThreadPoolExecutor(max_workers=len(sends)) as pool:
        answers = list(pool.map(lambda send: signed(bot, *send), sends))

    assert {answer.status_code for answer in answers} == {200}
    statuses = [answer.json()["status"] for answer in answers]
    assert (statuses.count("accepted"), statuses.count("duplicate")) == (15, 15)
    wanted = sorted(f"missed_call:{envelope['data']['id']}" for envelope in envelopes)
    slack.wait_for(lambda: len(slack.calls("chat.postMessage", ok=True)) >= 15)
    time.sleep(0.5)
    refs = [
        call.args["metadata"]["event_payload"]["ref"]
        for call in slack.calls("chat.postMessage", ok=True)
    ]
    assert sorted(refs) == wanted


def _row(dedupe: str, body: str, delivery: str | None) -> dict[str, Any]:
    """An inbox row with the given unique keys (the writer is generic over rows)."""
    return {
        "event": "call.missed",
        "object_id": dedupe,
        "dedupe_key": f"call.missed:{dedupe}",
        "body_sha256": body,
        "delivery_id": delivery,
        "ordering_key": f"call:{dedupe}",
        "payload": {"event": "call.missed", "data": {"id": dedupe}},
        "source": "webhook",
        "state": inbox.PENDING,
    }


def _batches(count: int) -> list[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """(rows already stored, a batch), drawn from few keys so that they collide often."""
    draw = random.Random(11)

    def rows(n: int) -> list[dict[str, Any]]:
        return [
            _row(draw.choice("abcd"), draw.choice("wxyz"), draw.choice([None, "d1", "d2", "d3"]))
            for _ in range(n)
        ]

    return [(rows(draw.randint(0, 2)), rows(draw.randint(1, 6))) for _ in range(count)]


def test_a_batch_stores_exactly_what_storing_its_rows_one_at_a_time_would(
    database_url: str,
) -> None:
    table = InboxEvent.__table__

    async def stored_by(engine, batched: bool, before: list, batch: list) -> list[bool]:
        async with engine.begin() as connection:
            await connection.execute(delete(table))
            for row in before:
                await connection.run_sync(insert_new, table, inbox.IDENTITY, [row])
            if batched:
                ids = await connection.run_sync(insert_new, table, inbox.IDENTITY, batch)
            else:
                ids = [
                    (await connection.run_sync(insert_new, table, inbox.IDENTITY, [row]))[0]
                    for row in batch
                ]
        return [row_id is not None for row_id in ids]

    async def check() -> None:
        engine = create_engine(database_url)
        try:
            for before, batch in _batches(60):
                batched = await stored_by(engine, True, before, batch)
                assert batched == await stored_by(engine, False, before, batch), (before, batch)
        finally:
            await engine.dispose()

    asyncio.run(check())
