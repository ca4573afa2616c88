"""Slack's Block Kit limits as the tests read them, and a check that a message keeps them."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block

from bot.slack.blocks.kit import Message

# Block Kit limits, from api.slack.com/reference/block-kit.
MAX_BLOCKS = 50
MAX_BLOCK_ID = 255
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ACTION_ID = 255


def assert_fits_block_kit(message: Message) -> None:
    """Our reading of the limits, then slack_sdk's own block models as a second opinion
    (they also reject unknown keys: a block must survive their round trip unchanged)."""
    kwargs = message.as_kwargs()
    assert kwargs["text"].strip()
    blocks = kwargs["blocks"]
    assert 0 < len(blocks) <= MAX_BLOCKS
    block_ids = [item["block_id"] for item in blocks]
    assert len(block_ids) == len(set(block_ids)), block_ids
    for item in blocks:
        assert 0 < len(item["block_id"]) <= MAX_BLOCK_ID
        {"section": _check_section, "context": _check_context, "actions": _check_actions}[
            item["type"]
        ](item)
        parsed = Block.parse(item)
        assert parsed is not None
        parsed.validate_json()
        assert parsed.to_dict() == item


def _check_text(text: dict[str, Any], limit: int) -> None:
    assert text["type"] in ("mrkdwn", "plain_text")
    assert 0 < len(text["text"]) <= limit, len(text["text"])


def _check_section(section: dict[str, Any]) -> None:
    _check_text(section["text"], MAX_SECTION_TEXT)
    fields = section.get("fields", [])
    assert len(fields) <= MAX_FIELDS
    for field in fields:
        _check_text(field, MAX_FIELD_TEXT)
    if "accessory" in section:
        _check_button(section["accessory"])


def _check_context(context: dict[str, Any]) -> None:
    assert 0 < len(context["elements"]) <= MAX_CONTEXT_ELEMENTS
    for element in context["elements"]:
        _check_text(element, MAX_SECTION_TEXT)


def _check_actions(actions: dict[str, Any]) -> None:
    elements = actions["elements"]
    assert 0 < len(elements) <= MAX_ACTIONS_ELEMENTS
    action_ids = [element["action_id"] for element in elements]
    assert len(action_ids) == len(set(action_ids))
    for element in elements:
        if element["type"] == "users_select":
            _check_text(element["placeholder"], MAX_BUTTON_TEXT)
            assert 0 < len(element["action_id"]) <= MAX_ACTION_ID
        else:
            _check_button(element)


def _check_button(button: dict[str, Any]) -> None:
    assert button["type"] == "button"
    assert button["text"]["type"] == "plain_text"
    _check_text(button["text"], MAX_BUTTON_TEXT)
    assert 0 < len(button["action_id"]) <= MAX_ACTION_ID
    assert 0 < len(button["value"]) <= MAX_BUTTON_VALUE
    assert button.get("style", "primary") in ("primary", "danger")
