"""Who is behind a number: QTvoice contact lookups by number, cached in the database.

A burst of calls from one number costs one QTvoice request: lookups are cached per number for
every worker, and concurrent lookups of one number in a process wait for the first.
`contact.created` and `contact.updated` webhooks refresh the cache, so a new name shows at once.
A failed lookup is not cached; the notification goes out with the number alone.

With `CONTACT_SYNC_MINUTES` on, `sync` copies the whole directory (100 a page) into the same
table every interval. While that copy is fresh (its last complete run started less than two
intervals ago), it is the answer: a number absent from it is nobody, and costs no request.
Before, a burst of 1,600 new callers cost 1,600 lookups; now it costs none.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot import phone
from bot.qtvoice.client import MAX_PAGE_SIZE, QTvoiceClient
from bot.qtvoice.errors import QTvoiceError
from bot.qtvoice.models import Contact
from bot.runtime import Runtime
from bot.store import job_runs
from bot.store.db import dialect_insert
from bot.store.groupcommit import GroupCommit
from bot.store.models import CachedContact, utcnow

logger = logging.getLogger(__name__)

#: A found contact changes rarely and webhooks refresh it; an unknown number may be saved soon.
FOUND_TTL = timedelta(days=1)
NOT_FOUND_TTL = timedelta(hours=1)
SYNC_JOB = "contact_sync"


async def cached_rows(
    connection: AsyncConnection, numbers: list[str]
) -> list[CachedContact | None]:
    """The contact cache's rows for `numbers`, in order (None: none); one query for the lot."""
    rows = await connection.execute(
        select(CachedContact.__table__).where(CachedContact.phone.in_(set(numbers)))
    )
    found = {row.phone: CachedContact(**row._mapping) for row in rows}
    return [found.get(number) for number in numbers]


class _Unanswered(enum.Enum):
    """The cache has no answer for a number (not even "nobody"): QTvoice must be asked."""

    UNANSWERED = enum.auto()


_UNANSWERED = _Unanswered.UNANSWERED


