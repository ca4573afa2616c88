"""The Block Kit builders, one by one: pure functions pinned by unit tests and golden files.

What each webhook event shows in Slack is pinned through the real path (door, inbox, worker,
dispatch) by `tests/test_golden.py`. Here the builders are fed typed objects directly, for
the messages no webhook alone produces and for what each builder promises (escaping, limits,
buttons). The messages here are compared with `tests/fixtures/slack/<name>.json`; after
changing a layout on purpose, rewrite them with

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/slack/test_blocks.py tests/test_golden.py

and read the diff line by line before committing: the committed files are checked by hand,
so a golden file that was merely regenerated proves nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.qtvoice.events import VoicemailData, VoicemailEvent, parse_envelope
from bot.qtvoice.models import Call, Contact, ContactLookup, Sms, Voicemail
from bot.slack.blocks.kit import (
    Message,
    RenderContext,
    escape_mrkdwn,
    format_duration,
    format_when,
)
from bot.slack.blocks.notifications import (
    Caller,
    Line,
    caller_from_lookup,
    contact_card,
    contact_event,
    contact_picker,
    handled,
    live_call,
    missed_call,
    opt_out_notice,
    sms_inbound,
    sms_outbound,
    sms_thread_parent,
    voicemail,
)
from bot.slack.buttons import ButtonCodec
from tests.conftest import SIGNING_SECRET
from tests.helpers.block_kit import MAX_SECTION_TEXT, assert_fits_block_kit

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
WEBHOOKS = FIXTURES / "qtvoice"
GOLDEN = FIXTURES / "slack"


CODEC = ButtonCodec.for_signing_secret(SIGNING_SECRET)
CTX = RenderContext(
    timezone=ZoneInfo("America/New_York"), default_region="US", mask_numbers=False, buttons=CODEC
)
MASKED = RenderContext(
    timezone=ZoneInfo("America/New_York"), default_region="US", mask_numbers=True, buttons=CODEC
)
JOHN = Caller("+12155551234", name="John Doe", company="Acme Inc", contact_id="contact_123")
SALES = Line("+12155550100", extension_id="ext_101", extension_name="Sales")
NOV_27_3_52_PM_EST = datetime(2020, 11, 27, 20, 52, tzinfo=UTC)

PINGS = "hey <!channel> and <@U123> & co"
ESCAPED_PINGS = "hey &lt;!channel&gt; and &lt;@U123&gt; &amp; co"


def webhook(event: str) -> dict[str, Any]:
    return json.loads((WEBHOOKS / f"{event}.json").read_text())


def fixture_data(event: str) -> Any:
    """The typed `data` of the webhook fixture of `event`, as the door parses it."""
    return parse_envelope(webhook(event)).data


def missed_message(caller: Caller = JOHN, ctx: RenderContext = CTX) -> Message:
    """The missed call of the `call.missed` fixture."""
    return missed_call(fixture_data("call.missed"), caller, SALES, ctx)


def live(event: str) -> Message:
    """The live call card of a call.* fixture."""
    return live_call(fixture_data(event), event, JOHN, SALES, CTX)


def assert_golden(name: str, message: Message) -> None:
    path = GOLDEN / f"{name}.json"
    actual = message.as_kwargs()
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n")
    assert actual == json.loads(path.read_text())


def call(**fields: Any) -> Call:
    return Call.model_validate(
        {"id": "call_1", "from": "+12155551234", "to": "+12155550100", **fields}
    )


def a_voicemail(**fields: Any) -> Voicemail:
    return Voicemail.model_validate({"id": "vm_1", "duration": 42, **fields})


def an_sms(message: str | None, **fields: Any) -> Sms:
    return Sms.model_validate({"id": "sms_1", "message": message, **fields})


def a_contact(**fields: Any) -> Contact:
    return Contact.model_validate({"id": "contact_1", **fields})


def john_lookup(recent_calls: int = 2) -> ContactLookup:
    calls = [
        {
            "id": f"call_{index}",
            "direction": "inbound" if index % 2 == 0 else "outbound",
            "status": "completed" if index % 3 else "missed",
            "duration": 0 if index % 3 == 0 else 60 + index,
            "createdAt": f"2020-11-{27 - index:02d}T15:30:00Z",
        }
        for index in range(recent_calls)
    ]
    return ContactLookup.model_validate(
        {
            "found": True,
            "contact": {
                "id": "contact_123",
                "first_name": "John",
                "last_name": "Doe",
                "company": "Acme Inc",
                "email": "john@acme.com",
                "phone": "+12155551234",
                "notes": "VIP customer",
            },
            "recent_calls": calls,
        }
    )


def block(message: Message | list[dict[str, Any]], block_id: str) -> dict[str, Any]:
    blocks = message.blocks if isinstance(message, Message) else message
    return next(item for item in blocks if item.get("block_id") == block_id)


def has_block(message: Message, block_id: str) -> bool:
    return any(item.get("block_id") == block_id for item in message.blocks)


def buttons(message: Message) -> dict[str, dict[str, Any]]:
    """Every button of the message by action_id (accessories included)."""
    found: dict[str, dict[str, Any]] = {}
    for item in message.blocks:
        elements = item.get("elements", []) if item["type"] == "actions" else []
        accessory = [item["accessory"]] if "accessory" in item else []
        for element in [*elements, *accessory]:
            found[element["action_id"]] = element
    return found


def button_value(message: Message, action_id: str) -> dict[str, str]:
    """The fields of a button's value, once its seal is known to hold."""
    raw = buttons(message)[action_id]["value"]
    assert CODEC.decode(raw) is not None
    return {key: item for key, item in json.loads(raw).items() if key not in ("v", "s")}


