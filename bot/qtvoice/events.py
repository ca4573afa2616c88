"""QTvoice webhook events, understood once: a verified envelope in, a typed event out.

`parse_webhook(body)` turns signed bytes into one of the `QTvoiceEvent` classes (a pydantic
union discriminated on `event`, one class per family: calls, voicemails, texts, contacts, and
`UnknownEvent` for a type the bot does not know) or raises `EventRefused` with the reason
QTvoice gets in its 400. After this nothing reads a raw dict: the inbox stores
`event.canonical()` and the worker reads it back with `load_stored()`.

Tolerance follows the contract (`shared/design/contract.md`, "be tolerant"): every key in
camelCase or snake_case, every field but `id` optional, unknown fields kept (cleaned), and a
field of the wrong type (a list where a number belongs, `true` in a text field) read as
absent, never a reason to refuse the event or fail it later. Text is made valid Unicode (a
lone UTF-16 surrogate becomes U+FFFD, NUL is removed) and bounded. Timestamps are ISO 8601
with or without a zone (naive means UTC) or unix seconds. Phone parties are `Party`.

Identity is defined here, once, per class: `object_id`, `dedupe_key` (the same event about the
same object is delivered once), `ordering_key` (events with one key are delivered one at a
time, oldest first) and the message each event lives in. A voicemail's identity spans
events that name it by different ids; `voicemail_aliases` lists them and
`bot.delivery.identity` turns them into one key.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    GetCoreSchemaHandler,
    Tag,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic_core import CoreSchema, core_schema

from bot import phone
from bot.qtvoice.models import Call, Contact, QTvoiceModel, Sms, Voicemail

CALL_LIVE = ("call.incoming", "call.answered", "call.completed")
CALL_EVENTS = (*CALL_LIVE, "call.missed")
VOICEMAIL_EVENTS = ("call.voicemail", "voicemail.new", "voicemail.transcribed")
SMS_EVENTS = ("sms.received", "sms.sent", "sms.delivered")
CONTACT_EVENTS = ("contact.created", "contact.updated")
#: The bot's own synthetic event (`bot.ops.canary`): no QTvoice type, so it reads as an
#: `UnknownEvent`, yet it is delivered (to `CANARY_CHANNEL`), not merely recorded.
CANARY_EVENT = "qtslack.canary"
KNOWN_EVENTS = frozenset((*CALL_EVENTS, *VOICEMAIL_EVENTS, *SMS_EVENTS, *CONTACT_EVENTS))

#: Kinds posted to NOTIFY_CHANNEL when no route claims them; the rest only where a route asks.
DEFAULT_ON = frozenset(
    {"call.missed", "call.voicemail", "voicemail.new", "voicemail.transcribed", *SMS_EVENTS}
)

#: Column widths of the inbox (`bot.store.models.InboxEvent`): what does not fit is refused.
EVENT_NAME_LIMIT = 64
ID_LIMIT = 128
#: Deeper JSON than this is refused before anything recurses over it.
NESTING_LIMIT = 32
SHORT_TEXT_LIMIT = 255
URL_LIMIT = 2000
#: Texts and transcripts; Slack shows at most 3000 characters of a section anyway.
LONG_TEXT_LIMIT = 8000
#: Durations and counts beyond this (about 31 years in seconds) are nonsense, read as absent.
COUNT_LIMIT = 10**9
#: Unix seconds up to the year 9999.
LATEST_UNIX_SECONDS = 253_402_300_799

_SURROGATE = re.compile("[\ud800-\udfff]")
_SENDER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9 &.'_-]{0,19}")
_SHORT_CODE = re.compile(r"\d{3,8}")


class EventRefused(Exception):
    """A webhook the bot cannot understand; `reason` goes back to QTvoice with a 400.

    `kind` names the problem in a few words from a fixed set (never with the body's own
    text in it): the refused-webhook record counts refusals by it.
    """

    def __init__(self, reason: str, kind: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


# Cleaning values


def clean_text(value: str) -> str:
    """`value` as valid Unicode: lone surrogates become U+FFFD, NUL characters are removed."""
    return _SURROGATE.sub("\ufffd", value).replace("\x00", "")


def clean_json(value: Any) -> Any:
    """A parsed JSON value with every string (keys too) passed through `clean_text`."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(key)): clean_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [clean_json(item) for item in value]
    return value


