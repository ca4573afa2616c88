"""The scrubber every log line and stored failure reason goes through (bot/logs.py)."""

from __future__ import annotations

import logging
import sys

import phonenumbers
from hypothesis import given
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat

from bot.logs import REDACTED, Scrubber, ScrubRecords

SECRET = "whsec_live_0123456789"
FORMATS = [PhoneNumberFormat.E164, PhoneNumberFormat.NATIONAL, PhoneNumberFormat.INTERNATIONAL]
#: Text around a number in a log line: words, punctuation, quotes, JSON, SQL parameters.
SURROUNDINGS = st.text(alphabet=st.sampled_from(list("abc XYZ:=,'\"[]{}()/_-\n")), max_size=20)


def national_digits(number: phonenumbers.PhoneNumber) -> str:
    return str(number.national_number)


@given(
    region=st.sampled_from(["US", "GB", "DE", "FR", "AU", "BR", "IN", "JP"]),
    kind=st.sampled_from(
        [phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]
    ),
    style=st.sampled_from(FORMATS),
    before=SURROUNDINGS,
    after=SURROUNDINGS,
)
def test_no_full_number_survives_whatever_surrounds_it(
    region: str, kind: int, style: int, before: str, after: str
) -> None:
    number = phonenumbers.example_number_for_type(region, kind)
    written = phonenumbers.format_number(number, style)

    scrubbed = Scrubber(mask_numbers=True)(f"{before}{written}{after}")

    digits = "".join(char for char in scrubbed if char.isdigit())
    assert national_digits(number) not in digits
    assert written not in scrubbed
    assert national_digits(number)[-4:] in digits  # still known by its last four digits


def test_numbers_are_left_alone_without_mask_numbers() -> None:
    assert Scrubber()("from +12155551234") == "from +12155551234"


def test_slack_timestamps_ids_and_counts_are_not_numbers() -> None:
    line = "delivery 42 ts=1700000000.000100 call_abc123 took 1.25 s, 3 of 20 at 10:38:38"
    assert Scrubber(mask_numbers=True)(line) == line


def test_secrets_and_slack_tokens_are_redacted() -> None:
    scrub = Scrubber([SECRET, "short"])
    line = f"secret={SECRET} token=xoxb-1234-5678-abcdefghijkl app=xapp-1-A0-123-abcdef0123"
    assert scrub(line) == f"secret={REDACTED} token={REDACTED} app={REDACTED}"
    assert scrub("a short word") == "a short word"


def test_a_record_is_scrubbed_in_its_arguments_and_traceback() -> None:
    records = ScrubRecords(Scrubber([SECRET], mask_numbers=True))
    try:
        raise ValueError(f"input_value='+12155551234' key={SECRET}")
    except ValueError:
        record = logging.LogRecord(
            "bot", logging.ERROR, __file__, 1, "texting %s failed", ("(215) 555-1234",), None
        )

        record.exc_info = sys.exc_info()
    records.filter(record)
    text = logging.Formatter().format(record)

    assert "texting (•••) •••-1234 failed" in text
    assert "(215) 555-1234" not in text
    assert "2155551234" not in text
    assert SECRET not in text
