"""What each event does in Slack, pinned as its plan (`bot.slack.plans`): pure, no server.

The golden tests (`tests/test_golden.py`) pin what Slack shows at the end; these pin the
writes that get it there, in order, for each kind of text and each thing the store may know.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.qtvoice.events import CANARY_EVENT, SmsEvent, UnknownEvent, VoicemailData, parse_envelope
from bot.slack.blocks.kit import Message, RenderContext
from bot.slack.blocks.notifications import Caller, Line, sms_inbound, sms_thread_parent
from bot.slack.buttons import ButtonCodec
from bot.slack.plans import (
    DELIVERED_REACTION,
    SENT_REACTION,
    CallKnown,
    Closed,
    DirectMessage,
    Plan,
    Post,
    React,
    Reopened,
    Sending,
    Shown,
    SmsKnown,
    Track,
    Update,
    Upload,
    VoicemailCopy,
    VoicemailKnown,
    Wait,
    canary,
    contact,
    furthest,
    live_call,
    missed_call,
    sms,
    voicemail,
)

WEBHOOKS = Path(__file__).resolve().parent.parent / "fixtures" / "qtvoice"
CTX = RenderContext(ZoneInfo("America/New_York"), "US", False, ButtonCodec(b"k"))
PARENT = Message("Text conversation", [])
CALLER = Caller("+12155551234", name="John Doe")


def text(event: str, **data: Any) -> SmsEvent:
    envelope = json.loads((WEBHOOKS / f"{event}.json").read_text())
    envelope["data"].update(data)
    parsed = parse_envelope(envelope)
    assert isinstance(parsed, SmsEvent)
    return parsed


def skeleton(plan: Plan) -> list[tuple[Any, ...]]:
    """Each write as (type, kind, channel, thread, broadcast and settle, or reaction or state
    or the recording's URL); an open item recorded as (type, kind, conversation)."""
    shape: list[tuple[Any, ...]] = []
    for write in plan:
        if isinstance(write, Track):
            shape.append(("track", write.kind, write.conversation))
        elif isinstance(write, Post):
            thread = write.thread[0] if write.thread else None
            post = ("post", write.kind, write.channel, thread, write.broadcast, write.settle)
            shape.append(post)
        elif isinstance(write, Update):
            shape.append(("update", write.kind, write.channel, dict(write.state or {})))
        elif isinstance(write, React):
            shape.append(("react", write.kind, write.channel, write.name))
        elif isinstance(write, Upload):
            shape.append(("upload", write.kind, write.channel, write.url))
        else:
            shape.append(("wait", write.wait))
    return shape


def known(**fields: Any) -> SmsKnown:
    return SmsKnown(**{"caller": CALLER, "channels": ["C1"], **fields})


def test_an_inbound_text_records_its_conversation_then_posts_in_every_channel() -> None:
    event = text("sms.received")

    plan = sms(event, known(channels=["C1", "C2"], opted_out=True), CTX)

    assert skeleton(plan) == [
        ("track", "sms_thread", event.conversation_key),
        ("post", "sms_thread", "C1", None, False, True),
        ("post", "sms", "C1", "sms_thread", False, False),
        ("post", "sms_thread", "C2", None, False, True),
        ("post", "sms", "C2", "sms_thread", False, False),
    ]
    parent = sms_thread_parent(CALLER, Line(number=None), CTX, opted_out=True)
    assert plan[0].message == parent  # type: ignore[union-attr]
    assert all(write.item for write in plan[1:] if write.kind == "sms_thread")  # type: ignore[union-attr]


def test_a_text_after_its_conversation_was_handled_is_a_new_item_also_broadcast() -> None:
    plan = sms(text("sms.received"), known(reopened=Reopened("U0BOB")), CTX)

    assert skeleton(plan)[1] == ("track", "sms_reopened", text("sms.received").conversation_key)
    assert "<@U0BOB>" in json.dumps(plan[1].message.blocks)  # type: ignore[union-attr]
    assert skeleton(plan)[4] == ("post", "sms_reopened", "C1", "sms_thread", True, True)
    assert plan[4].item  # type: ignore[union-attr]


def test_stop_is_said_in_the_thread_and_the_parent_shows_it() -> None:
    plan = sms(text("sms.received", message="STOP"), known(keyword="STOP", opts_out=True), CTX)

    assert skeleton(plan)[3:] == [
        ("post", "sms_opt", "C1", "sms_thread", False, False),
        ("update", "sms_thread", "C1", {}),
    ]
    assert plan[-1].item  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("event", "reaction"), [("sms.sent", SENT_REACTION), ("sms.delivered", DELIVERED_REACTION)]
)
def test_an_outbound_text_sent_by_a_thread_reply_is_a_reaction_on_it(
    event: str, reaction: str
) -> None:
    shown = {"C1": Shown({"origin": "slack"}, landed=True)}

    plan = sms(text(event), known(sending=Sending(shown)), CTX)

    assert skeleton(plan)[1] == ("react", "sms", "C1", reaction)


