"""The shapes QTvoice's API answers with: resources and pages of them.

Webhook events are parsed by `bot.qtvoice.events`, whose event data extend these models.

The API document shows camelCase (`callSid`, `createdAt`) in some places and snake_case
(`first_name`, `recent_calls`) in others, and is silent on most webhook `data`. So every
model accepts both spellings of every key, treats every field but `id` as optional, and
keeps unknown fields (`model.model_extra`) instead of failing on them. A field QTvoice
sends in a shape we cannot read (a timestamp we cannot parse, a fractional duration) becomes
`None` rather than rejecting the whole object: a missed-call notification without a time is
better than none.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic.alias_generators import to_camel


def _none_when_invalid(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """Validate as usual, but read an empty or unreadable value as absent."""
    if value == "":
        return None
    try:
        return handler(value)
    except ValidationError:
        return None


Lenient = WrapValidator(_none_when_invalid)


#: The times an event may carry: from the unix epoch (QTvoice is younger) to the start of the
#: year 9999, so that every time zone can show one and a deadline counted from one is a date
#: too. A time outside (`0001-01-01T00:00:00Z`, Go's and .NET's empty date, is before year 1
#: west of UTC; `9999-12-31T23:59:59-01:00` after 9999 in UTC) is read as absent.
EARLIEST_MOMENT = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_MOMENT = datetime(9999, 1, 1, tzinfo=UTC)


def read_moment(value: object) -> datetime | None:
    """ISO 8601 with or without a zone (naive is UTC), or unix seconds, between
    EARLIEST_MOMENT and LATEST_MOMENT; anything else (no calendar holds it) is absent."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not (text.isdecimal() and len(text) < 12):
            try:
                moment = datetime.fromisoformat(text)
                moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
            except (ValueError, OverflowError):
                return None
            return moment if EARLIEST_MOMENT <= moment < LATEST_MOMENT else None
        value = int(text)
    # An int compares exactly with a float of any size; only a float can be NaN.
    if not isinstance(value, int | float) or value != value:
        return None
    if EARLIEST_MOMENT.timestamp() <= value < LATEST_MOMENT.timestamp():
        return datetime.fromtimestamp(value, UTC)
    return None


#: A time as QTvoice sends it, or None (see `read_moment`).
Moment = Annotated[datetime | None, BeforeValidator(read_moment)]
LenientInt = Annotated[int | None, Lenient]
LenientBool = Annotated[bool | None, Lenient]


class QTvoiceModel(BaseModel):
    """Base for every QTvoice shape: both key spellings, unknown keys kept, numbers as text.

    `coerce_numbers_to_str` lets a phone number or id that arrives as a JSON number still
    read as the string every caller expects.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        extra="allow",
        coerce_numbers_to_str=True,
    )


class Call(QTvoiceModel):
    id: str
    call_sid: str | None = None
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    direction: str | None = None
    status: str | None = None
    duration: LenientInt = None
    recording_url: str | None = None
    created_at: Moment = None
    answered_at: Moment = None
    ended_at: Moment = None
    extension_id: str | None = None
    voicemail_id: str | None = None

    @property
    def is_missed(self) -> bool:
        """Whether this is a missed call: an inbound call nobody answered.

        QTvoice's status `missed` alone also marks an outbound call the other end did not
        answer: nobody's missed call, and its "caller" is our own line. A call without a
        direction is inbound, as in its events.
        """
        inbound = (self.direction or "inbound").lower() != "outbound"
        return inbound and (self.status or "").lower() == "missed"


class Voicemail(QTvoiceModel):
    id: str
    call_id: str | None = None
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    duration: LenientInt = None
    recording_url: str | None = None
    transcription: str | None = Field(
        default=None, validation_alias=AliasChoices("transcription", "transcript")
    )
    is_read: LenientBool = None
    created_at: Moment = None
    extension_id: str | None = None


class Sms(QTvoiceModel):
    id: str
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    message: str | None = Field(
        default=None, validation_alias=AliasChoices("message", "body", "text")
    )
    direction: str | None = None
    status: str | None = None
    created_at: Moment = None


SmsSent = Sms
"""What `POST /sms` answers: the message as QTvoice stored it."""


class Contact(QTvoiceModel):
    id: str
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    email: str | None = None
    phone: str | None = None
    notes: str | None = None

    @property
    def full_name(self) -> str | None:
        """First and last name, or a lone `name` QTvoice may send instead; None when nameless."""
        joined = " ".join(part.strip() for part in (self.first_name, self.last_name) if part)
        if joined.strip():
            return joined.strip()
        fallback = (self.model_extra or {}).get("name")
        if isinstance(fallback, str) and fallback.strip():
            return fallback.strip()
        return None


class ContactLookup(QTvoiceModel):
    found: bool = False
    contact: Contact | None = None
    recent_calls: list[Call] = Field(default_factory=list)


class Extension(QTvoiceModel):
    """An extension; the API document never shows one, so its number is read from any of
    the keys it could plausibly sit under."""

    id: str
    number: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "number",
            "extension",
            "extensionNumber",
            "extension_number",
            "phone",
            "phoneNumber",
            "phone_number",
        ),
    )
    name: str | None = None
    email: str | None = None


class Pagination(QTvoiceModel):
    page: LenientInt = None
    limit: LenientInt = None
    total: LenientInt = None
    total_pages: LenientInt = None


ItemT = TypeVar("ItemT", bound=QTvoiceModel)


class Page(QTvoiceModel, Generic[ItemT]):
    """One page of a list endpoint: `data` plus the `pagination` block."""

    data: list[ItemT] = Field(default_factory=list)
    pagination: Pagination = Field(default_factory=Pagination)

    @property
    def has_next(self) -> bool:
        """Whether another page follows this one.

        `totalPages` decides when QTvoice sends it; without it, a full page suggests more.
        An empty page always ends the walk so a misreported total cannot loop forever.
        """
        if not self.data:
            return False
        page, pages = self.pagination.page, self.pagination.total_pages
        if page is not None and pages is not None:
            return page < pages
        limit = self.pagination.limit
        return limit is not None and len(self.data) >= limit


class CallInitiated(QTvoiceModel):
    id: str
    status: str | None = None
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    message: str | None = None
