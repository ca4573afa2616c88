"""Render, then write: what an event does in Slack, as a plan of writes, from the typed event
and what the store knows. Pure: no I/O, no clock.

A handler in the worker's dispatch table (`bot.delivery.notifier`) first reads what it needs
(who the caller is, where the event goes, what was posted before, the open item), then asks a
function here for the plan, and one executor (`bot.delivery.executor.perform`) carries it out
with the poster's exactly-once machinery, in order. As Zulip's webhook views are a pure body
function and one send, so a plan can be pinned by a test without Slack.

A write names the message it is about by the poster's identity, (kind, key) in a channel; a
reply names its thread the same way, so the executor takes the thread's ts from the post
that made it (earlier in the plan, or before).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.qtvoice.events import SmsEvent
from bot.slack.blocks import notifications as blocks
from bot.slack.blocks.kit import Message, RenderContext
from bot.slack.blocks.notifications import Caller
from bot.store.ownership import SMS_REOPENED

#: Outbound delivery states in the order they happen; a late `sms.sent` never undoes `delivered`.
SMS_PROGRESS = ("queued", "sent", "delivered")
SENT_REACTION, DELIVERED_REACTION = "outbox_tray", "white_check_mark"
#: How long an outbound text waits for the thread reply that is texting it to be recorded.
REPLY_WAIT = timedelta(seconds=1)
SMS_THREAD, SMS, SMS_OPT = "sms_thread", "sms", "sms_opt"


@dataclass(frozen=True)
class Post:
    """Post `message` once as (kind, key) in `channel`; in the thread of the post (kind, key)
    `thread` names there, also shown in the channel when `broadcast`."""

    kind: str
    key: str
    channel: str
    message: Message
    state: Mapping[str, Any] = field(default_factory=dict)
    thread: tuple[str, str] | None = None
    broadcast: bool = False


@dataclass(frozen=True)
class Update:
    """Show `message` in place of the posted (kind, key) in `channel`, and keep `state` with
    it (None: keep what is kept)."""

    kind: str
    key: str
    channel: str
    message: Message
    state: Mapping[str, Any] | None = None


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


Write = Post | Update | React | Wait
Plan = tuple[Write, ...]


@dataclass(frozen=True)
class Shown:
    """A message already posted, as the store keeps it: its state, and whether it landed."""

    state: Mapping[str, Any]
    landed: bool


@dataclass(frozen=True)
class SmsKnown:
    """What the store knows when a text is delivered.

    `parent` is the conversation's thread parent as it shows now (with its open item's
    ownership when the text is inbound), `reopened` the message of a text that came after its
    conversation was handled (None otherwise), `keyword` an inbound STOP or START word.
    Per channel: `outbound` what shows this outbound text already, `replying` the channels
    where a thread reply is being texted right now (`bot.slack.listeners.events`).
    """

    caller: Caller
    channels: Sequence[str]
    parent: Message
    reopened: Message | None = None
    keyword: str | None = None
    opts_out: bool = False
    outbound: Mapping[str, Shown] = field(default_factory=dict)
    replying: frozenset[str] = frozenset()


def sms(event: SmsEvent, known: SmsKnown, ctx: RenderContext) -> Plan:
    """A text in the thread of its conversation, in each channel; an inbound STOP or START
    is also said, and the parent shows the party's state as it is now."""
    conversation = event.conversation_key
    thread = (SMS_THREAD, conversation)
    parent_state = {"line": event.our_line or "", "customer": event.customer or ""}
    writes: list[Write] = []
    for channel in known.channels:
        writes.append(Post(SMS_THREAD, conversation, channel, known.parent, parent_state))
        if event.inbound:
            inbound = blocks.sms_inbound(event.data, known.caller, ctx)
            writes.append(Post(SMS, event.object_id, channel, inbound, thread=thread))
            if known.reopened is not None:
                writes.append(
                    Post(
                        SMS_REOPENED,
                        event.object_id,
                        channel,
                        known.reopened,
                        thread=thread,
                        broadcast=True,
                    )
                )
        else:
            writes.append(_outbound(event, known, channel, ctx))
        if known.keyword:
            notice = blocks.opt_out_notice(known.caller, known.opts_out, known.keyword, ctx)
            writes.append(Post(SMS_OPT, event.object_id, channel, notice, thread=thread))
            writes.append(Update(SMS_THREAD, conversation, channel, known.parent))
    return tuple(writes)


def _outbound(event: SmsEvent, known: SmsKnown, channel: str, ctx: RenderContext) -> Write:
    """How far an outbound text got: a reaction on the Slack reply that sent it, else its own
    message in the thread, posted or updated."""
    sms_data = event.data
    status = "delivered" if event.event == "sms.delivered" else "sent"
    shown = known.outbound.get(channel)
    if shown is not None and shown.landed and shown.state.get("origin") == "slack":
        reaction = DELIVERED_REACTION if status == "delivered" else SENT_REACTION
        return React(SMS, sms_data.id, channel, reaction)
    if shown is not None and shown.landed:
        status = furthest(shown.state.get("status"), status)
        sent_by = shown.state.get("sent_by")
        message = blocks.sms_outbound(sms_data, status, ctx, sent_by=sent_by)
        return Update(SMS, sms_data.id, channel, message, {**shown.state, "status": status})
    if channel in known.replying:
        # Probably this very text, sent by a thread reply not recorded yet: once it is, the
        # reply gets a reaction instead of a copy of itself beside it.
        return Wait("a Slack reply in this thread is being texted", REPLY_WAIT)
    message = blocks.sms_outbound(sms_data, status, ctx)
    return Post(
        SMS,
        sms_data.id,
        channel,
        message,
        {"status": status},
        thread=(SMS_THREAD, event.conversation_key),
    )


def furthest(before: object, now: str) -> str:
    """The later of two delivery states (`SMS_PROGRESS`); an unknown one counts as earliest."""
    rank = {state: index for index, state in enumerate(SMS_PROGRESS)}
    earlier = before if isinstance(before, str) and before else now
    return max((earlier, now), key=lambda state: rank.get(state, -1))