def everything(message: Message) -> str:
    return json.dumps(message.as_kwargs(), ensure_ascii=False)


def extra_goldens() -> dict[str, Callable[[], Message]]:
    """Messages that no webhook alone produces, each pinned by its own golden file."""
    missed = call(status="missed", extensionId="ext_101", createdAt="2020-11-27T20:52:00Z")
    return {
        "call.missed.masked": lambda: missed_message(ctx=MASKED),
        "call.missed.unknown_caller": lambda: missed_message(caller=Caller(None)),
        "call.missed.live_card": lambda: live_call(missed, "call.missed", JOHN, SALES, CTX),
        "sms.thread_parent": lambda: sms_thread_parent(JOHN, SALES, CTX),
        "sms.thread_parent.opted_out": lambda: sms_thread_parent(JOHN, SALES, CTX, opted_out=True),
        "sms.outbound.refused": lambda: sms_outbound(
            an_sms("Your order is ready", createdAt="2020-11-27T20:55:10Z"),
            "refused",
            CTX,
            sent_by="U024BE7LH",
            reason="the number opted out (STOP)",
        ),
        "opt_out.stop": lambda: opt_out_notice(JOHN, True, "stop", CTX),
        "opt_out.start": lambda: opt_out_notice(JOHN, False, "start", CTX),
        "contact_card": lambda: contact_card(john_lookup(recent_calls=7), "+12155551234", CTX),
        "contact_card.not_found": lambda: contact_card(
            ContactLookup(found=False), "+12155559876", CTX
        ),
        "contact_picker": lambda: contact_picker(
            [
                a_contact(first_name="John", last_name="Doe", phone="+12155551234"),
                a_contact(
                    first_name="John", last_name="Roe", company="Roe & Co", phone="2155550199"
                ),
                a_contact(first_name="Johnny", last_name="Nophone"),
            ],
            "call",
            CTX,
        ),
        "handled": lambda: Message(
            text="Missed call from John Doe (Acme Inc) · (215) 555-1234",
            blocks=handled(missed_message().blocks, "U024BE7LH", NOV_27_3_52_PM_EST, CTX),
        ),
    }


EXTRA_GOLDENS = extra_goldens()


@pytest.mark.parametrize("name", sorted(EXTRA_GOLDENS))
def test_message_renders_as_its_golden(name: str) -> None:
    assert_golden(name, EXTRA_GOLDENS[name]())


def test_escape_mrkdwn_escapes_control_characters_once() -> None:
    assert escape_mrkdwn("a & b <c> &amp;") == "a &amp; b &lt;c&gt; &amp;amp;"


