"""The SMS modal's view: who it texts, from which line, the conversation so far, a text field.

Pure, on `bot.slack.blocks.kit`; opening it and reading its submission are
`bot.slack.modal` and `bot.slack.listeners.views`.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import InputBlock, PlainTextInputElement, PlainTextObject
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
from bot.slack.blocks.notifications import Caller, Line, short_name
from bot.telephony import MAX_SMS_LENGTH

SMS_MODAL = "sms_send"
MESSAGE_BLOCK = "sms_message"
MESSAGE_ACTION = "message"
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
) -> dict[str, Any]:
    """The modal texting `caller` from `line` (None: the sender's own); `history` None means
    it is still being fetched. `metadata` is its private_metadata (`bot.slack.modal`)."""
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
    return View(
        type="modal",
        callback_id=SMS_MODAL,
        title=PlainTextObject(text="Send a text"),
        submit=PlainTextObject(text="Send"),
        close=PlainTextObject(text="Cancel"),
        private_metadata=metadata,
        blocks=view_blocks,
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
    body = " ".join((sms.message or "").split()) or "(empty message)"
    if len(body) > HISTORY_TEXT_LIMIT:
        body = body[: HISTORY_TEXT_LIMIT - 1].rstrip() + "…"
    return f"{who}{when}\n> {escape_mrkdwn(body)}"
