"""Slash command replies (`bot.slack.blocks.replies`): pure builders, pinned without a server."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.qtvoice.models import Contact, Extension, Voicemail
from bot.slack.blocks import notifications as blocks
from bot.slack.blocks import replies as cards
from bot.slack.blocks.kit import Message, RenderContext
from bot.slack.blocks.notifications import Caller, Line
from bot.slack.buttons import TEXT_LIMIT, ButtonCodec, ButtonValue
from bot.telephony import Refusal

CODEC = ButtonCodec(b"test key")
CTX = RenderContext(
    timezone=ZoneInfo("UTC"), default_region="US", mask_numbers=False, buttons=CODEC
)


def extension(number: str, name: str) -> Extension:
    return Extension.model_validate({"id": f"ext_{number}", "number": number, "name": name})


def voicemail(index: int) -> Message:
    vm = Voicemail.model_validate(
        {
            "id": f"vm_{index}",
            "from": "+12155551234",
            "to": "+12155550100",
            "duration": 30,
            "createdAt": datetime(2026, 1, 5, 9, 0, tzinfo=UTC).isoformat(),
        }
    )
    return blocks.voicemail(vm, Caller("+12155551234"), Line("+12155550100"), CTX)


def test_link_offer_has_one_link_button_per_extension_naming_it() -> None:
    offer = cards.link_offer([extension("101", "Alice"), extension("102", "Bob <b>")], CTX)

    buttons = [block["accessory"] for block in offer.blocks if "accessory" in block]
    assert [CODEC.decode(button["value"]) for button in buttons] == [
        ButtonValue(extension="ext_101"),
        ButtonValue(extension="ext_102"),
    ]
    assert {button["action_id"] for button in buttons} == {cards.LINK_EXTENSION}
    assert "Bob &lt;b&gt;" in offer.blocks[2]["text"]["text"]


def test_voicemail_list_drops_mark_handled_and_keeps_block_ids_unique() -> None:
    listed = cards.voicemail_list([voicemail(0), voicemail(1)], unread=2)

    action_ids = [
        element["action_id"]
        for block in listed.blocks
        if block["type"] == "actions"
        for element in block["elements"]
    ]
    block_ids = [block["block_id"] for block in listed.blocks if "block_id" in block]
    assert blocks.MARK_HANDLED not in action_ids
    assert blocks.CALL_BACK in action_ids
    assert len(block_ids) == len(set(block_ids))
    assert listed.text == "📬 You have 2 unread voicemails."


def test_voicemail_list_says_when_it_shows_only_the_newest() -> None:
    listed = cards.voicemail_list([voicemail(0)], unread=12)

    assert listed.blocks[-1]["elements"][0]["text"] == "The newest 1 of 12 unread voicemails."


def test_a_picked_text_rides_in_every_picker_button() -> None:
    contacts = [
        Contact.model_validate({"id": f"c{i}", "firstName": f"Jo{i}", "phone": f"+1215555010{i}"})
        for i in range(2)
    ]
    picker = cards.picker_carrying_text(contacts, CTX, "On my way")

    values = [
        CODEC.decode(block["accessory"]["value"]) for block in picker.blocks if "accessory" in block
    ]
    assert [value.text if value else None for value in values] == ["On my way", "On my way"]


def test_a_text_too_long_to_ride_in_a_button_is_refused() -> None:
    contacts = [Contact.model_validate({"id": "c1", "firstName": "Jo", "phone": "+12155550101"})]

    with pytest.raises(Refusal, match="limited to 1000 characters"):
        cards.picker_carrying_text(contacts, CTX, "x" * (TEXT_LIMIT + 1))
