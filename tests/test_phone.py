"""Numbers as people type them become E.164; numbers are shown, masked and compared sensibly."""

from __future__ import annotations

import pytest

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
