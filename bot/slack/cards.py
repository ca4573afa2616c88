"""Slash command replies: the messages `/qtvoice` answers with, built from what they show.

Pure builders, no I/O. Replies are ephemeral and for the person who typed the command. New
blocks are built with `slack_sdk.models.blocks`, whose `to_dict()` raises
`SlackObjectFormationError` when a block breaks one of Slack's limits (3000 characters in a
section, 2000 in a button value), so a limit is met where the block is made, not found out
when Slack refuses the message. Event notifications and the contact card are `bot.slack.blocks`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from slack_sdk.models.blocks import (
    ButtonElement,
    ContextBlock,
    DividerBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot import phone
from bot.qtvoice.models import Extension
from bot.slack import blocks
from bot.slack.blocks import Block, Message, escape_mrkdwn
from bot.store.models import ExtensionLink
from bot.telephony import Refusal

LINK_EXTENSION = "link_extension"
"""The link offer's button; its value is {"x": "<extension id>"} (compact JSON)."""

PICKED_TEXT_LIMIT = 1000
"""Longest text carried in a picker button: Slack allows 2000 characters per button value."""
BUTTON_VALUE_LIMIT = 2000


def say(text: str) -> Message:
    """A plain reply: text alone renders mrkdwn and has no block limits to mind."""
    return Message(text=text, blocks=[])


def _small_print(text: str) -> Block:
    """A line of small print (mrkdwn)."""
    return ContextBlock(elements=[MarkdownTextObject(text=text)]).to_dict()


def shown(text: str | None) -> str:
    """Something a person or QTvoice typed, on one line and safe in mrkdwn."""
    return escape_mrkdwn(" ".join((text or "").split()))


def quoted(text: str) -> str:
    """A text as a mrkdwn quote, line by line, escaped."""
    return "\n".join(f"> {escape_mrkdwn(line)}" for line in text.strip().splitlines())


def extension_label(extension: Extension | ExtensionLink) -> str:
    """'*101* (Alice Jones)', escaped; the id when the extension has no number."""
    if isinstance(extension, ExtensionLink):
        number, name, ext_id = (
            extension.extension_number,
            extension.extension_name,
            extension.extension_id,
        )
    else:
        number, name, ext_id = extension.number, extension.name, extension.id
    label = f"*{shown(number or ext_id)}*"
    return f"{label} ({shown(name)})" if name else label


def kinds_label(event_kinds: str | None) -> str:
    """A route's stored kinds (comma-separated event types; None for the default) in words."""
    if not event_kinds:
        return "missed calls, voicemails and texts"
    return ", ".join(f"`{kind}`" for kind in event_kinds.split(","))


def picker_carrying_text(picker: Message, text: str) -> Message:
    """`blocks.contact_picker` for "sms", each button also carrying the text to send ("t").

    Raises `Refusal` when the text is too long to ride in a button value.
    """
    if len(text) > PICKED_TEXT_LIMIT:
        raise Refusal(
            f"Several contacts match and a text sent by picking one is limited to"
            f" {PICKED_TEXT_LIMIT} characters; send it to their number instead."
        )
    for block in picker.blocks:
        button = block.get("accessory")
        if button is None or button.get("action_id") != blocks.PICK_CONTACT:
            continue
        value = {**json.loads(button["value"]), "t": text}
        button["value"] = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        if len(button["value"]) > BUTTON_VALUE_LIMIT:
            raise Refusal(
                "That text is too long to send by picking a contact; send it to their number."
            )
    return picker


def number_readings(readings: Sequence[tuple[str, str]], region: str) -> Message:
    """The digits after a number could belong to it or to the text: a Text button per
    reading (`bot.slack.parsing.ambiguous_readings`), each carrying its own number and text.

    The buttons are the contact picker's (`blocks.PICK_CONTACT`, purpose "sms"), answered by
    `bot.slack.actions`. Raises `Refusal` when a text is too long to ride in a button value.
    """
    content: list[Block] = [
        SectionBlock(
            block_id="reading_intro",
            text=MarkdownTextObject(
                text="The digits after the number could be part of it or of the text."
                " Which did you mean?"
            ),
        ).to_dict()
    ]
    for index, (typed, text) in enumerate(readings):
        e164 = phone.parse(typed, region)
        if e164 is None:
            continue
        if len(text) > PICKED_TEXT_LIMIT:
            raise Refusal(
                f"I can't tell where the number ends, and a text sent by picking is limited to"
                f" {PICKED_TEXT_LIMIT} characters; send it again with the number in quotes."
            )
        button = ButtonElement(
            action_id=blocks.PICK_CONTACT,
            text="Text this",
            value=json.dumps(
                {"n": e164, "p": "sms", "t": text}, separators=(",", ":"), ensure_ascii=False
            ),
        )
        section = SectionBlock(
            block_id=f"reading_{index}",
            text=MarkdownTextObject(text=f"*{phone.display(e164, region)}*\n{quoted(text)}"),
            accessory=button,
        )
        content.append(section.to_dict())
    return Message(text="Which number did you mean? Pick one to send the text.", blocks=content)


def link_offer(extensions: Sequence[Extension]) -> Message:
    """A "Link it to me" button per extension whose email matches the user's Slack email."""
    content: list[Block] = [
        SectionBlock(
            block_id="link_intro",
            text=MarkdownTextObject(text="Your Slack email matches this QTvoice extension:"),
        ).to_dict()
    ]
    for index, extension in enumerate(extensions):
        button = ButtonElement(
            action_id=LINK_EXTENSION,
            style="primary",
            text="Link it to me",
            value=json.dumps({"x": extension.id}, separators=(",", ":")),
        )
        section = SectionBlock(
            block_id=f"link_{index}",
            text=MarkdownTextObject(text=f"Extension {extension_label(extension)}"),
            accessory=button,
        )
        content.append(section.to_dict())
    content.append(_small_print("Not yours? Run `/qtvoice link <extension>` with your number."))
    return Message(
        text=f"Your Slack email matches extension {extension_label(extensions[0])}.",
        blocks=content,
    )


def voicemail_list(voicemails: Sequence[Message], unread: int) -> Message:
    """The user's unread voicemails, each as its notification shows it minus Mark handled
    (this list is private), divided; a footer when `unread` is more than those shown."""
    content: list[Block] = []
    for index, voicemail in enumerate(voicemails):
        content += [*_without_mark_handled(voicemail.blocks, index), DividerBlock().to_dict()]
    count = f"{unread} unread voicemail" + ("" if unread == 1 else "s")
    if unread > len(voicemails):
        content.append(_small_print(f"The newest {len(voicemails)} of {count}."))
    return Message(text=f"📬 You have {count}.", blocks=content)


def _without_mark_handled(rendered: list[Block], index: int) -> list[Block]:
    """The blocks without the Mark handled button, block ids made unique by `index`."""
    kept: list[Block] = []
    for block in rendered:
        if block.get("type") == "actions":
            buttons = [b for b in block["elements"] if b.get("action_id") != blocks.MARK_HANDLED]
            if not buttons:
                continue
            block = {**block, "elements": buttons}
        kept.append({**block, "block_id": f"{block.get('block_id')}_{index}"})
    return kept
