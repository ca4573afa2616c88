"""Builds the Bolt app: one signing secret, the process's Slack client, every listener.

This module only wires. Each Slack surface has its own module with a `register(app, runtime)`.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.runtime import Runtime
from bot.slack import actions, commands, events, home, ownership, views


def create_bolt_app(runtime: Runtime) -> AsyncApp:
    app = AsyncApp(
        client=runtime.slack,
        signing_secret=runtime.settings.slack_signing_secret.get_secret_value(),
    )
    for surface in (commands, actions, ownership, views, home, events):
        surface.register(app, runtime)
    return app
