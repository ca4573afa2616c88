"""The QTvoice models read both key spellings, keep what they do not know, and bend, not break."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from bot.qtvoice.models import (
    Call,
    CallInitiated,
    Contact,
    ContactLookup,
    Extension,
    Page,
    Sms,
    Voicemail,
)


def test_call_reads_camel_case_keys() -> None:
    call = Call.model_validate(
        {
            "id": "call_abc123",
            "callSid": "CA1234567890",
            "from": "+12155551234",
            "recordingUrl": "https://example.test/r.mp3",
            "createdAt": "2024-01-15T10:30:00Z",
            "extensionId": "ext_101",
            "voicemailId": "vm_1",
        }
    )

    assert call.call_sid == "CA1234567890"
    assert call.from_ == "+12155551234"
    assert call.recording_url == "https://example.test/r.mp3"
    assert call.created_at == datetime(2024, 1, 15, 10, 30, tzinfo=UTC)
    assert call.extension_id == "ext_101"
    assert call.voicemail_id == "vm_1"


def test_call_reads_snake_case_keys() -> None:
    call = Call.model_validate(
        {
            "id": "call_abc123",
            "call_sid": "CA1234567890",
            "recording_url": "https://example.test/r.mp3",
            "answered_at": "2024-01-15T10:30:05Z",
            "extension_id": "ext_101",
        }
    )

    assert call.call_sid == "CA1234567890"
    assert call.recording_url == "https://example.test/r.mp3"
    assert call.answered_at == datetime(2024, 1, 15, 10, 30, 5, tzinfo=UTC)
    assert call.extension_id == "ext_101"


def test_models_accept_python_field_names_as_keywords() -> None:
    call = Call(id="call_1", from_="+12155551234", call_sid="CA1")

    assert call.from_ == "+12155551234"
    assert call.call_sid == "CA1"


def test_unknown_fields_are_kept() -> None:
    call = Call.model_validate({"id": "call_1", "queueName": "sales", "tags": ["vip"]})

    assert call.model_extra == {"queueName": "sales", "tags": ["vip"]}


def test_every_field_but_id_is_optional() -> None:
    call = Call.model_validate({"id": "call_1"})

    assert call.from_ is None
    assert call.duration is None
    assert call.created_at is None


def test_id_is_required() -> None:
    with pytest.raises(ValidationError):
        Call.model_validate({"from": "+12155551234"})


def test_numbers_sent_as_json_numbers_read_as_text() -> None:
    call = Call.model_validate({"id": 42, "from": 12155551234})

    assert call.id == "42"
    assert call.from_ == "12155551234"


def test_unreadable_values_become_none_instead_of_failing() -> None:
    call = Call.model_validate({"id": "call_1", "createdAt": "yesterday", "duration": "long"})

    assert call.created_at is None
    assert call.duration is None


def test_empty_timestamp_is_none() -> None:
    assert Call.model_validate({"id": "call_1", "endedAt": ""}).ended_at is None


def test_numeric_strings_are_read_as_numbers() -> None:
    assert Call.model_validate({"id": "call_1", "duration": "145"}).duration == 145


@pytest.mark.parametrize("key", ["transcription", "transcript"])
def test_voicemail_transcription_is_read_from_either_key(key: str) -> None:
    voicemail = Voicemail.model_validate({"id": "vm_1", key: "Hi, it's John"})

    assert voicemail.transcription == "Hi, it's John"


@pytest.mark.parametrize("key", ["callId", "call_id"])
def test_voicemail_call_is_read_from_either_key(key: str) -> None:
    assert Voicemail.model_validate({"id": "vm_1", key: "call_9"}).call_id == "call_9"


def test_voicemail_reads_is_read_in_both_spellings() -> None:
    assert Voicemail.model_validate({"id": "vm_1", "isRead": True}).is_read is True
    assert Voicemail.model_validate({"id": "vm_1", "is_read": False}).is_read is False


@pytest.mark.parametrize("key", ["message", "body", "text"])
def test_sms_text_is_read_from_any_candidate_key(key: str) -> None:
    sms = Sms.model_validate({"id": "sms_1", key: "Hi there"})

    assert sms.message == "Hi there"


def test_sms_text_key_is_not_also_kept_as_an_unknown_field() -> None:
    assert Sms.model_validate({"id": "sms_1", "body": "Hi"}).model_extra == {}


def test_contact_full_name_joins_first_and_last() -> None:
    contact = Contact(id="contact_1", first_name="John", last_name="Doe")

    assert contact.full_name == "John Doe"


def test_contact_full_name_uses_whichever_part_exists() -> None:
    assert Contact(id="contact_1", last_name="Doe").full_name == "Doe"


def test_contact_full_name_falls_back_to_a_lone_name_field() -> None:
    assert Contact.model_validate({"id": "contact_1", "name": "Acme Front Desk"}).full_name == (
        "Acme Front Desk"
    )


def test_nameless_contact_has_no_full_name() -> None:
    assert Contact(id="contact_1", first_name=" ", phone="+12155551234").full_name is None


def test_contact_reads_camel_case_names() -> None:
    contact = Contact.model_validate({"id": "c", "firstName": "John", "lastName": "Doe"})

    assert contact.full_name == "John Doe"


@pytest.mark.parametrize("key", ["recent_calls", "recentCalls"])
def test_contact_lookup_reads_recent_calls_in_either_spelling(key: str) -> None:
    lookup = ContactLookup.model_validate(
        {
            "found": True,
            "contact": {"id": "contact_123", "first_name": "John", "last_name": "Doe"},
            key: [{"id": "call_abc", "direction": "inbound", "duration": 120}],
        }
    )

    assert lookup.found is True
    assert lookup.contact is not None
    assert lookup.contact.full_name == "John Doe"
    assert [call.id for call in lookup.recent_calls] == ["call_abc"]


def test_contact_lookup_not_found_has_no_contact_and_no_calls() -> None:
    lookup = ContactLookup.model_validate({"found": False})

    assert lookup.contact is None
    assert lookup.recent_calls == []


@pytest.mark.parametrize(
    "key",
    [
        "number",
        "extension",
        "extensionNumber",
        "extension_number",
        "phone",
        "phoneNumber",
        "phone_number",
    ],
)
def test_extension_number_is_read_from_any_candidate_key(key: str) -> None:
    assert Extension.model_validate({"id": "ext_101", key: "101"}).number == "101"


def test_page_reads_items_and_camel_case_pagination() -> None:
    page = Page[Call].model_validate(
        {
            "data": [{"id": "call_1"}, {"id": "call_2"}],
            "pagination": {"page": 1, "limit": 2, "total": 3, "totalPages": 2},
        }
    )

    assert [call.id for call in page.data] == ["call_1", "call_2"]
    assert page.pagination.total_pages == 2
    assert page.has_next is True


def test_last_page_has_no_next() -> None:
    page = Page[Call].model_validate(
        {"data": [{"id": "call_3"}], "pagination": {"page": 2, "total_pages": 2}}
    )

    assert page.has_next is False


def test_full_page_without_total_pages_suggests_a_next_page() -> None:
    page = Page[Call].model_validate({"data": [{"id": "a"}], "pagination": {"limit": 1}})

    assert page.has_next is True


def test_empty_page_never_has_next_even_if_totals_say_so() -> None:
    page = Page[Call].model_validate({"data": [], "pagination": {"page": 1, "totalPages": 9}})

    assert page.has_next is False


def test_page_without_pagination_is_a_single_page() -> None:
    page = Page[Extension].model_validate({"data": [{"id": "ext_100"}]})

    assert page.has_next is False


def test_call_initiated_reads_the_documented_answer() -> None:
    initiated = CallInitiated.model_validate(
        {
            "id": "call_xyz789",
            "status": "initiated",
            "from": "+12155555678",
            "to": "+12155551234",
            "message": "Call initiation requested",
        }
    )

    assert initiated.status == "initiated"
    assert initiated.from_ == "+12155555678"
