"""Refused webhooks, counted: cheap at the door whatever a flood sends, kept for a week.

The door refuses junk at whatever rate it comes. Writing each refusal would turn every junk
request into a transaction (an fsync on SQLite, a WAL flush on PostgreSQL) and a row. So
`RefusalCounter.note()` only adds one to a count in memory, keyed by kind and hour; a task
writes what has gathered, one upsert per (kind, hour) in one transaction: at once for the
first refusal after a quiet spell, then at most every `FLUSH_SECONDS` while they keep coming.
A flood costs a dict update per request and a small transaction a second; the table holds a
row per kind (a fixed set, `bot.qtvoice.webhooks`) and hour, for `RETENTION` (the scheduler's
`prune`). Nothing of a request is kept but its kind, and the bot's own words about it.

Counts add up in the database (`count = count + excluded.count`), so any number of web
processes write into the same rows. Counts not yet written die with their process: these are
diagnostics, not events. While the database is away they wait in memory (still a count per
kind and hour) and are written when it is back; the refusal itself is answered as ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Table, case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.store.models import WebhookRefusal, utcnow
from bot.store.outage import describe, is_outage

logger = logging.getLogger(__name__)

#: At most one write of the counts this often while refusals keep coming.
FLUSH_SECONDS = 1.0
#: After a failed write (the database away), the next try waits this long.
RETRY_SECONDS = 30.0
#: How long the counts are kept; admins are shown the last day.
RETENTION = timedelta(days=7)
#: How far back "recently refused" looks.
SHOWN_WINDOW = timedelta(days=1)
KIND_LIMIT = 64
DETAIL_LIMIT = 64

Key = tuple[str, datetime]


@dataclass
class Tally:
    """Refusals of one kind in one hour not yet written: how many, the last, its detail."""

    count: int
    last_seen: datetime
    detail: str | None


@dataclass(frozen=True)
class RefusedKind:
    """Webhooks refused as `kind` in a window: how many, the last one's time and detail."""

    kind: str
    count: int
    last_seen: datetime
    detail: str | None


def hour_of(moment: datetime) -> datetime:
    """The start of the hour `moment` is in (its row's key)."""
    return moment.replace(minute=0, second=0, microsecond=0)


def _clean(text: str | None, limit: int) -> str | None:
    """Printable characters only, at most `limit` of them; None for nothing."""
    kept = "".join(char for char in (text or "") if char.isprintable()).strip()[:limit]
    return kept or None


async def add(session: AsyncSession, tallies: Mapping[Key, Tally]) -> None:
    """Add `tallies` to the stored counts, in one transaction (committed here).

    A row that exists gets the count added, and the later of the two last times with its
    detail; so writers in several processes, in any order, sum up right. Kinds and details
    are cut to printable text that fits their columns.
    """
    if not tallies:
        return
    table: Table = WebhookRefusal.__table__  # type: ignore[assignment]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(table)
    newer = insert.excluded.last_seen > table.c.last_seen
    statement = insert.on_conflict_do_update(
        index_elements=[table.c.kind, table.c.hour],
        set_={
            "count": table.c.count + insert.excluded.count,
            "last_seen": case((newer, insert.excluded.last_seen), else_=table.c.last_seen),
            "last_detail": case((newer, insert.excluded.last_detail), else_=table.c.last_detail),
        },
    )
    rows = [
        {
            "kind": _clean(kind, KIND_LIMIT) or "?",
            "hour": hour,
            "count": tally.count,
            "last_seen": tally.last_seen,
            "last_detail": _clean(tally.detail, DETAIL_LIMIT),
        }
        for (kind, hour), tally in sorted(tallies.items())
    ]
    await session.execute(statement, rows)
    await session.commit()


async def since(session: AsyncSession, moment: datetime) -> list[RefusedKind]:
    """Each kind refused since `moment` (to the hour: a kind's count for the hour of its last
    refusal counts whole), the most recent first."""
    rows = await session.scalars(
        select(WebhookRefusal)
        .where(WebhookRefusal.last_seen >= moment)
        .order_by(WebhookRefusal.last_seen)
    )
    kinds: dict[str, RefusedKind] = {}
    for row in rows:
        earlier = kinds.get(row.kind)
        count = row.count + (earlier.count if earlier is not None else 0)
        kinds[row.kind] = RefusedKind(row.kind, count, row.last_seen, row.last_detail)
    return sorted(kinds.values(), key=lambda refused: refused.last_seen, reverse=True)


async def recent(session: AsyncSession) -> list[RefusedKind]:
    """Each kind refused in the last day (`SHOWN_WINDOW`), the most recent first."""
    return await since(session, utcnow() - SHOWN_WINDOW)


async def forget_before(session: AsyncSession, moment: datetime) -> None:
    """Delete the counts whose last refusal is older than `moment` (the caller commits)."""
    await session.execute(delete(WebhookRefusal).where(WebhookRefusal.last_seen < moment))


class RefusalCounter:
    """Counts refusals in memory and writes them in the background (see the module docstring).

    `note()` is synchronous and constant-time; `close()` writes what is left. Both are for the
    event loop that serves the door.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        flush_seconds: float = FLUSH_SECONDS,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self.sessions = sessions
        self.flush_seconds = flush_seconds
        self.retry_seconds = retry_seconds
        self._pending: dict[Key, Tally] = {}
        self._writer: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self._failing = False

    def note(self, kind: str, detail: str | None = None, at: datetime | None = None) -> None:
        """Count one refusal of `kind` at `at` (now by default); written within seconds."""
        at = at or utcnow()
        self._merge({(kind, hour_of(at)): Tally(1, at, detail)})
        if self._closing.is_set() or (self._writer is not None and not self._writer.done()):
            return
        self._writer = asyncio.create_task(self._write_while_pending(), name="refusal-counter")

    async def close(self) -> None:
        """Stop the background writes, then write what is left once."""
        self._closing.set()
        if self._writer is not None:
            await self._writer
        await self._write()

    def _merge(self, tallies: Mapping[Key, Tally]) -> None:
        for key, tally in tallies.items():
            held = self._pending.get(key)
            if held is None:
                self._pending[key] = tally
                continue
            held.count += tally.count
            if tally.last_seen >= held.last_seen:
                held.last_seen, held.detail = tally.last_seen, tally.detail

    async def _write_while_pending(self) -> None:
        while self._pending and not self._closing.is_set():
            pause = self.flush_seconds if await self._write() else self.retry_seconds
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), pause)

    async def _write(self) -> bool:
        """Write the pending counts; on failure keep them for the next try. True if written."""
        if not self._pending:
            return True
        batch, self._pending = self._pending, {}
        try:
            async with self.sessions() as session:
                await add(session, batch)
        except Exception as error:
            self._merge(batch)
            if not self._failing:  # one line per outage, not one per try
                if is_outage(error):
                    logger.warning(
                        "refused webhooks: database unreachable, counts kept in memory: %s",
                        describe(error),
                    )
                else:
                    logger.exception("refused webhooks: counts not written; kept in memory")
            self._failing = True
            return False
        if self._failing:
            logger.info("refused webhooks: counts written again")
        self._failing = False
        return True