INJECTION_CASES: dict[str, Callable[[], Message]] = {
    "sms": lambda: sms_inbound(an_sms(PINGS), JOHN, CTX),
    "outbound sms": lambda: sms_outbound(an_sms(PINGS), "sent", CTX),
    "name": lambda: missed_call(call(), Caller("+12155551234", name=PINGS), SALES, CTX),
    "company": lambda: missed_call(
        call(), Caller("+12155551234", name="John", company=PINGS), SALES, CTX
    ),
    "transcript": lambda: voicemail(a_voicemail(transcription=PINGS), JOHN, SALES, CTX),
    "number": lambda: missed_call(call(), Caller(PINGS), SALES, CTX),
    "extension name": lambda: missed_call(call(), JOHN, Line("+12155550100", None, PINGS), CTX),
    "contact card": lambda: contact_card(
        ContactLookup(found=True, contact=a_contact(first_name=PINGS, notes=PINGS)), None, CTX
    ),
    "contact picker": lambda: contact_picker(
        [a_contact(first_name=PINGS, phone="+12155551234")], "sms", CTX
    ),
    "contact event": lambda: contact_event(a_contact(company=PINGS), "contact.created", CTX),
    "opt-out keyword": lambda: opt_out_notice(JOHN, True, PINGS, CTX),
}


@pytest.mark.parametrize("source", sorted(INJECTION_CASES))
def test_caller_controlled_text_pings_nobody(source: str) -> None:
    message = INJECTION_CASES[source]()

    assert "<!channel>" not in everything(message)
    assert "<@U123>" not in everything(message)


@pytest.mark.parametrize("source", ["sms", "name", "company", "transcript"])
def test_caller_controlled_text_is_shown_escaped(source: str) -> None:
    message = INJECTION_CASES[source]()

    assert ESCAPED_PINGS in json.dumps(message.blocks, ensure_ascii=False)
    assert ESCAPED_PINGS in message.text


def test_caller_renders_name_company_and_number() -> None:
    assert JOHN.mrkdwn(CTX) == "*John Doe* (Acme Inc) · (215) 555-1234"


def test_caller_label_has_no_formatting() -> None:
    assert JOHN.label(CTX) == "John Doe (Acme Inc) · (215) 555-1234"


def test_caller_masks_the_number_when_asked() -> None:
    assert JOHN.mrkdwn(MASKED) == "*John Doe* (Acme Inc) · +1 •••-•••-1234"


def test_caller_without_contact_is_the_number() -> None:
    assert Caller("+12155551234").mrkdwn(CTX) == "*(215) 555-1234*"


def test_caller_without_name_or_number_is_unknown() -> None:
    assert Caller(None).mrkdwn(CTX) == "*Unknown caller*"


def test_caller_name_is_kept_on_one_short_line() -> None:
    rendered_name = Caller(None, name="John\n\n" + "x" * 500).mrkdwn(CTX)

    assert "\n" not in rendered_name
    assert len(rendered_name) < 100
    assert rendered_name.endswith("…*")


def test_caller_from_lookup_takes_the_contact() -> None:
    caller = caller_from_lookup("+12155551234", john_lookup())

    assert caller == Caller("+12155551234", "John Doe", "Acme Inc", "contact_123")


@pytest.mark.parametrize("lookup", [None, ContactLookup(found=False)])
def test_caller_from_lookup_without_match_is_the_number(lookup: ContactLookup | None) -> None:
    assert caller_from_lookup("+12155551234", lookup) == Caller("+12155551234")


def test_line_shows_number_and_extension_name() -> None:
    assert SALES.mrkdwn(CTX) == "(215) 555-0100 · Sales"


def test_our_line_number_is_not_masked() -> None:
    assert SALES.mrkdwn(MASKED) == "(215) 555-0100 · Sales"


def test_as_kwargs_gives_a_copy() -> None:
    message = missed_message()

    message.as_kwargs()["blocks"].clear()

    assert message.blocks


def test_time_is_shown_in_the_deployment_timezone() -> None:
    assert format_when(NOV_27_3_52_PM_EST, CTX) == "Fri, Nov 27 at 3:52 PM EST"


def test_naive_time_is_read_as_utc() -> None:
    assert format_when(datetime(2020, 11, 27, 20, 52), CTX) == "Fri, Nov 27 at 3:52 PM EST"


def test_time_after_midnight_reads_12_am() -> None:
    assert (
        format_when(datetime(2020, 11, 28, 5, 5, tzinfo=UTC), CTX) == "Sat, Nov 28 at 12:05 AM EST"
    )


@pytest.mark.parametrize(
    ("seconds", "shown"), [(0, "0:00"), (42, "0:42"), (145, "2:25"), (3725, "1:02:05")]
)
def test_duration_is_minutes_and_seconds(seconds: int, shown: str) -> None:
    assert format_duration(seconds) == shown


