"""The QTvoice webhook receiver's checks, as pure functions of the request.

`read_webhook()` either returns a `Webhook` worth storing (its typed event, parsed once by
`bot.qtvoice.events`) or raises `WebhookError`, which carries the HTTP status and code the
contract gives for that case; `web.py` maps it to a response in one place.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.qtvoice.events import (
    ID_LIMIT,
    EventRefused,
    KnownEvent,
    UnknownEvent,
    parse_webhook,
)
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
    """A verified, understood webhook: what the inbox stores."""

    event: KnownEvent | UnknownEvent
    delivery_id: str | None
    body_sha256: str


def read_webhook(
    body: bytes,
    headers: Mapping[str, str],
    secrets: Sequence[str],
    now: float,
    tolerance_seconds: int,
    default_region: str = "US",
) -> Webhook:
    """Check a webhook in the contract's order: size, signature, freshness, then its meaning.

    Nothing of the body is read before its signature is checked. `default_region` reads
    phone numbers written without a country code.
    """
    if len(body) > MAX_BODY_BYTES:
        raise too_large()
    signature = headers.get(SIGNATURE_HEADER, "")
    if not signature or not signature_matches(body, signature, secrets):
        raise WebhookError(401, "UNAUTHORIZED", "Missing or invalid X-QTvoice-Signature")
    if not timestamp_is_fresh(headers.get(TIMESTAMP_HEADER, ""), now, tolerance_seconds):
        raise WebhookError(401, "UNAUTHORIZED", "X-QTvoice-Timestamp is missing or too old")
    try:
        event = parse_webhook(body, default_region=default_region)
    except EventRefused as refused:
        raise WebhookError(400, "BAD_REQUEST", refused.reason) from None
    delivery_id = "".join(char for char in headers.get(DELIVERY_HEADER, "") if char.isprintable())
    return Webhook(
        event=event,
        delivery_id=delivery_id.strip()[:ID_LIMIT] or None,
        body_sha256=hashlib.sha256(body).hexdigest(),
    )
