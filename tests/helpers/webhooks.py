"""QTvoice webhooks sent by hand: raw bodies, a wrong secret, hostile JSON values, an inbound text."""

from __future__ import annotations

import json
import time

import httpx
from hypothesis import strategies as st

from bot.qtvoice.signing import sign
from bot.sandbox.samples import sample_event
from bot.tls import client_context
from tests.conftest import WEBHOOK_SECRET, RunningBot


def post_raw(bot: RunningBot, body: bytes, **headers: str) -> httpx.Response:
    base = {
        "Content-Type": "application/json",
        "X-QTvoice-Signature": sign(body, WEBHOOK_SECRET),
        "X-QTvoice-Timestamp": str(int(time.time())),
        "X-QTvoice-Delivery-ID": f"dlv_{time.monotonic_ns()}",
    }
    return httpx.post(
        bot.webhook_url, content=body, headers={**base, **headers}, verify=client_context()
    )


json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()


json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


WRONG_SECRET = "whsec_the_old_one"


SIGNATURE_FIX = "check the secret in QTvoice's webhook settings"


TIMES = "\N{MULTIPLICATION SIGN}"


def send_with_wrong_secret(bot: RunningBot) -> httpx.Response:
    body = json.dumps(sample_event("call.missed")).encode()
    return post_raw(bot, body, **{"X-QTvoice-Signature": sign(body, WRONG_SECRET)})


def inbound(bot: RunningBot, party: str, message: str) -> None:
    response = bot.send("sms.received", from_=party, message=message)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "accepted"
