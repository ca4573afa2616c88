"""Placeholder: listeners for this Slack surface are being written."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.runtime import Runtime


def register(app: AsyncApp, runtime: Runtime) -> None:
    """Attach this surface's listeners to the Bolt app."""
