"""The SMS modal: Text back, Reply, and Text on a contact card open it; submitting it texts
what was typed, or the saved reply picked (`/qtvoice replies`).

The modal opens the moment a button is clicked, because a trigger_id is only good for three
seconds; the conversation's last messages come from QTvoice afterwards and are filled in
with views.update. Submitting it sends through `Telephony`, whose refusals (opted out, rate
limit, nothing typed) are shown on the text field itself so the person can fix and resend.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.qtvoice.errors import QTvoiceError
from bot.qtvoice.models import Sms
from bot.runtime import Runtime
from bot.slack import blocks
from bot.slack.api_errors import describe
from bot.slack.blocks import Block, Caller, Line, RenderContext, escape_mrkdwn
from bot.slack.rendering import (
    context,
    lookup_caller,
    render_context,
    same_number,
    section,
    shown_number,
)
from bot.slack.sentences import FAILURES, plain_sentence, sentence
from bot.store.models import SavedReply
from bot.store.replies import MOST_REPLIES, all_replies
from bot.store.replies import reply as reply_named
from bot.telephony import MAX_SMS_LENGTH, Telephony

logger = logging.getLogger(__name__)

SMS_MODAL = "sms_send"
MESSAGE_BLOCK = "sms_message"
MESSAGE_ACTION = "message"
SAVED_BLOCK = "sms_saved"
SAVED_ACTION = "saved"
#: A static_select option's text: Slack shows at most 75 characters.
OPTION_TEXT_LIMIT = 75
HISTORY_SHOWN = 10
HISTORY_FETCHED = 25
HISTORY_TEXT_LIMIT = 600
SEGMENT_HINT = (
    "One SMS holds 160 characters (70 with emoji or other special characters); longer texts"
    f" go as several segments, up to {MAX_SMS_LENGTH} characters."
)

SUBMIT_ACK_BUDGET_SECONDS = 2.0
"""How long a modal submission may wait for QTvoice before answering Slack, which gives up
after three seconds: a refusal or a quick error can still be shown on the form itself."""


async def whisper(
    client: AsyncWebClient,
    user: str,
    text: str,
    *,
    channel: str | None = None,
    thread_ts: str | None = None,
    block_kit: list[Block] | None = None,
) -> None:
    """Tell one person something only they see: ephemeral in `channel`, else in their DM
    with the app (a click in the App Home comes from no channel)."""
    try:
        if channel:
            await client.chat_postEphemeral(
                channel=channel, user=user, text=text, thread_ts=thread_ts, blocks=block_kit
            )
        else:
            await client.chat_postMessage(channel=user, text=text, blocks=block_kit)
    except SlackApiError as error:
        logger.warning("could not tell %s: %s", user, describe(error))


@dataclass(frozen=True)
class SmsTarget:
    """Who a modal texts, from which line, and where it was opened (for the confirmation)."""

    customer: str
    line: str | None = None
    channel: str | None = None
    thread_ts: str | None = None

    def to_metadata(self) -> str:
        fields = {"n": self.customer, "l": self.line, "c": self.channel, "t": self.thread_ts}
        return json.dumps({k: v for k, v in fields.items() if v}, separators=(",", ":"))

    @classmethod
    def from_metadata(cls, raw: str | None) -> SmsTarget | None:
        try:
            fields = json.loads(raw or "")
        except ValueError:
            return None
        if not isinstance(fields, dict) or not isinstance(fields.get("n"), str):
            return None
        return cls(
            customer=fields["n"],
            line=_text_or_none(fields.get("l")),
            channel=_text_or_none(fields.get("c")),
            thread_ts=_text_or_none(fields.get("t")),
        )


def sms_modal(
    target: SmsTarget,
    caller: Caller,
    ctx: RenderContext,
    history: list[Sms] | None,
    *,
    history_error: str | None = None,
    replies: Sequence[SavedReply] = (),
) -> dict[str, Any]:
    """The modal; `history` None means it is still being fetched. The saved `replies`, if
    any, are offered in a menu under the text field."""
    line = Line(number=target.line).mrkdwn(ctx) if target.line else "your line"
    view_blocks: list[Block] = [
        section("sms_to", f"💬 To {caller.mrkdwn(ctx)}\nFrom {line}"),
        _history_block(history, caller, ctx, history_error),
        {
            "type": "input",
            "block_id": MESSAGE_BLOCK,
            "label": {"type": "plain_text", "text": "Message"},
            "hint": {"type": "plain_text", "text": SEGMENT_HINT},
            "element": {
                "type": "plain_text_input",
                "action_id": MESSAGE_ACTION,
                "multiline": True,
                "max_length": MAX_SMS_LENGTH,
                "focus_on_load": True,
            },
        },
    ]
    if replies:
        view_blocks.append(_saved_replies_block(replies))
    return {
        "type": "modal",
        "callback_id": SMS_MODAL,
        "title": {"type": "plain_text", "text": "Send a text"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": target.to_metadata(),
        "blocks": view_blocks,
    }


def _saved_replies_block(replies: Sequence[SavedReply]) -> Block:
    """A menu of the saved replies (`/qtvoice replies`): the one picked is sent when the
    message is left empty."""
    options = []
    for reply in replies[:MOST_REPLIES]:
        preview = " ".join(f"{reply.name}: {reply.text}".split())
        if len(preview) > OPTION_TEXT_LIMIT:
            preview = preview[: OPTION_TEXT_LIMIT - 1] + "…"
        options.append({"text": {"type": "plain_text", "text": preview}, "value": reply.name})
    return {
        "type": "input",
        "block_id": SAVED_BLOCK,
        "optional": True,
        "label": {"type": "plain_text", "text": "Or send a saved reply"},
        "element": {
            "type": "static_select",
            "action_id": SAVED_ACTION,
            "placeholder": {"type": "plain_text", "text": "Pick a saved reply"},
            "options": options,
        },
    }


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
    who = f"📥 {_short(caller, ctx)}" if inbound else "📤 Sent"
    when = f" · {blocks.format_when(sms.created_at, ctx)}" if sms.created_at else ""
    body = " ".join(blocks.callers_words(sms.message or "", ctx).split()) or "(empty message)"
    if len(body) > HISTORY_TEXT_LIMIT:
        body = body[: HISTORY_TEXT_LIMIT - 1].rstrip() + "…"
    return f"{who}{when}\n> {escape_mrkdwn(body)}"


async def open_sms_modal(
    runtime: Runtime, client: AsyncWebClient, trigger_id: str, target: SmsTarget
) -> None:
    """Open the modal at once (the trigger expires in 3 s), then fill in the conversation."""
    ctx = render_context(runtime.settings)
    async with runtime.sessions() as session:
        saved = await all_replies(session)
    loading = sms_modal(target, Caller(number=target.customer), ctx, None, replies=saved)
    opened = await client.views_open(trigger_id=trigger_id, view=loading)
    caller = await lookup_caller(runtime, target.customer)
    try:
        history = await conversation(runtime, target.customer, target.line)
        view = sms_modal(target, caller, ctx, history, replies=saved)
    except QTvoiceError as error:
        logger.warning("could not load the SMS history for the modal: %s", error)
        view = sms_modal(
            target, caller, ctx, None, history_error=plain_sentence(error), replies=saved
        )
    try:
        await client.views_update(
            view_id=opened["view"]["id"], hash=opened["view"]["hash"], view=view
        )
    except SlackApiError as error:
        # Closed, sent or changed by the user meanwhile: nothing left to fill in.
        logger.info("SMS modal not updated: %s", describe(error))


async def conversation(runtime: Runtime, customer: str, line: str | None) -> list[Sms]:
    """The last texts between `customer` and `line` (any line when None), newest last."""
    qtvoice = runtime.qtvoice
    received, sent = await asyncio.gather(
        qtvoice.list_sms(from_=customer, limit=HISTORY_FETCHED),
        qtvoice.list_sms(to=customer, limit=HISTORY_FETCHED),
    )
    ctx = render_context(runtime.settings)
    by_id = {sms.id: sms for sms in [*received.data, *sent.data]}
    texts = [
        sms
        for sms in by_id.values()
        if line is None or same_number(_other_party(sms, customer, ctx), line, ctx)
    ]
    texts.sort(key=lambda sms: sms.created_at or datetime.min.replace(tzinfo=UTC))
    return texts[-HISTORY_SHOWN:]


def _other_party(sms: Sms, customer: str, ctx: RenderContext) -> str | None:
    return sms.to if same_number(sms.from_, customer, ctx) else sms.from_


class SmsModal:
    """The modal's submission: send, or say on the form why not."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.telephony = Telephony(runtime)
        self.ctx = render_context(runtime.settings)

    async def submit(
        self,
        ack: Callable[..., Awaitable[Any]],
        body: dict[str, Any],
        view: dict[str, Any],
        client: AsyncWebClient,
    ) -> None:
        user = body["user"]["id"]
        target = SmsTarget.from_metadata(view.get("private_metadata"))
        if target is None:
            await _refuse(ack, "This form has expired; close it and press the button again.")
            return
        text = _typed_text(view)
        chosen = _chosen_reply(view)
        if chosen and text.strip():
            await _refuse(ack, "Either type a message or pick a saved reply, not both.")
            return
        if chosen:
            async with self.runtime.sessions() as session:
                saved = await reply_named(session, chosen)
            if saved is None:
                await _refuse(ack, "That saved reply was just removed; type the text instead.")
                return
            text = saved.text
        if not text.strip():
            await _refuse(ack, "Type the text to send.")
            return
        sending = asyncio.ensure_future(
            self.telephony.send_text(user, target.customer, text, line=target.line)
        )
        try:
            sms = await asyncio.wait_for(asyncio.shield(sending), SUBMIT_ACK_BUDGET_SECONDS)
        except TimeoutError:
            # QTvoice is slow: close the form now and report the outcome when it comes.
            await ack()
            await self._report(client, user, target, sending)
            return
        except FAILURES as failure:
            await _refuse(ack, plain_sentence(failure))
            return
        await ack()
        await self._confirm(client, user, target, sms)

    async def _report(
        self,
        client: AsyncWebClient,
        user: str,
        target: SmsTarget,
        sending: asyncio.Future[Sms],
    ) -> None:
        try:
            sms = await sending
        except FAILURES as failure:
            await self._tell(client, user, target, f"⚠️ Text not sent: {sentence(failure)}")
        else:
            await self._confirm(client, user, target, sms)

    async def _confirm(
        self, client: AsyncWebClient, user: str, target: SmsTarget, sms: Sms
    ) -> None:
        """Only the sender hears of success; the worker shows the text itself in its thread."""
        logger.info("text %s sent from a modal", sms.id)
        shown = shown_number(target.customer, self.ctx)
        await self._tell(client, user, target, f"📤 Text sent to {shown}.")

    async def _tell(self, client: AsyncWebClient, user: str, target: SmsTarget, text: str) -> None:
        await whisper(client, user, text, channel=target.channel, thread_ts=target.thread_ts)


def _typed_text(view: dict[str, Any]) -> str:
    values = view.get("state", {}).get("values", {})
    return str(values.get(MESSAGE_BLOCK, {}).get(MESSAGE_ACTION, {}).get("value") or "")


def _chosen_reply(view: dict[str, Any]) -> str | None:
    """The name of the saved reply picked in the menu, if any."""
    values = view.get("state", {}).get("values", {})
    option = values.get(SAVED_BLOCK, {}).get(SAVED_ACTION, {}).get("selected_option") or {}
    name = option.get("value") if isinstance(option, dict) else None
    return name if isinstance(name, str) and name else None


async def _refuse(ack: Callable[..., Awaitable[Any]], message: str) -> None:
    """Keep the modal open with `message` under the text field (shown as plain text)."""
    await ack(response_action="errors", errors={MESSAGE_BLOCK: message})


def _short(caller: Caller, ctx: RenderContext) -> str:
    if caller.name:
        return f"*{escape_mrkdwn(' '.join(caller.name.split())[:80])}*"
    return caller.mrkdwn(ctx)


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def register(app: AsyncApp, runtime: Runtime) -> None:
    """The SMS modal's submission."""
    app.view(SMS_MODAL)(SmsModal(runtime).submit)
