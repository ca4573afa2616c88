"""What a text does in Slack, pinned as its plan (`bot.slack.plans`): pure, so without a server.

The golden tests (`tests/test_golden.py`) pin what Slack shows at the end; these pin the
writes that get it there, in order, for each kind of text and each thing the store may know.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.qtvoice.events import SmsEvent, parse_envelope
from bot.slack.blocks.kit import Message, RenderContext
from bot.slack.blocks.notifications import Caller
from bot.slack.buttons import ButtonCodec
from bot.slack.plans import (
    DELIVERED_REACTION,
    SENT_REACTION,
    Plan,
    Post,
    React,
    Shown,
    SmsKnown,
    Update,
    Wait,
    furthest,
    sms,
)

WEBHOOKS = Path(__file__).resolve().parent.parent / "fixtures" / "qtvoice"
CTX = RenderContext(ZoneInfo("America/New_York"), "US", False, ButtonCodec(b"k"))
PARENT = Message("Text conversation", [])
REOPENED = Message("wrote again", [])
CALLER = Caller("+12155551234", name="John Doe")


def text(event: str, **data: Any) -> SmsEvent:
    envelope = json.loads((WEBHOOKS / f"{event}.json").read_text())
    envelope["data"].update(data)
    parsed = parse_envelope(envelope)
    assert isinstance(parsed, SmsEvent)
    return parsed


def skeleton(plan: Plan) -> list[tuple[Any, ...]]:
    """Each write as (type, kind, channel, thread, broadcast or reaction or state)."""
    shape: list[tuple[Any, ...]] = []
    for write in plan:
        if isinstance(write, Post):
            thread = write.thread[0] if write.thread else None
            shape.append(("post", write.kind, write.channel, thread, write.broadcast))
        elif isinstance(write, Update):
            shape.append(("update", write.kind, write.channel, dict(write.state or {})))
        elif isinstance(write, React):
            shape.append(("react", write.kind, write.channel, write.name))
        else:
            shape.append(("wait", write.wait))
    return shape


def known(**fields: Any) -> SmsKnown:
    return SmsKnown(**{"caller": CALLER, "channels": ["C1"], "parent": PARENT, **fields})


def test_an_inbound_text_opens_its_thread_then_posts_in_it_in_every_channel() -> None:
    plan = sms(text("sms.received"), known(channels=["C1", "C2"]), CTX)

    assert skeleton(plan) == [
        ("post", "sms_thread", "C1", None, False),
        ("post", "sms", "C1", "sms_thread", False),
        ("post", "sms_thread", "C2", None, False),
        ("post", "sms", "C2", "sms_thread", False),
    ]
    assert plan[0].message is PARENT  # type: ignore[union-attr]


def test_a_text_after_its_conversation_was_handled_is_also_broadcast() -> None:
    plan = sms(text("sms.received"), known(reopened=REOPENED), CTX)

    assert skeleton(plan)[2] == ("post", "sms_reopened", "C1", "sms_thread", True)


def test_stop_is_said_in_the_thread_and_the_parent_shows_it() -> None:
    plan = sms(text("sms.received", message="STOP"), known(keyword="STOP", opts_out=True), CTX)

    assert skeleton(plan)[2:] == [
        ("post", "sms_opt", "C1", "sms_thread", False),
        ("update", "sms_thread", "C1", {}),
    ]


@pytest.mark.parametrize(
    ("event", "reaction"), [("sms.sent", SENT_REACTION), ("sms.delivered", DELIVERED_REACTION)]
)
def test_an_outbound_text_sent_by_a_thread_reply_is_a_reaction_on_it(
    event: str, reaction: str
) -> None:
    shown = {"C1": Shown({"origin": "slack"}, landed=True)}

    plan = sms(text(event), known(outbound=shown), CTX)

    assert skeleton(plan)[1] == ("react", "sms", "C1", reaction)


def test_an_outbound_text_already_shown_is_updated_never_back_to_an_earlier_state() -> None:
    shown = {"C1": Shown({"status": "delivered", "sent_by": "U0ALICE"}, landed=True)}

    plan = sms(text("sms.sent"), known(outbound=shown), CTX)

    assert skeleton(plan)[1] == (
        "update", "sms", "C1", {"status": "delivered", "sent_by": "U0ALICE"}
    )  # fmt: skip


def test_an_outbound_text_a_reply_is_still_texting_waits_for_it() -> None:
    plan = sms(text("sms.sent"), known(replying=frozenset({"C1"})), CTX)

    assert skeleton(plan) == [
        ("post", "sms_thread", "C1", None, False),
        ("wait", timedelta(seconds=1)),
    ]
    assert isinstance(plan[1], Wait)


def test_an_outbound_text_new_to_slack_is_posted_in_its_thread() -> None:
    plan = sms(text("sms.delivered"), known(), CTX)

    assert skeleton(plan)[1] == ("post", "sms", "C1", "sms_thread", False)
    assert plan[1].state == {"status": "delivered"}  # type: ignore[union-attr]


def test_delivery_states_only_move_forward() -> None:
    assert furthest("delivered", "sent") == "delivered"
    assert furthest("queued", "sent") == "sent"
    assert furthest(None, "sent") == "sent"
    assert furthest("nonsense", "sent") == "sent"
