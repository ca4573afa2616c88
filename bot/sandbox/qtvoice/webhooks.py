"""Webhooks as QTvoice sends them: signed POSTs, and the carrier's reports on a sent text."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from bot.qtvoice.signing import sign
from bot.sandbox.qtvoice.state import QTvoiceState, WebhookDelivery
from bot.sandbox.samples import fresh_id, iso_timestamp
from bot.tls import client_context

WEBHOOK_TIMEOUT_SECONDS = 10.0


def send_webhook(
    url: str,
    envelope: dict[str, Any],
    secret: str,
    *,
    delivery_id: str | None = None,
    timestamp: int | str | None = None,
    client: httpx.Client | None = None,
) -> httpx.Response:
    """POST one webhook the way QTvoice does: JSON body signed with `secret`.

    `delivery_id` and `timestamp` (unix seconds) default to fresh values; pass them to
    replay a delivery or to send a stale one. Pass `client` to send many over its pooled
    connections (a load test); by default each call opens its own.
    """
    body = json.dumps(envelope, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "QTvoice-Webhooks/1.0",
        "X-QTvoice-Signature": sign(body, secret),
        "X-QTvoice-Timestamp": str(int(time.time()) if timestamp is None else timestamp),
        "X-QTvoice-Delivery-ID": delivery_id or fresh_id("dlv"),
    }
    if client is None:
        return httpx.post(
            url,
            content=body,
            headers=headers,
            timeout=WEBHOOK_TIMEOUT_SECONDS,
            verify=client_context(),
        )
    return client.post(url, content=body, headers=headers, timeout=WEBHOOK_TIMEOUT_SECONDS)


def report_carrier_updates(state: QTvoiceState, sms_id: str) -> None:
    """Play the carrier's part after the response: `sms.sent`, then `sms.delivered`.

    Starlette runs this in a worker thread once the response is out, as QTvoice only
    learns of these states after it has answered the API call.
    """
    url, secret = state.webhook_url, state.webhook_secret
    if not url or not secret:
        return
    for status in ("sent", "delivered"):
        sms = state.set_sms_status(sms_id, status)
        if sms is None:
            return
        event = f"sms.{status}"
        envelope = {"event": event, "timestamp": iso_timestamp(), "data": sms}
        try:
            response = send_webhook(url, envelope, secret)
        except httpx.HTTPError as error:
            delivery = WebhookDelivery(event, url, None, f"{type(error).__name__}: {error}")
        else:
            delivery = WebhookDelivery(event, url, response.status_code, None)
        state.record_webhook_delivery(delivery)


#: How long the sandbox's placed calls last once the extension picks up (seconds).
PLACED_CALL_SECONDS = 42


def report_call_end(state: QTvoiceState, call_id: str) -> None:
    """Play the phones' part after a click-to-call: the call is answered, talked through and
    ends (`call.completed`), so a placed call is never "initiated" for ever."""
    url, secret = state.webhook_url, state.webhook_secret
    call = state.finish_call(call_id, PLACED_CALL_SECONDS)
    if call is None or not url or not secret:
        return
    envelope = {"event": "call.completed", "timestamp": iso_timestamp(), "data": call}
    try:
        response = send_webhook(url, envelope, secret)
    except httpx.HTTPError as error:
        delivery = WebhookDelivery("call.completed", url, None, f"{type(error).__name__}: {error}")
    else:
        delivery = WebhookDelivery("call.completed", url, response.status_code, None)
    state.record_webhook_delivery(delivery)
