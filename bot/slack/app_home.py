"""The App Home: what a person sees on the bot's Home tab, built and published.

A linked user sees their extension, their missed calls and unread voicemails, and the team's
open text conversations, each with the same buttons as in channels; an unlinked one is told
how to link. Admins also see delivery health (`bot.slack.health`), with a Replay button on
each failed delivery. It is published afresh each time the tab is opened
(`bot.slack.listeners.home`) and after an admin's Replay (`bot.slack.listeners.actions`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from bot.qtvoice.errors import QTvoiceError
from bot.qtvoice.models import Call, Voicemail
from bot.runtime import Runtime
from bot.slack.api_errors import describe, error_code
from bot.slack.blocks import health as health_blocks
from bot.slack.blocks import ownership as ownership_blocks
from bot.slack.blocks.kit import (
    Block,
    RenderContext,
    actions,
    button,
    context,
    divider,
    escape_mrkdwn,
    format_duration,
    format_when,
    header,
    same_number,
    section,
)
from bot.slack.blocks.notifications import CALL_BACK, SMS_REPLY, TEXT_BACK, Caller, Line
from bot.slack.buttons import ButtonValue
from bot.slack.health import DeliveryHealth
from bot.slack.rendering import lookup_caller, render_context
from bot.slack.sentences import sentence
from bot.slack.service import incident_banner
from bot.store import ownership
from bot.store.models import ExtensionLink, PostedMessage, utcnow
from bot.telephony import HOW_TO_LINK, Telephony

logger = logging.getLogger(__name__)

HOME_ITEMS_SHOWN = 5
HOME_CONVERSATIONS_SHOWN = 8
HOME_TRANSCRIPT_LIMIT = 600
#: Replies read at a time while looking for the threads with the latest activity.
REPLIES_READ_AT_ONCE = 200
"""Characters of a voicemail's transcript the App Home quotes."""

#: Slack threads in the App Home's "open conversations": the kinds the worker posts there.
_THREAD_MESSAGE_KINDS = ("sms", "sms_opt")


@dataclass(frozen=True)
class OpenConversation:
    """An SMS thread the worker posted, as the App Home lists it."""

    channel: str
    ts: str
    line: str | None
    customer: str
    permalink: str | None


