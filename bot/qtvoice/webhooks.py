"""The QTvoice webhook receiver's checks, as pure functions of the request.

`read_webhook()` either returns a `Webhook` worth storing (its typed event, parsed once by
`bot.qtvoice.events`) or raises `WebhookError`, which carries the HTTP status and code the
contract gives for that case; `web.py` maps it to a response in one place. Each refusal also
names its kind from a fixed set, which `bot.store.refusals` counts for admins to see, and
`refusal_line` tells an operator what each kind means and what to do about it.
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
from bot.qtvoice.signing import signature_matches, timestamp_is_fresh, timestamp_skew

MAX_BODY_BYTES = 256 * 1024

SIGNATURE_HEADER = "x-qtvoice-signature"
TIMESTAMP_HEADER = "x-qtvoice-timestamp"
DELIVERY_HEADER = "x-qtvoice-delivery-id"


# The door's own kinds of refusal; a body it cannot read has its `EventRefused.kind`.
NO_SIGNATURE = "no X-QTvoice-Signature"
BAD_SIGNATURE = "signature does not match any QTVOICE_WEBHOOK_SECRET"
STALE_TIMESTAMP = "X-QTvoice-Timestamp not within WEBHOOK_TOLERANCE_SECONDS"
TOO_LARGE = "body over 256 KiB"
UNSET_SECRET = "QTVOICE_WEBHOOK_SECRET is not set"  # noqa: S105 - a refusal kind, not a secret

_FIXES = {
    NO_SIGNATURE: "not QTvoice, or a proxy in between drops the header",
    BAD_SIGNATURE: "check the secret in QTvoice's webhook settings",
    STALE_TIMESTAMP: "check this server's clock (NTP); an old webhook sent again is refused so too",
    TOO_LARGE: "QTvoice's webhooks are far smaller: something else posts to this URL",
    UNSET_SECRET: "set it to the signing secret in QTvoice → Settings → Webhooks; until then the poller fetches missed events every RECONCILE_INTERVAL_SECONDS",
}
#: For the kinds of `EventRefused`: signed, so from QTvoice, yet beyond the bot's reading.
_UNREADABLE_FIX = "QTvoice signed it but the bot cannot read it; the log has each one's reason"


class WebhookError(Exception):
    """A webhook refused: `status` and `code` go back to QTvoice as they are.

    `kind` is the refusal's kind in a few words from a fixed set, and `detail` a few more of
    the bot's own (how far off a timestamp was), never text from the request.
    """

    def __init__(
        self, status: int, code: str, message: str, *, kind: str, detail: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.kind = kind
        self.detail = detail


def too_large() -> WebhookError:
    return WebhookError(
        413, "PAYLOAD_TOO_LARGE", "Webhook body is larger than 256 KiB", kind=TOO_LARGE
    )


def refusal_line(count: int, kind: str, detail: str | None, last_seen: str) -> str:
    """One line for an operator about `count` webhooks refused as `kind`, the last at
    `last_seen` (already formatted): what was wrong, then the fix. Plain text, e.g.
    "37 \N{MULTIPLICATION SIGN} signature does not match any QTVOICE_WEBHOOK_SECRET (last 10:42)
    — check the secret in QTvoice's webhook settings".
    """
    what = f"{kind}: {detail}" if detail else kind
    return f"{count} \N{MULTIPLICATION SIGN} {what} (last {last_seen}) — {_FIXES.get(kind, _UNREADABLE_FIX)}"


def _skew_label(timestamp: str, now: float) -> str:
    """How far off an `X-QTvoice-Timestamp` is, in words: "412 s old", "missing"."""
    if not timestamp.strip():
        return "missing"
    skew = timestamp_skew(timestamp, now)
    if skew is None:
        return "not a number"
    if abs(skew) >= 10**9:  # about 32 years: a made-up value, not a clock that drifted
        return "decades off"
    return f"{abs(skew):.0f} s {'old' if skew > 0 else 'ahead'}"


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

    Nothing of the body is read before its signature is checked; with no `secrets` (the
    setting is not filled in yet) every webhook is refused, saying so. `default_region` reads
    phone numbers written without a country code.
    """
    if len(body) > MAX_BODY_BYTES:
        raise too_large()
    if not secrets:
        raise WebhookError(
            401,
            "UNAUTHORIZED",
            "The bot has no QTVOICE_WEBHOOK_SECRET yet, so it cannot verify webhooks; set it to "
            "the signing secret in QTvoice → Settings → Webhooks",
            kind=UNSET_SECRET,
        )
    signature = headers.get(SIGNATURE_HEADER, "")
    if not signature or not signature_matches(body, signature, secrets):
        kind = BAD_SIGNATURE if signature.strip() else NO_SIGNATURE
        raise WebhookError(401, "UNAUTHORIZED", "Missing or invalid X-QTvoice-Signature", kind=kind)
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    if not timestamp_is_fresh(timestamp, now, tolerance_seconds):
        raise WebhookError(
            401,
            "UNAUTHORIZED",
            "X-QTvoice-Timestamp is missing or too old",
            kind=STALE_TIMESTAMP,
            detail=_skew_label(timestamp, now),
        )
    try:
        event = parse_webhook(body, default_region=default_region)
    except EventRefused as refused:
        raise WebhookError(400, "BAD_REQUEST", refused.reason, kind=refused.kind) from None
    delivery_id = "".join(char for char in headers.get(DELIVERY_HEADER, "") if char.isprintable())
    return Webhook(
        event=event,
        delivery_id=delivery_id.strip()[:ID_LIMIT] or None,
        body_sha256=hashlib.sha256(body).hexdigest(),
    )
