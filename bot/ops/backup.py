"""`python -m bot backup FILE`: a consistent copy of the database while the bot runs.

SQLite: the sqlite3 module's online backup API (`Connection.backup`), copying every page in
one step. The bot's database is in WAL mode, so that step reads one snapshot while the bot
keeps writing beside it: the copy holds every event committed (answered 200) before the
backup began, and nothing half-written. It is written to a temporary file next to FILE and
renamed into place, so FILE is never a partial copy.

PostgreSQL: the server's own `pg_dump` is the tool (a consistent snapshot by design); the
command is printed to run where `pg_dump` is installed, with the URL left in
`$DATABASE_URL` so no password is printed.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.config import normalize_database_url
from bot.errors import OperatorError
from bot.store.db import is_sqlite, safe_url


def pg_dump_command(file: str) -> str:
    """The pg_dump command for a custom-format dump (restore it with `pg_restore`)."""
    return f'pg_dump --format=custom --no-owner --no-acl --file="{file}" "$DATABASE_URL"'


def backup(database_url: str, file: str) -> str:
    """Copy a SQLite database to `file`, or say how to dump a PostgreSQL one: what to print.

    Raises `OperatorError` (one line with the fix) when the SQLite file does not exist.
    """
    if not is_sqlite(database_url):
        return (
            f"PostgreSQL ({safe_url(database_url)}) is backed up by pg_dump; run, with"
            f" DATABASE_URL set:\n  {pg_dump_command(file)}\n"
            "(on Heroku: `heroku pg:backups:capture`, then `heroku pg:backups:download`)"
        )
    source_path = make_url(normalize_database_url(database_url)).database
    if not source_path or source_path == ":memory:" or not Path(source_path).exists():
        raise OperatorError(
            f"no SQLite database at {source_path!r}; check DATABASE_URL (run `migrate` first?)"
        )
    target = Path(file)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    try:
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)  # pages=-1: every page in one step, from one snapshot
        finally:
            copy.close()
    finally:
        source.close()
    os.replace(partial, target)
    return f"copied {source_path} to {target} ({target.stat().st_size} bytes)"
