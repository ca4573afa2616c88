"""The delivery worker: claim due events, deliver each to Slack, then finish, retry or park it.

Each claimed row is read back into the typed event the door parsed (`load_stored`) and handed
to `Notifier.deliver`, which looks its handler up in the one dispatch table.

It claims in batches (one round trip for many events) and delivers a batch concurrently: the
claim never hands out two events with one ordering key, so concurrent deliveries never touch
the same Slack message. Between batches it sleeps until this process stores an event or a
short poll interval passes, which is when events stored by other processes are seen.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot.delivery import inbox
from bot.delivery.notifier import Notifier
from bot.delivery.poster import Refused, SlackPoster
from bot.directory import ContactDirectory
from bot.logs import Scrubber
from bot.qtvoice.events import load_stored
from bot.runtime import Runtime
from bot.store.models import InboxEvent
from bot.store.outage import describe, is_outage

logger = logging.getLogger(__name__)

BATCH_SIZE = 20
#: How often to look for events stored by other processes (or whose retry time came).
POLL_SECONDS = 1.0


class Worker:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        #: What a stored failure reason may say: no secret, and no full number if masking.
        self.scrub = Scrubber.for_settings(runtime.settings)
        self.notifier = Notifier(
            runtime.settings, SlackPoster(runtime.slack), ContactDirectory(runtime.qtvoice)
        )

    async def run(self, stop: asyncio.Event) -> None:
        logger.info("delivery worker %s started", self.runtime.process_id)
        while not stop.is_set():
            try:
                delivered = await self.run_once()
            except Exception as error:
                if not is_outage(error):
                    logger.exception("delivery worker: claiming failed; retrying shortly")
                else:
                    # Its claimed events come back when their leases run out.
                    logger.warning(
                        "delivery worker: database unreachable, retrying in %s s: %s",
                        POLL_SECONDS,
                        describe(error),
                    )
                delivered = 0
            if delivered:
                continue
            await self._wait_for_work(stop)

    async def run_once(self) -> int:
        """Claim one batch and deliver it; how many events were claimed."""
        async with self.runtime.sessions() as session:
            rows = await inbox.claim(
                session,
                self.runtime.process_id,
                limit=BATCH_SIZE,
                lease_seconds=self.settings.delivery_lease_seconds,
            )
        await asyncio.gather(*(self._deliver(row) for row in rows))
        return len(rows)

    async def _deliver(self, row: InboxEvent) -> None:
        async with self.runtime.sessions() as session:
            try:
                await self.notifier.deliver(session, load_stored(row.payload))
            except inbox.NotYet as wait:
                await session.rollback()
                logger.info("delivery %s waits: %s", row.id, wait)
                await inbox.postpone(session, row.id, wait.until, self.scrub(str(wait)))
                return
            except Exception as error:
                await session.rollback()
                await self._failed(session, row, error)
                return
            await inbox.finish(session, row.id)
            logger.info("delivery %s (%s) done", row.id, row.event)

    async def _failed(self, session: Any, row: InboxEvent, error: Exception) -> None:
        reason = self.scrub(f"{type(error).__name__}: {error}")[:1000]
        # Slack refusing the content for good is not helped by waiting: park it at once.
        permanent = isinstance(error, Refused)
        parked = await inbox.retry_later(
            session,
            row.id,
            reason,
            attempts=row.attempts + 1,
            max_attempts=row.attempts + 1 if permanent else self.settings.delivery_max_attempts,
            base_seconds=self.settings.delivery_retry_seconds,
        )
        if parked:
            logger.error("delivery %s (%s) failed for good: %s", row.id, row.event, reason)
        else:
            logger.warning("delivery %s (%s) will be retried: %s", row.id, row.event, reason)

    async def _wait_for_work(self, stop: asyncio.Event) -> None:
        changed = self.runtime.inbox_changed
        waiters = [asyncio.ensure_future(changed.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waiters, timeout=POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        changed.clear()
