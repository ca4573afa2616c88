"""The App Home tab: published afresh (`bot.slack.app_home`) each time its person opens it."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime import Runtime
from bot.slack.app_home import AppHome
from bot.slack.requests import HomeOpened, on_event


def register(app: AsyncApp, runtime: Runtime) -> None:
    """app_home_opened: the Home tab (not the Messages tab) is published."""
    home = AppHome(runtime)

    async def opened(event: HomeOpened, client: AsyncWebClient) -> None:
        if event.event.tab == "home":
            await home.publish(client, event.event.user)

    app.event("app_home_opened")(on_event(HomeOpened, opened))
