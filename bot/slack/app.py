"""Builds the Bolt app: one signing secret, the process's Slack client, every listener.

This module only wires. Each Slack surface has its own module in `bot.slack.listeners` with a
`register(app, runtime)`.
"""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped

from bot.runtime import Runtime
from bot.slack import door
from bot.slack.listeners import (
    actions,
    commands,
    contact_form,
    events,
    forget,
    home,
    ownership,
    views,
)
from bot.slack.listeners.contact_form import Accept


class TokenFromTheClient(logging.Filter):
    """Drops Bolt's start-up warning "As you gave `client` as well, `token` will be unused":
    Bolt reads SLACK_BOT_TOKEN from the environment on its own, which every deployment sets,
    and the runtime's client already carries that token."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


TOKEN_FROM_THE_CLIENT = TokenFromTheClient()


def create_bolt_app(runtime: Runtime, accept: Accept) -> AsyncApp:
    """`accept` stores an event the bot learned itself in the inbox (Save contact's answer),
    for the worker to show like the webhook it stands for."""
    # Bolt logs while it is built: its logger has the filters before (adding one twice is
    # a no-op, so an app per test adds nothing).
    bolt_logger = logging.getLogger("slack_bolt.AsyncApp")
    bolt_logger.addFilter(door.KEEP_PAYLOADS_OUT)
    bolt_logger.addFilter(TOKEN_FROM_THE_CLIENT)
    app = AsyncApp(
        logger=bolt_logger,
        # Without a name Bolt names the app after its caller's file by `inspect.stack()`,
        # which reads the source of every frame on the stack: 0.13 s of CPU per app here.
        name="qtslack",
        client=runtime.slack,
        signing_secret=runtime.settings.slack_signing_secret.get_secret_value(),
        # `door.admit` verifies every HTTP request before Bolt parses it (Socket Mode needs no
        # signature). Bolt's own check would run after its parse and log the body on failure.
        request_verification_enabled=False,
    )
    for surface in (commands, actions, ownership, views, home, events, forget):
        surface.register(app, runtime)
    contact_form.register(app, runtime, accept)
    return app
