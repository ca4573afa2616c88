"""Who holds a PostgreSQL advisory lock: one process of a deployment per lock, the rest standing by.

A lock is held by a session on a connection of its own: when the holder dies its connection
drops, PostgreSQL releases the lock, and a process standing by takes it on its next try. The
scheduler's leader holds one (`bot.scheduler`), each Socket Mode seat another (`bot.seats`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from bot.store.db import async_url
from bot.store.outage import Backoff, describe, is_outage

logger = logging.getLogger(__name__)

#: The scheduler leader's lock: any fixed 64-bit number, the same in every process of this
#: deployment. The Socket Mode seats take the keys after it (`bot.seats.SEATS`).
LEADER_LOCK_KEY = 0x71_74_73_6C_61_63_6B  # "qtslack"


class Lease:
    """A lock's connection: alive means the lock is still ours.

    PostgreSQL releases a session's advisory lock when its connection ends (a restart, a
    network cut), and a standby may take it at once; the holder only learns so when it next
    uses the connection. So the holder checks the connection before acting as the holder, and
    after the first failed check the lease is lost for good: SQLAlchemy would quietly open a
    new connection, one without the lock.
    """

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection
        self.lost = asyncio.Event()
        self.error: Exception | None = None
        self._checking = asyncio.Lock()  # one statement at a time on the connection

    async def held(self) -> bool:
        async with self._checking:
            if self.lost.is_set():
                return False
            try:
                await self.connection.execute(text("SELECT 1"))
                await self.connection.commit()
            except Exception as error:
                self.error = error
                self.lost.set()
                return False
            return True

    async def hold(self, stop: asyncio.Event, check_seconds: float) -> None:
        """Return when `stop` is set; raise the lease's error once it is lost (checked at
        least every `check_seconds`)."""
        while not stop.is_set():
            waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self.lost.wait())]
            try:
                await asyncio.wait(
                    waits, timeout=check_seconds, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                for wait in waits:
                    wait.cancel()
            if not stop.is_set() and not await self.held():
                raise self.error or RuntimeError("advisory lock lost")


async def held_by_others(connection: AsyncConnection, keys: Sequence[int]) -> int:
    """How many of `keys` some other session of this database holds (PostgreSQL's `pg_locks`:
    a bigint advisory key is `classid << 32 | objid`, with `objsubid` 1)."""
    held = await connection.scalar(
        text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND objsubid = 1 AND pid <> pg_backend_pid()"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND ((classid::bigint << 32) | objid::bigint) = ANY(:keys)"
        ),
        {"keys": list(keys)},
    )
    return int(held or 0)


async def take_one(connection: AsyncConnection, keys: Sequence[int]) -> int | None:
    """Take the first of `keys` nobody holds, on `connection`; which one, None if all are held."""
    for key in keys:
        locked = await connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key})
        await connection.commit()
        if locked:
            return key
    return None


async def while_holding(
    database_url: str,
    keys: Sequence[int],
    stop: asyncio.Event,
    *,
    retry_seconds: float,
    what: str,
    run: Callable[[Lease, int], Awaitable[None]],
    standing_by: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Until `stop`: take one of `keys` and `run(lease, key)` while it is held; else stand by.

    Tried every `retry_seconds`; survives the database going away (the lock goes with its
    connection, and is taken again when the database is back). `standing_by` is awaited
    each time every key was found held by others. `what` names the holder in the log.
    """
    # Unpooled: closing the lock's connection must really close it, releasing the lock.
    engine = create_async_engine(async_url(database_url), poolclass=NullPool)
    # Only its lines: a standby asks for the lock every `retry_seconds` whatever happens.
    outage = Backoff(first=retry_seconds, longest=retry_seconds)
    try:
        while not stop.is_set():
            try:
                async with engine.connect() as connection:
                    outage.recovered()
                    key = await take_one(connection, keys)
                    if key is not None:
                        await run(Lease(connection), key)
                    elif standing_by is not None:
                        await standing_by()
            except Exception as error:
                if not is_outage(error):
                    logger.exception("%s: lock lost; standing by", what)
                elif (say := outage.failed()[1]) is not None:
                    logger.warning(
                        "%s: database %s, standing by (retry every %g s): %s",
                        what,
                        "unreachable"
                        if say == "first"
                        else f"still unreachable after {outage.lasted / 60:.0f} min",
                        retry_seconds,
                        describe(error),
                    )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), retry_seconds)
    finally:
        await engine.dispose()
