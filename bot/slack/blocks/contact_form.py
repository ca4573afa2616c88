"""The contact form's view (Save contact, Edit): a plain_text_input per contact field.

Pure, on `bot.slack.blocks.kit`; opening it and reading its submission are
`bot.slack.listeners.contact_form`.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import InputBlock, PlainTextInputElement, PlainTextObject
from slack_sdk.models.views import View

from bot.qtvoice.models import Contact
from bot.slack.blocks.kit import section

CONTACT_MODAL = "contact_save"
#: The form's fields, in QTvoice's order: (block_id, action_id and QTvoice's field name,
#: label, longest, multiline).
FIELDS = (
    ("first_name", "First name", 80, False),
    ("last_name", "Last name", 80, False),
    ("company", "Company", 120, False),
    ("email", "Email", 254, False),
    ("notes", "Notes", 1000, True),
)


def contact_modal(metadata: str, shown: str, contact: Contact | None) -> dict[str, Any]:
    """The form for the number `shown` (as the messages show it), filled in from `contact`
    when editing one; `metadata` is its private_metadata (sealed, `bot.slack.buttons`)."""
    inputs = []
    for name, label, longest, multiline in FIELDS:
        current = getattr(contact, name, None) if contact is not None else None
        initial = current[:longest] if isinstance(current, str) and current else None
        inputs.append(
            InputBlock(
                block_id=name,
                optional=True,
                label=PlainTextObject(text=label),
                element=PlainTextInputElement(
                    action_id=name,
                    max_length=longest,
                    multiline=multiline,
                    initial_value=initial,
                ),
            ).to_dict()
        )
    return View(
        type="modal",
        callback_id=CONTACT_MODAL,
        title=PlainTextObject(text=f"{'Edit' if contact else 'Save'} contact"),
        submit=PlainTextObject(text="Save"),
        close=PlainTextObject(text="Cancel"),
        private_metadata=metadata,
        blocks=[section("contact_number", f"📇 {shown}"), *inputs],
    ).to_dict()
