"""Telling "the database cannot be reached right now" from every other database error.

While PostgreSQL restarts, fails over or is out of reach, SQLAlchemy raises `OperationalError`
(connection refused, server closed the connection, "the database system is shutting down",
and SQLite's "database is locked"), `InterfaceError` (a connection already closed), or another
`DBAPIError` flagged `connection_invalidated`; a pool that cannot hand out a connection in time
raises `sqlalchemy.exc.TimeoutError`, and the socket layer `OSError`. Each of these passes by
itself, so the caller should wait and try again. So is a database that answers but refuses every
write (a PostgreSQL standby after a failover, `default_transaction_read_only`: SQLSTATE 25006,
which psycopg raises as an `InternalError`): `watch` makes the engine drop such a connection, so
the pool opens a fresh one, writable once the database is, and `refuses_writes` tells a health
check. A value the database refuses (`IntegrityError`, `DataError`) is not one of them: trying
again changes nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import Engine, event, text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: The exception classes that may mean an outage; `is_outage` decides for one instance.
OUTAGE_CANDIDATES: tuple[type[Exception], ...] = (DBAPIError, PoolTimeoutError, OSError)


#: SQLSTATEs of a database that answers but takes no writes for now: read_only_sql_transaction.
READ_ONLY_STATES = frozenset({"25006"})


def is_outage(error: BaseException) -> bool:
    """True when `error` says the database could not be reached (see the module docstring)."""
    if isinstance(error, DBAPIError):
        return (
            error.connection_invalidated
            or isinstance(error, OperationalError | InterfaceError)
            or _sqlstate(error.orig) in READ_ONLY_STATES
        )
    return isinstance(error, PoolTimeoutError | OSError)


def _sqlstate(error: BaseException | None) -> str | None:
    state = getattr(error, "sqlstate", None)
    return state if isinstance(state, str) else None


def watch(engine: Engine) -> None:
    """Make `engine` drop a connection whose write was refused as read-only, as it drops one
    the server closed: a session keeps the read-only default it started with, so only a new
    connection sees the database take writes again. The error is then raised flagged
    `connection_invalidated` (an outage)."""

    @event.listens_for(engine, "handle_error")
    def _read_only(context: ExceptionContext) -> None:
        if _sqlstate(context.original_exception) in READ_ONLY_STATES:
            context.is_disconnect = True


async def refuses_writes(connection: AsyncConnection) -> bool:
    """Whether the database behind `connection` answers but refuses writes (PostgreSQL's
    `transaction_read_only`: a standby, or a database or session set read-only). The
    connection is then invalidated, so the pool opens a fresh one next time. For a health
    check (`/healthz`, `/readyz`); SQLite is never read-only this way (False)."""
    if connection.dialect.name != "postgresql":
        return False
    if await connection.scalar(text("SHOW transaction_read_only")) != "on":
        return False
    await connection.invalidate()
    return True


def describe(error: BaseException) -> str:
    """One short line for an operator: the error's class and first line, never a traceback.

    SQLAlchemy appends the SQL statement and a link to its docs after the first line; the
    driver's message (e.g. "connection refused", "terminating connection due to administrator
    command") is what tells an operator what happened.
    """
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    first_line = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return f"{type(cause).__name__}: {first_line}" if first_line else type(cause).__name__


async def once_more_if_dropped(attempt: Callable[[], Awaitable[T]], holder: str) -> T:
    """`attempt()`, run once more when the connection it held had gone stale.

    For a writer that keeps one connection between batches: a `DBAPIError` flagged
    `connection_invalidated` (the server restarted since the last batch) means the next
    attempt opens a fresh one. Any other error, or a second failure, is raised. `holder`
    names the writer in the one log line.
    """
    try:
        return await attempt()
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
        logger.info("%s: the database connection was lost; reconnecting", holder)
    return await attempt()


class Backoff:
    """How long to wait while a failure lasts, and when to tell the operator about it.

    Waits double from `first` up to `longest` seconds, so an outage costs a line and a few
    attempts a minute, not a traceback a second. `failed()` returns the next wait and
    whether this failure should be logged: the first one, and once more (a reminder) when it
    has lasted `remind_after` seconds. `recovered()` returns how long it lasted (None if
    nothing had failed) and starts over.
    """

    def __init__(
        self, *, first: float = 1.0, longest: float = 30.0, remind_after: float = 300.0
    ) -> None:
        self.first = first
        self.longest = longest
        self.remind_after = remind_after
        self._since: float | None = None
        self._wait = first
        self._reminded = False

    def failed(self) -> tuple[float, str | None]:
        """The seconds to wait now, and "first", "reminder" or None (say nothing)."""
        now = time.monotonic()
        if self._since is None:
            self._since, self._wait, self._reminded = now, self.first, False
            return self._wait, "first"
        self._wait = min(self._wait * 2, self.longest)
        if not self._reminded and now - self._since >= self.remind_after:
            self._reminded = True
            return self._wait, "reminder"
        return self._wait, None

    @property
    def lasted(self) -> float:
        """Seconds since the first failure of this run of failures (0 when none)."""
        return 0.0 if self._since is None else time.monotonic() - self._since

    def recovered(self) -> float | None:
        lasted = None if self._since is None else self.lasted
        self._since = None
        return lasted
