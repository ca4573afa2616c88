"""Button values (and the SMS modal's metadata): what the bot wrote into Slack to be read
back, written and read in this module alone.

A block_actions payload is signed by Slack, but its `value` is whatever the clicking client
sent: anyone in the workspace can post a signed click whose value names any number. So every
value the bot writes is sealed with an HMAC, and a click acts only on a value whose seal
holds: a value the bot never wrote (a +1 900 number, a changed item id) decodes to nothing.

Why a seal rather than looking up what the bot posted: buttons live where the bot keeps no
copy (ephemeral answers such as the contact card and the picker, the App Home, a modal), a
click may come before the worker has recorded where its post landed, and every process of
a deployment must agree without a shared table. The key is derived from the Slack signing
secret, which every process has; rotating that secret makes older buttons "out of date",
the same answer a button with no seal gets.

Schema, version 1 (compact JSON, at most 2000 characters, Slack's limit for a value):

    {"n": "<customer's E.164 number>",      Call back, Text back, Reply, the contact card's
     "l": "<our line, E.164>",               Call/Text and the picker's button
     "x": "<QTvoice extension id>",          the line's extension, or the link offer's
     "p": "call" | "sms" | "contact",        what a picker's button does
     "t": "<text to send>",                  a picker for /sms carries the text (≤ 1000 chars)
     "i": "<open item id, decimal>",         I'll take it, Remind me, an item's Mark handled
     "d": "<inbox row id, decimal>",         the App Home's Replay
     "c": "<channel id>",                    where the SMS modal was opened from, and the
     "h": "<thread ts>",                     thread (its private_metadata, with n and l)
     "k": "<QTvoice contact id>",            Edit on a contact card, and the contact form's
                                             private_metadata (with n and c)
     "v": 1,                                 this schema
     "s": "<seal>"}                          base64url HMAC-SHA256 of the rest, 128 bits

Every field but `v` and `s` is optional and left out when empty; one of more than 64
characters (except `t`) is left out too, so a malformed webhook field cannot push a value
past Slack's limit and get the whole message refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field, fields
from typing import Any

VERSION = 1
VALUE_LIMIT = 2000
"""Characters Slack allows in a button's value."""
FIELD_LIMIT = 64
"""Longest number or id a value carries; a longer one is not a number or an id."""
TEXT_LIMIT = 1000
"""Longest text a picker's button carries."""
_SEAL_BYTES = 16
_KEY_LABEL = b"qtslack button values v1"

_KEYS = {
    "number": "n",
    "line": "l",
    "extension": "x",
    "purpose": "p",
    "text": "t",
    "item": "i",
    "delivery": "d",
    "channel": "c",
    "thread": "h",
    "contact": "k",
}


@dataclass(frozen=True)
class ButtonValue:
    """What one button names (see the module's schema); every field is optional."""

    number: str | None = None
    line: str | None = None
    extension: str | None = None
    purpose: str | None = None
    text: str | None = None
    item: str | None = None
    delivery: str | None = None
    channel: str | None = None
    thread: str | None = None
    contact: str | None = None

    def item_id(self) -> int | None:
        """`item` as an open item's id; None when it names none."""
        return _row_id(self.item)

    def delivery_id(self) -> int | None:
        """`delivery` as an inbox row's id; None when it names none."""
        return _row_id(self.delivery)


@dataclass(frozen=True)
class ButtonCodec:
    """Seals values the bot writes and opens them when clicked, under one deployment's key."""

    key: bytes = field(repr=False)

    @classmethod
    def for_signing_secret(cls, secret: str) -> ButtonCodec:
        """The codec of a deployment: its key is an HMAC of the Slack signing secret, so a
        seal neither reveals the secret nor can be made without it."""
        return cls(hmac.new(secret.encode(), _KEY_LABEL, hashlib.sha256).digest())

    def encode(self, value: ButtonValue) -> str:
        """The sealed value to put in a button. Raises ValueError when it would be longer
        than Slack's 2000 characters (only a long `text` can make it so)."""
        payload = _fields_of(value)
        sealed = {**payload, "v": VERSION, "s": self._seal(payload)}
        encoded = json.dumps(sealed, separators=(",", ":"), ensure_ascii=False)
        if len(encoded) > VALUE_LIMIT:
            raise ValueError("button value over Slack's 2000 characters")
        return encoded

    def decode(self, raw: object) -> ButtonValue | None:
        """What a clicked value names, when the bot wrote it; None for anything else (not
        JSON, another version, a field of the wrong type, a seal that does not hold)."""
        if not isinstance(raw, str) or len(raw) > VALUE_LIMIT:
            return None
        try:
            parsed: Any = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(parsed, dict) or parsed.get("v") != VERSION:
            return None
        seal = parsed.pop("s", None)
        parsed.pop("v")
        known = set(_KEYS.values())
        if not all(key in known and isinstance(item, str) for key, item in parsed.items()):
            return None
        if not isinstance(seal, str) or not hmac.compare_digest(seal, self._seal(parsed)):
            return None
        by_key = {short: name for name, short in _KEYS.items()}
        return ButtonValue(**{by_key[key]: item for key, item in parsed.items()})

    def _seal(self, payload: dict[str, str]) -> str:
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hmac.new(self.key, canonical.encode(), hashlib.sha256).digest()[:_SEAL_BYTES]
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _fields_of(value: ButtonValue) -> dict[str, str]:
    payload: dict[str, str] = {}
    for spec in fields(value):
        item = getattr(value, spec.name)
        limit = TEXT_LIMIT if spec.name == "text" else FIELD_LIMIT
        if item and len(item) <= limit:
            payload[_KEYS[spec.name]] = item
    return payload


def _row_id(text: str | None) -> int | None:
    if text is not None and text.isascii() and text.isdigit() and len(text) < 19:
        return int(text)
    return None