def test_missed_call_buttons_carry_number_line_and_extension() -> None:
    message = missed_message()

    for action_id in ("call_back", "text_back", "mark_handled"):
        assert button_value(message, action_id) == {
            "n": "+12155551234",
            "l": "+12155550100",
            "x": "ext_101",
        }


def test_missed_call_back_button_is_primary() -> None:
    assert buttons(missed_message())["call_back"]["style"] == "primary"


def test_missed_call_from_withheld_number_can_only_be_marked_handled() -> None:
    message = missed_message(caller=Caller("anonymous"))

    assert list(buttons(message)) == ["mark_handled"]


def test_masked_number_stays_dialable_in_button_values() -> None:
    message = missed_message(ctx=MASKED)

    assert "555-1234" not in message.text + json.dumps(block(message, "call_summary"))
    assert button_value(message, "call_back")["n"] == "+12155551234"


def test_voicemail_without_transcript_says_transcribing() -> None:
    assert (
        "_Transcribing…_"
        in block(
            voicemail(fixture_data("voicemail.new"), JOHN, SALES, CTX), "voicemail_transcript"
        )["text"]["text"]
    )


def test_voicemail_transcript_is_quoted() -> None:
    message = voicemail(a_voicemail(transcription="Hi.\nCall me."), JOHN, SALES, CTX)

    assert block(message, "voicemail_transcript")["text"]["text"].endswith("> Hi.\n> Call me.")


def test_long_transcript_is_cut_below_the_section_limit_with_an_ellipsis() -> None:
    message = voicemail(a_voicemail(transcription="word " * 2000), JOHN, SALES, CTX)
    text = block(message, "voicemail_transcript")["text"]["text"]

    assert len(text) <= MAX_SECTION_TEXT
    assert text.endswith("word…")


def test_transcript_is_never_cut_inside_an_escaped_character() -> None:
    message = voicemail(a_voicemail(transcription="&" * 2000), JOHN, SALES, CTX)
    text = block(message, "voicemail_transcript")["text"]["text"]

    assert text.endswith("&amp;…")
    assert len(text) <= MAX_SECTION_TEXT


def test_voicemail_links_its_recording() -> None:
    message = voicemail(
        a_voicemail(recordingUrl="https://qt.example/r.mp3?a=1&b=2"), JOHN, SALES, CTX
    )

    assert "<https://qt.example/r.mp3?a=1&amp;b=2|▶ Listen>" in everything(message)


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "ftp://qt.example/r.mp3", "https://", "https://qt.example/a b"]
)
def test_voicemail_links_only_http_recordings(url: str) -> None:
    message = voicemail(a_voicemail(recordingUrl=url), JOHN, SALES, CTX)

    assert "Listen" not in everything(message)


def test_recording_link_cannot_be_relabelled() -> None:
    message = voicemail(
        a_voicemail(recordingUrl="https://qt.example/r.mp3|Your-bank"), JOHN, SALES, CTX
    )

    assert "<https://qt.example/r.mp3%7CYour-bank|▶ Listen>" in everything(message)


def test_call_voicemail_event_offers_the_call_actions() -> None:
    event = parse_envelope(webhook("call.voicemail"))
    assert isinstance(event, VoicemailEvent)
    message = voicemail(VoicemailData.model_validate(event.voicemail_fields()), JOHN, SALES, CTX)

    assert list(buttons(message)) == ["call_back", "text_back", "mark_handled"]


@pytest.mark.parametrize(
    ("event", "state"),
    [
        ("call.incoming", "*Ringing*"),
        ("call.answered", "*On the call with Sales*"),
        ("call.completed", "*Ended · 2:25*"),
    ],
)
def test_live_call_card_state_follows_the_event(event: str, state: str) -> None:
    assert state in block(live(event), "call_summary")["text"]["text"]


def test_live_call_card_has_buttons_only_once_missed() -> None:
    missed = live_call(call(), "call.missed", JOHN, SALES, CTX)

    assert not buttons(live("call.incoming"))
    assert list(buttons(missed)) == ["call_back", "text_back", "mark_handled"]


def test_live_call_card_refuses_other_events() -> None:
    with pytest.raises(ValueError, match=r"sms\.received"):
        live_call(call(), "sms.received", JOHN, SALES, CTX)


