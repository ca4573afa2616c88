"""The process's long-lived resources, built once (in the web app's lifespan or by `worker`).

Everything that talks to the outside world hangs off one `Runtime`: the database engine, the
Slack Web API client and the QTvoice client. Nothing deep in the code builds its own.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.metrics import MeteredSlackClient
from bot.qtvoice.client import QTvoiceClient
from bot.store.db import create_engine, create_sessionmaker

#: Slack answers in well under a second; a call stuck longer than this is retried by the worker.
SLACK_TIMEOUT_SECONDS = 15


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    slack: MeteredSlackClient
    qtvoice: QTvoiceClient
    #: Set when this process stores an event, so its own worker picks it up at once.
    inbox_changed: asyncio.Event = field(default_factory=asyncio.Event)
    #: Whether this process holds a Socket Mode connection now; set by the web app that opens
    #: one (`bot.web`), read by `/readyz` and the leader's watch. None: no socket here.
    socket_connected: Callable[[], Awaitable[bool]] | None = None
    process_id: str = field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    )

    @classmethod
    def create(cls, settings: Settings) -> Runtime:
        engine = create_engine(settings.database_url)
        return cls(
            settings=settings,
            engine=engine,
            sessions=create_sessionmaker(engine),
            slack=MeteredSlackClient(
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
