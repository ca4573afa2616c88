"""Phone numbers written inside free text: an SMS, a voicemail's transcript.

"Call me back on my cell, 215 555 0199" holds a number a person wants dialled; the same
text may hold a date ("on 01/02/2023"), a time or an amount ("$1,250.00") that must not
become a button. `phonenumbers.PhoneNumberMatcher` (libphonenumber's own finder) does the
reading: with `Leniency.VALID` it keeps only numbers valid for their region and already
skips what libphonenumber recognises as dates, times and publication pages. What it does
not skip, digits that are an amount (`$2155550100`, `2155550100.00`), is left out here by
looking at the characters around the match.

Pure, like `bot.phone`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import phonenumbers
from phonenumbers import Leniency, PhoneNumberFormat

from bot import phone

#: The most numbers a message offers buttons for (the contract's "at most three").
MOST_OFFERED = 3
#: Longer texts are cut before matching: libphonenumber's matcher is linear but not cheap,
#: and a transcript is at most a few thousand characters (`events.LONG_TEXT_LIMIT`).
LONGEST_TEXT = 8000
#: libphonenumber's own cap on how many candidates it tries in one text.
MAX_TRIES = 64

_CURRENCY = frozenset("$€£¥₹¢")


@dataclass(frozen=True)
class FoundNumber:
    """A number in a text: where (`start`, `end`: character offsets) and its E.164 form."""

    start: int
    end: int
    e164: str


def numbers_in(text: str, default_region: str) -> Iterator[FoundNumber]:
    """Every valid phone number written in `text`, in order, read as it is consumed (so a
    caller who needs only the first few stops there); dates, times and amounts skipped.

    A number without a country code is read as one of `default_region` (`DEFAULT_REGION`).
    """
    text = text[:LONGEST_TEXT]
    matcher = phonenumbers.PhoneNumberMatcher(
        text, default_region, leniency=Leniency.VALID, max_tries=MAX_TRIES
    )
    for match in matcher:
        if not _is_amount(text, match.start, match.end):
            e164 = phonenumbers.format_number(match.number, PhoneNumberFormat.E164)
            yield FoundNumber(match.start, match.end, e164)


def offered(text: str | None, default_region: str, *, besides: str | None = None) -> list[str]:
    """The numbers of `text` that get Call and Text buttons: at most `MOST_OFFERED`, each
    once, in the order written, never `besides` (the caller's own number, which the
    message's own buttons already dial)."""
    chosen: list[str] = []
    for number in numbers_in(text or "", default_region):
        if number.e164 != besides and number.e164 not in chosen:
            chosen.append(number.e164)
        if len(chosen) == MOST_OFFERED:
            break
    return chosen


def masked(text: str, default_region: str) -> str:
    """`text` with every number in it masked like a caller's number (`phone.mask`), for
    `MASK_NUMBERS`: a caller who says their number in a voicemail is not shown whole."""
    if not any(char.isdigit() for char in text):
        return text
    pieces, last = [], 0
    for number in numbers_in(text, default_region):
        pieces.append(text[last : number.start])
        pieces.append(phone.mask(number.e164))
        last = number.end
    pieces.append(text[last:])
    return "".join(pieces)


def _is_amount(text: str, start: int, end: int) -> bool:
    """Digits right after a currency sign, or followed by decimals ("2155550100.00")."""
    before = text[:start].rstrip()
    if before and before[-1] in _CURRENCY:
        return True
    after = text[end : end + 2]
    return len(after) == 2 and after[0] in ".," and after[1].isdigit()
