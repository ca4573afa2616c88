"""Reading what people type into Slack (`bot.slack.parsing`): pure, so pinned without a server."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot import phone
from bot.qtvoice.models import Extension
from bot.slack.parsing import (
    ambiguous_readings,
    around_channel,
    extension_phone,
    find_extension,
    leading_mention,
    number_readings,
    split_first,
    target_and_text,
)

# split_first, leading_mention, around_channel


def test_split_first_keeps_the_rests_own_spacing() -> None:
    assert split_first("  sms  +12155551234 line one\n line two") == (
        "sms",
        "+12155551234 line one\n line two",
    )
    assert split_first("   ") == ("", "")


def test_leading_mention_reads_the_user_id_and_the_rest() -> None:
    assert leading_mention(" <@U0ADMIN|boss> 101") == ("U0ADMIN", " 101")
    assert leading_mention("101 <@U0ADMIN>") == (None, "101 <@U0ADMIN>")


def test_around_channel_splits_at_the_channel_mention() -> None:
    assert around_channel("101 <#C0SALES|sales> sms") == ("101 ", "C0SALES", " sms")
    assert around_channel("101 #sales") == ("101 #sales", None, "")


# target_and_text


def test_a_number_typed_with_spaces_is_read_whole() -> None:
    assert target_and_text("215 555 1234 On my way", "US") == ("215 555 1234", "On my way")


def test_a_quoted_name_may_hold_spaces_in_straight_or_curly_quotes() -> None:
    assert target_and_text('"Jane Roe" On my way', "US") == ("Jane Roe", "On my way")
    assert target_and_text("\u201cJane Roe\u201d On my way", "US") == ("Jane Roe", "On my way")


def test_a_name_ended_by_a_colon_may_hold_spaces() -> None:
    assert target_and_text("Jane Roe: On my way", "US") == ("Jane Roe", "On my way")


def test_a_blank_before_a_colon_is_no_name() -> None:
    assert target_and_text(" : hi", "US") == (":", "hi")


def test_a_single_word_name_needs_no_quotes() -> None:
    assert target_and_text("Jane On my way", "US") == ("Jane", "On my way")


def test_the_texts_own_line_breaks_are_kept() -> None:
    assert target_and_text("2155551234 one\n\ntwo", "US") == ("2155551234", "one\n\ntwo")


@given(st.text())
def test_target_and_text_reads_any_text_without_failing(typed: str) -> None:
    target, text = target_and_text(typed, "US")
    assert target.strip() == target
    assert len(target) + len(text) <= len(typed)


# find_extension, extension_phone

ALICE = Extension.model_validate(
    {"id": "ext_101", "number": "101", "name": "Alice", "phoneNumber": "+1 215-555-0101"}
)
BOB = Extension.model_validate({"id": "ext_102", "number": "102", "name": "Bob"})


def test_find_extension_by_id_number_or_phone_line() -> None:
    assert find_extension([ALICE, BOB], "EXT_102", "US") == BOB
    assert find_extension([ALICE, BOB], "101", "US") == ALICE
    assert find_extension([ALICE, BOB], "(215) 555-0101", "US") == ALICE


def test_find_extension_is_none_for_an_unknown_one() -> None:
    assert find_extension([ALICE, BOB], "103", "US") is None
    assert find_extension([ALICE, BOB], "carol", "US") is None


def test_extension_phone_reads_either_key_style_in_e164() -> None:
    assert extension_phone(ALICE, "US") == "+12155550101"
    assert extension_phone(BOB, "US") is None


# number_readings, ambiguous_readings: a number and the words after it (issue 20, item 3)


def test_trailing_digits_that_extend_a_german_number_give_two_readings() -> None:
    assert ambiguous_readings("+49 30 1234567 20 Minuten später", "US") == [
        ("+49 30 1234567 20", "Minuten später"),
        ("+49 30 1234567", "20 Minuten später"),
    ]


def test_a_number_that_reads_one_way_only_is_not_asked_about() -> None:
    assert ambiguous_readings("215 555 1234 20 minutes late", "US") == []


@given(
    country=st.sampled_from(["+49", "+43", "+1", "+44", "+39"]),
    groups=st.lists(st.from_regex(r"[0-9]{1,4}", fullmatch=True), min_size=2, max_size=6),
    words=st.sampled_from(["Minuten später", "ok", "20 min", "bis 5"]),
)
def test_leading_digits_are_never_guessed_when_they_read_as_two_numbers(
    country: str, groups: list[str], words: str
) -> None:
    typed = " ".join([country, *groups, words])

    readings = number_readings(typed, "US")
    with_text = [(number, text) for number, text in readings if text.strip()]
    asked = ambiguous_readings(typed, "US")

    for number, text in readings:
        assert phone.parse(number, "US") is not None
        assert f"{number} {text}".strip() == typed
    assert len({phone.parse(number, "US") for number, _ in readings}) == len(readings)
    assert asked == (with_text if len(with_text) > 1 else [])
    if not asked and with_text:
        assert target_and_text(typed, "US") in (readings[0], *with_text)
