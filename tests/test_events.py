"""What the bot knows about an event without any I/O: its identity, its order, its keyword.

Covers `bot.delivery.events` (dedupe, ordering and voicemail keys), the opt-out keywords of
`bot.delivery.notifier.opt_keyword` and the retry spacing of `bot.delivery.inbox.backoff`.
"""

from __future__ import annotations

import pytest

from bot.delivery.events import (
    conversation_key,
    dedupe_key,
    field,
    ordering_key,
    sms_parties,
    voicemail_key,
)
from bot.delivery.inbox import backoff
from bot.delivery.notifier import opt_keyword

BODY_HASH = "ab" * 32
LINE, CUSTOMER = "+12155550100", "+12155551234"

# Reading fields in either key style


def test_field_reads_camel_case_and_snake_case_alike() -> None:
    assert field({"callId": "call_1"}, "callId") == "call_1"
    assert field({"call_id": "call_1"}, "callId") == "call_1"


def test_field_skips_empty_values_for_the_next_candidate() -> None:
    data = {"message": "", "body": None, "text": "Hi"}
    assert field(data, "message", "body", "text") == "Hi"


def test_field_is_none_when_no_candidate_is_present() -> None:
    assert field({"other": 1}, "message", "body") is None


# Dedupe keys


def test_dedupe_key_is_the_event_and_the_object_it_is_about() -> None:
    assert dedupe_key("call.missed", {"id": "call_1"}, BODY_HASH) == "call.missed:call_1"


def test_same_object_under_another_body_has_the_same_dedupe_key() -> None:
    first = dedupe_key("sms.received", {"id": "sms_1", "message": "Hi"}, "1" * 64)
    again = dedupe_key("sms.received", {"id": "sms_1", "message": "Hi!"}, "2" * 64)
    assert first == again


def test_different_events_about_one_object_have_different_dedupe_keys() -> None:
    data = {"id": "sms_1"}
    assert dedupe_key("sms.sent", data, BODY_HASH) != dedupe_key("sms.delivered", data, BODY_HASH)


def test_each_contact_update_has_its_own_dedupe_key() -> None:
    monday = {"id": "contact_1", "updatedAt": "2024-01-15T10:30:00Z"}
    tuesday = {"id": "contact_1", "updated_at": "2024-01-16T10:30:00Z"}

    assert dedupe_key("contact.updated", monday, BODY_HASH) != dedupe_key(
        "contact.updated", tuesday, BODY_HASH
    )


def test_contact_update_without_a_time_is_keyed_on_its_body() -> None:
    key = dedupe_key("contact.updated", {"id": "contact_1"}, BODY_HASH)
    assert key == f"contact.updated:contact_1:{BODY_HASH}"


def test_event_without_an_id_is_keyed_on_its_signed_body() -> None:
    assert dedupe_key("call.missed", {}, BODY_HASH) == f"call.missed:body:{BODY_HASH}"


# Voicemail keys


def test_call_voicemail_is_keyed_on_its_call() -> None:
    data = {"id": "call_1", "voicemailId": "vm_1"}
    assert voicemail_key("call.voicemail", data) == "call_1"


@pytest.mark.parametrize("event", ["voicemail.new", "voicemail.transcribed"])
@pytest.mark.parametrize("call_key", ["callId", "call_id"])
def test_voicemail_events_are_keyed_on_their_call(event: str, call_key: str) -> None:
    assert voicemail_key(event, {"id": "vm_1", call_key: "call_1"}) == "call_1"


def test_voicemail_without_a_call_is_keyed_on_its_own_id() -> None:
    assert voicemail_key("voicemail.new", {"id": "vm_1"}) == "vm:vm_1"


def test_voicemail_without_any_id_has_no_key() -> None:
    assert voicemail_key("voicemail.new", {}) is None


# Ordering keys


def test_all_three_voicemail_events_share_one_ordering_key() -> None:
    keys = {
        ordering_key("call.voicemail", {"id": "call_1", "voicemailId": "vm_1"}),
        ordering_key("voicemail.new", {"id": "vm_1", "callId": "call_1"}),
        ordering_key("voicemail.transcribed", {"id": "vm_1", "call_id": "call_1"}),
    }
    assert keys == {"voicemail:call_1"}


def test_a_calls_live_events_share_one_ordering_key() -> None:
    keys = {
        ordering_key(event, {"id": "call_1"})
        for event in ("call.incoming", "call.answered", "call.completed", "call.missed")
    }
    assert keys == {"call:call_1"}


def test_texts_both_ways_in_one_conversation_share_one_ordering_key() -> None:
    inbound = {"id": "sms_1", "from": CUSTOMER, "to": LINE}
    outbound = {"id": "sms_2", "from": LINE, "to": CUSTOMER}

    assert ordering_key("sms.received", inbound) == ordering_key("sms.sent", outbound)
    assert ordering_key("sms.sent", outbound) == ordering_key("sms.delivered", outbound)


def test_texts_from_two_customers_have_different_ordering_keys() -> None:
    first = {"id": "sms_1", "from": CUSTOMER, "to": LINE}
    second = {"id": "sms_2", "from": "+12155559876", "to": LINE}
    assert ordering_key("sms.received", first) != ordering_key("sms.received", second)


def test_contact_events_are_ordered_per_contact() -> None:
    assert ordering_key("contact.updated", {"id": "contact_1"}) == "contact.updated:contact_1"


# SMS parties


def test_received_text_is_from_the_customer_to_our_line() -> None:
    data = {"from": CUSTOMER, "to": LINE}
    assert sms_parties("sms.received", data) == (LINE, CUSTOMER)


@pytest.mark.parametrize("event", ["sms.sent", "sms.delivered"])
def test_outbound_text_is_from_our_line_to_the_customer(event: str) -> None:
    data = {"from": LINE, "to": CUSTOMER}
    assert sms_parties(event, data) == (LINE, CUSTOMER)


def test_conversation_key_pairs_line_and_customer() -> None:
    assert conversation_key(LINE, CUSTOMER) == f"{LINE}|{CUSTOMER}"


# Opt-out keywords (bot.delivery.notifier)


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("STOP", "STOP"),
        ("stop", "STOP"),
        ("  Stop. ", "STOP"),
        ("Unsubscribe!", "UNSUBSCRIBE"),
        ("stopall", "STOPALL"),
        ("optout", "OPTOUT"),
        ("start", "START"),
        ("Yes", "YES"),
        ("unstop", "UNSTOP"),
    ],
)
def test_opt_keyword_recognises_one_keyword_in_any_case(text: str, keyword: str) -> None:
    assert opt_keyword(text) == keyword


@pytest.mark.parametrize("text", ["please stop calling", "stop it", "STOPPED", "", None])
def test_opt_keyword_ignores_anything_but_a_lone_keyword(text: str | None) -> None:
    assert opt_keyword(text) is None


# Retry spacing (bot.delivery.inbox)


@pytest.mark.parametrize("attempts", [1, 2, 3, 6])
def test_backoff_doubles_per_attempt_with_jitter_in_its_upper_half(attempts: int) -> None:
    full = 2.0 * 2 ** (attempts - 1)
    delays = [backoff(attempts, 2.0) for _ in range(200)]
    assert all(full / 2 <= delay <= full for delay in delays)


def test_backoff_jitter_spreads_workers_apart() -> None:
    assert len({backoff(3, 2.0) for _ in range(20)}) > 1


def test_backoff_is_capped() -> None:
    assert backoff(50, 2.0, cap_seconds=60) <= 60
