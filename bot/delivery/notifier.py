"""What each kind of QTvoice event does in Slack: post, thread, or update in place.

`DISPATCH` maps each known event type to its handler; the worker calls `Notifier.deliver()`
once per inbox event with the typed event the door parsed and the routes and links it read
with the claim (`Routing`), and the golden tests drive that same path.

Each handler renders, then writes: it reads what the store knows (who the caller is, where the
event goes, what was posted before, whether a handled conversation is being reopened), asks
`bot.slack.plans` for the plan of writes (pure: the open item to record, then the Slack
writes that show it), and has `bot.delivery.executor.perform` carry it out. A read only
reads, and calls down the layers (router and poster, the directory, consent, the store),
never back up. A delivery may run again for the same event (after a crash or a Slack
failure), so every write goes through `SlackPoster.post_once` or an idempotent update, and an
item recorded again is the same item: running it twice shows the same as running it once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import consent
from bot.config import Settings
from bot.delivery import followup, identity, renaming
from bot.delivery.executor import perform
from bot.delivery.poster import SlackPoster
from bot.delivery.recordings import RecordingUploader
from bot.delivery.router import Routing, destinations, live_card_channels
from bot.directory import ContactDirectory
from bot.qtvoice.events import (
    CALL_LIVE,
    CANARY_EVENT,
    CONTACT_EVENTS,
    SMS_EVENTS,
    VOICEMAIL_EVENTS,
    CallEvent,
    ContactEvent,
    KnownEvent,
    Party,
    SmsEvent,
    UnknownEvent,
    VoicemailData,
    VoicemailEvent,
)
from bot.slack import plans
from bot.slack.blocks.kit import RenderContext
from bot.slack.blocks.notifications import Caller, Line
from bot.slack.plans import Plan
from bot.slack.rendering import render_context
from bot.store import ownership
from bot.store.groupcommit import GroupCommit
from bot.store.models import SENDING_REPLY, OutboundText, PostedMessage, utcnow

logger = logging.getLogger(__name__)

#: A `SENDING_REPLY` marker left by a process that died mid-send stops counting after a minute.
SENDING_REPLY_EXPIRES = timedelta(minutes=1)


class Notifier:
    def __init__(
        self,
        settings: Settings,
        poster: SlackPoster,
        directory: ContactDirectory,
        group: GroupCommit,
    ) -> None:
        """`group` commits the open items (and `poster` its posts) with other deliveries'."""
        self.settings = settings
        self.poster = poster
        self.directory = directory
        self.group = group
        self.ctx = render_context(settings)
        self.recordings = (
            RecordingUploader(directory.qtvoice, poster.slack, poster, settings.recording_max_mb)
            if settings.upload_recordings
            else None
        )

    async def deliver(
        self, session: AsyncSession, event: KnownEvent | UnknownEvent, routing: Routing
    ) -> None:
        """Do in Slack what `event` means (see DISPATCH), where `routing` sends it; an unknown
        type does nothing."""
        handler = DISPATCH.get(event.event)
        if handler is not None:
            known = await handler.read(self, session, event, routing)
            plan = handler.plan(event, known, self.ctx)
            await perform(
                session,
                self.poster,
                self.group,
                plan,
                self.ctx,
                self.recordings,
                caller_of=self._caller_of,
            )

    async def canary(
        self, session: AsyncSession, event: UnknownEvent, routing: Routing
    ) -> str | None:
        """Where the canary's test notification goes: `CANARY_CHANNEL` (None: the canary is
        off)."""
        return self.settings.canary_channel or None

    # Calls

    async def missed_call(
        self, session: AsyncSession, event: CallEvent, routing: Routing
    ) -> plans.CallKnown:
        """What any call's read knows, and where the missed call goes (the plan records its
        open item)."""
        places = self._places(event, routing)
        return replace(await self.call(session, event, routing), places=places)

    async def call(
        self, session: AsyncSession, event: CallEvent, routing: Routing
    ) -> plans.CallKnown:
        """Who called, and which channels keep (and show) the call's live card."""
        card_channels = live_card_channels(event, routing.routes)
        cards = set()
        for channel in card_channels:
            card = await self.poster.find(session, plans.LIVE_CALL, event.object_id, channel)
            if card is not None and card.ts is not None:
                cards.add(channel)
        return plans.CallKnown(
            caller=await self._caller(session, event.customer),
            card_channels=card_channels,
            cards=frozenset(cards),
        )

    # Voicemail

    async def voicemail(
        self, session: AsyncSession, event: VoicemailEvent, routing: Routing
    ) -> plans.VoicemailKnown:
        """A voicemail's identity and its copy in each place: where it was posted, else where
        it goes."""
        key = await identity.voicemail_key(session, event)
        copies = await self._voicemail_copies(session, event, routing, key)
        return plans.VoicemailKnown(key, copies, recordings=self.recordings is not None)

    async def _voicemail_copies(
        self, session: AsyncSession, event: VoicemailEvent, routing: Routing, key: str
    ) -> list[plans.VoicemailCopy]:
        """Each place's copy of voicemail `key`: what it keeps, and who left it."""
        fields = event.voicemail_fields()
        posted = await followup.channels_posted(session, plans.VOICEMAIL, key)
        places = list(posted) if posted else self._places(event, routing)
        copies = []
        for place in places:
            existing = (
                await self.poster.find(session, plans.VOICEMAIL, key, place)
                if isinstance(place, str)
                else None
            )
            merged = {**(existing.state if existing else {}), **fields}
            voicemail = VoicemailData.model_validate(merged)
            caller = await self._caller(session, voicemail.from_)
            landed = existing is not None and existing.ts is not None
            copies.append(plans.VoicemailCopy(place, merged, voicemail, caller, landed))
        return copies

    # Texts

    async def sms(self, session: AsyncSession, event: SmsEvent, routing: Routing) -> plans.SmsKnown:
        """What a text's plan is made from: where its conversation shows, what shows an
        outbound text already, who the party is, their consent, and whether an inbound text
        reopens a handled conversation (the plan records the open items).

        The door already recorded the opt-out or opt-in (`bot.consent.record`): the thread
        shows the party's state as it is now, which a later keyword may have changed again; a
        word said before the party's newest (late, or replayed) is shown as a text only.
        """
        channels = self._channels(event, routing)
        sending = (
            plans.Sending() if event.inbound else await self._sending(session, event, channels)
        )
        caller = await self._caller(session, event.customer)
        customer = event.customer or ""
        keyword = consent.opt_keyword(event.data.message) if event.inbound and customer else None
        holds = bool(keyword) and not await consent.superseded(session, event)
        opted_out = bool(customer) and await consent.is_opted_out(session, customer)
        reopened = None
        if event.inbound and keyword is None:  # STOP and START are noted, not someone's to-do
            handled = await ownership.reopened_after(
                session, event.conversation_key, event.object_id
            )
            reopened = plans.Reopened(handled.handled_by) if handled is not None else None
        return plans.SmsKnown(
            caller=caller,
            channels=channels,
            line=Line(number=event.our_line or None),
            opted_out=opted_out,
            reopened=reopened,
            keyword=keyword if holds else None,
            opts_out=consent.opts_out(keyword) if keyword else False,
            sending=sending,
        )

    async def _sending(
        self, session: AsyncSession, event: SmsEvent, channels: list[str]
    ) -> plans.Sending:
        """What an outbound text's plan adds: what shows it in each channel already, where a
        thread reply is being texted, and who sent it from Slack (Sent by)."""
        sms = event.data
        shown: dict[str, plans.Shown] = {}
        replying: set[str] = set()
        for channel in channels:
            posted = await self.poster.find(session, plans.SMS, sms.id, channel)
            if posted is not None:
                shown[channel] = plans.Shown(posted.state, posted.ts is not None)
            thread = await self.poster.find(
                session, plans.SMS_THREAD, event.conversation_key, channel
            )
            if thread is not None and await self._reply_being_sent(session, channel, thread.ts):
                replying.add(channel)
        sent_by = await session.scalar(
            select(OutboundText.slack_user_id).where(OutboundText.sms_id == sms.id).limit(1)
        )
        recording = sent_by is None and await self._text_being_recorded(session, sms.to)
        return plans.Sending(shown, frozenset(replying), sent_by, recording)

    async def _reply_being_sent(
        self, session: AsyncSession, channel: str, thread_ts: str | None
    ) -> bool:
        """A thread reply's text is with QTvoice right now (see slack/listeners/events.py)."""
        marker = await session.scalar(
            select(PostedMessage.id).where(
                PostedMessage.kind == SENDING_REPLY,
                PostedMessage.channel_id == channel,
                PostedMessage.thread_ts == thread_ts,
                PostedMessage.created_at > utcnow() - SENDING_REPLY_EXPIRES,
            )
        )
        return marker is not None

    async def _text_being_recorded(self, session: AsyncSession, to: str | None) -> bool:
        """A person's text to `to` is with QTvoice right now (`Telephony.send_text`)."""
        pending = await session.scalar(
            select(OutboundText.id).where(
                OutboundText.to == (to or ""),
                OutboundText.sms_id.is_(None),
                OutboundText.sent_at > utcnow() - SENDING_REPLY_EXPIRES,
            )
        )
        return pending is not None

    # Contacts

    async def contact(
        self, session: AsyncSession, event: ContactEvent, routing: Routing
    ) -> list[str]:
        """Where a contact event goes; the cached contact of its number is refreshed here and
        the name shown in every open message about it (`renaming`, its own writes)."""
        contact = event.data
        if contact.phone is not None and contact.phone.is_phone:
            await self.directory.remember(session, contact.phone, contact)
            await renaming.show_new_name(
                session, self.group, self.poster, self.ctx, str(contact.phone), self._caller_of
            )
        return self._channels(event, routing)

    # Shared

    async def _caller_of(self, session: AsyncSession, number: str) -> Caller:
        return Caller.of(number, await self.directory.contact(session, number))

    async def _caller(self, session: AsyncSession, party: Party | None) -> Caller:
        """Who `party` is: a phone number's contact, else the party shown by its id."""
        if party is None:
            return Caller(number=None)
        if not party.is_phone:
            return Caller(number=str(party))
        return await self._caller_of(session, str(party))

    def _channels(self, event: KnownEvent, routing: Routing) -> list[str]:
        """Where `event` goes among channels only (its places without the DMs)."""
        return [place for place in self._places(event, routing) if isinstance(place, str)]

    def _places(self, event: KnownEvent, routing: Routing) -> list[str | plans.DirectMessage]:
        """Where `event` goes, as a plan names it: its channels, then each linked user's DM
        (opened when the plan gets there; see `bot.delivery.executor.perform`)."""
        places = destinations(
            event,
            routing.routes,
            routing.links,
            self.settings.notify_channel,
            after_hours_channel=followup.after_hours_channel(self.settings, utcnow()),
        )
        channels: list[str | plans.DirectMessage] = [p.channel for p in places if p.channel]
        users = [plans.DirectMessage(p.user) for p in places if p.user and not p.channel]
        return [*channels, *users]


