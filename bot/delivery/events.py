"""What the bot knows about each QTvoice event type: its identity and its ordering.

Pure functions of an event's type and `data`. Where the seed doc does not name a field the
contract tells us which candidates to read, in either key style.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.qtvoice.kinds import CALL_EVENTS, SMS_EVENTS, VOICEMAIL_EVENTS


def field(data: Mapping[str, Any], *names: str) -> Any:
    """The first present, non-empty value among `names`, each tried as given and in snake_case."""
    for name in names:
        for key in (name, _snake(name)):
            value = data.get(key)
            if value not in (None, ""):
                return value
    return None


def text_field(data: Mapping[str, Any], *names: str) -> str | None:
    value = field(data, *names)
    return None if value is None else str(value)


def _snake(name: str) -> str:
    return "".join(f"_{char.lower()}" if char.isupper() else char for char in name)


def object_id(data: Mapping[str, Any]) -> str | None:
    return text_field(data, "id")


def voicemail_key(event: str, data: Mapping[str, Any]) -> str | None:
    """One key per voicemail, whichever of its three events arrives first: its call's id."""
    if event == "call.voicemail":
        return text_field(data, "id")
    return text_field(data, "callId") or (f"vm:{data['id']}" if data.get("id") else None)


def conversation_key(line: str, customer: str) -> str:
    """One SMS conversation per pair of numbers: our line and the customer's."""
    return f"{line}|{customer}"


def sms_parties(event: str, data: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(our line, the customer) of a text, whichever way it went."""
    sender, recipient = text_field(data, "from"), text_field(data, "to")
    if event == "sms.received":
        return recipient, sender
    return sender, recipient


def dedupe_key(event: str, data: Mapping[str, Any], body_sha256: str) -> str:
    """The same event about the same object is delivered once, under whatever delivery id.

    A contact can be updated many times, so its updates also key on when; an event with no id
    can only be recognised by its signed bytes.
    """
    identity = object_id(data)
    if identity is None:
        return f"{event}:body:{body_sha256}"
    if event == "contact.updated":
        return f"{event}:{identity}:{text_field(data, 'updatedAt') or body_sha256}"
    return f"{event}:{identity}"


def ordering_key(event: str, data: Mapping[str, Any]) -> str:
    """Events with one key are delivered one at a time, oldest first (one Slack message each)."""
    if event in VOICEMAIL_EVENTS:
        return f"voicemail:{voicemail_key(event, data)}"
    if event in CALL_EVENTS:
        return f"call:{object_id(data)}"
    if event in SMS_EVENTS:
        line, customer = sms_parties(event, data)
        return f"sms:{conversation_key(line or '', customer or '')}"
    return f"{event}:{object_id(data)}"