class AppHome:
    """Builds and publishes one person's App Home from their link, QTvoice and the store."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.telephony = Telephony(runtime)
        self.health = DeliveryHealth(runtime)
        self.ctx = render_context(runtime.settings)

    async def publish(self, client: AsyncWebClient, user: str, *, seen: str | None = None) -> None:
        """Render `user`'s App Home from what is stored now and publish it.

        `seen` is the hash of the view the user has (Slack sends it with app_home_opened and
        with a click in the Home tab). Slack then publishes only over that view (views.publish
        `hash`), so a process that rendered older data never overwrites a newer view another
        published meanwhile; told `hash_conflict`, it reads and renders again, and what it
        publishes is at least as new as the view there.
        """
        try:
            await self._publish(client, user, seen)
        except SlackApiError as error:
            if seen is None or error_code(error) != "hash_conflict":
                raise
            await self._publish(client, user, None)

    async def _publish(self, client: AsyncWebClient, user: str, seen: str | None) -> None:
        link = await self.telephony.link_of(user)
        view_blocks = await self.linked_blocks(client, link) if link else unlinked_blocks()
        if self.health.is_admin(user):
            view_blocks = await incident_banner(self.runtime, self.ctx) + view_blocks
            room = health_blocks.HOME_BLOCK_LIMIT - len(view_blocks)
            health = await self.health.read()
            view_blocks += health_blocks.panel(health, utcnow(), self.ctx, room=room)
        view = {"type": "home", "blocks": view_blocks}
        await client.views_publish(user_id=user, view=view, hash=seen)

    async def linked_blocks(self, client: AsyncWebClient, link: ExtensionLink) -> list[Block]:
        missed, voicemails = await asyncio.gather(
            self._missed_calls(link), self._unread_voicemails(link)
        )
        conversations = await self._open_conversations(client)
        async with self.runtime.sessions() as session:
            taken = await ownership.taken_by(session, link.slack_user_id, HOME_ITEMS_SHOWN)
            reminders = await ownership.reminders_of(session, link.slack_user_id, HOME_ITEMS_SHOWN)
        return [
            header("📞 QTvoice"),
            section("home_extension", _extension_text(link, self.ctx)),
            divider(),
            *ownership_blocks.home_blocks(taken, reminders, self.ctx),
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
        mine = [
            call
            for call in page.data
            if call.is_missed and self._is_theirs(link, call.extension_id, call.to)
        ]
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
        return bool(link.phone_number) and same_number(to, link.phone_number, self.ctx)

    async def _open_conversations(self, client: AsyncWebClient) -> list[OpenConversation]:
        """The SMS threads with the latest activity first (`_latest_threads`)."""
        async with self.runtime.sessions() as session:
            threads = await _latest_threads(session, HOME_CONVERSATIONS_SHOWN)
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
        heading = section(f"{name}_title", f"*{title}*")
        if isinstance(items, QTvoiceError):
            reason = sentence(items)
            return [heading, context(f"{name}_none", f"⚠️ {reason}")]
        if not items:
            return [heading, context(f"{name}_none", "_Nothing here._")]
        return [heading, *await render(items)]

    async def _missed_items(self, calls: list[Call]) -> list[Block]:
        rendered: list[Block] = []
        for index, call in enumerate(calls):
            caller = await lookup_caller(self.runtime, call.from_)
            when = f" · {format_when(call.created_at, self.ctx)}" if call.created_at else ""
            rendered.append(section(f"missed_{index}", f"{caller.mrkdwn(self.ctx)}{when}"))
            rendered.extend(self._call_buttons(f"missed_{index}_actions", caller, call.to))
        return rendered

    async def _voicemail_items(self, voicemails: list[Voicemail]) -> list[Block]:
        rendered: list[Block] = []
        for index, vm in enumerate(voicemails):
            caller = await lookup_caller(self.runtime, vm.from_)
            parts = [caller.mrkdwn(self.ctx)]
            if vm.duration is not None:
                parts.append(format_duration(vm.duration))
            if vm.created_at:
                parts.append(format_when(vm.created_at, self.ctx))
            text = " · ".join(parts)
            transcript = " ".join((vm.transcription or "").split())
            if transcript:
                text += f"\n> {escape_mrkdwn(transcript[:HOME_TRANSCRIPT_LIMIT])}"
            rendered.append(section(f"voicemail_{index}", text))
            rendered.extend(self._call_buttons(f"voicemail_{index}_actions", caller, vm.to))
        return rendered

    async def _sms_items(self, conversations: list[OpenConversation]) -> list[Block]:
        rendered: list[Block] = []
        for index, item in enumerate(conversations):
            caller = await lookup_caller(self.runtime, item.customer)
            text = f"{caller.mrkdwn(self.ctx)}\non line {Line(number=item.line).mrkdwn(self.ctx)}"
            if item.permalink:
                text += f" · <{item.permalink}|Open the thread>"
            rendered.append(section(f"conversation_{index}", text))
            value = ButtonValue(number=item.customer, line=item.line)
            reply = button("Reply", SMS_REPLY, value, self.ctx, style="primary")
            rendered.append(actions(f"conversation_{index}_actions", [reply]))
        return rendered

    def _call_buttons(self, block_id: str, caller: Caller, line: str | None) -> list[Block]:
        number = caller.dialable(self.ctx)
        if not number:
            return []
        value = ButtonValue(number=number, line=line)
        return [
            actions(
                block_id,
                [
                    button("Call back", CALL_BACK, value, self.ctx, style="primary"),
                    button("Text back", TEXT_BACK, value, self.ctx),
                ],
            )
        ]


def unlinked_blocks() -> list[Block]:
    """The Home of a user not linked to an extension: how to link."""
    return [
        header("📞 QTvoice"),
        section(
            "home_link",
            "Link your QTvoice extension to see your missed calls, voicemails and text"
            " conversations here, and to call and text from Slack.",
        ),
        section("home_how_to_link", HOW_TO_LINK),
    ]


def _extension_text(link: ExtensionLink, ctx: RenderContext) -> str:
    name = escape_mrkdwn(link.extension_name or "")
    number = escape_mrkdwn(link.extension_number or link.extension_id)
    text = f"Your extension: *{number}*" + (f" · {name}" if name else "")
    if link.phone_number:
        text += f"\nYour line: {Line(number=link.phone_number).mrkdwn(ctx)}"
    return text


def _conversation_of(thread: PostedMessage) -> OpenConversation | None:
    state = thread.state or {}
    customer = state.get("customer")
    if not customer or thread.ts is None:
        return None
    return OpenConversation(thread.channel_id, thread.ts, state.get("line"), customer, None)


async def _latest_threads(session: AsyncSession, count: int) -> list[PostedMessage]:
    """The `count` SMS threads (their parent messages) with the latest activity, newest first:
    a thread's activity is its newest message, the parent or a reply.

    Read newest first on the (kind, created_at) index, never by grouping every thread: the
    `count` newest parents, and the newest replies until they name `count` threads. A thread in
    the answer is in one of the two (its newest message is a reply newer than the `count`-th
    thread's, or it is its parent, newer than all but fewer than `count` parents), so a Home
    costs the same with a month of conversations stored as with a day's.
    """
    activity: dict[tuple[str, str], datetime] = {}
    parents = await session.scalars(
        select(PostedMessage)
        .where(PostedMessage.kind == "sms_thread", PostedMessage.ts.is_not(None))
        .order_by(PostedMessage.created_at.desc(), PostedMessage.id.desc())
        .limit(count)
    )
    found = {(p.channel_id, p.ts): p for p in parents if p.ts is not None}
    for key, parent in found.items():
        activity[key] = parent.created_at
    replied: dict[tuple[str, str], datetime] = {}
    offset = 0
    while len(replied) < count:
        page = (
            await session.execute(
                select(PostedMessage.channel_id, PostedMessage.thread_ts, PostedMessage.created_at)
                .where(
                    PostedMessage.kind.in_(_THREAD_MESSAGE_KINDS),
                    PostedMessage.thread_ts.is_not(None),
                )
                .order_by(PostedMessage.created_at.desc(), PostedMessage.id.desc())
                .offset(offset)
                .limit(REPLIES_READ_AT_ONCE)
            )
        ).all()
        for channel, thread_ts, created_at in page:
            if thread_ts is not None:  # read only replies: always
                replied.setdefault((channel, thread_ts), created_at)
        if len(page) < REPLIES_READ_AT_ONCE:
            break
        offset += len(page)
    missing = [key for key in replied if key not in found]
    if missing:
        more = await session.scalars(
            select(PostedMessage).where(
                PostedMessage.kind == "sms_thread",
                tuple_(PostedMessage.channel_id, PostedMessage.ts).in_(missing),
            )
        )
        found.update({(p.channel_id, p.ts): p for p in more if p.ts is not None})
    for key, when in replied.items():
        if key in found:
            activity[key] = max(activity.get(key, when), when)
    newest = sorted(activity, key=lambda key: (activity[key], found[key].id), reverse=True)
    return [found[key] for key in newest[:count]]


async def _permalink(client: AsyncWebClient, item: OpenConversation) -> str | None:
    try:
        response = await client.chat_getPermalink(channel=item.channel, message_ts=item.ts)
    except SlackApiError as error:
        logger.info("no permalink for an SMS thread: %s", describe(error))
        return None
    link = response.get("permalink")
    # A permalink goes into mrkdwn as <url|label>; anything that could break out is dropped.
    if isinstance(link, str) and link.startswith("https://") and not set("<>| ") & set(link):
        return escape_mrkdwn(link)
    return None
