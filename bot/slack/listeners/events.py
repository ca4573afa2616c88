"""Events API: a person's reply in an SMS thread is texted to the customer.

A reply by a linked user in a thread the worker opened for a conversation is sent from the
line that conversation is on. It is marked in Slack with a reaction (📤 sent, ⚠️ refused,
with the reason told to its author alone); which replies stay internal (`note:`, or all but
`send:` ones) is `REPLY_MODE`'s (`reply_mode`).
Slack retries an event it thinks we missed (same `event_id`), so each event id is recorded
before anything is sent: a retry finds it and sends nothing.

A reply with files attached has its words texted and its author told, privately, that the
file was not (QTvoice's texts carry no media); with no words it is refused with that reason.
Every other message (top-level posts, edits, bots, threads that are not SMS threads) is
ignored without a word.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from bot.qtvoice.errors import QTvoiceError
from bot.qtvoice.models import Sms
from bot.runtime import Runtime
from bot.slack.api_errors import describe, error_code
from bot.slack.items import ItemCopies
from bot.slack.markup import readable
from bot.slack.reply_mode import texted_words
from bot.slack.requests import MessageEvent, on_event
from bot.slack.sentences import sentence
from bot.slack.tell import Tell
from bot.store.landing import when_landed
from bot.store.models import SENDING_REPLY, PostedMessage, SlackEventSeen
from bot.telephony import Refusal, Telephony

logger = logging.getLogger(__name__)

SENT_REACTION = "outbox_tray"
REFUSED_REACTION = "warning"
NOTE_REACTION = "memo"

#: Subtypes that are still a person typing a reply ("also send to channel" is one, a reply
#: with files attached another).
_REPLY_SUBTYPES = (None, "thread_broadcast", "file_share")
#: QTvoice's SMS API carries text only (POST /sms has no media).
FILES_NOT_SENT = (
    "📎 Your words were texted, but not the attached file: QTvoice texts carry words only."
)
FILES_ONLY = "QTvoice texts carry words only, so a file cannot be texted. Type the words instead."


@dataclass(frozen=True)
class ThreadReply:
    """A person's new message inside a thread: where, who, what (`text` as Slack sent it,
    its markup read once, when it is texted: `bot.slack.markup.readable`), and Slack's id."""

    event_id: str
    channel: str
    ts: str
    thread_ts: str
    user: str
    text: str
    has_files: bool

    @classmethod
    def of(cls, request: MessageEvent) -> ThreadReply | None:
        """The reply `request` is; None for a parent, an edit, a bot's message, a top-level
        post."""
        message = request.event
        thread_ts, user = message.thread_ts, message.user
        if (
            not thread_ts
            or message.ts == thread_ts
            or message.subtype not in _REPLY_SUBTYPES
            or message.bot_id
            or not user
        ):
            return None
        return cls(
            event_id=request.event_id or f"{message.channel}:{message.ts}",
            channel=message.channel,
            ts=message.ts,
            thread_ts=thread_ts,
            user=user,
            text=message.text,
            has_files=bool(message.files),
        )

    def tell(self, client: AsyncWebClient) -> Tell:
        """Its author alone, in its thread."""
        return Tell(client, self.user, self.channel, self.thread_ts)


