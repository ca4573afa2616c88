"""The QTvoice webhook receiver's checks, as pure functions of the request.

`read_webhook()` either returns a `Webhook` worth storing or raises `WebhookError`, which
carries the HTTP status and code the contract gives for that case; `web.py` maps it to a
response in one place.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.qtvoice.signing import signature_matches, timestamp_is_fresh

MAX_BODY_BYTES = 256 * 1024

SIGNATURE_HEADER = "x-qtvoice-signature"
TIMESTAMP_HEADER = "x-qtvoice-timestamp"
DELIVERY_HEADER = "x-qtvoice-delivery-id"


class WebhookError(Exception):
    """A webhook refused: `status` and `code` go back to QTvoice as they are."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def too_large() -> WebhookError:
    return WebhookError(413, "PAYLOAD_TOO_LARGE", "Webhook body is larger than 256 KiB")


@dataclass(frozen=True)
class Webhook:
    """A verified, well-formed webhook: what the inbox stores."""

    event: str
    data: dict[str, Any]
    timestamp: str | None
    delivery_id: str | None
    body_sha256: str


def read_webhook(
    body: bytes,
    headers: Mapping[str, str],
    secrets: Sequence[str],
    now: float,
    tolerance_seconds: int,
) -> Webhook:
    """Check a webhook in the contract's order: size, signature, freshness, shape."""
    if len(body) > MAX_BODY_BYTES:
        raise too_large()
    signature = headers.get(SIGNATURE_HEADER, "")
    if not signature or not signature_matches(body, signature, secrets):
        raise WebhookError(401, "UNAUTHORIZED", "Missing or invalid X-QTvoice-Signature")
    if not timestamp_is_fresh(headers.get(TIMESTAMP_HEADER, ""), now, tolerance_seconds):
        raise WebhookError(401, "UNAUTHORIZED", "X-QTvoice-Timestamp is missing or too old")
    envelope = _parse_json(body)
    event, data = envelope.get("event"), envelope.get("data")
    if not isinstance(event, str) or not event.strip():
        raise WebhookError(400, "BAD_REQUEST", "Body has no `event` string")
    if not isinstance(data, dict):
        raise WebhookError(400, "BAD_REQUEST", "Body has no `data` object")
    timestamp = envelope.get("timestamp")
    delivery_id = headers.get(DELIVERY_HEADER, "").strip()[:128] or None
    return Webhook(
        event=event.strip(),
        data=data,
        timestamp=timestamp if isinstance(timestamp, str) else None,
        delivery_id=delivery_id,
        body_sha256=hashlib.sha256(body).hexdigest(),
    )


def _parse_json(body: bytes) -> dict[str, Any]:
    try:
        envelope = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise WebhookError(400, "BAD_REQUEST", "Body is not JSON") from None
    except RecursionError:
        raise WebhookError(400, "BAD_REQUEST", "Body is nested too deeply") from None
    if not isinstance(envelope, dict):
        raise WebhookError(400, "BAD_REQUEST", "Body is not a JSON object")
    return envelope
