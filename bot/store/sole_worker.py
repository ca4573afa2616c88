"""On SQLite, one process delivers: a second `worker` (or `serve`) beside it is refused.

SQLite has no advisory lock to elect the scheduler's leader (PostgreSQL's, in
`bot.scheduler`), so two delivering processes on one SQLite file would both run the scheduled
jobs: escalations and digests twice. `serve` runs the worker in-process unless `--no-worker`,
so a `worker` started beside it is the likeliest slip. An exclusive `flock` on a file beside
the database marks the one process that delivers; the operating system frees it when that
process ends, however it ends.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import make_url

from bot.config import normalize_database_url
from bot.errors import OperatorError
from bot.store.db import is_sqlite, safe_url


@contextlib.contextmanager
def sole_worker(database_url: str) -> Iterator[None]:
    """Hold the right to deliver from this SQLite database while inside; on PostgreSQL (or an
    in-memory SQLite) nothing is held. Raises `OperatorError` when another process holds it."""
    database = make_url(normalize_database_url(database_url)).database
    if not is_sqlite(database_url) or not database or database == ":memory:":
        yield
        return
    with Path(f"{database}.worker-lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OperatorError(
                f"another process already delivers from {safe_url(database_url)} (`serve` runs "
                "the worker unless --no-worker). On SQLite one process does everything: stop "
                "this one, or set DATABASE_URL to PostgreSQL to run several"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