class ThreadReplies:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.telephony = Telephony(runtime, on_taken=ItemCopies(runtime).show)

    async def message(self, request: MessageEvent, client: AsyncWebClient) -> None:
        reply = ThreadReply.of(request)
        if reply is None:
            return
        thread = await self._sms_thread(reply.channel, reply.thread_ts)
        if thread is None:
            return
        if not await self._first_delivery(reply.event_id):
            logger.info("Slack retried event %s; already handled", reply.event_id)
            return
        words = texted_words(reply.text, self.runtime.settings.reply_mode)
        if words is None:
            await self._react(client, reply, NOTE_REACTION)
            return
        reply = replace(reply, text=words)
        if not reply.has_files:
            await self._send(client, reply, thread)
        elif not reply.text.strip():
            await self._refused(client, reply, FILES_ONLY)
        elif await self._send(client, reply, thread):
            await reply.tell(client)(FILES_NOT_SENT)

    async def _send(
        self, client: AsyncWebClient, reply: ThreadReply, thread: PostedMessage
    ) -> bool:
        """Text the reply's words; True when QTvoice took them, else the author was told why."""
        text = await readable(reply.text, self.runtime.people)
        await self._mark_sending(reply)
        try:
            sms = await self.telephony.send_text(
                reply.user,
                thread.state["customer"],
                text,
                line=thread.state.get("line") or None,
            )
        except Refusal as refusal:
            await self._refused(client, reply, sentence(refusal))
            return False
        except QTvoiceError as error:
            logger.warning("thread reply not texted: %s", error)
            await self._refused(client, reply, sentence(error))
            return False
        else:
            await self._remember_sent(reply, sms)
        finally:
            await self._unmark_sending(reply)
        await self._react(client, reply, SENT_REACTION)
        return True

    async def _mark_sending(self, reply: ThreadReply) -> None:
        """Tell the worker a text is on its way from this thread, so that QTvoice's receipt
        for it, should it overtake `_remember_sent`, waits instead of posting a copy."""
        async with self.runtime.sessions() as session:
            session.add(
                PostedMessage(
                    kind=SENDING_REPLY,
                    key=reply.ts,
                    channel_id=reply.channel,
                    ts=reply.ts,
                    thread_ts=reply.thread_ts,
                )
            )
            await session.commit()

    async def _unmark_sending(self, reply: ThreadReply) -> None:
        async with self.runtime.sessions() as session:
            await session.execute(
                delete(PostedMessage).where(
                    PostedMessage.kind == SENDING_REPLY,
                    PostedMessage.key == reply.ts,
                    PostedMessage.channel_id == reply.channel,
                )
            )
            await session.commit()

    async def _sms_thread(self, channel: str, thread_ts: str) -> PostedMessage | None:
        async with self.runtime.sessions() as session:
            thread = await when_landed(
                session,
                channel,
                lambda: session.scalar(
                    select(PostedMessage).where(
                        PostedMessage.kind == "sms_thread",
                        PostedMessage.channel_id == channel,
                        PostedMessage.ts == thread_ts,
                    )
                ),
            )
        if thread is None or not (thread.state or {}).get("customer"):
            return None
        return thread

    async def _first_delivery(self, event_id: str) -> bool:
        """Record the event; False when it was recorded before (a Slack retry)."""
        async with self.runtime.sessions() as session:
            session.add(SlackEventSeen(event_id=event_id))
            try:
                await session.commit()
            except IntegrityError:
                return False
        return True

    async def _remember_sent(self, reply: ThreadReply, sms: Sms) -> None:
        """The reply stands for the text, so the worker marks it instead of posting a copy."""
        ref = PostedMessage(
            kind="sms",
            key=sms.id,
            channel_id=reply.channel,
            ts=reply.ts,
            thread_ts=reply.thread_ts,
            state={"origin": "slack", "sent_by": reply.user},
        )
        async with self.runtime.sessions() as session:
            session.add(ref)
            try:
                await session.commit()
            except IntegrityError:
                # The worker saw QTvoice's sms.sent first and posted its own line for it.
                logger.info("text %s was already shown in Slack", sms.id)

    async def _refused(self, client: AsyncWebClient, reply: ThreadReply, reason: str) -> None:
        await self._react(client, reply, REFUSED_REACTION)
        await reply.tell(client)(f"⚠️ Your reply was not texted: {reason}")

    async def _react(self, client: AsyncWebClient, reply: ThreadReply, name: str) -> None:
        try:
            await client.reactions_add(channel=reply.channel, timestamp=reply.ts, name=name)
        except SlackApiError as error:
            if error_code(error) != "already_reacted":
                logger.warning("could not react to a reply: %s", describe(error))


def register(app: AsyncApp, runtime: Runtime) -> None:
    """Message events (message.channels, message.groups): replies in SMS threads."""
    app.event("message")(on_event(MessageEvent, ThreadReplies(runtime).message))
