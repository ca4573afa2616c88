"""Engines and sessions from `DATABASE_URL`.

The app talks to the database through SQLAlchemy's asyncio engine (aiosqlite or psycopg 3);
alembic uses the matching synchronous driver on the same URL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as create_sync_engine_of
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession

from bot.config import normalize_database_url

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


def configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets the web handler store events while the worker reads; busy_timeout waits out locks."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_engine(url: str) -> AsyncEngine:
    """The app's engine. PostgreSQL connections are pinged at checkout, so a connection the
    server dropped (a restart, a failover) is replaced instead of failing a request; a SQLite
    file cannot drop a connection, and is not pinged.
    """
    engine = create_async_engine(
        async_url(url), pool_size=POOL_SIZE, max_overflow=0, pool_pre_ping=not is_sqlite(url)
    )
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", configure_sqlite)
    return engine


def create_sync_engine(url: str) -> Engine:
    """A synchronous engine on `url` (SQLite configured as the app's), for work in a thread."""
    engine = create_sync_engine_of(sync_url(url))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", configure_sqlite)
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
