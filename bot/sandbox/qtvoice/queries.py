"""Reading a request's parameters as QTvoice does, and the filters and pages its lists share.

A parameter that cannot be read is the caller's bug, so every reader here raises a 400
`ApiError` that says which parameter and why.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from bot.sandbox.qtvoice.errors import ApiError

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100

DIRECTIONS = ("inbound", "outbound")
CONTACT_FIELDS = ("first_name", "last_name", "company", "email", "phone", "notes")

E164 = re.compile(r"\+[1-9]\d{6,14}")

# --- phone numbers ---------------------------------------------------------------------


def phone_digits(number: str) -> str:
    """The digits of a number, a 10-digit one read as North American (`1` prepended).

    So `+1 (215) 555-1234`, `2155551234` and `+12155551234` all compare equal, which is
    what a screen pop needs whichever way the number was typed.
    """
    digits = only_digits(number)
    return f"1{digits}" if len(digits) == 10 else digits


def only_digits(number: str) -> str:
    return "".join(character for character in number if character.isdigit())


def same_number(stored: str | None, digits: str) -> bool:
    return stored is not None and phone_digits(stored) == digits


# --- query parameters ------------------------------------------------------------------


def _page_and_limit(query: dict[str, str]) -> tuple[int, int]:
    page = _positive_int(query, "page", 1)
    return page, min(_positive_int(query, "limit", DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE)


def _positive_int(query: dict[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ApiError(400, f"{name} must be a positive integer")
    return int(raw)


def choice_param(query: dict[str, str], name: str, allowed: Iterable[str]) -> str | None:
    value = query.get(name)
    if value is not None and value not in allowed:
        raise ApiError(400, f"{name} must be one of: {', '.join(allowed)}")
    return value


def date_param(query: dict[str, str], name: str) -> datetime | None:
    raw = query.get(name)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be an ISO 8601 date or date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def boolean_param(query: dict[str, str], name: str) -> bool | None:
    raw = query.get(name)
    if raw is None:
        return None
    if raw.lower() in {"true", "1"}:
        return True
    if raw.lower() in {"false", "0"}:
        return False
    raise ApiError(400, f"{name} must be true or false")


def phone_param(query: dict[str, str], name: str) -> str | None:
    """The digits of a phone-number filter (see `phone_digits`)."""
    raw = query.get(name)
    if raw is None:
        return None
    digits = phone_digits(raw)
    if not digits:
        raise ApiError(400, f"{name} must be a phone number")
    return digits


# --- body fields -----------------------------------------------------------------------


def optional_string(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"{name} must be a string")
    return value


def required_string(body: dict[str, Any], name: str) -> str:
    value = optional_string(body, name)
    if value is None:
        raise ApiError(400, f"{name} is required")
    return value


def optional_phone(body: dict[str, Any], name: str) -> str | None:
    value = optional_string(body, name)
    return None if value is None else _e164(value, name)


def required_phone(body: dict[str, Any], name: str) -> str:
    return _e164(required_string(body, name), name)


def _e164(value: str, name: str) -> str:
    """QTvoice dials and texts E.164 only; anything else is the caller's bug, so a 400."""
    if not E164.fullmatch(value):
        raise ApiError(400, f"{name} must be an E.164 phone number such as +12155551234")
    return value


def contact_fields(body: dict[str, Any]) -> dict[str, str | None]:
    """The contact fields present in a request body, each a string or null."""
    fields: dict[str, str | None] = {}
    for name in CONTACT_FIELDS:
        if name in body:
            fields[name] = (
                optional_phone(body, name) if name == "phone" else optional_string(body, name)
            )
    return fields


# --- filtering and paging --------------------------------------------------------------

Predicate = Callable[[dict[str, Any]], bool]


def field_is(key: str, value: object) -> Predicate:
    return lambda item: item.get(key) == value


def number_is(key: str, digits: str) -> Predicate:
    return lambda item: same_number(item.get(key), digits)


def created_between(start: datetime | None, end: datetime | None) -> Predicate:
    def within(item: dict[str, Any]) -> bool:
        created = datetime.fromisoformat(item["createdAt"])
        return (start is None or created >= start) and (end is None or created <= end)

    return within


def direction_and_numbers(query: dict[str, str]) -> list[Predicate]:
    """The `direction`, `from` and `to` filters that calls and texts share."""
    predicates: list[Predicate] = []
    direction = choice_param(query, "direction", DIRECTIONS)
    if direction:
        predicates.append(field_is("direction", direction))
    for end in ("from", "to"):
        digits = phone_param(query, end)
        if digits:
            predicates.append(number_is(end, digits))
    return predicates


def searchable_text(contact: dict[str, Any]) -> str:
    """Name, company and email in one lowercase string, so "john doe" matches the full name."""
    parts = (contact.get(name) for name in ("first_name", "last_name", "company", "email"))
    return " ".join(part for part in parts if part).lower()


def select(items: list[dict[str, Any]], predicates: list[Predicate]) -> list[dict[str, Any]]:
    return [item for item in items if all(predicate(item) for predicate in predicates)]


def newest_first(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Every createdAt is written by iso_timestamp, so the strings sort as the instants do.
    return sorted(items, key=lambda item: item["createdAt"], reverse=True)


def page_of(items: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
    page, limit = _page_and_limit(query)
    start = (page - 1) * limit
    return {
        "data": items[start : start + limit],
        "pagination": {
            "page": page,
            "limit": limit,
            "total": len(items),
            "totalPages": math.ceil(len(items) / limit),
        },
    }
