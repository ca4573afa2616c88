"""The confirmation button of `/qtvoice forget NUMBER` (the subcommand is in `commands`)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.runtime import Runtime
from bot.slack.blocks.service import FORGET_CONFIRMED
from bot.slack.requests import Click, on_click
from bot.slack.service import Forget
from bot.slack.tell import Tell


def register(app: AsyncApp, runtime: Runtime) -> None:
    forget = Forget(runtime)

    async def confirmed(click: Click, tell: Tell) -> None:
        value = forget.ctx.buttons.decode(click.value)
        await tell.message(await forget.confirmed(click.user_id, value))

    app.action(FORGET_CONFIRMED)(on_click(confirmed))
