"""Phone numbers as people type them, as QTvoice sends them and as Slack should show them.

Everything here is pure and built on `phonenumbers` (Google's libphonenumber metadata), so
"215-555-1234", "(215) 555 1234" and "tel:+1-215-555-1234" all become "+12155551234", and a
number is shown the way someone in `DEFAULT_REGION` would dial it. Being pure, the answers for
the numbers seen last are kept (`PARSE_CACHE_SIZE`): a burst of calls from one number, or to one
line, is parsed once, not a few times per event.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat

MASK_CHAR = "•"
#: Numbers `parse`, `display`, `mask` and `extension` each remember. libphonenumber takes a good fraction of a millisecond a number,
#: the largest part of the webhook door's own work; a business's lines are in every event, a
#: caller's number in each of their events, and the worker reads an event's numbers again
#: moments after the door did.
PARSE_CACHE_SIZE = 4096
VISIBLE_TAIL_DIGITS = 4

#: Dashes that are not Unicode dash punctuation (category Pd) but that libphonenumber reads as
#: one (its `_VALID_PUNCTUATION`): the minus sign and the katakana long vowel mark.
_OTHER_DASHES = "\u2212\u30fc"
_TEL_PREFIX = re.compile(r"^\s*tel:", re.IGNORECASE)
_PHONE_LIKE = re.compile(r"[\d\s+\-().]+")
#: An extension typed after a number: "x45", "ext. 45", "extension 45", or dialing pauses
#: (",,45#", ";45") as phones store them. libphonenumber reads the digits; this only spots them.
_EXTENSION_SUFFIX = re.compile(
    r"\s*(?:(?:x|ext\.?|extn\.?|extension)\s*|[,;]+\s*)\d{1,10}#?\s*$", re.IGNORECASE
)


def typed(text: str) -> str:
    """What a person typed or pasted, in the characters a number is read in.

    Unicode is normalised first (NFKC: fullwidth digits and plus signs, no-break and thin
    spaces), then every decimal digit of any script becomes its ASCII digit, every dash
    (Unicode's dash punctuation, and the other dashes libphonenumber accepts) a hyphen-minus,
    and every space separator a space: 215-555-0612 typed with non-breaking hyphens (U+2011),
    en dashes or fullwidth digits reads as "215-555-0612". Every other character is kept.
    """
    return "".join(_typed_char(char) for char in unicodedata.normalize("NFKC", text))


def _typed_char(char: str) -> str:
    if char.isascii():
        return char
    category = unicodedata.category(char)
    if category == "Nd":
        return str(unicodedata.digit(char))
    if category == "Pd" or char in _OTHER_DASHES:
        return "-"
    if category == "Zs":
        return " "
    return char


@functools.lru_cache(maxsize=PARSE_CACHE_SIZE)
def parse(text: str, default_region: str) -> str | None:
    """The E.164 form of a number a person typed, or None when it is not a valid number.

    An extension typed after it is dropped (see `extension`). A number without a country code is read as a number of `default_region` (ISO 3166
    alpha-2, e.g. "US"); "tel:" URIs and a trunk prefix ("12155551234") are understood, and so
    is any dash, space or digit a person pastes (see `typed`).
    """
    number = _parse_number(typed(text), default_region)
    if number is None or not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def is_phone_like(text: str) -> bool:
    """True when the text looks like an attempt at a number rather than a name.

    Used to decide whether `/call <something>` means a number to parse or words to search
    contacts for, so "john smith" is not phone-like while "215-555-1234" (even an invalid
    or short one such as an extension "101", or one with an extension: "215-555-1234 x45",
    "215-555-1234,,45#") is.
    """
    candidate = _EXTENSION_SUFFIX.sub("", _TEL_PREFIX.sub("", typed(text))).strip()
    return bool(_PHONE_LIKE.fullmatch(candidate)) and any(char.isdigit() for char in candidate)


@functools.lru_cache(maxsize=PARSE_CACHE_SIZE)
def extension(text: str, default_region: str) -> str | None:
    """The extension typed after a valid number ("215-555-0123 x45" gives "45"), else None.

    `parse` and `normalize` keep only the main number: QTvoice's calls and texts have no
    field for an extension, so whoever typed one must be told it is not dialled.
    """
    number = _parse_number(typed(text), default_region)
    if number is None or not phonenumbers.is_valid_number(number):
        return None
    return number.extension or None


@functools.lru_cache(maxsize=PARSE_CACHE_SIZE)
def display(e164: str, default_region: str) -> str:
    """The number as people in `default_region` read it; anything unparseable unchanged.

    A number sharing the default region's country code is shown in national format
    ("(215) 555-1234"; for the US this includes Canada, dialled the same way), any other
    in international format ("+44 20 7123 4567").
    """
    number = _parse_number(e164, default_region)
    if number is None or not phonenumbers.is_possible_number(number):
        return e164
    if number.country_code == phonenumbers.country_code_for_region(default_region):
        return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


@functools.lru_cache(maxsize=PARSE_CACHE_SIZE)
def mask(e164: str) -> str:
    """The number with every digit but the country code and the last four hidden.

    "+12155551234" becomes "+1 •••-•••-1234": the international layout is kept so the
    reader still sees which country and which line-ending it is. Text that is not a
    number keeps only its last four digits too.
    """
    number = _parse_number(e164, None)
    if number is None or not phonenumbers.is_possible_number(number):
        return _mask_digits(e164)
    international = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    country_prefix = f"+{number.country_code}"
    national_part = international.removeprefix(country_prefix)
    return country_prefix + _mask_digits(national_part)


def normalize(text: str, default_region: str) -> str:
    """A canonical key for storing and comparing numbers: E.164 when valid, else the digits.

    "+1 (215) 555-1234" and "2155551234" both give "+12155551234"; a short code such as
    "12345" gives "12345", so it still matches itself however it was punctuated.
    """
    e164 = parse(text, default_region)
    if e164 is not None:
        return e164
    return "".join(char for char in typed(text) if char.isdigit())


def _parse_number(text: str, default_region: str | None) -> PhoneNumber | None:
    try:
        return phonenumbers.parse(text, default_region)
    except NumberParseException:
        return None


def _mask_digits(text: str) -> str:
    """Replaces every digit of `text` but the last four, keeping the punctuation around them."""
    digits_to_hide = sum(char.isdigit() for char in text) - VISIBLE_TAIL_DIGITS
    masked: list[str] = []
    for char in text:
        if char.isdigit() and digits_to_hide > 0:
            masked.append(MASK_CHAR)
            digits_to_hide -= 1
        else:
            masked.append(char)
    return "".join(masked)
