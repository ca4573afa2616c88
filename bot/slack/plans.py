"""Render, then write: what an event does in Slack, as a plan of writes, from the typed event
and what the store knows. Pure: no I/O, no clock.

A handler in the worker's dispatch table (`bot.delivery.notifier`) first reads what the store
knows (who the caller is, where the event goes, what was posted before, whether a handled
conversation is being reopened), then asks a function here for the plan, and one executor
(`bot.delivery.executor.perform`) carries it out with the poster's exactly-once machinery, in
order. As Zulip's webhook views are a pure body function and one send, so a plan can be pinned
by a test without Slack.

Recording the open item behind a notification (a missed call, a text conversation) is a write
too: a `Track` names the item and its message without ownership, the executor records it, and
the plan's posts and updates of that item (`Post.item`, `Update.item`) show the message with
the item's ownership (who took it, the buttons).

A write names the message it is about by the poster's identity, (kind, key) in a channel; a
reply names its thread the same way, so the executor takes the thread's ts from the post
that made it (earlier in the plan, or before). A post of an item's copy asks to be settled
(`Post.settle`: shown as the item stands once it landed) and a voicemail's recording is an
upload in its thread (`Upload`), both carried out by the executor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.qtvoice.events import CallEvent, ContactEvent, SmsEvent, UnknownEvent, VoicemailEvent
from bot.qtvoice.models import Voicemail
from bot.slack.blocks import notifications as blocks
from bot.slack.blocks import service as service_blocks
from bot.slack.blocks.kit import Message, RenderContext
from bot.slack.blocks.notifications import Caller, Line
from bot.store.ownership import SMS_REOPENED

#: Outbound delivery states in the order they happen; a late `sms.sent` never undoes `delivered`.
SMS_PROGRESS = ("queued", "sent", "delivered")
SENT_REACTION, DELIVERED_REACTION = "outbox_tray", "white_check_mark"
#: How long an outbound text waits for the thread reply that is texting it to be recorded.
REPLY_WAIT = timedelta(seconds=1)
SMS_THREAD, SMS, SMS_OPT = "sms_thread", "sms", "sms_opt"


@dataclass(frozen=True)
class DirectMessage:
    """The direct message with a Slack user, opened when the plan gets there; a user Slack
    will never let the bot write to is skipped."""

    user: str


@dataclass(frozen=True)
class Track:
    """Record the open item (kind, key) that `message` (without ownership) notifies about:
    from `caller`, on `line`, arrived at `arrived_at` (None: when recorded); `conversation`
    names a text conversation's item (`SmsEvent.conversation_key`). Recorded again (a retried
    delivery), it is the same item (`bot.delivery.followup.track`)."""

    kind: str
    key: str
    message: Message
    caller: Caller
    line: Line
    arrived_at: datetime | None
    conversation: str | None = None


@dataclass(frozen=True)
class Closed:
    """A copy someone marked handled (`by`, a Slack user id, at `at`): shown closed out over
    what it shows, its buttons gone (`bot.slack.blocks.notifications.handled`)."""

    by: str
    at: datetime


@dataclass(frozen=True)
class Post:
    """Post `message` once as (kind, key) in `channel` (or a `DirectMessage`); in the thread of
    the post (kind, key) `thread` names there, also shown in the channel when `broadcast`.
    With `item`, the post is a copy of the open item (kind, key) a `Track` earlier in the plan
    recorded, and shows it with its ownership instead of `message`; `closed`, closed out."""

    kind: str
    key: str
    channel: str | DirectMessage
    message: Message
    state: Mapping[str, Any] = field(default_factory=dict)
    thread: tuple[str, str] | None = None
    broadcast: bool = False
    #: A copy of an open item: once posted, show it as the item stands now (a click may have
    #: come in between; `bot.delivery.followup.settle`).
    settle: bool = False
    item: bool = False
    closed: Closed | None = None


@dataclass(frozen=True)
class Update:
    """Show `message` in place of the posted (kind, key) in `channel`, and keep `state` with
    it (None: keep what is kept); with `item`, show the open item (kind, key) a `Track`
    earlier in the plan recorded, and with `closed` closed out, as `Post` does."""

    kind: str
    key: str
    channel: str
    message: Message
    state: Mapping[str, Any] | None = None
    item: bool = False
    closed: Closed | None = None


@dataclass(frozen=True)
class React:
    """Add the reaction `name` to the posted (kind, key) in `channel`."""

    kind: str
    key: str
    channel: str
    name: str


@dataclass(frozen=True)
class Wait:
    """Stop here and deliver the event again after `wait`: what comes next depends on a
    write elsewhere that is still on its way (`reason`)."""

    reason: str
    wait: timedelta


@dataclass(frozen=True)
class Upload:
    """Upload the voicemail recording at `url` once in the thread of the posted (kind, key)
    in `channel` (or a `DirectMessage`); nothing while that post has no ts."""

    kind: str
    key: str
    channel: str | DirectMessage
    url: str


Write = Track | Post | Update | React | Wait | Upload
Plan = tuple[Write, ...]


@dataclass(frozen=True)
class Shown:
    """A message already posted, as the store keeps it: its state, and whether it landed."""

    state: Mapping[str, Any]
    landed: bool


@dataclass(frozen=True)
class Sending:
    """What the store knows of an outbound text: per channel, what shows it already
    (`shown`), and the channels where a thread reply is being texted right now (`replying`,
    `bot.slack.listeners.events`); `sent_by` is the Slack user who sent it from Slack (a
    modal, /sms), `recording` whether a text sent from Slack to its number is still being
    recorded (`Telephony.send_text`), so who sent it is not known yet."""

    shown: Mapping[str, Shown] = field(default_factory=dict)
    replying: frozenset[str] = frozenset()
    sent_by: str | None = None
    recording: bool = False


@dataclass(frozen=True)
class Reopened:
    """A text that came after its conversation was handled (by `handled_by`, when known): it
    opens a new item."""

    handled_by: str | None


@dataclass(frozen=True)
class SmsKnown:
    """What the store knows when a text is delivered.

    `caller` is the other party, `line` the business line the text is on, `channels` where
    its conversation is shown, `opted_out` whether the party has opted out of texts now.
    `reopened` is set for an inbound text that came after its conversation was handled,
    `keyword` an inbound STOP or START word that still holds (None when the party said
    another since: `bot.consent.superseded`), `opts_out` whether that word opts out.
    `sending` is what the store knows of an outbound text.
    """

    caller: Caller
    channels: Sequence[str]
    line: Line = field(default_factory=lambda: Line(number=None))
    opted_out: bool = False
    reopened: Reopened | None = None
    keyword: str | None = None
    opts_out: bool = False
    sending: Sending = field(default_factory=Sending)


MISSED_CALL, LIVE_CALL = "missed_call", "live_call"


@dataclass(frozen=True)
class CallKnown:
    """What the store knows when a call event is delivered: who called, where it goes
    (`places`), the channels that keep a live card of it (`card_channels`) and those where
    the card was posted (`cards`)."""

    caller: Caller
    places: Sequence[str | DirectMessage] = ()
    card_channels: Sequence[str] = ()
    cards: frozenset[str] = frozenset()


def missed_call(event: CallEvent, known: CallKnown, ctx: RenderContext) -> Plan:
    """The missed call's open item, then its message where it goes, showing the item's
    ownership and keeping the call's data so a button can render it again; the call's live
    cards marked missed."""
    kept = event.data.model_dump(mode="json", by_alias=True, exclude_none=True)
    line = _line(event)
    message = blocks.missed_call(event.data, known.caller, line, ctx)
    item = Track(MISSED_CALL, event.object_id, message, known.caller, line, event.data.created_at)
    posts: list[Write] = [
        Post(MISSED_CALL, event.object_id, place, message, kept, settle=True, item=True)
        for place in known.places
    ]
    return (item, *posts, *live_call(event, known, ctx, post_new=False))


def live_call(
    event: CallEvent, known: CallKnown, ctx: RenderContext, *, post_new: bool = True
) -> Plan:
    """One card per call in each channel that asked for live calls, updated as the call goes
    (posted by its first event, unless `post_new` is False)."""
    card = blocks.live_call(event.data, event.event, known.caller, _line(event), ctx)
    writes: list[Write] = []
    for channel in known.card_channels:
        if channel in known.cards:
            writes.append(Update(LIVE_CALL, event.object_id, channel, card))
        elif post_new:
            writes.append(Post(LIVE_CALL, event.object_id, channel, card))
    return tuple(writes)


def contact(event: ContactEvent, channels: Sequence[str], ctx: RenderContext) -> Plan:
    """A contact created or changed, posted where a route asks."""
    message = blocks.contact_event(event.data, event.event, ctx)
    return tuple(Post(event.event, event.message_key, channel, message) for channel in channels)


VOICEMAIL = "voicemail"
CANARY = "canary"


def canary(event: UnknownEvent, channel: str | None, ctx: RenderContext) -> Plan:
    """The canary's test notification (`bot.ops.canary`) in `channel`; nothing when the canary
    is off (a replay has nowhere to go)."""
    if not channel or not event.object_id:
        return ()
    return (Post(CANARY, event.object_id, channel, service_blocks.canary(event.object_id)),)


@dataclass(frozen=True)
class VoicemailCopy:
    """One place's copy of a voicemail as the store knows it: what it keeps (`state`, the
    voicemail's fields merged over what earlier events brought), the voicemail those make,
    who left it, and whether it is posted there (`landed`)."""

    place: str | DirectMessage
    state: Mapping[str, Any]
    voicemail: Voicemail
    caller: Caller
    landed: bool = False


@dataclass(frozen=True)
class VoicemailKnown:
    """A voicemail's identity (`bot.delivery.identity`: the same for all its events) and its
    copies; `recordings`: whether a recording is uploaded in each copy's thread."""

    key: str
    copies: Sequence[VoicemailCopy]
    recordings: bool = False