def test_outbound_call_card_says_call_to() -> None:
    message = live_call(call(direction="outbound"), "call.incoming", JOHN, SALES, CTX)

    assert "Call to *John Doe*" in block(message, "call_summary")["text"]["text"]


def test_thread_parent_reply_button_carries_number_and_line() -> None:
    message = sms_thread_parent(JOHN, SALES, CTX)

    assert button_value(message, "sms_reply") == {
        "n": "+12155551234",
        "l": "+12155550100",
        "x": "ext_101",
    }


def test_opted_out_thread_parent_has_no_reply_button() -> None:
    message = sms_thread_parent(JOHN, SALES, CTX, opted_out=True)

    assert not buttons(message)
    assert "STOP" in block(message, "sms_hint")["elements"][0]["text"]


def test_empty_sms_says_so() -> None:
    message = sms_inbound(an_sms(None), JOHN, CTX)

    assert block(message, "sms_body")["text"]["text"] == "_(empty message)_"


@pytest.mark.parametrize(
    ("status", "shown"),
    [
        ("queued", "⏳ Queued"),
        ("sent", "✓ Sent"),
        ("delivered", "✓✓ Delivered"),
        ("failed", "⚠️ Failed"),
    ],
)
def test_outbound_sms_shows_its_delivery_state(status: str, shown: str) -> None:
    message = sms_outbound(an_sms("Hi"), status, CTX)

    assert shown in block(message, "sms_status")["elements"][0]["text"]


def test_outbound_sms_names_the_slack_user_who_sent_it() -> None:
    message = sms_outbound(an_sms("Hi"), "sent", CTX, sent_by="U024BE7LH")

    assert "sent by <@U024BE7LH>" in block(message, "sms_status")["elements"][0]["text"]


@pytest.mark.parametrize("sent_by", ["<!channel>", "U1> <!here", "u024be7lh", ""])
def test_outbound_sms_ignores_a_sender_that_is_not_a_slack_user_id(sent_by: str) -> None:
    message = sms_outbound(an_sms("Hi"), "sent", CTX, sent_by=sent_by)

    assert "sent by" not in everything(message)


def test_unknown_delivery_state_is_shown_escaped() -> None:
    message = sms_outbound(an_sms("Hi"), "<!here>", CTX)

    assert "&lt;!here&gt;" in block(message, "sms_status")["elements"][0]["text"]


def test_opt_out_notice_names_the_keyword_and_the_way_back() -> None:
    text = block(opt_out_notice(JOHN, True, "stopall", CTX), "opt_out")["text"]["text"]

    assert "*STOPALL*" in text
    assert "START" in text.replace("*STOPALL*", "")


def test_opt_in_notice_says_texting_works_again() -> None:
    message = opt_out_notice(JOHN, False, "unstop", CTX)

    assert "texting this number works again" in message.text


def test_contact_card_shows_at_most_five_recent_calls() -> None:
    text = block(contact_card(john_lookup(recent_calls=9), None, CTX), "contact_calls")["text"][
        "text"
    ]

    assert text.count("\n") == 5


def test_contact_card_buttons_carry_the_number() -> None:
    message = contact_card(john_lookup(), None, CTX)

    assert button_value(message, "contact_call") == {"n": "+12155551234"}
    assert button_value(message, "contact_text") == {"n": "+12155551234"}


def test_contact_card_without_dialable_number_has_no_buttons() -> None:
    lookup = ContactLookup(found=True, contact=a_contact(first_name="Ann"))

    assert not buttons(contact_card(lookup, None, CTX))


def test_contact_event_names_the_contact() -> None:
    message = contact_event(
        a_contact(first_name="Jane", phone="+442071234567"), "contact.updated", CTX
    )

    assert message.text == "Contact updated: Jane · +44 20 7123 4567"


def test_contact_event_refuses_other_events() -> None:
    with pytest.raises(ValueError, match=r"call\.missed"):
        contact_event(a_contact(), "call.missed", CTX)


def test_contact_picker_button_carries_number_and_purpose() -> None:
    message = contact_picker([a_contact(first_name="Ann", phone="215 555 1234")], "sms", CTX)

    assert button_value(message, "pick_contact") == {"n": "+12155551234", "p": "sms"}


