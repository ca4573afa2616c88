"""The SMS modal's view: who it texts, from which line, the conversation so far, a text field.

Pure, on `bot.slack.blocks.kit`; opening it and reading its submission are
`bot.slack.modal` and `bot.slack.listeners.views`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    InputBlock,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.qtvoice.models import Sms
from bot.slack.blocks.kit import (
    Block,
    RenderContext,
    context,
    escape_mrkdwn,
    format_when,
    same_number,
    section,
)
from bot.slack.blocks.notifications import Caller, Line, callers_words, short_name
from bot.store.models import SavedReply
from bot.store.replies import MOST_REPLIES
from bot.telephony import MAX_SMS_LENGTH

SMS_MODAL = "sms_send"
MESSAGE_BLOCK = "sms_message"
MESSAGE_ACTION = "message"
SAVED_BLOCK = "sms_saved"
SAVED_ACTION = "saved"
#: A static_select option's text: Slack shows at most 75 characters.
OPTION_TEXT_LIMIT = 75
HISTORY_TEXT_LIMIT = 600
SEGMENT_HINT = (
    "One SMS holds 160 characters (70 with emoji or other special characters); longer texts"
    f" go as several segments, up to {MAX_SMS_LENGTH} characters."
)


def sms_modal(
    metadata: str,
    line: str | None,
    caller: Caller,
    ctx: RenderContext,
    history: list[Sms] | None,
    *,
    history_error: str | None = None,
    replies: Sequence[SavedReply] = (),
) -> dict[str, Any]:
    """The modal texting `caller` from `line` (None: the sender's own); `history` None means
    it is still being fetched. `metadata` is its private_metadata (`bot.slack.modal`). The
    saved `replies`, if any, are offered in a menu under the text field."""
    from_line = Line(number=line).mrkdwn(ctx) if line else "your line"
    view_blocks: list[Block] = [
        section("sms_to", f"💬 To {caller.mrkdwn(ctx)}\nFrom {from_line}"),
        _history_block(history, caller, ctx, history_error),
        InputBlock(
            block_id=MESSAGE_BLOCK,
            label=PlainTextObject(text="Message"),
            hint=PlainTextObject(text=SEGMENT_HINT),
            element=PlainTextInputElement(
                action_id=MESSAGE_ACTION,
                multiline=True,
                max_length=MAX_SMS_LENGTH,
                focus_on_load=True,
            ),
        ).to_dict(),
    ]
    if replies:
        view_blocks.append(_saved_replies_block(replies))
    return View(
        type="modal",
        callback_id=SMS_MODAL,
        title=PlainTextObject(text="Send a text"),
        submit=PlainTextObject(text="Send"),
        close=PlainTextObject(text="Cancel"),
        private_metadata=metadata,
        blocks=view_blocks,
    ).to_dict()


def _saved_replies_block(replies: Sequence[SavedReply]) -> Block:
    """A menu of the saved replies (`/qtvoice replies`): the one picked is sent when the
    message is left empty."""
    options = []
    for reply in replies[:MOST_REPLIES]:
        preview = " ".join(f"{reply.name}: {reply.text}".split())
        if len(preview) > OPTION_TEXT_LIMIT:
            preview = preview[: OPTION_TEXT_LIMIT - 1] + "…"
        options.append(Option(text=PlainTextObject(text=preview), value=reply.name))
    return InputBlock(
        block_id=SAVED_BLOCK,
        optional=True,
        label=PlainTextObject(text="Or send a saved reply"),
        element=StaticSelectElement(
            action_id=SAVED_ACTION,
            placeholder=PlainTextObject(text="Pick a saved reply"),
            options=options,
        ),
    ).to_dict()


def _history_block(
    history: list[Sms] | None, caller: Caller, ctx: RenderContext, error: str | None
) -> Block:
    if error is not None:
        return context("sms_history", f"⚠️ Couldn't load the conversation: {escape_mrkdwn(error)}")
    if history is None:
        return context("sms_history", "_Loading the conversation…_")
    if not history:
        return context("sms_history", "_No earlier messages with this number._")
    lines = [_history_line(sms, caller, ctx) for sms in history]
    return section("sms_history", "*Recent messages*\n" + "\n".join(lines))


def _history_line(sms: Sms, caller: Caller, ctx: RenderContext) -> str:
    inbound = sms.direction == "inbound" or (
        sms.direction is None and same_number(sms.from_, caller.number, ctx)
    )
    who = f"📥 {short_name(caller, ctx)}" if inbound else "📤 Sent"
    when = f" · {format_when(sms.created_at, ctx)}" if sms.created_at else ""
    body = " ".join(callers_words(sms.message or "", ctx).split()) or "(empty message)"
    if len(body) > HISTORY_TEXT_LIMIT:
        body = body[: HISTORY_TEXT_LIMIT - 1].rstrip() + "…"
    return f"{who}{when}\n> {escape_mrkdwn(body)}"