def test_an_outbound_text_already_shown_is_updated_never_back_to_an_earlier_state() -> None:
    shown = {"C1": Shown({"status": "delivered", "sent_by": "U0ALICE"}, landed=True)}

    plan = sms(text("sms.sent"), known(sending=Sending(shown)), CTX)

    assert skeleton(plan)[1] == (
        "update", "sms", "C1", {"status": "delivered", "sent_by": "U0ALICE"}
    )  # fmt: skip


def test_an_outbound_text_a_reply_is_still_texting_waits_for_it() -> None:
    plan = sms(text("sms.sent"), known(sending=Sending(replying=frozenset({"C1"}))), CTX)

    assert skeleton(plan) == [
        ("post", "sms_thread", "C1", None, False, False),
        ("wait", timedelta(seconds=1)),
    ]
    assert isinstance(plan[1], Wait)


def test_an_outbound_text_new_to_slack_is_posted_in_its_thread() -> None:
    plan = sms(text("sms.delivered"), known(), CTX)

    assert skeleton(plan)[1] == ("post", "sms", "C1", "sms_thread", False, False)
    assert plan[1].state == {"status": "delivered", "sent_by": None}  # type: ignore[union-attr]


def test_an_outbound_text_sent_from_slack_names_who_sent_it() -> None:
    plan = sms(text("sms.sent"), known(sending=Sending(sent_by="U0ALICE")), CTX)

    post = plan[1]
    assert isinstance(post, Post)
    assert post.state == {"status": "sent", "sent_by": "U0ALICE"}
    assert "<@U0ALICE>" in json.dumps(post.message.blocks)


def test_an_outbound_text_whose_sender_is_being_recorded_waits_for_it() -> None:
    plan = sms(text("sms.sent"), known(sending=Sending(recording=True)), CTX)

    assert skeleton(plan)[1] == ("wait", timedelta(seconds=1))
    assert isinstance(plan[1], Wait)
    assert "recorded" in plan[1].reason


def test_an_inbound_text_numbers_are_called_from_its_line() -> None:
    line = Line(number="+12155550100")
    event = text("sms.received", message="My cell is 215-555-9876, call me there")

    plan = sms(event, known(line=line), CTX)

    assert plan[2].message == sms_inbound(event.data, CALLER, CTX, line)  # type: ignore[union-attr]
    assert plan[2].message != sms_inbound(event.data, CALLER, CTX)  # type: ignore[union-attr]


def test_a_stop_said_before_a_newer_word_is_shown_as_a_text_only() -> None:
    plan = sms(text("sms.received", message="STOP"), known(keyword=None), CTX)

    assert [write[1] for write in skeleton(plan)] == ["sms_thread", "sms_thread", "sms"]


def test_delivery_states_only_move_forward() -> None:
    assert furthest("delivered", "sent") == "delivered"
    assert furthest("queued", "sent") == "sent"
    assert furthest(None, "sent") == "sent"
    assert furthest("nonsense", "sent") == "sent"


# Calls, voicemails, contacts


def event_of(name: str) -> Any:
    return parse_envelope(json.loads((WEBHOOKS / f"{name}.json").read_text()))


