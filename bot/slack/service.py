"""The Slack side of running the bot as a service: the admins' incident banner at the top of
their App Home, and `/qtvoice forget NUMBER` with its confirmation button (admins only)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot import erasure, phone
from bot.runtime import Runtime
from bot.slack import cards, service_blocks
from bot.slack.api_errors import answer_ephemeral
from bot.slack.blocks import Block, Message, RenderContext
from bot.slack.parsing import button_value, plain_text
from bot.slack.sentences import ADMINS_ONLY
from bot.store import incidents

logger = logging.getLogger(__name__)


async def incident_banner(runtime: Runtime, ctx: RenderContext) -> list[Block]:
    """The open incidents, for the top of an admin's App Home (nothing when none is open)."""
    async with runtime.sessions() as session:
        return service_blocks.banner(await incidents.open_now(session), ctx)


class Forget:
    """`/qtvoice forget NUMBER`: asks first; the button erases (`bot.erasure.forget`)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def _admin(self, user_id: str) -> bool:
        return user_id in self.runtime.settings.admin_user_ids

    async def ask(self, user_id: str, typed: str) -> Message:
        if not self._admin(user_id):
            return cards.say(ADMINS_ONLY.format(what="erase a caller"))
        number = plain_text(typed).strip()
        if not number:
            return cards.say("Which number? Try `/qtvoice forget 215-555-1234`.")
        region = self.runtime.settings.default_region
        try:
            erasure.spellings(number, region)
        except erasure.NotANumber:
            return cards.say(
                "That isn't a number I can look for; try `/qtvoice forget 215-555-1234`."
            )
        normalized = phone.parse(number, region) or number
        return service_blocks.forget_confirmation(normalized, phone.display(normalized, region))

    async def confirmed(self, user_id: str, number: str) -> Message:
        if not self._admin(user_id):
            return cards.say(ADMINS_ONLY.format(what="erase a caller"))
        try:
            async with self.runtime.sessions() as session:
                counts = await erasure.forget(
                    session,
                    number,
                    self.runtime.settings.default_region,
                    slack=self.runtime.slack,
                )
        except erasure.NotANumber:
            return cards.say("That button no longer holds a number; run `/qtvoice forget` again.")
        logger.info("an admin erased a number: %s", erasure.report(counts))
        return cards.say(f"Done: {erasure.report(counts)}.")


def register(app: AsyncApp, runtime: Runtime) -> None:
    """The confirmation button of `/qtvoice forget` (the subcommand is in `commands`)."""
    forget = Forget(runtime)

    async def forget_confirmed(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        number = str(button_value(body).get("n") or "")
        reply = await forget.confirmed(str(body["user"]["id"]), number)
        await answer_ephemeral(respond, reply.text, reply.blocks or None)

    app.action(service_blocks.FORGET_CONFIRMED)(forget_confirmed)
