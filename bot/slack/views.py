"""Slack views: the SMS modal (Text back, Reply, Text on a contact card) and the App Home.

The modal opens the moment a button is clicked, because a trigger_id is only good for three
seconds; the conversation's last messages come from QTvoice afterwards and are filled in
with views.update. Submitting it sends through `Telephony`, whose refusals (opted out, rate
limit, nothing typed) are shown on the text field itself so the person can fix and resend.

The App Home shows a linked user their extension, their missed calls and unread voicemails,
and the team's open text conversations, each with the same buttons as in channels.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from bot import phone
from bot.config import Settings
from bot.delivery.contacts import ContactDirectory
from bot.qtvoice.errors import QTvoiceError
from bot.qtvoice.models import Call, Sms, Voicemail
from bot.runtime import Runtime
from bot.slack import blocks
from bot.slack.blocks import Block, Caller, Line, RenderContext, escape_mrkdwn
from bot.store.models import ExtensionLink, SlackMessage
from bot.telephony import HOW_TO_LINK, MAX_SMS_LENGTH, Refusal, Telephony

logger = logging.getLogger(__name__)

SMS_MODAL = "sms_send"
MESSAGE_BLOCK = "sms_message"
MESSAGE_ACTION = "message"
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

HOME_ITEMS_SHOWN = 5
HOME_CONVERSATIONS_SHOWN = 8

#: Slack threads in the App Home's "open conversations": the kinds the worker posts there.
_THREAD_MESSAGE_KINDS = ("sms", "sms_opt")


def shown_number(number: str, ctx: RenderContext) -> str:
    """A customer's number as a confirmation shows it: masked when asked, always escaped."""
    shown = phone.mask(number) if ctx.mask_numbers else phone.display(number, ctx.default_region)
    return escape_mrkdwn(shown)


def render_context(settings: Settings) -> RenderContext:
    return RenderContext(
        timezone=settings.zone,
        default_region=settings.default_region,
        mask_numbers=settings.mask_numbers,
    )


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
        logger.warning("could not tell %s: %s", user, error.response.get("error"))


