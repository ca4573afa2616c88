"""What the worker writes once Slack has answered, committed for many deliveries at once.

Two writes follow a delivery's Slack calls: where each post landed (its `ts`, completing the
`PostedMessage` recorded as intended before the post) and, last, that the event is done. Each
delivery hands them to the `Recorder` and awaits their outcome, as it awaited its own commits
before; whatever is queued when the recorder gets to it goes into one transaction (one
statement per table), and while that commits the next writes queue up. So under load each
costs a fraction of a commit (on SQLite a fraction of an fsync) instead of one each.

The order that makes delivery exactly once holds: a post's `ts` is durable before `post_once`
returns, so an event is marked done only after every message it posted is recorded. A crash
before the `ts` is written leaves the intended post without one, which the next attempt looks
for in Slack before posting (`SlackPoster`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sqlalchemy import bindparam, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.delivery import inbox
from bot.store.models import PostedMessage

#: Writes per transaction at most; more queued ones wait for the next.
MAX_BATCH = 500


@dataclass
class _Pending:
    #: The `PostedMessage` ids that landed, with their ts; the inbox ids done.
    landed: list[dict[str, object]] = field(default_factory=list)
    done: list[int] = field(default_factory=list)
    waiters: list[asyncio.Future[None]] = field(default_factory=list)


class Recorder:
    """Group commit of landed posts and finished events, for one worker process."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._pending = _Pending()
        self._flusher: asyncio.Task[None] | None = None

    async def landed(self, posted_id: int, ts: str) -> None:
        """Record that the `PostedMessage` `posted_id` is in Slack at `ts`; returns once that
        is committed. Raises the database's error when it could not be (nothing written)."""
        self._pending.landed.append({"posted_id": posted_id, "landed_ts": ts})
        await self._committed()

    async def done(self, row_id: int) -> None:
        """Mark the inbox event `row_id` delivered; returns once that is committed. Raises the
        database's error when it could not be (then the event is still pending)."""
        self._pending.done.append(row_id)
        await self._committed()

    async def _committed(self) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.waiters.append(future)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="delivery-recorder")
        await future

    async def _flush(self) -> None:
        while self._pending.waiters:
            batch, self._pending = self._pending, _Pending()
            try:
                await self._write(batch)
            except Exception as error:  # every waiter gets the error; the recorder carries on
                for future in batch.waiters:
                    if not future.done():
                        future.set_exception(error)
                continue
            for future in batch.waiters:
                if not future.done():
                    future.set_result(None)

    async def _write(self, batch: _Pending) -> None:
        async with self.engine.begin() as connection:
            if batch.landed:
                await connection.execute(
                    update(PostedMessage)
                    .where(PostedMessage.id == bindparam("posted_id"))
                    .values(ts=bindparam("landed_ts")),
                    batch.landed,
                )
            if batch.done:
                await inbox.finish(connection, batch.done)