def voicemail(event: VoicemailEvent, known: VoicemailKnown, ctx: RenderContext) -> Plan:
    """One message per voicemail in each place, whichever of its events comes first; later
    ones update it. Each copy records the voicemail's open item with what it shows, and
    shows the item's ownership. One someone already handled stays closed (a late transcript
    must not bring the buttons back); a new copy is settled, and the recording, once known,
    goes in each copy's thread."""
    key = known.key
    writes: list[Write] = []
    for copy in known.copies:
        vm, caller = copy.voicemail, copy.caller
        line = Line(number=vm.to, extension_id=vm.extension_id)
        message = blocks.voicemail(vm, caller, line, ctx)
        writes.append(Track(VOICEMAIL, key, message, caller, line, vm.created_at))
        handled_by = copy.state.get("handled_by")
        closed = (
            Closed(str(handled_by), datetime.fromisoformat(str(copy.state["handled_at"])))
            if handled_by
            else None
        )
        if copy.landed and isinstance(copy.place, str):
            writes.append(
                Update(VOICEMAIL, key, copy.place, message, copy.state, item=True, closed=closed)
            )
        else:
            writes.append(
                Post(
                    VOICEMAIL,
                    key,
                    copy.place,
                    message,
                    copy.state,
                    settle=closed is None,
                    item=True,
                    closed=closed,
                )
            )
        if known.recordings and vm.recording_url:
            writes.append(Upload(VOICEMAIL, key, copy.place, str(vm.recording_url)))
    return tuple(writes)


