"""QTvoice webhook signatures: hex HMAC-SHA256 of the raw body, keyed by the webhook secret.

Only the body is signed. The timestamp and delivery-id headers are not, so the receiver
checks the timestamp for freshness but dedupes on what the signature covers (the body).
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Iterable

SIGNATURE_PREFIX = "sha256="


def sign(body: bytes, secret: str) -> str:
    """The signature QTvoice sends in `X-QTvoice-Signature` for this body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_matches(body: bytes, signature: str, secrets: Iterable[str]) -> bool:
    """True when `signature` (bare hex or `sha256=`-prefixed) is right for any secret.

    Every secret is tried, in constant time each, so rotating secrets
    (`QTVOICE_WEBHOOK_SECRET=new,old`) accepts both while the sender switches over.
    """
    candidate = signature.strip().removeprefix(SIGNATURE_PREFIX).lower().encode()
    matched = False
    for secret in secrets:
        matched |= hmac.compare_digest(candidate, sign(body, secret).encode())
    return matched


def timestamp_skew(timestamp: str, now: float) -> float | None:
    """How many seconds a unix-seconds `X-QTvoice-Timestamp` lies before `now` (negative:
    after it); None when the header is missing or not a finite number."""
    try:
        sent_at = float(timestamp)
    except (TypeError, ValueError):
        return None
    skew = now - sent_at
    return skew if math.isfinite(skew) else None


def timestamp_is_fresh(timestamp: str, now: float, tolerance_seconds: int) -> bool:
    """True when a unix-seconds `X-QTvoice-Timestamp` is within the tolerance of now."""
    skew = timestamp_skew(timestamp, now)
    return skew is not None and abs(skew) <= tolerance_seconds