def clean_id(value: object) -> str:
    """An object id as stored and compared: text (or a whole number), 1-128 characters.

    Raises ValueError with the reason for anything else: a missing id, one of another type,
    too long for its column, or with control characters or invalid Unicode in it.
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("is missing" if value is None else "is not a string")
    text = str(value).strip()
    if not text:
        raise ValueError("is empty")
    if len(text) > ID_LIMIT:
        raise ValueError(f"is longer than {ID_LIMIT} characters")
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in text):
        raise ValueError("has control characters or invalid Unicode")
    return text


def _id_or_none(value: object) -> str | None:
    try:
        return clean_id(value)
    except ValueError:
        return None


def _text(limit: int) -> Callable[[object], str | None]:
    """A reader of text fields: cleaned and cut to `limit`; a number as its numeral."""

    def read(value: object) -> str | None:
        if isinstance(value, bool):
            return None
        if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
            return str(value)
        if not isinstance(value, str):
            return None
        return clean_text(value)[:limit]

    return read


def _short_text(value: object) -> str | None:
    text = _text(SHORT_TEXT_LIMIT)(value)
    return text.strip() or None if text is not None else None


def _count(value: object) -> int | None:
    """A whole non-negative number, from a number or a numeral; anything else is absent."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdecimal():
        value = int(value.strip()) if len(value.strip()) < 12 else None
    if isinstance(value, float) and math.isfinite(value):
        value = round(value)
    if isinstance(value, int) and 0 <= value <= COUNT_LIMIT:
        return value
    return None