def _line(event: CallEvent) -> Line:
    return Line(number=event.our_line, extension_id=event.extension_id)


def sms(event: SmsEvent, known: SmsKnown, ctx: RenderContext) -> Plan:
    """A text in the thread of its conversation, in each channel; an inbound STOP or START
    is also said, and the parent shows the party's state as it is now.

    An inbound text first records its conversation's open item, so the parent shows its
    ownership, and one that came after the conversation was handled records a new item,
    told in the thread and in the channel (except a STOP or START: a notice, not someone's
    to-do; the reader does not ask then).
    """
    conversation = event.conversation_key
    thread = (SMS_THREAD, conversation)
    parent_state = {"line": event.our_line or "", "customer": event.customer or ""}
    caller, line, sms_data = known.caller, known.line, event.data
    arrived = sms_data.created_at
    parent = blocks.sms_thread_parent(caller, line, ctx, opted_out=known.opted_out)
    reopened = (
        blocks.sms_reopened(sms_data, caller, line, known.reopened.handled_by, ctx)
        if event.inbound and known.reopened is not None
        else None
    )
    writes: list[Write] = []
    if event.inbound:
        writes.append(Track(SMS_THREAD, conversation, parent, caller, line, arrived, conversation))
    if reopened is not None:
        writes.append(
            Track(SMS_REOPENED, event.object_id, reopened, caller, line, arrived, conversation)
        )
    for channel in known.channels:
        writes.append(
            Post(
                SMS_THREAD,
                conversation,
                channel,
                parent,
                parent_state,
                settle=event.inbound,
                item=event.inbound,
            )
        )
        if event.inbound:
            inbound = blocks.sms_inbound(sms_data, caller, ctx, line)
            writes.append(Post(SMS, event.object_id, channel, inbound, thread=thread))
            if reopened is not None:
                writes.append(
                    Post(
                        SMS_REOPENED,
                        event.object_id,
                        channel,
                        reopened,
                        thread=thread,
                        broadcast=True,
                        settle=True,
                        item=True,
                    )
                )
        else:
            writes.append(_outbound(event, known.sending, channel, ctx))
        if known.keyword:
            notice = blocks.opt_out_notice(caller, known.opts_out, known.keyword, ctx)
            writes.append(Post(SMS_OPT, event.object_id, channel, notice, thread=thread))
            writes.append(Update(SMS_THREAD, conversation, channel, parent, item=event.inbound))
    return tuple(writes)


