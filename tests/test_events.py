"""What the bot understands of an event without any I/O: `bot.qtvoice.events`.

The parser reads both key styles, keeps unknown fields, reads a field of the wrong type as
absent, cleans text, parses timestamps and parties, and refuses (with a reason) only what it
cannot understand; each typed event knows its identity. Also
the retry spacing of `bot.delivery.inbox.backoff`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.delivery.inbox import backoff
from bot.qtvoice.events import (
    ID_LIMIT,
    KNOWN_EVENTS,
    CallEvent,
    ContactEvent,
    EventRefused,
    Party,
    PartyKind,
    SmsEvent,
    UnknownEvent,
    VoicemailEvent,
    clean_id,
    load_stored,
    parse_envelope,
    parse_webhook,
)

LINE, CUSTOMER = "+12155550100", "+12155551234"


def parse(event: str, **data: Any) -> Any:
    return parse_envelope({"event": event, "data": {"id": f"{event}_1", **data}})


def body(event: str, data: Any) -> bytes:
    return json.dumps({"event": event, "data": data}).encode()


# One class per family, discriminated on `event`


@pytest.mark.parametrize(
    ("event", "family"),
    [
        ("call.incoming", CallEvent),
        ("call.missed", CallEvent),
        ("call.voicemail", VoicemailEvent),
        ("voicemail.transcribed", VoicemailEvent),
        ("sms.delivered", SmsEvent),
        ("contact.updated", ContactEvent),
        ("fax.received", UnknownEvent),
    ],
)
def test_each_event_type_parses_into_its_family(event: str, family: type) -> None:
    assert isinstance(parse(event), family)


# Tolerance


def test_both_key_styles_read_alike() -> None:
    camel = parse("voicemail.new", callId="call_1", recordingUrl="https://r.example/1.mp3")
    snake = parse("voicemail.new", call_id="call_1", recording_url="https://r.example/1.mp3")

    assert camel.data.call_id == snake.data.call_id == "call_1"
    assert camel.data.recording_url == snake.data.recording_url


def test_unknown_fields_are_kept_through_storage() -> None:
    event = parse("call.missed", carrier={"name": "Verizon"})

    stored = load_stored(event.canonical())

    assert stored.data.model_extra == {"carrier": {"name": "Verizon"}}
    assert stored == event


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("from", ["+12155551234"]),
        ("duration", ["37"]),
        ("duration", "a while"),
        ("duration", -5),
        ("createdAt", {"when": "now"}),
        ("createdAt", "yesterday"),
        ("status", True),
        ("extensionId", 3.5),
    ],
)
def test_a_field_of_the_wrong_type_reads_as_absent(field: str, value: Any) -> None:
    event = parse_envelope({"event": "call.missed", "data": {"id": "call_1", field: value}})

    assert isinstance(event, CallEvent)
    assert event.canonical()["data"].get(field) is None


def test_true_in_a_text_field_reads_as_absent_and_the_next_candidate_is_read() -> None:
    event = parse("sms.received", message=True, body="Hello")

    assert event.data.message == "Hello"


def test_transcript_is_read_from_either_key() -> None:
    assert parse("voicemail.transcribed", transcript="Call me.").data.transcription == "Call me."


def test_text_is_made_valid_unicode() -> None:
    event = parse_webhook(body("sms.received", {"id": "sms_1", "message": "hi \ud83d there\x00!"}))

    assert event.data.message == "hi \ufffd there!"
    json.dumps(event.canonical()).encode("utf-8")  # storable anywhere


def test_unknown_fields_are_cleaned_too() -> None:
    event = parse_webhook(body("call.missed", {"id": "c", "odd\x00": ["\udc00", {"k": "\x00"}]}))

    assert event.data.model_extra == {"odd": ["\ufffd", {"k": ""}]}


def test_text_is_bounded() -> None:
    assert len(parse("sms.received", message="x" * 100_000).data.message) <= 8000


@pytest.mark.parametrize(
    ("value", "moment"),
    [
        ("2024-01-15T10:30:00Z", datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),
        ("2024-01-15T05:30:00-05:00", datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),
        ("2024-01-15T10:30:00", datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),
        ("2024-01-15 10:30:00.250", datetime(2024, 1, 15, 10, 30, 0, 250000, tzinfo=UTC)),
        (1705314600, datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),
        ("1705314600", datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),
        (1705314600.5, datetime(2024, 1, 15, 10, 30, 0, 500000, tzinfo=UTC)),
        (10**20, None),
        ("not a time", None),
    ],
)
def test_timestamps_are_parsed(value: Any, moment: datetime | None) -> None:
    assert parse("call.missed", createdAt=value).data.created_at == moment


# Parties


@pytest.mark.parametrize(
    ("given", "party", "kind"),
    [
        ("+12155551234", "+12155551234", PartyKind.PHONE),
        ("(215) 555-1234", "+12155551234", PartyKind.PHONE),
        (12155551234, "+12155551234", PartyKind.PHONE),
        ("tel:+44 20 7123 4567", "+442071234567", PartyKind.PHONE),
        ("72345", "72345", PartyKind.SHORT_CODE),
        ("ACMEBANK", "ACMEBANK", PartyKind.SENDER_ID),
        ("anonymous", "anonymous", PartyKind.SENDER_ID),
    ],
)
def test_parties_are_numbers_short_codes_or_sender_ids(given: Any, party: str, kind: str) -> None:
    read = Party.read(given)

    assert read == party
    assert read is not None
    assert read.kind == kind


@pytest.mark.parametrize("given", ["", "   ", "+1 555", "<!channel>", "x" * 80, True, None, 4.5])
def test_what_names_no_party_is_absent_never_empty(given: Any) -> None:
    assert Party.read(given) is None


def test_a_number_without_country_code_is_read_in_the_default_region() -> None:
    event = parse_envelope(
        {"event": "sms.received", "data": {"id": "s", "from": "020 7123 4567"}},
        default_region="GB",
    )

    assert event.customer == "+442071234567"


# Refusals


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"event": "call.missed", "data": {}}', "`data.id` is missing"),
        (b'{"event": "sms.received", "data": {"id": ""}}', "`data.id` is empty"),
        (b'{"event": "sms.received", "data": {"id": ["x"]}}', "`data.id` is not a string"),
        (b'{"event": "sms.received", "data": {"id": true}}', "`data.id` is not a string"),
        (body("call.missed", {"id": "c" * 129}), f"longer than {ID_LIMIT}"),
        (body("call.missed", {"id": "call\x00"}), "control characters"),
        (body("call.missed", {"id": "call\ud800"}), "invalid Unicode"),
        (body("x" * 65, {}), "`event` is longer than 64"),
        (b'{"event": "call.missed", "data": {"id": NaN}}', "cannot hold"),
        (b'{"event": "call.missed", "data": {"id": "c", "d": Infinity}}', "cannot hold"),
        (b'{"event": "call.missed", "data": {"id": "c", "d": 1e400}}', "cannot hold"),
        (b'{"event": "call.missed", "data": ' + b"[" * 940 + b"]" * 940 + b"}", "nested"),
        (b"[]", "not a JSON object"),
        (b'{"event": "call.missed"}', "no `data` object"),
    ],
)
def test_what_cannot_be_understood_is_refused_with_the_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(EventRefused, match=reason.replace("`", ".").replace("(", ".")):
        parse_webhook(raw)


def test_an_unknown_event_needs_no_id() -> None:
    assert isinstance(parse_webhook(b'{"event": "fax.received", "data": {}}'), UnknownEvent)


def test_numeric_ids_read_as_text() -> None:
    assert clean_id(12345) == "12345"


# Identity


def test_dedupe_key_is_the_event_and_the_object_it_is_about() -> None:
    assert parse("call.missed", id="call_1").dedupe_key == "call.missed:call_1"


def test_same_object_in_another_shape_has_the_same_dedupe_key() -> None:
    first = parse("sms.received", id="sms_1", message="Hi")
    again = parse("sms.received", id="sms_1", message="Hi!", extra=1)
    assert first.dedupe_key == again.dedupe_key


def test_each_contact_update_has_its_own_dedupe_key() -> None:
    monday = parse("contact.updated", id="contact_1", updatedAt="2024-01-15T10:30:00Z")
    tuesday = parse("contact.updated", id="contact_1", updated_at="2024-01-16T10:30:00Z")
    assert monday.dedupe_key != tuesday.dedupe_key


def test_contact_update_without_a_time_is_keyed_on_what_it_says() -> None:
    first = parse("contact.updated", id="contact_1", first_name="Ann")
    renamed = parse("contact.updated", id="contact_1", first_name="Anne")
    assert first.dedupe_key == parse("contact.updated", id="contact_1", firstName="Ann").dedupe_key
    assert first.dedupe_key != renamed.dedupe_key


def test_a_calls_events_share_one_ordering_key() -> None:
    keys = {
        parse(event, id="call_1").ordering_key
        for event in ("call.incoming", "call.answered", "call.completed", "call.missed")
    }
    assert keys == {"call:call_1"}


def test_texts_both_ways_in_one_conversation_share_one_ordering_key() -> None:
    inbound = parse("sms.received", **{"from": CUSTOMER, "to": LINE})
    outbound = parse("sms.sent", **{"from": LINE, "to": "215-555-1234"})

    assert inbound.ordering_key == outbound.ordering_key == f"sms:{LINE}|{CUSTOMER}"
    assert (inbound.our_line, inbound.customer) == (outbound.our_line, outbound.customer)


def test_texts_from_two_customers_have_different_ordering_keys() -> None:
    first = parse("sms.received", **{"from": CUSTOMER, "to": LINE})
    second = parse("sms.received", **{"from": "+12155559876", "to": LINE})
    assert first.ordering_key != second.ordering_key


@pytest.mark.parametrize(
    ("event", "data", "aliases"),
    [
        ("call.voicemail", {"id": "call_1", "voicemailId": "vm_1"}, ("vm:vm_1", "call:call_1")),
        ("call.voicemail", {"id": "call_1"}, ("call:call_1",)),
        ("voicemail.new", {"id": "vm_1", "call_id": "call_1"}, ("vm:vm_1", "call:call_1")),
        ("voicemail.transcribed", {"id": "vm_1"}, ("vm:vm_1",)),
    ],
)
def test_a_voicemail_is_named_by_every_id_its_event_carries(
    event: str, data: dict[str, Any], aliases: tuple[str, ...]
) -> None:
    assert parse_envelope({"event": event, "data": data}).voicemail_aliases == aliases


def test_call_voicemail_describes_the_voicemail_not_the_call() -> None:
    event = parse_envelope(
        {"event": "call.voicemail", "data": {"id": "call_1", "voicemailId": "vm_1", "duration": 9}}
    )
    assert event.voicemail_fields() == {"id": "vm_1", "callId": "call_1", "duration": 9}


@pytest.mark.parametrize("direction", ["inbound", "outbound"])
def test_our_line_of_a_call_follows_its_direction(direction: str) -> None:
    ours, theirs = (LINE, CUSTOMER) if direction == "inbound" else (CUSTOMER, LINE)
    event = parse("call.missed", **{"from": theirs, "to": ours, "direction": direction})
    assert event.our_line == LINE
    assert event.customer == CUSTOMER


# Properties: any `data` for a known event is a typed event or a refusal, never an exception

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.sampled_from(
    [
        "id",
        "from",
        "to",
        "message",
        "body",
        "text",
        "duration",
        "createdAt",
        "created_at",
        "callId",
        "call_id",
        "voicemailId",
        "transcription",
        "transcript",
        "extensionId",
        "direction",
        "status",
        "phone",
        "updatedAt",
        "first_name",
        "isRead",
        "recordingUrl",
    ]
)
event_data = st.dictionaries(field_names | st.text(max_size=8), json_values, max_size=10)


def understood(raw: bytes) -> Any:
    """The typed event, or the refusal (returned, not raised)."""
    try:
        return parse_webhook(raw)
    except EventRefused as refused:
        return refused


@settings(max_examples=300)
@given(event=st.sampled_from(sorted(KNOWN_EVENTS)), data=event_data)
def test_any_data_is_understood_or_refused_with_a_reason(event: str, data: dict[str, Any]) -> None:
    parsed = understood(json.dumps({"event": event, "data": data}).encode())
    if isinstance(parsed, EventRefused):
        assert parsed.reason.startswith("`data.id`")
        with pytest.raises(ValueError, match=r".+"):
            clean_id(data.get("id"))
        return
    assert parsed.event == event
    stored = json.loads(json.dumps(parsed.canonical()))
    assert load_stored(stored) == parsed
    assert parsed.dedupe_key.startswith(f"{event}:")
    assert len(parsed.dedupe_key) <= 255


@settings(max_examples=200)
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_bytes_are_an_event_or_a_refusal(raw: bytes) -> None:
    parsed = understood(raw)
    assert not isinstance(parsed, EventRefused) or parsed.reason


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