Event = TypeVar("Event", CallEvent, VoicemailEvent, SmsEvent, ContactEvent, UnknownEvent)
Known = TypeVar("Known")


@dataclass(frozen=True)
class Handler(Generic[Event, Known]):
    """What one event type does in Slack: `read` what the store knows of the event (a
    `Notifier` method), then `plan` the writes from the event and that (`bot.slack.plans`,
    pure), which `Notifier.deliver` performs."""

    read: Callable[[Notifier, AsyncSession, Event, Routing], Awaitable[Known]]
    plan: Callable[[Event, Known, RenderContext], Plan]


#: The one dispatch table: what each known event type does in Slack.
DISPATCH: dict[str, Handler[Any, Any]] = {
    **dict.fromkeys(CALL_LIVE, Handler(Notifier.call, plans.live_call)),
    "call.missed": Handler(Notifier.missed_call, plans.missed_call),
    **dict.fromkeys(VOICEMAIL_EVENTS, Handler(Notifier.voicemail, plans.voicemail)),
    **dict.fromkeys(SMS_EVENTS, Handler(Notifier.sms, plans.sms)),
    **dict.fromkeys(CONTACT_EVENTS, Handler(Notifier.contact, plans.contact)),
    CANARY_EVENT: Handler(Notifier.canary, plans.canary),
}