def _flag(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _moment(value: object) -> datetime | None:
    """ISO 8601 with or without a zone (naive is UTC), or unix seconds; else absent."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.isdecimal() and len(text) < 12:
            value = int(text)
        else:
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                return None
            return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    if isinstance(value, int | float) and math.isfinite(value) and value >= 0:
        return datetime.fromtimestamp(value, UTC) if value <= LATEST_UNIX_SECONDS else None
    return None


# Parties


class PartyKind(StrEnum):
    PHONE = "phone"
    SHORT_CODE = "short_code"
    SENDER_ID = "sender_id"


class Party(str):
    """The other end (or our end) of a call or text, never empty; compares as its text.

    One of: an E.164 phone number (`+12155551234`), a short code (`72345`, 3-8 digits) or
    an alphanumeric sender id with at least one letter (`ACMEBANK`, `anonymous`).
    A number without a country code is read in `DEFAULT_REGION`, passed as the validation
    context `{"region": "US"}` (US when absent).
    """

    __slots__ = ()

    @property
    def kind(self) -> PartyKind:
        if self.startswith("+"):
            return PartyKind.PHONE
        if self.isdecimal():
            return PartyKind.SHORT_CODE
        return PartyKind.SENDER_ID

    @property
    def is_phone(self) -> bool:
        return self.kind is PartyKind.PHONE

    @classmethod
    def read(cls, value: object, default_region: str = "US") -> Party | None:
        """The party `value` names, or None when it names none we could reach or show."""
        if isinstance(value, bool) or not isinstance(value, str | int):
            return None
        text = clean_text(str(value)).strip()
        if not text or len(text) > 64:
            return None
        if phone.is_phone_like(text):
            e164 = phone.parse(text, default_region)
            if e164 is not None:
                return cls(e164)
            digits = "".join(char for char in text if char.isdigit())
            if "+" not in text and _SHORT_CODE.fullmatch(digits):
                return cls(digits)
            return None
        if _SENDER_ID.fullmatch(text) and any(char.isalpha() for char in text):
            return cls(text)
        return None

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source_type: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        def validate(value: object, info: ValidationInfo) -> Party | None:
            context = info.context if isinstance(info.context, dict) else {}
            return cls.read(value, str(context.get("region") or "US"))

        return core_schema.with_info_plain_validator_function(
            validate, serialization=core_schema.to_string_ser_schema()
        )


# Tolerant field types: a value of the wrong shape is absent, never an error.

OptionalId = Annotated[str | None, BeforeValidator(_id_or_none)]
ShortText = Annotated[str | None, BeforeValidator(_short_text)]
Url = Annotated[str | None, BeforeValidator(_text(URL_LIMIT))]
LongText = Annotated[str | None, BeforeValidator(_text(LONG_TEXT_LIMIT))]
Count = Annotated[int | None, BeforeValidator(_count)]
Flag = Annotated[bool | None, BeforeValidator(_flag)]
Moment = Annotated[datetime | None, BeforeValidator(_moment)]
RequiredId = Annotated[str, BeforeValidator(clean_id)]


def _first_usable(data: dict[str, Any], target: str, candidates: tuple[str, ...]) -> None:
    """Where the contract names several keys for one field, the first with words in it wins
    (else the first that is text at all), and the others are dropped."""
    values = [data.pop(key, None) for key in candidates]
    readable: list[object] = [
        value
        for value in values
        if isinstance(value, str | int | float) and not isinstance(value, bool)
    ]
    worded = [value for value in readable if not isinstance(value, str) or value.strip()]
    if worded or readable:
        data[target] = (worded or readable)[0]


class _EventData(QTvoiceModel):
    """Shared by every event's `data`: unknown fields are kept, cleaned, after validation."""

    @model_validator(mode="after")
    def _clean_extras(self) -> _EventData:
        extra = self.__pydantic_extra__
        if extra:
            cleaned = clean_json(extra)
            extra.clear()
            extra.update(cleaned)
        return self


class CallData(_EventData, Call):
    """`data` of a call.* event: the call."""

    id: RequiredId
    call_sid: ShortText = None
    from_: Party | None = Field(default=None, alias="from")
    to: Party | None = None
    direction: ShortText = None
    status: ShortText = None
    duration: Count = None
    recording_url: Url = None
    created_at: Moment = None
    answered_at: Moment = None
    ended_at: Moment = None
    extension_id: OptionalId = None
    voicemail_id: OptionalId = None


class VoicemailData(_EventData, Voicemail):
    """`data` of a voicemail event; for `call.voicemail` its `id` is the call's."""

    id: RequiredId
    call_id: OptionalId = None
    voicemail_id: OptionalId = None
    from_: Party | None = Field(default=None, alias="from")
    to: Party | None = None
    duration: Count = None
    recording_url: Url = None
    transcription: LongText = None
    is_read: Flag = None
    created_at: Moment = None
    extension_id: OptionalId = None

    @model_validator(mode="before")
    @classmethod
    def _candidates(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            _first_usable(data, "transcription", ("transcription", "transcript"))
        return data


class SmsData(_EventData, Sms):
    """`data` of an sms.* event: the text, its parties and its state."""

    id: RequiredId
    from_: Party | None = Field(default=None, alias="from")
    to: Party | None = None
    message: LongText = None
    direction: ShortText = None
    status: ShortText = None
    created_at: Moment = None

    @model_validator(mode="before")
    @classmethod
    def _candidates(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            _first_usable(data, "message", ("message", "body", "text"))
        return data


class ContactData(_EventData, Contact):
    """`data` of a contact.* event: the contact as it is now."""

    id: RequiredId
    first_name: ShortText = None
    last_name: ShortText = None
    company: ShortText = None
    email: ShortText = None
    phone: Party | None = None
    notes: LongText = None
    updated_at: Moment = None


class _Event(BaseModel):
    """The envelope: the event type, when QTvoice says it happened, and its object."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event: str
    timestamp: Moment = None

    def canonical(self) -> dict[str, Any]:
        """The JSON the inbox stores; `load_stored()` reads it back into an equal event."""
        return self.model_dump(mode="json", by_alias=True)

    def _content_hash(self) -> str:
        data = self.canonical().get("data", {})
        encoded = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return hashlib.sha256(encoded.encode()).hexdigest()


class CallEvent(_Event):
    """call.incoming, call.answered, call.completed, call.missed: one call, by its id."""

    event: Literal["call.incoming", "call.answered", "call.completed", "call.missed"]
    data: CallData

    @property
    def object_id(self) -> str:
        return self.data.id

    @property
    def dedupe_key(self) -> str:
        return f"{self.event}:{self.data.id}"

    @property
    def ordering_key(self) -> str:
        return f"call:{self.data.id}"

    @property
    def our_line(self) -> Party | None:
        """Where the call came in, or (outbound) went out from."""
        outbound = (self.data.direction or "inbound").lower() == "outbound"
        return self.data.from_ if outbound else self.data.to

    @property
    def customer(self) -> Party | None:
        outbound = (self.data.direction or "inbound").lower() == "outbound"
        return self.data.to if outbound else self.data.from_

    @property
    def extension_id(self) -> str | None:
        return self.data.extension_id


class VoicemailEvent(_Event):
    """call.voicemail (names the call, maybe `voicemailId`), voicemail.new and
    voicemail.transcribed (name the voicemail, maybe `callId`): one Slack message."""

    event: Literal["call.voicemail", "voicemail.new", "voicemail.transcribed"]
    data: VoicemailData

    @property
    def object_id(self) -> str:
        return self.data.id

    @property
    def dedupe_key(self) -> str:
        return f"{self.event}:{self.data.id}"

    @property
    def call_id(self) -> str | None:
        return self.data.id if self.event == "call.voicemail" else self.data.call_id

    @property
    def voicemail_id(self) -> str | None:
        return self.data.voicemail_id if self.event == "call.voicemail" else self.data.id

    @property
    def voicemail_aliases(self) -> tuple[str, ...]:
        """Every name this event gives its voicemail, preferred first (see `identity`)."""
        names = []
        if self.call_id:
            names.append(f"call:{self.call_id}")
        if self.voicemail_id:
            names.append(f"vm:{self.voicemail_id}")
        return tuple(names)

    @property
    def own_voicemail_key(self) -> str:
        """The voicemail's key from this event alone: its call's id, else `vm:` its own."""
        return self.call_id or f"vm:{self.voicemail_id}"

    @property
    def our_line(self) -> Party | None:
        return self.data.to

    @property
    def customer(self) -> Party | None:
        return self.data.from_

    @property
    def extension_id(self) -> str | None:
        return self.data.extension_id

    def voicemail_fields(self) -> dict[str, Any]:
        """The voicemail as this event knows it (canonical JSON, present fields only)."""
        fields: dict[str, Any] = self.data.model_dump(mode="json", by_alias=True, exclude_none=True)
        if self.event == "call.voicemail":
            fields["callId"] = self.data.id
            fields.pop("voicemailId", None)
            fields["id"] = self.voicemail_id or self.data.id
        return fields


class SmsEvent(_Event):
    """sms.received (customer → our line), sms.sent and sms.delivered (our line → customer)."""

    event: Literal["sms.received", "sms.sent", "sms.delivered"]
    data: SmsData

    @property
    def object_id(self) -> str:
        return self.data.id

    @property
    def dedupe_key(self) -> str:
        return f"{self.event}:{self.data.id}"

    @property
    def inbound(self) -> bool:
        return self.event == "sms.received"

    @property
    def our_line(self) -> Party | None:
        return self.data.to if self.inbound else self.data.from_

    @property
    def customer(self) -> Party | None:
        return self.data.from_ if self.inbound else self.data.to

    @property
    def extension_id(self) -> str | None:
        return None

    @property
    def conversation_key(self) -> str:
        """One conversation (one Slack thread) per pair of parties: our line and theirs."""
        return conversation_key(self.our_line, self.customer)

    @property
    def ordering_key(self) -> str:
        return f"sms:{self.conversation_key}"


class ContactEvent(_Event):
    """contact.created and contact.updated: the contact as it is now."""

    event: Literal["contact.created", "contact.updated"]
    data: ContactData

    @property
    def object_id(self) -> str:
        return self.data.id

    @property
    def version(self) -> str:
        """Which state of the contact: when it was updated, else a hash of what it says."""
        if self.data.updated_at is not None:
            return self.data.updated_at.isoformat()
        return self._content_hash()

    @property
    def dedupe_key(self) -> str:
        if self.event == "contact.updated":
            return f"{self.event}:{self.data.id}:{self.version}"
        return f"{self.event}:{self.data.id}"

    @property
    def message_key(self) -> str:
        return f"{self.data.id}:{self.version if self.event == 'contact.updated' else self.event}"

    @property
    def ordering_key(self) -> str:
        return f"contact:{self.data.id}"

    @property
    def our_line(self) -> Party | None:
        return None

    @property
    def extension_id(self) -> str | None:
        return None


class UnknownEvent(_Event):
    """A well-formed event of a type the bot does not know: recorded, never delivered (but
    the canary's, `CANARY_EVENT`)."""

    data: Annotated[dict[str, Any], AfterValidator(clean_json)]

    @property
    def object_id(self) -> str | None:
        return _id_or_none(self.data.get("id"))

    @property
    def dedupe_key(self) -> str:
        identity = self.object_id
        return (
            f"{self.event}:{identity}" if identity else f"{self.event}:data:{self._content_hash()}"
        )

    @property
    def ordering_key(self) -> str:
        return f"{self.event}:{self.object_id or ''}"

    @property
    def delivered(self) -> bool:
        return self.event == CANARY_EVENT


def conversation_key(line: str | None, customer: str | None) -> str:
    """The key of the SMS conversation between our `line` and the `customer`."""
    return f"{line or ''}|{customer or ''}"


_FAMILIES = {
    **dict.fromkeys(CALL_EVENTS, "call"),
    **dict.fromkeys(VOICEMAIL_EVENTS, "voicemail"),
    **dict.fromkeys(SMS_EVENTS, "sms"),
    **dict.fromkeys(CONTACT_EVENTS, "contact"),
}


def _family(envelope: Any) -> str:
    event = envelope.get("event") if isinstance(envelope, dict) else envelope.event
    return _FAMILIES.get(str(event), "unknown")


KnownEvent = CallEvent | VoicemailEvent | SmsEvent | ContactEvent
QTvoiceEvent = Annotated[
    Annotated[CallEvent, Tag("call")]
    | Annotated[VoicemailEvent, Tag("voicemail")]
    | Annotated[SmsEvent, Tag("sms")]
    | Annotated[ContactEvent, Tag("contact")]
    | Annotated[UnknownEvent, Tag("unknown")],
    Discriminator(_family),
]
_EVENTS: TypeAdapter[KnownEvent | UnknownEvent] = TypeAdapter(QTvoiceEvent)


# Reading

# What `EventRefused.kind` says: the few ways a body can be beyond reading.
_NOT_JSON = "not a JSON object"
_TOO_DEEP = "JSON nested too deeply"
_NUMBER = "a number JSON cannot hold"
_NO_EVENT = "no `event` string"
_BAD_EVENT = "unusable `event` name"
_NO_DATA = "no `data` object"
_BAD_ID = "unusable `data.id`"
_UNREADABLE = "unreadable fields"


def parse_webhook(body: bytes, *, default_region: str = "US") -> KnownEvent | UnknownEvent:
    """The typed event in a webhook body; EventRefused with the reason when there is none.

    Refused: bytes that are not a JSON object, non-finite numbers (`NaN`, `Infinity`,
    `1e400`), nesting deeper than NESTING_LIMIT, no `event` string (or one longer than
    EVENT_NAME_LIMIT or with control characters), no `data` object, and a known event
    whose `data.id` is unusable (see `clean_id`).
    """
    try:
        envelope = json.loads(body, parse_constant=_non_finite, parse_float=_finite_float)
    except _NonFinite as problem:
        raise EventRefused(f"Body has a number JSON cannot hold: {problem}", _NUMBER) from None
    except (UnicodeDecodeError, ValueError):
        raise EventRefused("Body is not JSON", _NOT_JSON) from None
    except RecursionError:
        raise EventRefused("Body is nested too deeply", _TOO_DEEP) from None
    if not isinstance(envelope, dict):
        raise EventRefused("Body is not a JSON object", _NOT_JSON)
    if _depth(envelope) > NESTING_LIMIT:
        raise EventRefused(f"Body is nested more than {NESTING_LIMIT} levels deep", _TOO_DEEP)
    return parse_envelope(envelope, default_region=default_region)


def parse_envelope(
    envelope: dict[str, Any], *, default_region: str = "US"
) -> KnownEvent | UnknownEvent:
    """The typed event of a parsed envelope `{"event", "timestamp", "data"}` (see above)."""
    event, data = envelope.get("event"), envelope.get("data")
    if not isinstance(event, str) or not event.strip():
        raise EventRefused("Body has no `event` string", _NO_EVENT)
    name = event.strip()
    if len(name) > EVENT_NAME_LIMIT:
        raise EventRefused(f"`event` is longer than {EVENT_NAME_LIMIT} characters", _BAD_EVENT)
    if not name.isprintable():
        raise EventRefused("`event` has control characters or invalid Unicode", _BAD_EVENT)
    if not isinstance(data, dict):
        raise EventRefused("Body has no `data` object", _NO_DATA)
    if name in KNOWN_EVENTS:
        try:
            clean_id(data.get("id"))
        except ValueError as problem:
            raise EventRefused(f"`data.id` {problem}", _BAD_ID) from None
    typed = {"event": name, "timestamp": envelope.get("timestamp"), "data": data}
    try:
        return _EVENTS.validate_python(typed, context={"region": default_region})
    except ValidationError as error:
        # Every field but `id` reads as absent when unusable; this is a last line of defence.
        fields = ", ".join(".".join(map(str, item["loc"][1:])) for item in error.errors())
        raise EventRefused(f"Unreadable fields: {fields}"[:200], _UNREADABLE) from None


def load_stored(payload: dict[str, Any]) -> KnownEvent | UnknownEvent:
    """The typed event from the inbox's stored JSON (what `canonical()` gave)."""
    return _EVENTS.validate_python(payload)


class _NonFinite(ValueError):
    """NaN, Infinity or a number beyond a double's range: no column or Slack field holds it."""


def _non_finite(constant: str) -> Any:
    raise _NonFinite(constant)


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise _NonFinite(f"{text[:20]} is out of range")
    return number


def _depth(value: Any) -> int:
    """How deeply lists and objects nest in `value`, without recursion."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level > NESTING_LIMIT:
                return level
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, level + 1) for child in children)
    return deepest
