"""Group commit at the door: concurrent webhooks are stored together, in one transaction.

Each request hands its row to `InboxWriter.store()` and awaits that row's outcome. Whatever is
queued when the writer gets to it goes into one `INSERT … ON CONFLICT DO NOTHING RETURNING` and
one COMMIT; while that commit waits on the disk or the network, the next requests queue up for
the following batch. So under load a commit costs a fraction of a request, SQLite has a single
writer instead of connections queueing for its one lock, and PostgreSQL one round trip per
batch. A request is answered only after its batch committed: "200 means stored durably".

On SQLite the batch runs in a thread of the writer's own, on a plain `sqlite3` connection: one
hand-off to that thread and back per batch. Through aiosqlite every statement (begin, insert,
fetch, commit) would be a hand-off of its own, and each hand-off waits for the event loop's
thread to let go of the GIL (up to `sys.getswitchinterval()`, 5 ms) while it is busy answering
the next requests. PostgreSQL's driver is asyncio itself and needs no thread.

Duplicates are the database's to find: the table's unique keys are unique constraints, and a row
whose key is taken is simply not inserted (no SELECT first, no race between look and insert).
The writer knows nothing of events: it stores rows of column values into a table.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Connection, Engine, Table, UniqueConstraint
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store.db import SQLITE_BUSY_TIMEOUT_MS, create_sync_engine
from bot.store.outage import once_more_if_dropped

logger = logging.getLogger(__name__)

#: Rows per statement at most; more queued requests wait for the next batch.
MAX_BATCH = 500

Row = Mapping[str, Any]


def unique_columns(table: Table) -> list[str]:
    """The names of `table`'s single-column unique keys (its primary key aside)."""
    names = {column.name for column in table.columns if column.unique}
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint) and len(constraint.columns) == 1:
            names |= {column.name for column in constraint.columns}
    return sorted(names)


def insert_new(
    connection: Connection, table: Table, identity: str, rows: Sequence[Row]
) -> list[int | None]:
    """Insert the rows none of whose unique keys is taken; for each row its new id, else None.

    The outcome is the same as inserting the rows one at a time, in order: of rows that share
    a key, the first that fits is stored. `identity` names a unique column every row fills,
    which tells the inserted rows apart. Runs in the caller's transaction, one statement per
    wave of rows that share no key (one wave unless `rows` repeat a key). Synchronous: an
    `AsyncConnection` runs it with `run_sync`.
    """
    keys = unique_columns(table)
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(table).on_conflict_do_nothing().returning(table.c.id, table.c[identity])
    )
    outcome: list[int | None] = [None] * len(rows)
    waiting = list(range(len(rows)))
    while waiting:
        wave: list[int] = []
        later: list[int] = []
        taken: set[tuple[str, Any]] = set()
        for index in waiting:
            row_keys = {(key, rows[index][key]) for key in keys if rows[index].get(key) is not None}
            (later if row_keys & taken else wave).append(index)
            taken |= row_keys
        result = connection.execute(statement, [dict(rows[index]) for index in wave])
        stored = {row_identity: row_id for row_id, row_identity in result.all()}
        for index in wave:
            outcome[index] = stored.get(rows[index][identity])
        waiting = later
    return outcome


#: How often the writer asks again for SQLite's write lock while another connection holds it.
LOCK_POLL_SECONDS = 0.0005


