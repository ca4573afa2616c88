"""Slash command replies: the messages `/qtvoice` answers with, built from what they show.

Pure builders, no I/O, on `bot.slack.blocks.kit`. Replies are ephemeral and for the person
who typed the command. Event notifications and the contact card are
`bot.slack.blocks.notifications`.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.qtvoice.models import Contact, Extension
from bot.slack.blocks import notifications
from bot.slack.blocks.kit import (
    Block,
    Message,
    RenderContext,
    button,
    context,
    divider,
    escape_mrkdwn,
    section,
)
from bot.slack.buttons import TEXT_LIMIT, ButtonValue
from bot.store.models import ExtensionLink
from bot.telephony import Refusal

LINK_EXTENSION = "link_extension"
"""The link offer's button; its value names the extension (`bot.slack.buttons`)."""


def say(text: str) -> Message:
    """A plain reply: text alone renders mrkdwn and has no block limits to mind."""
    return Message(text=text, blocks=[])


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


def picker_carrying_text(contacts: list[Contact], ctx: RenderContext, text: str) -> Message:
    """`notifications.contact_picker` for "sms", each button also carrying the text to send.

    Raises `Refusal` when the text is too long to ride in a button value.
    """
    too_long = Refusal(
        f"Several contacts match and a text sent by picking one is limited to"
        f" {TEXT_LIMIT} characters; send it to their number instead."
    )
    if len(text) > TEXT_LIMIT:
        raise too_long
    try:
        return notifications.contact_picker(contacts, "sms", ctx, text=text)
    except ValueError:
        raise too_long from None


def link_offer(extensions: Sequence[Extension], ctx: RenderContext) -> Message:
    """A "Link it to me" button per extension whose email matches the user's Slack email."""
    content: list[Block] = [
        section("link_intro", "Your Slack email matches this QTvoice extension:")
    ]
    for index, extension in enumerate(extensions):
        offer = button(
            "Link it to me",
            LINK_EXTENSION,
            ButtonValue(extension=extension.id),
            ctx,
            style="primary",
        )
        content.append(
            section(f"link_{index}", f"Extension {extension_label(extension)}", accessory=offer)
        )
    content.append(
        context("link_not_yours", "Not yours? Run `/qtvoice link <extension>` with your number.")
    )
    return Message(
        text=f"Your Slack email matches extension {extension_label(extensions[0])}.",
        blocks=content,
    )


def voicemail_list(voicemails: Sequence[Message], unread: int) -> Message:
    """The user's unread voicemails, each as its notification shows it minus Mark handled
    (this list is private), divided; a footer when `unread` is more than those shown."""
    content: list[Block] = []
    for index, voicemail in enumerate(voicemails):
        content += [*_without_mark_handled(voicemail.blocks, index), divider()]
    count = f"{unread} unread voicemail" + ("" if unread == 1 else "s")
    if unread > len(voicemails):
        content.append(context("voicemails_more", f"The newest {len(voicemails)} of {count}."))
    return Message(text=f"📬 You have {count}.", blocks=content)


def _without_mark_handled(rendered: list[Block], index: int) -> list[Block]:
    """The blocks without the Mark handled button, block ids made unique by `index`."""
    kept: list[Block] = []
    for block in rendered:
        if block.get("type") == "actions":
            buttons = [
                b for b in block["elements"] if b.get("action_id") != notifications.MARK_HANDLED
            ]
            if not buttons:
                continue
            block = {**block, "elements": buttons}
        kept.append({**block, "block_id": f"{block.get('block_id')}_{index}"})
    return kept
