"""Who is behind a number: QTvoice contact lookups by number, cached in the database.

A burst of calls from one number costs one QTvoice request: lookups are cached per number for
every worker, and concurrent lookups of one number in a process wait for the first.
`contact.created` and `contact.updated` webhooks refresh the cache, so a new name shows at once.
A failed lookup is not cached; the notification goes out with the number alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.qtvoice.client import QTvoiceClient
from bot.qtvoice.errors import QTvoiceError
from bot.qtvoice.models import Contact
from bot.store.models import CachedContact, utcnow

logger = logging.getLogger(__name__)

#: A found contact changes rarely and webhooks refresh it; an unknown number may be saved soon.
FOUND_TTL = timedelta(days=1)
NOT_FOUND_TTL = timedelta(hours=1)


class ContactDirectory:
    """QTvoice's contacts by phone number, read through a cache shared by every process."""

    def __init__(self, qtvoice: QTvoiceClient) -> None:
        self.qtvoice = qtvoice
        self._in_flight: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def contact(self, session: AsyncSession, number: str) -> Contact | None:
        """The contact whose number is `number` (normalized, usually E.164); None when QTvoice
        knows nobody by it or cannot be asked right now."""
        async with self._in_flight[number]:
            return await self._cached_or_fetched(session, number)

    async def _cached_or_fetched(self, session: AsyncSession, number: str) -> Contact | None:
        cached = await session.get(CachedContact, number)
        if cached is not None and utcnow() - cached.fetched_at < (
            FOUND_TTL if cached.found else NOT_FOUND_TTL
        ):
            return Contact.model_validate(cached.contact) if cached.found else None
        try:
            lookup = await self.qtvoice.lookup_contact(number, background=True)
        except QTvoiceError as error:
            logger.warning("contact lookup failed, posting the number alone: %s", error)
            return None
        contact = lookup.contact if lookup.found else None
        await self.remember(session, number, contact)
        return contact

    async def remember(self, session: AsyncSession, number: str, contact: Contact | None) -> None:
        """Cache what QTvoice says about a number (from a lookup or a contact webhook)."""
        data = contact.model_dump(mode="json", by_alias=True) if contact else None
        cached = await session.get(CachedContact, number)
        if cached is None:
            session.add(CachedContact(phone=number, found=contact is not None, contact=data))
        else:
            cached.found, cached.contact, cached.fetched_at = contact is not None, data, utcnow()
        try:
            await session.commit()
        except IntegrityError:
            # Another worker cached this number a moment ago; theirs is as good as ours.
            await session.rollback()
