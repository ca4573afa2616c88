"""Realistic QTvoice webhook envelopes, one builder per event type.

`send-webhook`, the demo and the tests all start from these, so the bot is always fed the
same shapes the sandbox itself emits (see the shared domain spec). Ids are fresh on every
call, the way QTvoice mints a new object for every real call, text or voicemail; pass
overrides (`id=...`, `callId=...`) to tie two events to the same object.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

CUSTOMER_NUMBER = "+12155551234"
"""John Doe of Acme Inc, a contact the sandbox knows."""

MAIN_LINE = "+12155550100"
"""The business's main QTvoice number (the Front Desk extension)."""

SAMPLE_EXTENSION_ID = "ext_101"
SAMPLE_TRANSCRIPTION = (
    "Hi, it's John from Acme. I'm calling about the quote you sent on Friday. "
    "Could you call me back this afternoon? Thanks."
)


def fresh_id(prefix: str) -> str:
    """A new QTvoice-style object id such as `call_3f9a1c2b7d4e`."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def iso_timestamp(moment: datetime | None = None) -> str:
    """`2024-01-15T10:30:00Z`: UTC, whole seconds, `Z` suffix, as the QTvoice doc writes it."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _call(status: str, *, duration: int, answered: bool, ended: bool) -> dict[str, Any]:
    ended_at = datetime.now(UTC)
    created_at = ended_at - timedelta(seconds=duration + 5)
    return {
        "id": fresh_id("call"),
        "callSid": f"CA{uuid.uuid4().hex}",
        "from": CUSTOMER_NUMBER,
        "to": MAIN_LINE,
        "direction": "inbound",
        "status": status,
        "duration": duration,
        "extensionId": SAMPLE_EXTENSION_ID,
        "createdAt": iso_timestamp(created_at),
        "answeredAt": iso_timestamp(created_at + timedelta(seconds=5)) if answered else None,
        "endedAt": iso_timestamp(ended_at) if ended else None,
    }


def _call_incoming() -> dict[str, Any]:
    return _call("ringing", duration=0, answered=False, ended=False)


def _call_answered() -> dict[str, Any]:
    return _call("answered", duration=0, answered=True, ended=False)


def _call_completed() -> dict[str, Any]:
    return _call("completed", duration=145, answered=True, ended=True)


def _call_missed() -> dict[str, Any]:
    return _call("missed", duration=0, answered=False, ended=True)


def _call_voicemail() -> dict[str, Any]:
    voicemail_id = fresh_id("vm")
    return {
        "id": fresh_id("call"),
        "callSid": f"CA{uuid.uuid4().hex}",
        "from": CUSTOMER_NUMBER,
        "to": MAIN_LINE,
        "direction": "inbound",
        "status": "voicemail",
        "duration": 42,
        "voicemailId": voicemail_id,
        "recordingUrl": f"https://recordings.qtvoice.com/{voicemail_id}.mp3",
        "extensionId": SAMPLE_EXTENSION_ID,
        "createdAt": iso_timestamp(),
    }


def _voicemail(transcription: str | None) -> dict[str, Any]:
    voicemail_id = fresh_id("vm")
    return {
        "id": voicemail_id,
        "callId": fresh_id("call"),
        "from": CUSTOMER_NUMBER,
        "to": MAIN_LINE,
        "duration": 42,
        "recordingUrl": f"https://recordings.qtvoice.com/{voicemail_id}.mp3",
        "transcription": transcription,
        "isRead": False,
        "extensionId": SAMPLE_EXTENSION_ID,
        "createdAt": iso_timestamp(),
    }


def _voicemail_new() -> dict[str, Any]:
    return _voicemail(None)


def _voicemail_transcribed() -> dict[str, Any]:
    return _voicemail(SAMPLE_TRANSCRIPTION)


def _sms_received() -> dict[str, Any]:
    return {
        "id": fresh_id("sms"),
        "from": CUSTOMER_NUMBER,
        "to": MAIN_LINE,
        "message": "Hi there, is the quote ready?",
        "direction": "inbound",
        "status": "received",
        "createdAt": iso_timestamp(),
    }


def _sms_outbound(status: str) -> dict[str, Any]:
    return {
        "id": fresh_id("sms"),
        "from": MAIN_LINE,
        "to": CUSTOMER_NUMBER,
        "message": "Yes, sending it over this afternoon.",
        "direction": "outbound",
        "status": status,
        "createdAt": iso_timestamp(),
    }


def _sms_sent() -> dict[str, Any]:
    return _sms_outbound("sent")


def _sms_delivered() -> dict[str, Any]:
    return _sms_outbound("delivered")


def _contact() -> dict[str, Any]:
    return {
        "id": fresh_id("contact"),
        "first_name": "Dana",
        "last_name": "Scully",
        "company": "Acme Inc",
        "email": "dana@acme.com",
        "phone": "+12155554321",
        "notes": "Prefers texts to calls",
        "updatedAt": iso_timestamp(),
    }


_BUILDERS: dict[str, Callable[[], dict[str, Any]]] = {
    "call.incoming": _call_incoming,
    "call.answered": _call_answered,
    "call.completed": _call_completed,
    "call.missed": _call_missed,
    "call.voicemail": _call_voicemail,
    "sms.received": _sms_received,
    "sms.sent": _sms_sent,
    "sms.delivered": _sms_delivered,
    "voicemail.new": _voicemail_new,
    "voicemail.transcribed": _voicemail_transcribed,
    "contact.created": _contact,
    "contact.updated": _contact,
}

EVENT_TYPES: tuple[str, ...] = tuple(_BUILDERS)
"""The twelve event types of the QTvoice webhook doc, in the doc's order by family."""


def sample_event(event_type: str, **data_overrides: Any) -> dict[str, Any]:
    """A full webhook envelope `{"event", "timestamp", "data"}` for `event_type`.

    `data_overrides` replace or add keys of `data`. Because `from` is a Python keyword, a
    trailing underscore is dropped from each key: `sample_event("sms.received", from_="+1…")`.
    """
    try:
        build = _BUILDERS[event_type]
    except KeyError:
        known = ", ".join(EVENT_TYPES)
        raise ValueError(f"unknown QTvoice event type {event_type!r}; known: {known}") from None
    data = build()
    data.update({key.removesuffix("_"): value for key, value in data_overrides.items()})
    return {"event": event_type, "timestamp": iso_timestamp(), "data": data}
