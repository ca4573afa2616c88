"""Reading what people type into Slack (`bot.slack.parsing`): pure, so pinned without a server."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.qtvoice.models import Extension
from bot.slack.parsing import (
    around_channel,
    extension_phone,
    find_extension,
    leading_mention,
    plain_text,
    split_first,
    target_and_text,
)


def slack_escaped(text: str) -> str:
    """What Slack sends for `text` typed by a person (no links or mentions in it)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# plain_text


@given(st.text())
def test_plain_text_gives_back_exactly_what_was_typed(typed: str) -> None:
    assert plain_text(slack_escaped(typed)) == typed


def test_plain_text_keeps_a_typed_entity_as_typed() -> None:
    assert plain_text(slack_escaped("a &lt; b")) == "a &lt; b"


def test_plain_text_shows_links_by_label_else_by_address() -> None:
    assert plain_text("see <https://example.com|our site>") == "see our site"
    assert plain_text("see <https://example.com>") == "see https://example.com"
    assert plain_text("mail <mailto:jo@example.com>") == "mail jo@example.com"


def test_plain_text_shows_mentions_and_broadcasts_by_name() -> None:
    assert plain_text("<@U123|jane> in <#C123|sales>") == "@jane in #sales"
    assert plain_text("<@U123>") == "@U123"
    assert plain_text("<!here> and <!subteam^S1|@support>") == "@here and @support"


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
