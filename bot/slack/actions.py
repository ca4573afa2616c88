"""Buttons: Call back, Text back, Reply, Mark handled, the contact card's and picker's, and the
App Home's Replay (admins; `bot.slack.health`), which refreshes the Home after.

Every handler acks at once. Button values are the compact JSON of domain.md (`n` the
customer's number, `l` our line, `p`/`t` on the contact picker). Whatever goes wrong is
told to the clicking user alone: through the click's response_url when it has one (a
message's buttons), else ephemerally or by DM (a click in the App Home has neither).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select

from bot.qtvoice.errors import QTvoiceError
from bot.runtime import Runtime
from bot.slack import blocks, health_blocks
from bot.slack.api_errors import answer_ephemeral, describe
from bot.slack.blocks import Block
from bot.slack.copies import ItemCopies
from bot.slack.health import DeliveryHealth
from bot.slack.home import AppHome
from bot.slack.ownership import Ownership
from bot.slack.rendering import render_context, shown_number
from bot.slack.sentences import FAILURES, sentence, warning
from bot.slack.stored import adopt_landed, posted_at
from bot.slack.views import SmsTarget, open_sms_modal, whisper
from bot.store.models import PostedMessage
from bot.telephony import Refusal, Telephony

logger = logging.getLogger(__name__)

Ack = Callable[..., Awaitable[Any]]
Respond = Callable[..., Awaitable[Any]]

STALE_BUTTON = "This button is out of date; please run the command again."
MODAL_NOT_OPENED = "Slack couldn't open the form in time; please press the button again."


@dataclass(frozen=True)
class Click:
    """One button press, read from a block_actions payload."""

    user: str
    value: dict[str, str]
    trigger_id: str | None
    channel: str | None
    message: dict[str, Any] | None
    has_response_url: bool

    @classmethod
    def of(cls, body: dict[str, Any]) -> Click:
        action = (body.get("actions") or [{}])[0]
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
            "channel_id"
        )
        return cls(
            user=body["user"]["id"],
            value=_button_value(action.get("value")),
            trigger_id=body.get("trigger_id"),
            channel=channel,
            message=body.get("message"),
            has_response_url=bool(body.get("response_url")),
        )

    @property
    def number(self) -> str | None:
        return self.value.get("n")

    @property
    def thread_ts(self) -> str | None:
        """The thread the clicked message is a reply in, if it is one."""
        message = self.message or {}
        thread_ts = message.get("thread_ts")
        return thread_ts if thread_ts and thread_ts != message.get("ts") else None


def _button_value(raw: Any) -> dict[str, str]:
    try:
        value = json.loads(raw or "")
    except (TypeError, ValueError):
        return {}
    if not isinstance(value, dict):
        return {}
    return {key: item for key, item in value.items() if isinstance(item, str) and item}


class Buttons:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.telephony = Telephony(runtime, on_taken=ItemCopies(runtime).show)
        self.ctx = render_context(runtime.settings)
        self.ownership = Ownership(runtime)
        self.health = DeliveryHealth(runtime)
        self.home = AppHome(runtime)

    # -- calls

    async def dial(
        self, ack: Ack, body: dict[str, Any], client: AsyncWebClient, respond: Respond
    ) -> None:
        """Call back on a notification, Call on a contact card."""
        await ack()
        await self._dial(Click.of(body), client, respond)

    async def _dial(self, click: Click, client: AsyncWebClient, respond: Respond) -> None:
        if click.number is None:
            await self._tell(click, client, respond, STALE_BUTTON)
            return
        try:
            await self.telephony.place_call(click.user, click.number)
        except FAILURES as failure:
            await self._tell(click, client, respond, warning(failure))
            return
        shown = shown_number(click.number, self.ctx)
        await self._tell(
            click,
            client,
            respond,
            f"📞 Calling {shown}: QTvoice rings your extension first; pick up to be connected.",
        )

    # -- texts

    async def compose(
        self, ack: Ack, body: dict[str, Any], client: AsyncWebClient, respond: Respond
    ) -> None:
        """Text back on a notification, Reply on a conversation, Text on a contact card."""
        await ack()
        await self._open_modal(Click.of(body), client, respond)

    async def _open_modal(self, click: Click, client: AsyncWebClient, respond: Respond) -> None:
        """The SMS modal, opened at once: its trigger_id dies three seconds after the click."""
        if click.number is None or click.trigger_id is None:
            await self._tell(click, client, respond, STALE_BUTTON)
            return
        try:
            await self.telephony.require_link(click.user)
        except Refusal as refusal:
            await self._tell(click, client, respond, sentence(refusal))
            return
        target = SmsTarget(
            customer=click.number,
            line=click.value.get("l"),
            channel=click.channel,
            thread_ts=click.thread_ts,
        )
        try:
            await open_sms_modal(self.runtime, client, click.trigger_id, target)
        except SlackApiError as error:
            logger.warning("SMS modal not opened: %s", describe(error))
            await self._tell(click, client, respond, MODAL_NOT_OPENED)

    # -- contact picker

    async def pick_contact(
        self, ack: Ack, body: dict[str, Any], client: AsyncWebClient, respond: Respond
    ) -> None:
        """One of several matching contacts was chosen for a call, a text or a card."""
        await ack()
        click = Click.of(body)
        purpose = click.value.get("p")
        if purpose == "call":
            await self._dial(click, client, respond)
        elif purpose == "sms" and "t" in click.value:
            await self._send(click, client, respond, click.value["t"])
        elif purpose == "sms":
            await self._open_modal(click, client, respond)
        elif purpose == "contact":
            await self._show_contact(click, client, respond)
        else:
            await self._tell(click, client, respond, STALE_BUTTON)

    async def _send(
        self, click: Click, client: AsyncWebClient, respond: Respond, text: str
    ) -> None:
        if click.number is None:
            await self._tell(click, client, respond, STALE_BUTTON)
            return
        try:
            await self.telephony.send_text(click.user, click.number, text)
        except FAILURES as failure:
            await self._tell(click, client, respond, warning(failure))
            return
        shown = shown_number(click.number, self.ctx)
        await self._tell(click, client, respond, f"📤 Text sent to {shown}.")

    async def _show_contact(self, click: Click, client: AsyncWebClient, respond: Respond) -> None:
        if click.number is None:
            await self._tell(click, client, respond, STALE_BUTTON)
            return
        try:
            lookup = await self.runtime.qtvoice.lookup_contact(click.number)
        except QTvoiceError as error:
            await self._tell(click, client, respond, warning(error))
            return
        card = blocks.contact_card(lookup, click.number, self.ctx)
        await self._tell(click, client, respond, card.text, card.blocks)

    # -- mark handled

    async def mark_handled(
        self, ack: Ack, body: dict[str, Any], client: AsyncWebClient, respond: Respond
    ) -> None:
        """Close out a missed call or voicemail for everyone: who handled it and when."""
        await ack()
        click = Click.of(body)
        ts = (click.message or {}).get("ts")
        if click.channel is None or not ts:
            await self._tell(click, client, respond, STALE_BUTTON)
            return
        now = datetime.now(UTC)
        updated = await self._close(client, click.channel, ts, click.user, now)
        if updated is None and await adopt_landed(self.runtime, client, click.channel, ts):
            updated = await self._close(client, click.channel, ts, click.user, now)
        if updated is None:
            await self._tell(click, client, respond, STALE_BUTTON)
            return
        if not updated:
            await self._tell(
                click, client, respond, "⚠️ Slack didn't let me update that message; try again."
            )
            return
        await self._remember_handled(click.channel, ts, click.user, now)

    async def _close(
        self, client: AsyncWebClient, channel: str, ts: str, user: str, now: datetime
    ) -> bool | None:
        """Close the bot's message at (channel, ts); whether Slack took it, None when the bot
        has recorded no message there.

        Rendered from the store, never from the click's own copy, which could say anything:
        an item's copies from its stored state, any other message from its stored event.
        """
        updated = await self.ownership.close(client, channel, ts, user, now)
        if updated is not None:
            return updated
        message = await posted_at(self.runtime, channel, ts)
        if message is None:
            return None
        return await self._close_message(client, channel, ts, message, user, now)

    async def _close_message(
        self,
        client: AsyncWebClient,
        channel: str,
        ts: str,
        message: blocks.Message,
        user: str,
        now: datetime,
    ) -> bool:
        closed = blocks.handled(message.blocks, user, now, self.ctx)
        try:
            await client.chat_update(channel=channel, ts=ts, text=message.text, blocks=closed)
        except SlackApiError as error:
            logger.warning("mark handled failed: %s", describe(error))
            return False
        return True

    async def _remember_handled(self, channel: str, ts: str, user: str, when: datetime) -> None:
        """Note it on the message's ref, so the worker can tell it was handled."""
        async with self.runtime.sessions() as session:
            refs = await session.scalars(
                select(PostedMessage).where(
                    PostedMessage.channel_id == channel, PostedMessage.ts == ts
                )
            )
            for ref in refs:
                ref.state = {**ref.state, "handled_by": user, "handled_at": when.isoformat()}
            await session.commit()

    # -- replay (App Home, admins)

    async def replay(
        self, ack: Ack, body: dict[str, Any], client: AsyncWebClient, respond: Respond
    ) -> None:
        """Queue a failed delivery again; the admin is told, and their Home shows it queued."""
        await ack()
        click = Click.of(body)
        said = await self.health.replay(click.user, click.value.get("d"))
        await self._tell(click, client, respond, said)
        if self.health.is_admin(click.user):
            await self.home.publish(client, click.user)

    # -- telling the user

    async def _tell(
        self,
        click: Click,
        client: AsyncWebClient,
        respond: Respond,
        text: str,
        block_kit: list[Block] | None = None,
    ) -> None:
        if click.has_response_url:
            await answer_ephemeral(respond, text, block_kit)
        else:
            await whisper(client, click.user, text, channel=click.channel, block_kit=block_kit)


def register(app: AsyncApp, runtime: Runtime) -> None:
    """Every button the bot's messages, cards and App Home carry."""
    buttons = Buttons(runtime)
    for dialing in (blocks.CALL_BACK, blocks.CONTACT_CALL):
        app.action(dialing)(buttons.dial)
    for texting in (blocks.TEXT_BACK, blocks.SMS_REPLY, blocks.CONTACT_TEXT):
        app.action(texting)(buttons.compose)
    app.action(blocks.MARK_HANDLED)(buttons.mark_handled)
    app.action(blocks.PICK_CONTACT)(buttons.pick_contact)
    app.action(health_blocks.REPLAY_DELIVERY)(buttons.replay)
