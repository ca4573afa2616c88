"""Numbers as people type them become E.164; numbers are shown, masked and compared sensibly."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import phone


@pytest.mark.parametrize(
    "typed",
    [
        "215-555-1234",
        "(215) 555 1234",
        "215.555.1234",
        "+1 (215) 555-1234",
        "12155551234",
        "1-215-555-1234",
        "tel:+1-215-555-1234",
        "TEL:+12155551234",
        "  2155551234  ",
    ],
)
def test_parse_reads_what_people_type_as_e164(typed: str) -> None:
    assert phone.parse(typed, "US") == "+12155551234"


def test_parse_keeps_a_foreign_country_code() -> None:
    assert phone.parse("+44 20 7123 4567", "US") == "+442071234567"


def test_parse_reads_a_number_without_country_code_in_the_default_region() -> None:
    assert phone.parse("020 7123 4567", "GB") == "+442071234567"


@pytest.mark.parametrize(
    "typed", ["", "john smith", "555-1234", "12345", "+1 215 555", "+44 20 7123 4567 8901 2"]
)
def test_parse_refuses_what_is_not_a_valid_number(typed: str) -> None:
    assert phone.parse(typed, "US") is None


@pytest.mark.parametrize(
    "text", ["215-555-1234", "(215) 555 1234", "+44 20 7123 4567", "tel:+12155551234", "101"]
)
def test_is_phone_like_recognises_numbers(text: str) -> None:
    assert phone.is_phone_like(text)


@pytest.mark.parametrize("text", ["john smith", "Acme Inc", "", "  ", "+-()", "john 2"])
def test_is_phone_like_rejects_words(text: str) -> None:
    assert not phone.is_phone_like(text)


def test_display_uses_national_format_in_the_default_region() -> None:
    assert phone.display("+12155551234", "US") == "(215) 555-1234"


def test_display_uses_national_format_for_a_region_sharing_the_country_code() -> None:
    assert phone.display("+14165551234", "US") == "(416) 555-1234"


def test_display_uses_international_format_for_other_countries() -> None:
    assert phone.display("+442071234567", "US") == "+44 20 7123 4567"


def test_display_follows_the_default_region() -> None:
    assert phone.display("+442071234567", "GB") == "020 7123 4567"


@pytest.mark.parametrize("text", ["anonymous", "", "+", "Restricted"])
def test_display_returns_unparseable_input_unchanged(text: str) -> None:
    assert phone.display(text, "US") == text


def test_mask_keeps_country_code_and_last_four_digits() -> None:
    assert phone.mask("+12155551234") == "+1 •••-•••-1234"


def test_mask_keeps_the_international_layout_of_foreign_numbers() -> None:
    assert phone.mask("+442071234567") == "+44 •• •••• 4567"


def test_mask_hides_all_but_the_last_four_digits_of_anything_else() -> None:
    assert phone.mask("2155551234") == "••••••1234"


def test_mask_leaves_text_without_digits_alone() -> None:
    assert phone.mask("anonymous") == "anonymous"


def test_normalize_makes_spellings_of_one_number_equal() -> None:
    assert phone.normalize("+1 (215) 555-1234", "US") == phone.normalize("2155551234", "US")


def test_normalize_gives_e164_for_a_valid_number() -> None:
    assert phone.normalize("(215) 555-1234", "US") == "+12155551234"


def test_normalize_falls_back_to_the_digits() -> None:
    assert phone.normalize("12-345", "US") == "12345"


# Numbers as people paste them (issue 20, item 2): every dash and digit libphonenumber reads.

#: The dashes libphonenumber accepts between digits (its `_VALID_PUNCTUATION`: U+2010 to U+2015,
#: the minus sign, the katakana long vowel mark, fullwidth and ASCII hyphen-minus), and the
#: spaces people paste (no-break, narrow and thin spaces, the ideographic space).
PASTED_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff0d"
PASTED_SPACES = " \u00a0\u2009\u202f\u3000"
#: Every decimal digit Unicode has: libphonenumber reads each as the digit it stands for.
UNICODE_DIGITS = [chr(code) for code in range(0x110000) if unicodedata.category(chr(code)) == "Nd"]


@st.composite
def pasted_numbers(draw: st.DrawFn) -> tuple[str, str]:
    """A US number as someone might paste it, and its E.164 form."""
    area = draw(st.sampled_from(["215", "312", "415", "646"]))
    national = area + "555" + draw(st.from_regex(r"01[0-9]{2}", fullmatch=True))
    digit_forms = draw(st.sampled_from(["0123456789", *_scripts()]))
    spelled = "".join(digit_forms[int(digit)] for digit in national)
    separator = draw(st.sampled_from(list(PASTED_DASHES + PASTED_SPACES)))
    groups = [spelled[:3], spelled[3:6], spelled[6:]]
    typed = separator.join(groups)
    prefix = draw(st.sampled_from(["", "tel:", "TEL:", "+1 ", "\uff0b1 ", "tel:+1-"]))
    return prefix + typed, "+1" + national


def _scripts() -> list[str]:
    """Each run of ten Unicode digits zero to nine (Arabic-Indic, Devanagari, fullwidth, …)."""
    return [
        "".join(UNICODE_DIGITS[start : start + 10])
        for start in range(0, len(UNICODE_DIGITS), 10)
        if [unicodedata.digit(char) for char in UNICODE_DIGITS[start : start + 10]]
        == list(range(10))
    ]


@given(pasted_numbers())
def test_a_pasted_number_in_any_dash_and_digit_form_is_read_as_that_number(
    pasted: tuple[str, str],
) -> None:
    typed, e164 = pasted

    assert phone.is_phone_like(typed)
    assert phone.parse(typed, "US") == e164
    assert phone.normalize(typed, "US") == e164


@pytest.mark.parametrize(
    "typed",
    [
        "215\u2011555\u20110612",
        "\uff12\uff11\uff15\uff0d\uff15\uff15\uff15\uff0d\uff10\uff16\uff11\uff12",
    ],
)
def test_a_pasted_extension_number_reads_as_digits(typed: str) -> None:
    assert phone.typed(typed) == "215-555-0612"
