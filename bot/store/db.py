"""Engines and sessions from `DATABASE_URL`.

The app talks to the database through SQLAlchemy's asyncio engine (aiosqlite or psycopg 3);
alembic uses the matching synchronous driver on the same URL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession

from bot.config import normalize_database_url

#: How long SQLite waits for another connection's write lock before "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 10_000


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
    """The app's engine. A pooled PostgreSQL connection is pinged before use, since the
    server may have restarted since; a SQLite file cannot go away under a connection, and a
    ping there would cost a statement (four thread hand-offs in aiosqlite) per checkout."""
    sqlite_file = is_sqlite(url)
    engine = create_async_engine(async_url(url), pool_pre_ping=not sqlite_file)
    if sqlite_file:
        event.listen(engine.sync_engine, "connect", configure_sqlite)
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
