"""The SMS modal's submission: text what was typed (or the saved reply picked) to whom the
modal names, or say on the form why not.

Sending goes through `Telephony`, whose refusals (opted out, rate limit, nothing typed) are
shown on the text field itself so the person can fix and resend. Slack gives a submission
three seconds: a QTvoice slower than `SUBMIT_ACK_BUDGET_SECONDS` closes the form and the
outcome follows ephemerally where the modal was opened (or by DM).
"""

from __future__ import annotations

import asyncio
import logging

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.qtvoice.models import Sms
from bot.runtime import Runtime
from bot.slack.blocks.kit import shown_number
from bot.slack.blocks.sms_modal import (
    MESSAGE_ACTION,
    MESSAGE_BLOCK,
    SAVED_ACTION,
    SAVED_BLOCK,
    SMS_MODAL,
)
from bot.slack.items import ItemCopies
from bot.slack.markup import escaped, plain_text
from bot.slack.modal import SmsTarget
from bot.slack.rendering import render_context
from bot.slack.requests import ViewSubmission, on_view
from bot.slack.sentences import FAILURES, plain_sentence, sentence
from bot.slack.tell import Tell
from bot.store.replies import reply as saved_reply
from bot.telephony import Telephony

logger = logging.getLogger(__name__)

SUBMIT_ACK_BUDGET_SECONDS = 2.0
"""How long a modal submission may wait for QTvoice before answering Slack, which gives up
after three seconds: a refusal or a quick error can still be shown on the form itself."""

EXPIRED = "This form has expired; close it and press the button again."


class SmsModal:
    """The modal's submission: send, or say on the form why not."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.telephony = Telephony(runtime, on_taken=ItemCopies(runtime).show)
        self.ctx = render_context(runtime.settings)

    async def submit(
        self, submission: ViewSubmission, ack: AsyncAck, client: AsyncWebClient
    ) -> None:
        target = SmsTarget.from_metadata(self.ctx.buttons, submission.private_metadata)
        if target is None:
            await _refuse(ack, EXPIRED)
            return
        # A form's input arrives as typed, not escaped as a message is.
        text = plain_text(escaped(submission.typed(MESSAGE_BLOCK, MESSAGE_ACTION)))
        chosen = submission.chosen(SAVED_BLOCK, SAVED_ACTION)
        if chosen and text.strip():
            await _refuse(ack, "Either type a message or pick a saved reply, not both.")
            return
        if chosen:
            async with self.runtime.sessions() as session:
                saved = await saved_reply(session, chosen)
            if saved is None:
                await _refuse(ack, "That saved reply was just removed; type the text instead.")
                return
            text = saved.text
        if not text.strip():
            await _refuse(ack, "Type the text to send.")
            return
        user = submission.user_id
        tell = Tell(client, user, target.channel, target.thread_ts)
        sending = asyncio.ensure_future(
            self.telephony.send_text(user, target.customer, text, line=target.line)
        )
        try:
            sms = await asyncio.wait_for(asyncio.shield(sending), SUBMIT_ACK_BUDGET_SECONDS)
        except TimeoutError:
            # QTvoice is slow: close the form now and report the outcome when it comes.
            await ack()
            await self._report(tell, target, sending)
            return
        except FAILURES as failure:
            await _refuse(ack, plain_sentence(failure))
            return
        await ack()
        await self._confirm(tell, target, sms)

    async def _report(self, tell: Tell, target: SmsTarget, sending: asyncio.Future[Sms]) -> None:
        try:
            sms = await sending
        except FAILURES as failure:
            await tell(f"⚠️ Text not sent: {sentence(failure)}")
        else:
            await self._confirm(tell, target, sms)

    async def _confirm(self, tell: Tell, target: SmsTarget, sms: Sms) -> None:
        """Only the sender hears of success; the worker shows the text itself in its thread."""
        logger.info("text %s sent from a modal", sms.id)
        await tell(f"📤 Text sent to {shown_number(target.customer, self.ctx)}.")


async def _refuse(ack: AsyncAck, message: str) -> None:
    """Keep the modal open with `message` under the text field (shown as plain text)."""
    await ack(response_action="errors", errors={MESSAGE_BLOCK: message})


def register(app: AsyncApp, runtime: Runtime) -> None:
    """The SMS modal's submission."""
    app.view(SMS_MODAL)(on_view(SmsModal(runtime).submit))
