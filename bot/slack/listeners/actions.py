"""Buttons: Call back, Text back, Reply, Mark handled, the contact card's and picker's, and the
App Home's Replay (admins; `bot.slack.health`), which refreshes the Home after.

Every handler is acked at once (`bot.slack.requests.on_click`). A button's value is opened by
the deployment's codec (`bot.slack.buttons`): a value the bot did not write, such as a forged
number, is refused as out of date and nothing is dialed or texted. Whatever goes wrong is
told to the clicking user alone (`bot.slack.tell`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from sqlalchemy import select

from bot.qtvoice.errors import QTvoiceError
from bot.runtime import Runtime
from bot.slack.api_errors import describe
from bot.slack.app_home import AppHome
from bot.slack.blocks import notifications
from bot.slack.blocks.health import REPLAY_DELIVERY
from bot.slack.blocks.kit import Message, shown_number
from bot.slack.buttons import ButtonValue
from bot.slack.health import DeliveryHealth
from bot.slack.items import ItemCopies, Patience, show_message
from bot.slack.modal import SmsTarget, open_sms_modal
from bot.slack.rendering import render_context
from bot.slack.requests import Click, on_click
from bot.slack.sentences import FAILURES, MODAL_NOT_OPENED, STALE_BUTTON, sentence, warning
from bot.slack.stored import adopt_landed, posted_at
from bot.slack.tell import Tell
from bot.store.models import PostedMessage
from bot.telephony import Refusal, Telephony

logger = logging.getLogger(__name__)

HANDLED_SLOWED_DOWN = (
    "✅ Handled. Slack asked me to slow down, so the message will show it in a moment."
)


class Buttons:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.copies = ItemCopies(runtime)
        self.telephony = Telephony(runtime, on_taken=self.copies.show)
        self.ctx = render_context(runtime.settings)
        self.health = DeliveryHealth(runtime)
        self.home = AppHome(runtime)

    def _value(self, click: Click) -> ButtonValue | None:
        """What the clicked button names, when the bot wrote it."""
        return self.ctx.buttons.decode(click.value)

    # -- calls

    async def dial(self, click: Click, tell: Tell) -> None:
        """Call back on a notification, Call on a contact card."""
        value = self._value(click)
        await self._dial(click, value.number if value else None, tell)

    async def _dial(self, click: Click, number: str | None, tell: Tell) -> None:
        if number is None:
            await tell(STALE_BUTTON)
            return
        try:
            await self.telephony.place_call(click.user_id, number)
        except FAILURES as failure:
            await tell(warning(failure))
            return
        shown = shown_number(number, self.ctx)
        await tell(
            f"📞 Calling {shown}: QTvoice rings your extension first; pick up to be connected."
        )

    # -- texts

    async def compose(self, click: Click, tell: Tell) -> None:
        """Text back on a notification, Reply on a conversation, Text on a contact card."""
        await self._open_modal(click, self._value(click), tell)

    async def _open_modal(self, click: Click, value: ButtonValue | None, tell: Tell) -> None:
        """The SMS modal, opened at once: its trigger_id dies three seconds after the click."""
        if value is None or value.number is None or click.trigger_id is None:
            await tell(STALE_BUTTON)
            return
        try:
            await self.telephony.require_link(click.user_id)
        except Refusal as refusal:
            await tell(sentence(refusal))
            return
        target = SmsTarget(
            customer=value.number,
            line=value.line,
            channel=click.channel_id,
            thread_ts=click.thread_ts,
        )
        try:
            await open_sms_modal(self.runtime, tell.client, click.trigger_id, target)
        except SlackApiError as error:
            logger.warning("SMS modal not opened: %s", describe(error))
            await tell(MODAL_NOT_OPENED)

    # -- contact picker

    async def pick_contact(self, click: Click, tell: Tell) -> None:
        """One of several matching contacts was chosen for a call, a text or a card."""
        value = self._value(click)
        purpose = value.purpose if value else None
        if value is None or purpose not in ("call", "sms", "contact"):
            await tell(STALE_BUTTON)
        elif purpose == "call":
            await self._dial(click, value.number, tell)
        elif purpose == "sms" and value.text is not None:
            await self._send(click, value.number, value.text, tell)
        elif purpose == "sms":
            await self._open_modal(click, value, tell)
        else:
            await self._show_contact(value.number, tell)

    async def _send(self, click: Click, number: str | None, text: str, tell: Tell) -> None:
        if number is None:
            await tell(STALE_BUTTON)
            return
        try:
            await self.telephony.send_text(click.user_id, number, text)
        except FAILURES as failure:
            await tell(warning(failure))
            return
        await tell(f"📤 Text sent to {shown_number(number, self.ctx)}.")

    async def _show_contact(self, number: str | None, tell: Tell) -> None:
        if number is None:
            await tell(STALE_BUTTON)
            return
        try:
            lookup = await self.runtime.qtvoice.lookup_contact(number)
        except QTvoiceError as error:
            await tell(warning(error))
            return
        await tell.message(notifications.contact_card(lookup, number, self.ctx))

    # -- mark handled

    async def mark_handled(self, click: Click, tell: Tell) -> None:
        """Close out a missed call or voicemail for everyone: who handled it and when.

        The clicked message is named by Slack (channel and ts), not by the button's value.
        """
        channel, ts = click.channel_id, click.message_ts
        if channel is None or not ts:
            await tell(STALE_BUTTON)
            return
        client, now = tell.client, datetime.now(UTC)
        patience = Patience(tell, HANDLED_SLOWED_DOWN)
        updated = await self._close(channel, ts, click.user_id, now, patience)
        if updated is None and await adopt_landed(self.runtime, client, channel, ts):
            updated = await self._close(channel, ts, click.user_id, now, patience)
        if updated is None:
            await tell(STALE_BUTTON)
            return
        if not updated:
            await tell("⚠️ Slack didn't let me update that message; try again.")
            return
        await self._remember_handled(channel, ts, click.user_id, now)
        if patience.waited:
            await tell("✅ Everyone can see it's handled now.")

    async def _close(
        self, channel: str, ts: str, user: str, now: datetime, patience: Patience
    ) -> bool | None:
        """Close the bot's message at (channel, ts); whether it shows that, None when the bot
        has recorded no message there.

        Rendered from the store, never from the click's own copy, which could say anything:
        an item's copies from its stored state, any other message from its stored event.
        """
        updated = await self.copies.close(channel, ts, user, now, patience)
        if updated is not None:
            return updated
        message = await posted_at(self.runtime, channel, ts)
        if message is None:
            return None
        closed = Message(message.text, notifications.handled(message.blocks, user, now, self.ctx))
        return await show_message(self.runtime, channel, ts, closed, patience)

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

    async def replay(self, click: Click, tell: Tell) -> None:
        """Queue a failed delivery again; the admin is told, and their Home shows it queued."""
        value = self._value(click)
        said = await self.health.replay(click.user_id, value.delivery_id() if value else None)
        await tell(said)
        if self.health.is_admin(click.user_id):
            await self.home.publish(tell.client, click.user_id, seen=click.view_hash)


def register(app: AsyncApp, runtime: Runtime) -> None:
    """Every button the bot's messages, cards and App Home carry."""
    buttons = Buttons(runtime)
    for dialing in (notifications.CALL_BACK, notifications.CONTACT_CALL):
        app.action(dialing)(on_click(buttons.dial))
    for texting in (notifications.TEXT_BACK, notifications.SMS_REPLY, notifications.CONTACT_TEXT):
        app.action(texting)(on_click(buttons.compose))
    app.action(notifications.MARK_HANDLED)(on_click(buttons.mark_handled))
    app.action(notifications.PICK_CONTACT)(on_click(buttons.pick_contact))
    app.action(REPLAY_DELIVERY)(on_click(buttons.replay))
