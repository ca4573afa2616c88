"""Opening the SMS modal (Text back, Reply, Text on a contact card), and what it texts.

The modal opens the moment a button is clicked, because a trigger_id is only good for three
seconds; the conversation's last messages come from QTvoice afterwards and are filled in
with views.update. Who it texts travels in its private_metadata, sealed like a button's value
(`bot.slack.buttons`), so a submission texts only a number the bot put there.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.qtvoice.errors import QTvoiceError
from bot.qtvoice.models import Sms
from bot.runtime import Runtime
from bot.slack.api_errors import describe
from bot.slack.blocks.kit import RenderContext, same_number
from bot.slack.blocks.notifications import Caller
from bot.slack.blocks.sms_modal import sms_modal
from bot.slack.buttons import ButtonCodec, ButtonValue
from bot.slack.rendering import lookup_caller, render_context
from bot.slack.sentences import plain_sentence
from bot.store.replies import all_replies

logger = logging.getLogger(__name__)

HISTORY_SHOWN = 10
HISTORY_FETCHED = 25


@dataclass(frozen=True)
class SmsTarget:
    """Who a modal texts, from which line, and where it was opened (for the confirmation)."""

    customer: str
    line: str | None = None
    channel: str | None = None
    thread_ts: str | None = None

    def to_metadata(self, codec: ButtonCodec) -> str:
        """The modal's private_metadata: this target, sealed."""
        value = ButtonValue(
            number=self.customer, line=self.line, channel=self.channel, thread=self.thread_ts
        )
        return codec.encode(value)

    @classmethod
    def from_metadata(cls, codec: ButtonCodec, raw: str) -> SmsTarget | None:
        """The target the bot wrote into a modal; None for metadata it did not write."""
        value = codec.decode(raw)
        if value is None or value.number is None:
            return None
        return cls(value.number, value.line, value.channel, value.thread)


async def open_sms_modal(
    runtime: Runtime, client: AsyncWebClient, trigger_id: str, target: SmsTarget
) -> None:
    """Open the modal at once (the trigger expires in 3 s), then fill in the conversation.

    Raises `SlackApiError` when Slack does not open it.
    """
    ctx = render_context(runtime.settings)
    metadata = target.to_metadata(ctx.buttons)
    async with runtime.sessions() as session:
        saved = await all_replies(session)
    loading = sms_modal(
        metadata, target.line, Caller(number=target.customer), ctx, None, replies=saved
    )
    opened = await client.views_open(trigger_id=trigger_id, view=loading)
    caller = await lookup_caller(runtime, target.customer)
    try:
        history = await conversation(runtime, target.customer, target.line)
        view = sms_modal(metadata, target.line, caller, ctx, history, replies=saved)
    except QTvoiceError as error:
        logger.warning("could not load the SMS history for the modal: %s", error)
        view = sms_modal(
            metadata,
            target.line,
            caller,
            ctx,
            None,
            history_error=plain_sentence(error),
            replies=saved,
        )
    try:
        await client.views_update(
            view_id=opened["view"]["id"], hash=opened["view"]["hash"], view=view
        )
    except SlackApiError as error:
        # Closed, sent or changed by the user meanwhile: nothing left to fill in.
        logger.info("SMS modal not updated: %s", describe(error))


async def conversation(runtime: Runtime, customer: str, line: str | None) -> list[Sms]:
    """The last texts between `customer` and `line` (any line when None), newest last."""
    qtvoice = runtime.qtvoice
    received, sent = await asyncio.gather(
        qtvoice.list_sms(from_=customer, limit=HISTORY_FETCHED),
        qtvoice.list_sms(to=customer, limit=HISTORY_FETCHED),
    )
    ctx = render_context(runtime.settings)
    by_id = {sms.id: sms for sms in [*received.data, *sent.data]}
    texts = [
        sms
        for sms in by_id.values()
        if line is None or same_number(_other_party(sms, customer, ctx), line, ctx)
    ]
    texts.sort(key=lambda sms: sms.created_at or datetime.min.replace(tzinfo=UTC))
    return texts[-HISTORY_SHOWN:]


def _other_party(sms: Sms, customer: str, ctx: RenderContext) -> str | None:
    return sms.to if same_number(sms.from_, customer, ctx) else sms.from_
