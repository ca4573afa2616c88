"""The Slack side of running the bot as a service, shared by the listeners and the App Home:
the admins' incident banner, and `/qtvoice forget NUMBER` (admins only; it asks first, the
confirmation button erases)."""

from __future__ import annotations

import logging

from bot import erasure, phone
from bot.runtime import Runtime
from bot.slack.blocks import replies
from bot.slack.blocks import service as service_blocks
from bot.slack.blocks.kit import Block, Message, RenderContext
from bot.slack.buttons import ButtonValue
from bot.slack.parsing import plain_text
from bot.slack.rendering import render_context
from bot.slack.sentences import ADMINS_ONLY
from bot.store import incidents

logger = logging.getLogger(__name__)

NOT_A_NUMBER = "That isn't a number I can look for; try `/qtvoice forget 215-555-1234`."


async def incident_banner(runtime: Runtime, ctx: RenderContext) -> list[Block]:
    """The open incidents, for the top of an admin's App Home (nothing when none is open)."""
    async with runtime.sessions() as session:
        return service_blocks.banner(await incidents.open_now(session), ctx)


class Forget:
    """`/qtvoice forget NUMBER`: `ask` shows the question, `confirmed` erases
    (`bot.erasure.forget`, the bot's Slack messages about it included)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.ctx = render_context(runtime.settings)

    def _refused(self, user_id: str) -> Message | None:
        if user_id in self.runtime.settings.admin_user_ids:
            return None
        return replies.say(ADMINS_ONLY.format(what="erase a caller"))

    async def ask(self, user_id: str, typed: str) -> Message:
        number = plain_text(typed).strip()
        region = self.runtime.settings.default_region
        if refused := self._refused(user_id):
            return refused
        try:
            erasure.spellings(number, region)
        except erasure.NotANumber:
            return replies.say(NOT_A_NUMBER)
        normalized = phone.parse(number, region) or number
        shown = phone.display(normalized, region)
        return service_blocks.forget_confirmation(normalized, shown, self.ctx)

    async def confirmed(self, user_id: str, value: ButtonValue | None) -> Message:
        if refused := self._refused(user_id):
            return refused
        if value is None or not value.number:
            return replies.say("That button is out of date; run `/qtvoice forget` again.")
        try:
            async with self.runtime.sessions() as session:
                counts = await erasure.forget(
                    session,
                    value.number,
                    self.runtime.settings.default_region,
                    slack=self.runtime.slack,
                )
        except erasure.NotANumber:
            return replies.say(NOT_A_NUMBER)
        logger.info("an admin erased a number: %s", erasure.report(counts))
        return replies.say(f"Done: {erasure.report(counts)}.")
