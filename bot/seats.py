"""Socket Mode seats: at most two processes of a deployment hold a Socket Mode connection.

Slack allows an app about ten Socket Mode connections ("up to 10 simultaneous connections",
https://docs.slack.dev/apis/events-api/using-socket-mode), and every `serve` process (each of
WEB_CONCURRENCY) would otherwise open its own: an eleventh would break them all. So a process
connects only while it holds one of `SEATS` PostgreSQL advisory locks (`bot.store.advisory`),
each on a connection of its own; the others stand by and try again every `RETRY_SECONDS`, so a
seat whose holder died is taken, and its socket opened again, within seconds. Two seats, not
one: Slack spreads envelopes over an app's connections, so the second keeps commands answered
while the first reconnects or its process restarts.

A holder that loses its lock's connection (a database restart) keeps its socket until it
finds both seats taken by others, so Slack's requests still arrive while the database is away.
On SQLite `serve` is one process, which always holds its socket.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot.runtime import Runtime
from bot.store.advisory import LEADER_LOCK_KEY, Lease, held_by_others, while_holding

logger = logging.getLogger(__name__)

#: The seats' lock keys: fixed, the same in every process, distinct from the scheduler's.
SEATS = (LEADER_LOCK_KEY + 1, LEADER_LOCK_KEY + 2)
#: How often a process without a seat looks for a free one, and a holder checks its lock.
RETRY_SECONDS = 2.0
#: How long start-up waits for the first try for a seat (a database that does not answer).
FIRST_TRY_SECONDS = 5.0

OpenSocket = Callable[[], Awaitable[AsyncSocketModeHandler]]


async def hold_a_seat(
    runtime: Runtime,
    open_socket: OpenSocket,
    stop: asyncio.Event,
    *,
    tried: asyncio.Event | None = None,
    held: set[int] | None = None,
    retry_seconds: float = RETRY_SECONDS,
) -> None:
    """Hold a Socket Mode connection (`open_socket` opens it) while this process has a seat,
    until `stop` is set; then close it. `tried` is set once the first try is over: the
    socket is open, or every seat was found held."""
    handler: AsyncSocketModeHandler | None = None
    tried = tried or asyncio.Event()

    async def close() -> None:
        nonlocal handler
        if handler is not None:
            await handler.close_async()
            handler = None

    async def seated(lease: Lease, key: int) -> None:
        nonlocal handler
        logger.info(
            "Socket Mode: this process (pid %s) holds seat %s of %s",
            os.getpid(),
            SEATS.index(key) + 1,
            len(SEATS),
        )
        if handler is None:
            handler = await open_socket()
        tried.set()
        if held is not None:
            held.add(key)
        try:
            await lease.hold(stop, retry_seconds)
        finally:
            if held is not None:
                held.discard(key)

    async def standing_by() -> None:
        if handler is not None:
            logger.info("Socket Mode: both seats are held by other processes; closing this socket")
        await close()
        tried.set()

    try:
        if runtime.engine.dialect.name != "postgresql":
            handler = await open_socket()
            tried.set()
            await stop.wait()
            return
        await while_holding(
            runtime.settings.database_url,
            SEATS,
            stop,
            retry_seconds=retry_seconds,
            what="Socket Mode seat",
            run=seated,
            standing_by=standing_by,
        )
    finally:
        await close()


async def seated_elsewhere(runtime: Runtime, mine: set[int]) -> bool:
    """Whether another process of this deployment holds a Socket Mode seat (so, a socket):
    what `/readyz` and the incident watch go by when this process's own socket is down.
    `mine` are the seats this process holds (`hold_a_seat(held=…)`): their locks sit on
    another of its connections, and must not count. Always False on SQLite, whose one
    process holds its own socket."""
    others = [key for key in SEATS if key not in mine]
    if runtime.engine.dialect.name != "postgresql" or not others:
        return False
    async with runtime.engine.connect() as connection:
        return await held_by_others(connection, others) > 0
