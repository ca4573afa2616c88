"""Group commit for the worker: many deliveries' writes in one transaction.

A delivery writes a few small rows around its Slack calls: the open item behind a missed call,
voicemail or conversation, the post it is about to make (recorded as intended), where that post
landed (its `ts`) and, last, that its event is done. Each waits for its write to be committed
before going on, as it waited for its own commits before; but the write goes through
`GroupCommit.run`, and whatever writes are queued when the committer gets to them go into one
transaction, one statement per kind of write, while the next ones queue up. So under load a
write costs a fraction of a transaction instead of one (on SQLite a fraction of an fsync and a
few thread hand-offs; on PostgreSQL a fraction of the round trips) and nothing about what is
durable when changes: each write is committed before its caller goes on.

A kind of write is a `Write`: an async function that does it for a list of values in the
caller's transaction and returns one result per value, in order (`bot.store.ownership.record`,
`bot.delivery.poster.intend` and `landed`, `bot.delivery.inbox.finish` and `postpone`; also
reads that every delivery makes, `bot.directory.cached_rows` and `bot.delivery.poster.cooldowns`,
so a batch of deliveries reads them in one query). No two writes that depend on each other are
ever in one batch: a delivery awaits each before the next.

A value the database refuses fails only its own write (the batch is committed again one write
at a time); an outage fails the whole batch, as it would each write alone. The committer holds
one connection of its own, so it never waits for the pool that deliveries' sessions draw from,
and opens it again after the database went away.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from bot.store.outage import is_outage, once_more_if_dropped

logger = logging.getLogger(__name__)

V = TypeVar("V")
R = TypeVar("R")

#: Does one kind of write for many values in the caller's transaction; a result per value.
Write = Callable[[AsyncConnection, list[V]], Awaitable[Sequence[R]]]

#: Writes per transaction at most; more queued ones wait for the next.
MAX_BATCH = 500

#: Queued values and their waiters, by kind of write.
Batch = dict[Write[Any, Any], list[tuple[Any, asyncio.Future[Any]]]]


class GroupCommit:
    """Commits the writes of many concurrent callers together, a batch per transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._queue: list[tuple[Write[Any, Any], Any, asyncio.Future[Any]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._connection: AsyncConnection | None = None

    async def run(self, write: Write[V, R], value: V, *, session: AsyncSession | None = None) -> R:
        """Do `write` for `value` with whatever else is queued; its result once committed.

        `session`, the caller's, is committed first, so it holds no pooled connection while
        it waits: more deliveries wait at once than the pool has connections. Raises the
        database's error when its batch could not be committed: then nothing of it was
        written.
        """
        if session is not None:
            await session.commit()
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((write, value, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="group-commit")
        return await future

    async def _flush(self) -> None:
        while self._queue:
            # Let every task that is ready run up to its next wait first: those about to
            # write join this batch instead of the next.
            await asyncio.sleep(0)
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            by_write: Batch = {}
            for write, value, future in batch:
                by_write.setdefault(write, []).append((value, future))
            try:
                outcomes = await self._commit(by_write)
            except Exception as error:
                if len(batch) > 1 and not is_outage(error):
                    await self._one_by_one(batch)
                    continue
                for _, _, future in batch:  # every waiter gets the error; the committer goes on
                    if not future.done():
                        future.set_exception(error)
                continue
            for write, waiting in by_write.items():
                for (_, future), result in zip(waiting, outcomes[write], strict=True):
                    if not future.done():
                        future.set_result(result)

    async def _one_by_one(
        self, batch: list[tuple[Write[Any, Any], Any, asyncio.Future[Any]]]
    ) -> None:
        """A value the database refuses (too long, a broken constraint) fails only its own
        write: after a batch fails for that, each of its writes is committed alone."""
        for write, value, future in batch:
            try:
                outcome = await self._commit({write: [(value, future)]})
            except Exception as error:
                if not future.done():
                    future.set_exception(error)
                continue
            if not future.done():
                future.set_result(outcome[write][0])

    async def close(self) -> None:
        """Let queued writes finish, then give the connection back."""
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)
        await self._disconnect()

    async def _commit(self, by_write: Batch) -> dict[Write[Any, Any], Sequence[Any]]:
        """One transaction; once more on a fresh connection if the held one had gone stale."""
        return await once_more_if_dropped(lambda: self._commit_once(by_write), "group commit")

    async def _commit_once(self, by_write: Batch) -> dict[Write[Any, Any], Sequence[Any]]:
        if self._connection is None:
            self._connection = await self.engine.connect()
        connection = self._connection
        try:
            async with connection.begin():
                return {
                    write: await write(connection, [value for value, _ in waiting])
                    for write, waiting in by_write.items()
                }
        except BaseException:
            await self._disconnect()
            raise

    async def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                await connection.close()
            except Exception:  # already broken: the pool discards it
                logger.debug("group commit: closing a broken connection failed", exc_info=True)