def test_contact_picker_shows_at_most_ten() -> None:
    contacts = [a_contact(first_name=f"Ann {index}", phone="+12155551234") for index in range(14)]
    message = contact_picker(contacts, "contact", CTX)

    assert sum(block_id.startswith("pick_") for block_id in _block_ids(message)) == 12
    assert "Showing 10 of 14" in block(message, "pick_more")["elements"][0]["text"]


def test_contact_picker_without_numbers_says_so() -> None:
    message = contact_picker([a_contact(first_name="Ann")], "call", CTX)

    assert not buttons(message)
    assert message.text == "No matching contact has a phone number."


def test_contact_picker_refuses_an_unknown_purpose() -> None:
    with pytest.raises(ValueError, match="fax"):
        contact_picker([], "fax", CTX)


def test_handled_removes_the_buttons_and_says_who() -> None:
    closed = handled(missed_message().blocks, "U024BE7LH", NOV_27_3_52_PM_EST, CTX)

    assert all(item["type"] != "actions" for item in closed)
    assert (
        block(closed, "handled")["elements"][0]["text"] == "✅ Handled by <@U024BE7LH> at 3:52 PM"
    )


def test_handled_leaves_the_original_blocks_alone() -> None:
    original = missed_message().blocks
    before = json.dumps(original)

    handled(original, "U024BE7LH", NOV_27_3_52_PM_EST, CTX)

    assert json.dumps(original) == before


def test_handled_twice_keeps_one_note() -> None:
    once = handled(missed_message().blocks, "U1AAAAAAA", NOV_27_3_52_PM_EST, CTX)
    twice = handled(once, "U2BBBBBBB", NOV_27_3_52_PM_EST, CTX)

    assert [item["block_id"] for item in twice].count("handled") == 1
    assert "<@U2BBBBBBB>" in block(twice, "handled")["elements"][0]["text"]


def test_handled_by_something_not_a_user_id_names_nobody() -> None:
    closed = handled(missed_message().blocks, "<!channel>", NOV_27_3_52_PM_EST, CTX)

    assert block(closed, "handled")["elements"][0]["text"] == "✅ Handled at 3:52 PM"


def _block_ids(message: Message) -> list[str]:
    return [item["block_id"] for item in message.blocks]


HUGE = "<!channel> & " * 1000


def stress_messages() -> dict[str, Callable[[], Message]]:
    """Inputs far past any sane size: the output must still be a message Slack accepts."""
    huge_caller = Caller("+12155551234", name=HUGE, company=HUGE)
    huge_line = Line(HUGE, extension_id="ext_1", extension_name=HUGE)
    huge_contact = a_contact(
        first_name=HUGE, last_name=HUGE, company=HUGE, email=HUGE, notes=HUGE, phone=HUGE
    )
    huge_lookup = ContactLookup(
        found=True,
        contact=huge_contact,
        recent_calls=[call(status=HUGE, duration=10**6, direction=HUGE) for _ in range(50)],
    )
    return {
        "missed call": lambda: missed_call(call(), huge_caller, huge_line, CTX),
        "voicemail": lambda: voicemail(
            a_voicemail(transcription=HUGE, recordingUrl="https://q.example/" + "a" * 5000),
            huge_caller,
            huge_line,
            CTX,
        ),
        "live call": lambda: live_call(call(), "call.answered", huge_caller, huge_line, CTX),
        "thread parent": lambda: sms_thread_parent(huge_caller, huge_line, MASKED),
        "inbound sms": lambda: sms_inbound(an_sms(HUGE + "\n" * 500), huge_caller, CTX),
        "outbound sms": lambda: sms_outbound(an_sms(HUGE), HUGE, CTX, reason=HUGE),
        "opt-out": lambda: opt_out_notice(huge_caller, True, HUGE, CTX),
        "contact card": lambda: contact_card(huge_lookup, HUGE, CTX),
        "contact event": lambda: contact_event(huge_contact, "contact.created", CTX),
        "contact picker": lambda: contact_picker(
            [a_contact(first_name=HUGE, company=HUGE, phone="+12155551234")] * 100, "call", CTX
        ),
    }


FITTING_CASES = {
    **{f"golden {name}": render for name, render in EXTRA_GOLDENS.items()},
    **{f"huge {name}": render for name, render in stress_messages().items()},
}


@pytest.mark.parametrize("case", sorted(FITTING_CASES))
def test_message_fits_block_kit_limits(case: str) -> None:
    assert_fits_block_kit(FITTING_CASES[case]())
