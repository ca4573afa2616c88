"""Run alembic's migrations from code (`python -m bot migrate`, `serve` on SQLite), and say
whether a database is ready for this code (`check` and the operator commands)."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.connectivity import network_failure
from bot.store.db import safe_url

#: What an operator does about a database that is behind the code.
MIGRATE_HINT = "run `python -m bot migrate` (`make migrate`; on Heroku the release phase does it)"

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
#: Tables that belong to others (APScheduler's job store) and that autogenerate must leave alone.
FOREIGN_TABLES = frozenset({"apscheduler_jobs"})


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    return not (type_ == "table" and name in FOREIGN_TABLES)


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


@functools.cache
def head_revision() -> str | None:
    """The latest migration this code ships (alembic's head), e.g. "0003"; read from the
    migration scripts once per process (the readiness check asks at every look)."""
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The migration the database is at; None when it was never migrated.

    Synchronous, for `AsyncConnection.run_sync`. Raises SQLAlchemy's `OperationalError` when
    the database cannot be reached.
    """
    logging.getLogger("alembic.runtime.migration").addFilter(ONLY_MIGRATIONS)
    return MigrationContext.configure(connection).get_current_revision()


class OnlyMigrations(logging.Filter):
    """Keeps alembic's "Context impl PostgresqlImpl." and "Will assume transactional DDL."
    out of the log: alembic says both each time it reads a database's revision, which `serve`
    does every few seconds while it waits for `migrate`. Its "Running upgrade" lines stay."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            isinstance(record.msg, str) and record.msg.startswith(("Context impl ", "Will assume "))
        )


ONLY_MIGRATIONS = OnlyMigrations()


async def database_problem(engine: AsyncEngine, url: str) -> str | None:
    """None when the database answers and is at the latest migration; else one line for the
    operator saying what is wrong and what to do (never the password)."""
    where = safe_url(url)
    try:
        async with engine.connect() as connection:
            current = await connection.run_sync(current_revision)
    except (SQLAlchemyError, OSError) as error:
        return cannot_open(error, url)
    head = head_revision()
    if current is None:
        return f"{where} has not been migrated (it has no tables yet); {MIGRATE_HINT}"
    if current != head:
        return f"{where} is at migration {current}, this version of the bot needs {head}; {MIGRATE_HINT}"
    return None


def cannot_open(error: SQLAlchemyError | OSError, url: str) -> str:
    """One line for an operator about a database that could not be opened, and what to do."""
    cause = getattr(error, "orig", None) or error
    reason = network_failure(error, url) or (str(cause).strip().splitlines() or ["?"])[0]
    return f"cannot open {safe_url(url)}: {reason}; check DATABASE_URL and that the database server is running"
