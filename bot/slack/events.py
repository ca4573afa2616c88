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
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from bot.qtvoice.errors import QTvoiceError
from bot.qtvoice.models import Sms
from bot.runtime import Runtime
from bot.slack.api_errors import describe, error_code
from bot.slack.parsing import plain_text
from bot.slack.reply_mode import texted_words
from bot.slack.sentences import sentence
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


def is_person_reply(event: dict[str, Any]) -> bool:
    """A person's new message inside a thread (not the parent, an edit, or a bot)."""
    thread_ts = event.get("thread_ts")
    return (
        bool(thread_ts)
        and event.get("ts") != thread_ts
        and event.get("subtype") in _REPLY_SUBTYPES
        and not event.get("bot_id")
        and bool(event.get("user"))
    )


class ThreadReplies:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.telephony = Telephony(runtime)

    async def message(
        self, body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient
    ) -> None:
        if not is_person_reply(event):
            return
        thread = await self._sms_thread(event["channel"], event["thread_ts"])
        if thread is None:
            return
        event_id = body.get("event_id") or f"{event['channel']}:{event['ts']}"
        if not await self._first_delivery(event_id):
            logger.info("Slack retried event %s; already handled", event_id)
            return
        words = texted_words(plain_text(event.get("text") or ""), self.runtime.settings.reply_mode)
        if words is None:
            await self._react(client, event, NOTE_REACTION)
            return
        text = words
        if not event.get("files"):
            await self._send(client, event, thread, text)
        elif not text.strip():
            await self._refused(client, event, FILES_ONLY)
        elif await self._send(client, event, thread, text):
            await self._whisper(client, event, FILES_NOT_SENT)

    async def _send(
        self, client: AsyncWebClient, event: dict[str, Any], thread: PostedMessage, text: str
    ) -> bool:
        """Text the reply's words; True when QTvoice took them, else the author was told why."""
        user = event["user"]
        await self._mark_sending(event)
        try:
            sms = await self.telephony.send_text(
                user, thread.state["customer"], text, line=thread.state.get("line") or None
            )
        except Refusal as refusal:
            await self._refused(client, event, sentence(refusal))
            return False
        except QTvoiceError as error:
            logger.warning("thread reply not texted: %s", error)
            await self._refused(client, event, sentence(error))
            return False
        else:
            await self._remember_sent(event, sms)
        finally:
            await self._unmark_sending(event)
        await self._react(client, event, SENT_REACTION)
        return True

    async def _mark_sending(self, event: dict[str, Any]) -> None:
        """Tell the worker a text is on its way from this thread, so that QTvoice's receipt
        for it, should it overtake `_remember_sent`, waits instead of posting a copy."""
        async with self.runtime.sessions() as session:
            session.add(
                PostedMessage(
                    kind=SENDING_REPLY,
                    key=event["ts"],
                    channel_id=event["channel"],
                    ts=event["ts"],
                    thread_ts=event["thread_ts"],
                )
            )
            await session.commit()

    async def _unmark_sending(self, event: dict[str, Any]) -> None:
        async with self.runtime.sessions() as session:
            await session.execute(
                delete(PostedMessage).where(
                    PostedMessage.kind == SENDING_REPLY,
                    PostedMessage.key == event["ts"],
                    PostedMessage.channel_id == event["channel"],
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

    async def _remember_sent(self, event: dict[str, Any], sms: Sms) -> None:
        """The reply stands for the text, so the worker marks it instead of posting a copy."""
        ref = PostedMessage(
            kind="sms",
            key=sms.id,
            channel_id=event["channel"],
            ts=event["ts"],
            thread_ts=event["thread_ts"],
            state={"origin": "slack", "sent_by": event["user"]},
        )
        async with self.runtime.sessions() as session:
            session.add(ref)
            try:
                await session.commit()
            except IntegrityError:
                # The worker saw QTvoice's sms.sent first and posted its own line for it.
                logger.info("text %s was already shown in Slack", sms.id)

    async def _refused(self, client: AsyncWebClient, event: dict[str, Any], reason: str) -> None:
        await self._react(client, event, REFUSED_REACTION)
        await self._whisper(client, event, f"⚠️ Your reply was not texted: {reason}")

    async def _whisper(self, client: AsyncWebClient, event: dict[str, Any], text: str) -> None:
        """Tell the reply's author alone, in its thread."""
        try:
            await client.chat_postEphemeral(
                channel=event["channel"],
                user=event["user"],
                thread_ts=event["thread_ts"],
                text=text,
            )
        except SlackApiError as error:
            logger.warning("could not tell the author of a reply: %s", describe(error))

    async def _react(self, client: AsyncWebClient, event: dict[str, Any], name: str) -> None:
        try:
            await client.reactions_add(channel=event["channel"], timestamp=event["ts"], name=name)
        except SlackApiError as error:
            if error_code(error) != "already_reacted":
                logger.warning("could not react to a reply: %s", describe(error))


def register(app: AsyncApp, runtime: Runtime) -> None:
    """Message events (message.channels, message.groups): replies in SMS threads."""
    app.event("message")(ThreadReplies(runtime).message)