# --- the SMS modal ----------------------------------------------------------------------


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
) -> dict[str, Any]:
    """The modal; `history` None means it is still being fetched."""
    line = Line(number=target.line).mrkdwn(ctx) if target.line else "your line"
    view_blocks: list[Block] = [
        _section("sms_to", f"💬 To {caller.mrkdwn(ctx)}\nFrom {line}"),
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
    return {
        "type": "modal",
        "callback_id": SMS_MODAL,
        "title": {"type": "plain_text", "text": "Send a text"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": target.to_metadata(),
        "blocks": view_blocks,
    }


def _history_block(
    history: list[Sms] | None, caller: Caller, ctx: RenderContext, error: str | None
) -> Block:
    if error is not None:
        return _context("sms_history", f"⚠️ Couldn't load the conversation: {escape_mrkdwn(error)}")
    if history is None:
        return _context("sms_history", "_Loading the conversation…_")
    if not history:
        return _context("sms_history", "_No earlier messages with this number._")
    lines = [_history_line(sms, caller, ctx) for sms in history]
    return _section("sms_history", "*Recent messages*\n" + "\n".join(lines))


def _history_line(sms: Sms, caller: Caller, ctx: RenderContext) -> str:
    inbound = sms.direction == "inbound" or (
        sms.direction is None and _same_number(sms.from_, caller.number, ctx)
    )
    who = f"📥 {_short(caller, ctx)}" if inbound else "📤 Sent"
    when = f" · {blocks.format_when(sms.created_at, ctx)}" if sms.created_at else ""
    body = " ".join((sms.message or "").split()) or "(empty message)"
    if len(body) > HISTORY_TEXT_LIMIT:
        body = body[: HISTORY_TEXT_LIMIT - 1].rstrip() + "…"
    return f"{who}{when}\n> {escape_mrkdwn(body)}"


async def open_sms_modal(
    runtime: Runtime, client: AsyncWebClient, trigger_id: str, target: SmsTarget
) -> None:
    """Open the modal at once (the trigger expires in 3 s), then fill in the conversation."""
    ctx = render_context(runtime.settings)
    loading = sms_modal(target, Caller(number=target.customer), ctx, None)
    opened = await client.views_open(trigger_id=trigger_id, view=loading)
    caller = await _caller(runtime, target.customer)
    try:
        history = await conversation(runtime, target.customer, target.line)
        view = sms_modal(target, caller, ctx, history)
    except QTvoiceError as error:
        logger.warning("could not load the SMS history for the modal: %s", error)
        view = sms_modal(target, caller, ctx, None, history_error=error.user_message)
    try:
        await client.views_update(
            view_id=opened["view"]["id"], hash=opened["view"]["hash"], view=view
        )
    except SlackApiError as error:
        # Closed, sent or changed by the user meanwhile: nothing left to fill in.
        logger.info("SMS modal not updated: %s", error.response.get("error"))


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
        if line is None or _same_number(_other_party(sms, customer, ctx), line, ctx)
    ]
    texts.sort(key=lambda sms: sms.created_at or datetime.min.replace(tzinfo=UTC))
    return texts[-HISTORY_SHOWN:]


def _other_party(sms: Sms, customer: str, ctx: RenderContext) -> str | None:
    return sms.to if _same_number(sms.from_, customer, ctx) else sms.from_


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
        except Refusal as refusal:
            await _refuse(ack, refusal.message)
            return
        except QTvoiceError as error:
            await _refuse(ack, error.user_message)
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
        except Refusal as refusal:
            await self._tell(client, user, target, f"⚠️ Text not sent: {refusal.message}")
        except QTvoiceError as error:
            reason = escape_mrkdwn(error.user_message)
            await self._tell(client, user, target, f"⚠️ Text not sent: {reason}")
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


async def _refuse(ack: Callable[..., Awaitable[Any]], message: str) -> None:
    """Keep the modal open with `message` under the text field (shown as plain text)."""
    await ack(response_action="errors", errors={MESSAGE_BLOCK: message})


# --- the App Home -----------------------------------------------------------------------


@dataclass(frozen=True)
class OpenConversation:
    """An SMS thread the worker posted, as the App Home lists it."""

    channel: str
    ts: str
    line: str | None
    customer: str
    permalink: str | None


class AppHome:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.telephony = Telephony(runtime)
        self.ctx = render_context(runtime.settings)

    async def opened(self, event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        await self.publish(client, event["user"])

    async def publish(self, client: AsyncWebClient, user: str) -> None:
        link = await self.telephony.link_of(user)
        view_blocks = await self.linked_blocks(client, link) if link else unlinked_blocks()
        await client.views_publish(user_id=user, view={"type": "home", "blocks": view_blocks})

    async def linked_blocks(self, client: AsyncWebClient, link: ExtensionLink) -> list[Block]:
        missed, voicemails = await asyncio.gather(
            self._missed_calls(link), self._unread_voicemails(link)
        )
        conversations = await self._open_conversations(client)
        return [
            {"type": "header", "text": {"type": "plain_text", "text": "📞 QTvoice"}},
            _section("home_extension", _extension_text(link, self.ctx)),
            {"type": "divider"},
            *await self._list_blocks("missed", "📵 Missed calls", missed, self._missed_items),
            *await self._list_blocks(
                "voicemail", "📬 Unread voicemails", voicemails, self._voicemail_items
            ),
            *await self._list_blocks(
                "conversation", "💬 Open text conversations", conversations, self._sms_items
            ),
        ]

    async def _missed_calls(self, link: ExtensionLink) -> list[Call] | QTvoiceError:
        try:
            page = await self.runtime.qtvoice.list_calls(status="missed", limit=50)
        except QTvoiceError as error:
            return error
        mine = [call for call in page.data if self._is_theirs(link, call.extension_id, call.to)]
        return mine[:HOME_ITEMS_SHOWN]

    async def _unread_voicemails(self, link: ExtensionLink) -> list[Voicemail] | QTvoiceError:
        try:
            page = await self.runtime.qtvoice.list_voicemails(is_read=False, limit=50)
        except QTvoiceError as error:
            return error
        mine = [vm for vm in page.data if self._is_theirs(link, vm.extension_id, vm.to)]
        return mine[:HOME_ITEMS_SHOWN]

    def _is_theirs(self, link: ExtensionLink, extension_id: str | None, to: str | None) -> bool:
        """Whose call it is: its extension when QTvoice says, else the line it came to."""
        if extension_id:
            return extension_id == link.extension_id
        return bool(link.phone_number) and _same_number(to, link.phone_number, self.ctx)

    async def _open_conversations(self, client: AsyncWebClient) -> list[OpenConversation]:
        """The SMS threads with the latest activity first."""
        reply = aliased(SlackMessage)
        latest = func.max(func.coalesce(reply.created_at, SlackMessage.created_at))
        query = (
            select(SlackMessage)
            .outerjoin(
                reply,
                (reply.channel_id == SlackMessage.channel_id)
                & (reply.thread_ts == SlackMessage.ts)
                & reply.kind.in_(_THREAD_MESSAGE_KINDS),
            )
            .where(SlackMessage.kind == "sms_thread", SlackMessage.ts.is_not(None))
            .group_by(SlackMessage.id)
            .order_by(latest.desc(), SlackMessage.id.desc())
            .limit(HOME_CONVERSATIONS_SHOWN)
        )
        async with self.runtime.sessions() as session:
            threads = list(await session.scalars(query))
        found = [_conversation_of(thread) for thread in threads]
        conversations = [item for item in found if item is not None]
        links = await asyncio.gather(*(_permalink(client, c) for c in conversations))
        return [
            replace(item, permalink=link) for item, link in zip(conversations, links, strict=True)
        ]

    async def _list_blocks(
        self,
        name: str,
        title: str,
        items: list[Any] | QTvoiceError,
        render: Callable[[list[Any]], Awaitable[list[Block]]],
    ) -> list[Block]:
        heading = _section(f"{name}_title", f"*{title}*")
        if isinstance(items, QTvoiceError):
            reason = escape_mrkdwn(items.user_message)
            return [heading, _context(f"{name}_none", f"⚠️ {reason}")]
        if not items:
            return [heading, _context(f"{name}_none", "_Nothing here._")]
        return [heading, *await render(items)]

    async def _missed_items(self, calls: list[Call]) -> list[Block]:
        rendered: list[Block] = []
        for index, call in enumerate(calls):
            caller = await _caller(self.runtime, call.from_)
            when = f" · {blocks.format_when(call.created_at, self.ctx)}" if call.created_at else ""
            rendered.append(_section(f"missed_{index}", f"{caller.mrkdwn(self.ctx)}{when}"))
            rendered.extend(self._call_buttons(f"missed_{index}_actions", caller, call.to))
        return rendered

    async def _voicemail_items(self, voicemails: list[Voicemail]) -> list[Block]:
        rendered: list[Block] = []
        for index, vm in enumerate(voicemails):
            caller = await _caller(self.runtime, vm.from_)
            parts = [caller.mrkdwn(self.ctx)]
            if vm.duration is not None:
                parts.append(blocks.format_duration(vm.duration))
            if vm.created_at:
                parts.append(blocks.format_when(vm.created_at, self.ctx))
            text = " · ".join(parts)
            transcript = " ".join((vm.transcription or "").split())
            if transcript:
                text += f"\n> {escape_mrkdwn(transcript[:HISTORY_TEXT_LIMIT])}"
            rendered.append(_section(f"voicemail_{index}", text))
            rendered.extend(self._call_buttons(f"voicemail_{index}_actions", caller, vm.to))
        return rendered

    async def _sms_items(self, conversations: list[OpenConversation]) -> list[Block]:
        rendered: list[Block] = []
        for index, item in enumerate(conversations):
            caller = await _caller(self.runtime, item.customer)
            text = f"{caller.mrkdwn(self.ctx)}\non line {Line(number=item.line).mrkdwn(self.ctx)}"
            if item.permalink:
                text += f" · <{item.permalink}|Open the thread>"
            rendered.append(_section(f"conversation_{index}", text))
            value = {"n": item.customer, "l": item.line}
            reply = blocks.button("Reply", blocks.SMS_REPLY, value, style="primary")
            rendered.append(blocks.actions(f"conversation_{index}_actions", [reply]))
        return rendered

    def _call_buttons(self, block_id: str, caller: Caller, line: str | None) -> list[Block]:
        number = caller.dialable(self.ctx)
        if not number:
            return []
        value = {"n": number, "l": line}
        return [
            blocks.actions(
                block_id,
                [
                    blocks.button("Call back", blocks.CALL_BACK, value, style="primary"),
                    blocks.button("Text back", blocks.TEXT_BACK, value),
                ],
            )
        ]


def unlinked_blocks() -> list[Block]:
    return [
        {"type": "header", "text": {"type": "plain_text", "text": "📞 QTvoice"}},
        _section(
            "home_link",
            "Link your QTvoice extension to see your missed calls, voicemails and text"
            " conversations here, and to call and text from Slack.",
        ),
        _section("home_how_to_link", HOW_TO_LINK),
    ]


def _extension_text(link: ExtensionLink, ctx: RenderContext) -> str:
    name = escape_mrkdwn(link.extension_name or "")
    number = escape_mrkdwn(link.extension_number or link.extension_id)
    text = f"Your extension: *{number}*" + (f" · {name}" if name else "")
    if link.phone_number:
        text += f"\nYour line: {Line(number=link.phone_number).mrkdwn(ctx)}"
    return text


def _conversation_of(thread: SlackMessage) -> OpenConversation | None:
    state = thread.state or {}
    customer = state.get("customer")
    if not customer or thread.ts is None:
        return None
    return OpenConversation(thread.channel_id, thread.ts, state.get("line"), customer, None)


async def _permalink(client: AsyncWebClient, item: OpenConversation) -> str | None:
    try:
        response = await client.chat_getPermalink(channel=item.channel, message_ts=item.ts)
    except SlackApiError as error:
        logger.info("no permalink for an SMS thread: %s", error.response.get("error"))
        return None
    link = response.get("permalink")
    # A permalink goes into mrkdwn as <url|label>; anything that could break out is dropped.
    if isinstance(link, str) and link.startswith("https://") and not set("<>| ") & set(link):
        return escape_mrkdwn(link)
    return None


# --- shared ------------------------------------------------------------------------------


async def _caller(runtime: Runtime, number: str | None) -> Caller:
    if not number:
        return Caller(number=None)
    normalized = phone.normalize(number, runtime.settings.default_region)
    async with runtime.sessions() as session:
        return await ContactDirectory(runtime.qtvoice).caller(session, normalized)


def _same_number(one: str | None, other: str | None, ctx: RenderContext) -> bool:
    if not one or not other:
        return False
    region = ctx.default_region
    return phone.normalize(one, region) == phone.normalize(other, region)


def _short(caller: Caller, ctx: RenderContext) -> str:
    if caller.name:
        return f"*{escape_mrkdwn(' '.join(caller.name.split())[:80])}*"
    return caller.mrkdwn(ctx)


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _section(block_id: str, text: str) -> Block:
    return {"type": "section", "block_id": block_id, "text": {"type": "mrkdwn", "text": text}}


def _context(block_id: str, text: str) -> Block:
    return {"type": "context", "block_id": block_id, "elements": [{"type": "mrkdwn", "text": text}]}


def register(app: AsyncApp, runtime: Runtime) -> None:
    """The SMS modal's submission and the App Home."""
    app.view(SMS_MODAL)(SmsModal(runtime).submit)
    app.event("app_home_opened")(AppHome(runtime).opened)
