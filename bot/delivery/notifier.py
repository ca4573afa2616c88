"""What each kind of QTvoice event does in Slack: post, thread, or update in place.

One `Notifier.deliver()` per inbox event. It may run again for the same event (after a crash or
a Slack failure), so every write goes through `SlackPoster.post_once` or an idempotent update:
running it twice shows the same as running it once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import phone
from bot.config import Settings
from bot.delivery.events import (
    conversation_key,
    sms_parties,
    text_field,
    voicemail_key,
)
from bot.delivery.inbox import NotYet
from bot.delivery.poster import SlackPoster
from bot.delivery.router import Destination, destinations, live_card_channels
from bot.directory import ContactDirectory
from bot.qtvoice.kinds import CALL_LIVE, CONTACT_EVENTS, SMS_EVENTS, VOICEMAIL_EVENTS
from bot.qtvoice.models import Call, Contact, Sms, Voicemail
from bot.slack import blocks
from bot.slack.blocks import Caller, Line, RenderContext
from bot.store.models import (
    SENDING_REPLY,
    ExtensionLink,
    OptOut,
    PostedMessage,
    Route,
    utcnow,
)

OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})
#: Outbound delivery states in the order they happen; a late `sms.sent` never undoes `delivered`.
SMS_PROGRESS = ("queued", "sent", "delivered")
SENT_REACTION, DELIVERED_REACTION = "outbox_tray", "white_check_mark"
#: A `SENDING_REPLY` marker left by a process that died mid-send stops counting after a minute.
SENDING_REPLY_EXPIRES = timedelta(minutes=1)
REPLY_WAIT = timedelta(seconds=1)


def opt_keyword(text: str | None) -> str | None:
    """The opt-out or opt-in keyword a text consists of (one word, any case), if it is one."""
    word = (text or "").strip().strip(".!").upper()
    return word if word in OPT_OUT_KEYWORDS | OPT_IN_KEYWORDS else None


class Notifier:
    def __init__(
        self, settings: Settings, poster: SlackPoster, directory: ContactDirectory
    ) -> None:
        self.settings = settings
        self.poster = poster
        self.directory = directory
        self.ctx = RenderContext(
            timezone=settings.zone,
            default_region=settings.default_region,
            mask_numbers=settings.mask_numbers,
        )

    async def deliver(self, session: AsyncSession, event: str, data: dict[str, Any]) -> None:
        if event in CONTACT_EVENTS:
            await self._contact(session, event, data)
        elif event in VOICEMAIL_EVENTS:
            await self._voicemail(session, event, data)
        elif event in SMS_EVENTS:
            await self._sms(session, event, data)
        elif event == "call.missed":
            await self._missed_call(session, data)
        elif event in CALL_LIVE:
            await self._live_call(session, event, data)

    # Calls

    async def _missed_call(self, session: AsyncSession, data: dict[str, Any]) -> None:
        call = Call.model_validate(data)
        caller = await self._caller(session, call.from_)
        message = blocks.missed_call(call, caller, self._line(data), self.ctx)
        for channel in await self._channels(session, "call.missed", data):
            # The call's data is kept so a button can render the message again (slack/stored.py).
            await self.poster.post_once(
                session,
                kind="missed_call",
                key=call.id,
                channel=channel,
                message=message,
                state=data,
            )
        await self._live_call(session, "call.missed", data, post_new=False)

    async def _live_call(
        self, session: AsyncSession, event: str, data: dict[str, Any], *, post_new: bool = True
    ) -> None:
        """One card per call per channel that asked for live calls, updated as the call goes."""
        call = Call.model_validate(data)
        routes = list(await session.scalars(select(Route)))
        channels = live_card_channels(event, data, routes, self.settings.default_region)
        if not channels:
            return
        message = blocks.live_call(
            call, event, await self._caller(session, call.from_), self._line(data), self.ctx
        )
        for channel in channels:
            card = await self.poster.find(session, "live_call", call.id, channel)
            if card is not None and card.ts is not None:
                await self.poster.update(session, card, message)
            elif post_new:
                await self.poster.post_once(
                    session, kind="live_call", key=call.id, channel=channel, message=message
                )

    # Voicemail

    async def _voicemail(self, session: AsyncSession, event: str, data: dict[str, Any]) -> None:
        """One message per voicemail, whichever of its events comes first; later ones update it."""
        key = voicemail_key(event, data) or str(data.get("id"))
        fields = _voicemail_fields(event, data)
        for channel in await self._channels(session, event, data):
            existing = await self.poster.find(session, "voicemail", key, channel)
            merged = {**(existing.state if existing else {}), **fields}
            voicemail = Voicemail.model_validate(merged)
            caller = await self._caller(session, voicemail.from_)
            message = blocks.voicemail(voicemail, caller, self._line(merged), self.ctx)
            if merged.get("handled_by"):
                # Someone already closed it out; a late transcript must not bring the buttons back.
                message = blocks.Message(
                    message.text,
                    blocks.handled(
                        message.blocks,
                        merged["handled_by"],
                        datetime.fromisoformat(merged["handled_at"]),
                        self.ctx,
                    ),
                )
            if existing is not None and existing.ts is not None:
                await self.poster.update(session, existing, message, state=merged)
            else:
                await self.poster.post_once(
                    session,
                    kind="voicemail",
                    key=key,
                    channel=channel,
                    message=message,
                    state=merged,
                )

    # Texts

    async def _sms(self, session: AsyncSession, event: str, data: dict[str, Any]) -> None:
        sms = Sms.model_validate(data)
        line, customer = (
            phone.normalize(number, self.settings.default_region) if number else ""
            for number in sms_parties(event, data)
        )
        keyword = opt_keyword(sms.message) if event == "sms.received" else None
        if keyword:
            await self._record_opt(session, customer, keyword)
        opted_out = await session.get(OptOut, customer) is not None
        caller = await self._caller(session, customer)
        thread_key = conversation_key(line, customer)
        parent_message = blocks.sms_thread_parent(
            caller, Line(number=line), self.ctx, opted_out=opted_out
        )
        for channel in await self._channels(session, event, data):
            parent = await self.poster.post_once(
                session,
                kind="sms_thread",
                key=thread_key,
                channel=channel,
                message=parent_message,
                state={"line": line, "customer": customer},
            )
            if event == "sms.received":
                await self.poster.post_once(
                    session,
                    kind="sms",
                    key=sms.id,
                    channel=channel,
                    message=blocks.sms_inbound(sms, caller, self.ctx),
                    thread_ts=parent.ts,
                )
            else:
                await self._outbound_state(session, event, sms, channel, parent.ts)
            if keyword:
                await self.poster.post_once(
                    session,
                    kind="sms_opt",
                    key=sms.id,
                    channel=channel,
                    message=blocks.opt_out_notice(
                        caller, keyword in OPT_OUT_KEYWORDS, keyword, self.ctx
                    ),
                    thread_ts=parent.ts,
                )
                await self.poster.update(session, parent, parent_message)

    async def _outbound_state(
        self, session: AsyncSession, event: str, sms: Sms, channel: str, thread_ts: str | None
    ) -> None:
        """Show how far an outbound text got: reactions on a Slack reply, else its own message."""
        status = "delivered" if event == "sms.delivered" else "sent"
        existing = await self.poster.find(session, "sms", sms.id, channel)
        if existing is not None and existing.state.get("origin") == "slack" and existing.ts:
            reaction = DELIVERED_REACTION if status == "delivered" else SENT_REACTION
            await self.poster.react(session, channel, existing.ts, reaction)
            return
        if existing is not None and existing.ts is not None:
            status = _furthest(existing.state.get("status"), status)
            message = blocks.sms_outbound(
                sms, status, self.ctx, sent_by=existing.state.get("sent_by")
            )
            await self.poster.update(
                session, existing, message, state={**existing.state, "status": status}
            )
            return
        if await self._reply_being_sent(session, channel, thread_ts):
            # Probably this very text, sent by a thread reply not recorded yet: once it is,
            # the reply gets a reaction instead of a copy of itself beside it.
            raise NotYet("a Slack reply in this thread is being texted", utcnow() + REPLY_WAIT)
        await self.poster.post_once(
            session,
            kind="sms",
            key=sms.id,
            channel=channel,
            message=blocks.sms_outbound(sms, status, self.ctx),
            thread_ts=thread_ts,
            state={"status": status},
        )

    async def _reply_being_sent(
        self, session: AsyncSession, channel: str, thread_ts: str | None
    ) -> bool:
        """A thread reply's text is with QTvoice right now (see slack/events.py)."""
        marker = await session.scalar(
            select(PostedMessage.id).where(
                PostedMessage.kind == SENDING_REPLY,
                PostedMessage.channel_id == channel,
                PostedMessage.thread_ts == thread_ts,
                PostedMessage.created_at > utcnow() - SENDING_REPLY_EXPIRES,
            )
        )
        return marker is not None

    async def _record_opt(self, session: AsyncSession, number: str, keyword: str) -> None:
        if keyword in OPT_OUT_KEYWORDS:
            if await session.get(OptOut, number) is None:
                session.add(OptOut(phone=number, keyword=keyword))
        else:
            await session.execute(delete(OptOut).where(OptOut.phone == number))
        await session.commit()

    # Contacts

    async def _contact(self, session: AsyncSession, event: str, data: dict[str, Any]) -> None:
        contact = Contact.model_validate(data)
        if contact.phone:
            number = phone.normalize(contact.phone, self.settings.default_region)
            await self.directory.remember(session, number, contact)
        message = blocks.contact_event(contact, event, self.ctx)
        key = f"{contact.id}:{text_field(data, 'updatedAt') or event}"
        for channel in await self._channels(session, event, data):
            await self.poster.post_once(
                session, kind=event, key=key, channel=channel, message=message
            )

    # Shared

    async def _caller(self, session: AsyncSession, number: str | None) -> Caller:
        if not number:
            return Caller(number=None)
        normalized = phone.normalize(number, self.settings.default_region)
        return Caller.of(normalized, await self.directory.contact(session, normalized))

    def _line(self, data: Mapping[str, Any]) -> Line:
        return Line(number=text_field(data, "to"), extension_id=text_field(data, "extensionId"))

    async def _channels(
        self, session: AsyncSession, event: str, data: Mapping[str, Any]
    ) -> list[str]:
        routes = list(await session.scalars(select(Route)))
        links = list(await session.scalars(select(ExtensionLink)))
        places = destinations(
            event, data, routes, links, self.settings.notify_channel, self.settings.default_region
        )
        return [await self._channel_of(session, place) for place in places]

    async def _channel_of(self, session: AsyncSession, place: Destination) -> str:
        if place.channel:
            return place.channel
        assert place.user is not None
        return await self.poster.dm_channel(session, place.user)


def _voicemail_fields(event: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """A voicemail's fields from any of its events; `call.voicemail` is about the call."""
    fields = {key: value for key, value in data.items() if value not in (None, "")}
    if event == "call.voicemail":
        fields["callId"] = data.get("id")
        fields["id"] = text_field(data, "voicemailId") or data.get("id")
    return fields


def _furthest(before: str | None, now: str) -> str:
    rank = {state: index for index, state in enumerate(SMS_PROGRESS)}
    return max((before or now, now), key=lambda state: rank.get(state, -1))
