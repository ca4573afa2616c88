"""Builds the Bolt app: one signing secret, the process's Slack client, every listener.

This module only wires. Each Slack surface has its own module in `bot.slack.listeners` with a
`register(app, runtime)`.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

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


def create_bolt_app(runtime: Runtime, accept: Accept) -> AsyncApp:
    """`accept` stores an event the bot learned itself in the inbox (Save contact's answer),
    for the worker to show like the webhook it stands for."""
    app = AsyncApp(
        # Without a name Bolt names the app after its caller's file by `inspect.stack()`,
        # which reads the source of every frame on the stack: 0.13 s of CPU per app here.
        name="qtslack",
        client=runtime.slack,
        signing_secret=runtime.settings.slack_signing_secret.get_secret_value(),
        # `door.admit` verifies every HTTP request before Bolt parses it (Socket Mode needs no
        # signature). Bolt's own check would run after its parse and log the body on failure.
        request_verification_enabled=False,
    )
    app.logger.addFilter(door.KEEP_PAYLOADS_OUT)
    for surface in (commands, actions, ownership, views, home, events, forget):
        surface.register(app, runtime)
    contact_form.register(app, runtime, accept)
    return app