def test_a_missed_call_goes_to_its_channels_then_dms_and_marks_its_live_card() -> None:
    known = CallKnown(
        CALLER,
        places=["C1", DirectMessage("U0ALICE")],
        card_channels=["C1", "C2"],
        cards=frozenset({"C1"}),
    )

    plan = missed_call(event_of("call.missed"), known, CTX)

    assert skeleton(plan) == [
        ("track", "missed_call", None),
        ("post", "missed_call", "C1", None, False, True),
        ("post", "missed_call", DirectMessage("U0ALICE"), None, False, True),
        ("update", "live_call", "C1", {}),
    ]
    assert plan[1].state["id"] == event_of("call.missed").object_id  # type: ignore[union-attr]
    assert plan[1].item  # type: ignore[union-attr]
    assert plan[1].message == plan[0].message  # type: ignore[union-attr]


def test_a_live_call_is_posted_once_then_updated() -> None:
    known = CallKnown(CALLER, card_channels=["C1", "C2"], cards=frozenset({"C2"}))

    plan = live_call(event_of("call.incoming"), known, CTX)

    assert skeleton(plan) == [
        ("post", "live_call", "C1", None, False, False),
        ("update", "live_call", "C2", {}),
    ]


def voicemail_copy(
    place: str | DirectMessage, state: dict[str, Any], landed: bool = False
) -> VoicemailCopy:
    merged = {**event_of("voicemail.new").voicemail_fields(), **state}
    return VoicemailCopy(place, merged, VoicemailData.model_validate(merged), CALLER, landed)


def test_a_voicemail_is_recorded_posted_where_new_updated_where_shown_and_stays_handled() -> None:
    handled = {"handled_by": "U0BOB", "handled_at": "2026-01-05T10:00:00+00:00"}
    copies = [voicemail_copy("C1", {}), voicemail_copy("C2", handled, landed=True)]

    plan = voicemail(event_of("voicemail.new"), VoicemailKnown("vm_1", copies), CTX)

    assert skeleton(plan) == [
        ("track", "voicemail", None),
        ("post", "voicemail", "C1", None, False, True),
        ("track", "voicemail", None),
        ("update", "voicemail", "C2", copies[1].state),
    ]
    assert plan[1].item  # type: ignore[union-attr]
    assert plan[1].closed is None  # type: ignore[union-attr]
    assert plan[3].item  # type: ignore[union-attr]
    assert plan[3].closed == Closed("U0BOB", datetime(2026, 1, 5, 10, tzinfo=UTC))  # type: ignore[union-attr]


def test_a_voicemail_recording_goes_in_each_copy_thread_when_uploads_are_on() -> None:
    url = "https://qtvoice.example/recordings/vm_1.mp3"
    handled = {"handled_by": "U0BOB", "handled_at": "2026-01-05T10:00:00+00:00"}
    copies = [
        voicemail_copy("C1", {"recordingUrl": url}),
        voicemail_copy(DirectMessage("U0ALICE"), {**handled, "recordingUrl": url}),
    ]

    plan = voicemail(event_of("voicemail.new"), VoicemailKnown("vm_1", copies, True), CTX)
    off = voicemail(event_of("voicemail.new"), VoicemailKnown("vm_1", copies), CTX)

    assert skeleton(plan) == [
        ("track", "voicemail", None),
        ("post", "voicemail", "C1", None, False, True),
        ("upload", "voicemail", "C1", url),
        ("track", "voicemail", None),
        ("post", "voicemail", DirectMessage("U0ALICE"), None, False, False),
        ("upload", "voicemail", DirectMessage("U0ALICE"), url),
    ]
    assert [write[0] for write in skeleton(off)] == ["track", "post", "track", "post"]


def test_the_canary_is_posted_in_its_channel_and_nowhere_when_off() -> None:
    event = parse_envelope({"event": CANARY_EVENT, "data": {"id": "chk_1"}})
    assert isinstance(event, UnknownEvent)

    assert skeleton(canary(event, "C0CANARY", CTX)) == [
        ("post", "canary", "C0CANARY", None, False, False)
    ]
    assert canary(event, None, CTX) == ()


def test_a_contact_event_is_posted_in_each_channel_asking() -> None:
    plan = contact(event_of("contact.created"), ["C1", "C2"], CTX)

    assert skeleton(plan) == [
        ("post", "contact.created", "C1", None, False, False),
        ("post", "contact.created", "C2", None, False, False),
    ]
