"""The process's long-lived resources, built once (in the web app's lifespan or by `worker`).

Everything that talks to the outside world hangs off one `Runtime`: the database engine, the
Slack Web API client and the QTvoice client. Nothing deep in the code builds its own.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.qtvoice.client import QTvoiceClient
from bot.store.db import create_engine, create_sessionmaker

#: Slack answers in well under a second; a call stuck longer than this is retried by the worker.
SLACK_TIMEOUT_SECONDS = 15


class MessageUpdates(Protocol):
    """Shows a new version of a message the bot posted the way the worker writes to Slack:
    within every process's stored rate limit, and again at the time Slack names when it
    answers 429 (`bot.delivery.executor`; the web app wires it in as `Runtime.updates`)."""

    async def update(
        self,
        channel: str,
        ts: str,
        text: str,
        blocks: Sequence[Mapping[str, Any]],
        waiting: Callable[[datetime], Awaitable[None]],
    ) -> bool:
        """Whether the message at (`channel`, `ts`) now shows `text` and `blocks`;
        `waiting(until)` is awaited each time Slack makes it wait (until then)."""
        ...


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    slack: AsyncWebClient
    qtvoice: QTvoiceClient
    #: Set when this process stores an event, so its own worker picks it up at once.
    inbox_changed: asyncio.Event = field(default_factory=asyncio.Event)
    process_id: str = field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    )
    #: How clicks update the bot's messages; set by the web app (None: no Slack listeners here).
    updates: MessageUpdates | None = None

    @classmethod
    def create(cls, settings: Settings) -> Runtime:
        engine = create_engine(settings.database_url)
        return cls(
            settings=settings,
            engine=engine,
            sessions=create_sessionmaker(engine),
            slack=AsyncWebClient(
                token=settings.slack_bot_token.get_secret_value(),
                base_url=settings.slack_api_url,
                timeout=SLACK_TIMEOUT_SECONDS,
            ),
            qtvoice=QTvoiceClient(
                settings.qtvoice_api_url, settings.qtvoice_api_key.get_secret_value()
            ),
        )

    def reuse_slack_connections(self) -> None:
        """Keep HTTP connections to Slack open between calls; call inside the event loop.

        Without a session slack_sdk opens (and closes) a connection for every call.
        """
        if self.slack.session is None:
            self.slack.session = aiohttp.ClientSession()

    async def close(self) -> None:
        if self.slack.session is not None:
            await self.slack.session.close()
        await self.qtvoice.aclose()
        await self.engine.dispose()