def _outbound(event: SmsEvent, sending: Sending, channel: str, ctx: RenderContext) -> Write:
    """How far an outbound text got: a reaction on the Slack reply that sent it, else its own
    message in the thread, posted or updated."""
    sms_data = event.data
    status = "delivered" if event.event == "sms.delivered" else "sent"
    shown = sending.shown.get(channel)
    if shown is not None and shown.landed and shown.state.get("origin") == "slack":
        reaction = DELIVERED_REACTION if status == "delivered" else SENT_REACTION
        return React(SMS, sms_data.id, channel, reaction)
    if shown is not None and shown.landed:
        status = furthest(shown.state.get("status"), status)
        message = blocks.sms_outbound(sms_data, status, ctx, sent_by=shown.state.get("sent_by"))
        return Update(SMS, sms_data.id, channel, message, {**shown.state, "status": status})
    if channel in sending.replying:
        # Probably this very text, sent by a thread reply not recorded yet: once it is, the
        # reply gets a reaction instead of a copy of itself beside it.
        return Wait("a Slack reply in this thread is being texted", REPLY_WAIT)
    if sending.sent_by is None and sending.recording:
        # QTvoice's receipt overtook the bot writing down who sent it, a moment ago.
        return Wait("a text sent from Slack is being recorded", REPLY_WAIT)
    # Sent by: a text sent from Slack (a modal, /sms) names who sent it in its thread.
    message = blocks.sms_outbound(sms_data, status, ctx, sent_by=sending.sent_by)
    return Post(
        SMS,
        sms_data.id,
        channel,
        message,
        {"status": status, "sent_by": sending.sent_by},
        thread=(SMS_THREAD, event.conversation_key),
    )


def furthest(before: object, now: str) -> str:
    """The later of two delivery states (`SMS_PROGRESS`); an unknown one counts as earliest."""
    rank = {state: index for index, state in enumerate(SMS_PROGRESS)}
    earlier = before if isinstance(before, str) and before else now
    return max((earlier, now), key=lambda state: rank.get(state, -1))