def take_write_lock(connection: Connection) -> None:
    """Open the transaction with SQLite's write lock taken, asking for it every half millisecond.

    SQLite's own busy handler sleeps longer and longer between tries (1, 2, 5, 10 … 100 ms),
    so a writer that found the lock taken once or twice may sleep long after it was freed
    while the worker's connections take it in turn; the requests of a whole batch wait on
    that. Asking often gives the door's writer the lock within a fraction of a millisecond of
    its release. Gives up, raising the "database is locked" OperationalError, after
    `SQLITE_BUSY_TIMEOUT_MS`, as the busy handler would.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    connection.exec_driver_sql("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except OperationalError as error:
                if "locked" not in str(error.orig) or time.monotonic() > deadline:
                    raise
            time.sleep(LOCK_POLL_SECONDS)
    finally:
        connection.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


class InboxWriter:
    """Stores rows of one table for many concurrent callers, a batch per transaction.

    It holds one connection for itself (no pool checkout or pre-ping per batch) and opens it
    again after the database went away: a connection of `engine` on PostgreSQL, on SQLite a
    plain `sqlite3` connection to the same file, used only in the writer's thread. `on_stored` is called after each commit that
    stored something (the worker's wake-up).
    """

    def __init__(
        self,
        engine: AsyncEngine,
        table: Table,
        identity: str,
        *,
        on_stored: Callable[[], None] | None = None,
    ) -> None:
        self.engine = engine
        self.table = table
        self.identity = identity
        self.on_stored = on_stored
        self._queue: list[tuple[Row, asyncio.Future[int | None]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._connection: AsyncConnection | None = None
        #: SQLite only: the writer's thread, and its engine and connection, used there alone.
        self._thread: ThreadPoolExecutor | None = None
        self._sync_engine: Engine | None = None
        self._sync_connection: Connection | None = None
        if engine.dialect.name == "sqlite":
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inbox-writer")
            self._sync_engine = create_sync_engine(engine.url.render_as_string(False))

    async def store(self, row: Row) -> int | None:
        """Store `row` unless one of its unique keys is taken; its new id, or None if it was.

        Returns once the row is committed. Raises the database's error (sqlalchemy.exc.
        SQLAlchemyError or OSError) when its batch could not be stored: then nothing of it was.
        """
        future: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._queue.append((row, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="inbox-writer")
        return await future

    async def close(self) -> None:
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)
        if self._connection is not None:
            await self._connection.close()
            self._connection = None
        if self._thread is not None:
            # sqlite3 connections are closed in the thread that opened them.
            await asyncio.get_running_loop().run_in_executor(self._thread, self._close_in_thread)
            self._thread.shutdown()

    async def _flush(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            try:
                ids = await self._insert([row for row, _ in batch])
            except Exception as error:  # every waiter gets the error; the writer carries on
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            for (_, future), row_id in zip(batch, ids, strict=True):
                if not future.done():
                    future.set_result(row_id)
            if self.on_stored is not None and any(row_id is not None for row_id in ids):
                self.on_stored()

    async def _insert(self, rows: list[Row]) -> list[int | None]:
        """One transaction; once more on a fresh connection if the held one had gone stale."""
        return await once_more_if_dropped(lambda: self._insert_once(rows), "inbox writer")

    async def _insert_once(self, rows: list[Row]) -> list[int | None]:
        if self._thread is not None:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._thread, self._insert_in_thread, rows)
        connection = await self._connect()
        try:
            async with connection.begin():
                return await connection.run_sync(insert_new, self.table, self.identity, rows)
        except BaseException:
            await self._disconnect()
            raise

    def _insert_in_thread(self, rows: list[Row]) -> list[int | None]:
        assert self._sync_engine is not None
        if self._sync_connection is None:
            self._sync_connection = self._sync_engine.connect()
        connection = self._sync_connection
        try:
            with connection.begin():
                take_write_lock(connection)
                return insert_new(connection, self.table, self.identity, rows)
        except BaseException:
            self._close_in_thread()
            raise

    def _close_in_thread(self) -> None:
        connection, self._sync_connection = self._sync_connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # already broken: the pool discards it
                logger.debug("inbox writer: closing a broken connection failed", exc_info=True)
        if self._sync_engine is not None:
            self._sync_engine.dispose()

    async def _connect(self) -> AsyncConnection:
        if self._connection is None:
            self._connection = await self.engine.connect()
        return self._connection

    async def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                await connection.close()
            except Exception:  # already broken: the pool discards it
                logger.debug("inbox writer: closing a broken connection failed", exc_info=True)
