"""Engines and sessions from `DATABASE_URL`.

The app talks to the database through SQLAlchemy's asyncio engine (aiosqlite or psycopg 3);
alembic uses the matching synchronous driver on the same URL.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as create_sync_engine_of
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession

from bot.config import normalize_database_url
from bot.store import outage

#: How long SQLite waits for another connection's write lock before "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 10_000
#: Connections a process opens at most, and keeps open between uses. A pool that kept fewer
#: than it opens would close the extras after each use and open new ones under load: a new
#: aiosqlite connection is a new thread, a new PostgreSQL one a new server process, each
#: milliseconds of work on the request's path. 15 is what a process could open before
#: (SQLAlchemy's 5 kept plus 10 overflow), so a database's connection limit sees no more.
POOL_SIZE = 15


def sync_url(url: str) -> str:
    """The URL with a synchronous driver, for alembic."""
    parsed = make_url(normalize_database_url(url))
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite").render_as_string(hide_password=False)
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def async_url(url: str) -> str:
    """The URL with an asyncio driver, for the app."""
    parsed = make_url(normalize_database_url(url))
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(normalize_database_url(url)).get_backend_name() == "sqlite"


def safe_url(url: str) -> str:
    """The URL with its password hidden, for logs and `check`."""
    return make_url(normalize_database_url(url)).render_as_string(hide_password=True)


#: How long the event loop's thread may keep the GIL while another thread waits for it
#: (Python's default is 5 ms). On SQLite every statement is handed to a thread (aiosqlite's,
#: or the inbox writer's) and back; with the default each hand-off can wait that long while
#: the loop is busy, and a write transaction holds SQLite's lock through all of its hand-offs.
SQLITE_GIL_SWITCH_SECONDS = 0.0005


def configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets the web handler store events while the worker reads; busy_timeout waits out locks.

    synchronous=FULL (SQLite's default, said here so nobody lowers it unawares): every commit
    reaches the disk before it returns, so an answered webhook survives a power cut, not only
    a crash of the process. NORMAL was measured (bench/RESULTS.md): no clear gain once the
    inbox writer stopped waiting on SQLite's busy handler.
    """
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_engine(url: str) -> AsyncEngine:
    """The app's engine: a pool of `POOL_SIZE`, PostgreSQL connections pinged when idle and
    dropped when found read-only (`outage.watch`)."""
    engine = create_async_engine(async_url(url), pool_size=POOL_SIZE, max_overflow=0)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", configure_sqlite)
    else:
        ping_when_idle(engine.sync_engine)
        outage.watch(engine.sync_engine)
    return engine


#: A pooled PostgreSQL connection that has not been used for this long is pinged before use.
PING_IDLE_SECONDS = 1.0


def ping_when_idle(engine: Engine) -> None:
    """Ping a connection at checkout when it sat in the pool `PING_IDLE_SECONDS` or more.

    A connection the server dropped while it sat idle (a restart, a failover, an idle timeout)
    is then replaced instead of failing a request. SQLAlchemy's `pool_pre_ping` pings at every
    checkout, and a session checks out again after each commit: several round trips more
    for each delivered event. A connection back from use a moment ago is not pinged; if the
    server went away in that moment, its statement fails as any statement in flight would,
    and SQLAlchemy then replaces every connection of the pool.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            # The pool discards this connection and checks out another (a new one if need be).
            raise DisconnectionError("idle connection did not answer a ping") from error


def create_sync_engine(url: str) -> Engine:
    """A synchronous engine on `url` (SQLite configured as the app's), for work in a thread."""
    engine = create_sync_engine_of(sync_url(url))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", configure_sqlite)
    return engine


#: The INSERT of either dialect the app runs on.
Insert = postgresql.Insert | sqlite.Insert


def dialect_insert(db: AsyncSession | AsyncConnection, table: Any) -> Insert:
    """An INSERT into `table` (a model or a Table) in `db`'s dialect: PostgreSQL's or SQLite's,
    both with `on_conflict_do_nothing()` and `on_conflict_do_update()`."""
    name = (db.get_bind() if isinstance(db, AsyncSession) else db).dialect.name
    return postgresql.insert(table) if name == "postgresql" else sqlite.insert(table)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