class ContactDirectory:
    """QTvoice's contacts by phone number, read through a cache shared by every process."""

    def __init__(
        self, qtvoice: QTvoiceClient, sync_minutes: int = 0, group: GroupCommit | None = None
    ) -> None:
        """`sync_minutes` is `CONTACT_SYNC_MINUTES`: 0 means no copy, look numbers up. `group`
        (the worker's) reads the cache for many deliveries at once (`cached_rows`)."""
        self.qtvoice = qtvoice
        self.sync_minutes = sync_minutes
        self.group = group
        self._in_flight: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        #: Until when the copy last read as finished stays fresh: a later copy only moves
        #: this on (`job_runs.finished` never moves back), so until then it need not be read.
        self._fresh_until: datetime | None = None
        #: One read of it at a time: a burst of deliveries waits for one answer.
        self._freshness = asyncio.Lock()

    async def contact(self, session: AsyncSession, number: str) -> Contact | None:
        """The contact whose number is `number` (normalized, usually E.164); None when QTvoice
        knows nobody by it or cannot be asked right now.

        Only asking QTvoice is one at a time per number: a burst of calls from one number
        reads the cache side by side, and costs one lookup when the cache has no answer.
        """
        answer = await self._cached(session, number)
        if answer is not _UNANSWERED:
            return answer
        async with self._in_flight[number]:
            answer = await self._cached(session, number)  # a lookup may have just answered
            if answer is not _UNANSWERED:
                return answer
            return await self._fetched(session, number)

    async def _cached(self, session: AsyncSession, number: str) -> Contact | _Unanswered | None:
        """What the cache says of `number`, or `_UNANSWERED` when QTvoice must be asked."""
        if self.group is not None:
            cached = await self.group.run(cached_rows, number, session=session)
        else:
            cached = await session.get(CachedContact, number, populate_existing=True)
        if await self.copy_is_fresh(session):
            return Contact.model_validate(cached.contact) if cached and cached.found else None
        if cached is not None and utcnow() - cached.fetched_at < (
            FOUND_TTL if cached.found else NOT_FOUND_TTL
        ):
            return Contact.model_validate(cached.contact) if cached.found else None
        return _UNANSWERED

    async def _fetched(self, session: AsyncSession, number: str) -> Contact | None:
        try:
            lookup = await self.qtvoice.lookup_contact(number, background=True)
        except QTvoiceError as error:
            logger.warning("contact lookup failed, posting the number alone: %s", error)
            return None
        contact = lookup.contact if lookup.found else None
        await self.remember(session, number, contact)
        return contact

    async def remember(
        self,
        session: AsyncSession,
        number: str,
        contact: Contact | None,
        fetched_at: datetime | None = None,
    ) -> None:
        """Cache what QTvoice says about a number (from a lookup, a webhook or the copy)."""
        data = contact.model_dump(mode="json", by_alias=True) if contact else None
        # One upsert: a read, then an INSERT or UPDATE, lost whenever another process cached
        # the number (a duplicate key) or forgot it (the prune: no row to update) in between.
        insert = dialect_insert(session, CachedContact).values(
            phone=number, found=contact is not None, contact=data, fetched_at=fetched_at or utcnow()
        )
        await session.execute(
            insert.on_conflict_do_update(
                index_elements=[CachedContact.phone],
                set_={
                    "found": insert.excluded.found,
                    "contact": insert.excluded.contact,
                    "fetched_at": insert.excluded.fetched_at,
                },
            )
        )
        await session.commit()

    async def copy_is_fresh(self, session: AsyncSession) -> bool:
        """Whether the local copy of the directory may answer for QTvoice."""
        if not self.sync_minutes:
            return False
        now = utcnow()
        if self._fresh_until is not None and now < self._fresh_until:
            return True
        async with self._freshness:
            if self._fresh_until is not None and now < self._fresh_until:
                return True  # read meanwhile
            synced = await job_runs.last_finished(session, SYNC_JOB)
            if synced is None:
                return False
            self._fresh_until = synced + timedelta(minutes=2 * self.sync_minutes)
            return now < self._fresh_until

    async def sync(self, session: AsyncSession, default_region: str, now: datetime) -> int:
        """Copy every QTvoice contact with a number; how many. Forgets contacts gone since.

        A run that fails half-way (QTvoiceError, e.g. out of budget) keeps what it copied
        but does not count as finished, so the copy does not pass for complete.
        """
        copied = 0
        async for contact in self.qtvoice.iter_contacts(page_size=MAX_PAGE_SIZE, background=True):
            if contact.phone:
                number = phone.normalize(contact.phone, default_region)
                await self.remember(session, number, contact, fetched_at=now)
                copied += 1
        await session.execute(
            delete(CachedContact).where(CachedContact.found, CachedContact.fetched_at < now)
        )
        await job_runs.finished(session, SYNC_JOB, now)
        return copied


async def sync_contacts(runtime: Runtime, now: datetime | None = None) -> int:
    """The scheduled job: copy QTvoice's contact directory (every `CONTACT_SYNC_MINUTES`).

    A copy made less than half an interval ago is left alone, so a restart or a new leader
    (which runs the job at once) does not spend the budget on a second copy.
    """
    now = now or utcnow()
    minutes = runtime.settings.contact_sync_minutes
    directory = ContactDirectory(runtime.qtvoice, minutes)
    async with runtime.sessions() as session:
        synced = await job_runs.last_finished(session, SYNC_JOB)
        if synced is not None and now - synced < timedelta(minutes=minutes / 2):
            return 0
        try:
            return await directory.sync(session, runtime.settings.default_region, now)
        except QTvoiceError as error:
            logger.warning("contact directory copy stopped early; lookups go on: %s", error)
            return 0
