"""The process's long-lived resources, built once (in the web app's lifespan or by `worker`).

Everything that talks to the outside world hangs off one `Runtime`: the database engine, the
Slack Web API client and the QTvoice client. Nothing deep in the code builds its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import aiohttp
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.metrics import MeteredSlackClient
from bot.people import People
from bot.qtvoice.client import QTvoiceClient
from bot.store.db import create_engine, create_sessionmaker

#: How long closing waits for database work in flight (`Runtime.close`), and how often it looks.
CLOSE_WAIT_SECONDS = 5.0
CLOSE_POLL_SECONDS = 0.02

#: Web API methods that each make a new message: sent twice, they show it twice.
POSTING_METHODS = frozenset(
    {"chat.postMessage", "chat.postEphemeral", "chat.scheduleMessage", "chat.meMessage"}
)


class ResendSafely(AsyncConnectionErrorRetryHandler):
    """slack_sdk's one retry after a dropped connection, never for a method that posts.

    slack_sdk's default handler sends any call once more after a reset, an EOF or a refused
    connection (`slack_sdk.http_retry.builtin_async_handlers`). A reset can come after Slack
    posted the message and before its answer arrived: resent, the message shows twice. Such
    a post is "maybe posted", and the poster's read-back decides (`bot.delivery.poster`).
    Reading, updating or reacting again is harmless, so those keep the retry.
    """

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if request.url.rstrip("/").rsplit("/", 1)[-1] in POSTING_METHODS:
            return False
        return await super()._can_retry_async(
            state=state, request=request, response=response, error=error
        )


def slack_retry_handlers() -> list[AsyncRetryHandler]:
    """The Web API client's retry handlers: `ResendSafely` only (429s are the poster's)."""
    return [ResendSafely()]


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


#: Webhooks entering less than this apart are a burst: the door stays busy this long after the
#: last one entered, even with none in flight (a burst's webhooks are answered a batch at a time,
#: group-committed together, and the door is empty for an instant after each batch). Webhooks
#: spaced wider (20 a second: 50 ms) leave the door quiet as soon as each is answered.
BURST_GAP_SECONDS = 0.01


class DoorTraffic:
    """The webhooks this process is answering now, so its worker can give way to them.

    The door (`bot.web`) and the worker share one event loop: a delivery started while
    webhooks are waiting for their acknowledgement takes the CPU they need. The door counts
    each webhook request from its headers to its answer (`entered`); the worker asks whether
    the door is busy (`busy`: a webhook in flight, or one entered within `BURST_GAP_SECONDS`
    of the one before it and less than that ago) and waits, for at most as long as it says,
    until it is not (`quiet`). Counted in this process only: another process's door is not seen.
    """

    def __init__(self) -> None:
        #: Webhook requests in this process that have not been answered yet.
        self.in_flight = 0
        self._none_in_flight = asyncio.Event()
        self._none_in_flight.set()
        #: When the last webhook entered (`time.monotonic()`), and whether within
        #: BURST_GAP_SECONDS of the one before it.
        self._entered_at = -math.inf
        self._in_burst = False

    @property
    def busy(self) -> bool:
        """Whether a webhook is being answered now, or a burst of them entered a moment ago."""
        return self.in_flight > 0 or self._burst_left() > 0

    def _burst_left(self) -> float:
        """Seconds until the door counts as quiet with none in flight (≤ 0: it does now)."""
        if not self._in_burst:
            return 0.0
        return self._entered_at + BURST_GAP_SECONDS - time.monotonic()

    @contextlib.contextmanager
    def entered(self) -> Iterator[None]:
        """Count one webhook request while inside (from its headers to its answer)."""
        now = time.monotonic()
        self._in_burst = now - self._entered_at < BURST_GAP_SECONDS
        self._entered_at = now
        self.in_flight += 1
        self._none_in_flight.clear()
        try:
            yield
        finally:
            self.in_flight -= 1
            if self.in_flight == 0:
                self._none_in_flight.set()

    async def quiet(self, longest_seconds: float) -> bool:
        """Wait until the door is not busy, for `longest_seconds` at most (≤ 0: not at all);
        whether it is quiet when this returns."""
        deadline = time.monotonic() + longest_seconds
        while self.busy:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if self.in_flight > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._none_in_flight.wait(), left)
            else:
                await asyncio.sleep(min(left, self._burst_left()))
        return True


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    slack: MeteredSlackClient
    qtvoice: QTvoiceClient
    #: Set when this process stores an event, so its own worker picks it up at once.
    inbox_changed: asyncio.Event = field(default_factory=asyncio.Event)
    #: The webhooks being answered now, which this process's worker gives way to.
    door: DoorTraffic = field(default_factory=DoorTraffic)
    #: Whether this process holds a Socket Mode connection now (or another's seat does); set
    #: by the web app (`bot.web`), read by `/readyz` and the leader's watch when
    #: SLACK_APP_TOKEN is set. None in a `worker`, which holds no socket.
    socket_connected: Callable[[], Awaitable[bool]] | None = None
    process_id: str = field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    )
    #: How clicks update the bot's messages; set by the web app (None: no Slack listeners here).
    updates: MessageUpdates | None = None
    #: Slack users by id (names for mentions, emails for linking), remembered for a while.
    people: People = field(init=False)

    def __post_init__(self) -> None:
        self.people = People(self.slack)

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
                timeout=math.ceil(settings.slack_timeout_seconds),
                retry_handlers=slack_retry_handlers(),
            ),
            qtvoice=QTvoiceClient(
                settings.qtvoice_api_url, settings.qtvoice_api_key.get_secret_value()
            ),
        )

    def reuse_slack_connections(self) -> None:
        """Keep HTTP connections to Slack open between calls; call inside the event loop.

        Without a session slack_sdk opens (and closes) a connection for every call. With one it
        passes no timeout of its own (`slack_sdk.web.async_internal_utils`), so the session's
        is the only one: SLACK_TIMEOUT_SECONDS, not aiohttp's default of five minutes.
        """
        if self.slack.session is None:
            timeout = aiohttp.ClientTimeout(total=self.settings.slack_timeout_seconds)
            self.slack.session = aiohttp.ClientSession(timeout=timeout)

    async def close(self, wait_seconds: float = CLOSE_WAIT_SECONDS) -> None:
        """Close the database pool and the Slack and QTvoice connections, once the database
        work still in flight (a listener finishing after its ack) has handed its connections
        back, or after `wait_seconds`: a connection disposed of while in use is dropped open."""
        deadline = time.monotonic() + wait_seconds
        while _in_use(self.engine) and time.monotonic() < deadline:  # noqa: ASYNC110 (a pool has nothing to await)
            await asyncio.sleep(CLOSE_POLL_SECONDS)
        if self.slack.session is not None:
            await self.slack.session.close()
        await self.qtvoice.aclose()
        await self.engine.dispose()


def _in_use(engine: AsyncEngine) -> bool:
    """Whether a connection of `engine`'s pool is checked out now (a pool that keeps none,
    SQLite's in tests, never says so)."""
    checked_out = getattr(engine.pool, "checkedout", None)
    return callable(checked_out) and checked_out() > 0
