"""The delivery worker: claim due events, deliver each to Slack, then finish, retry or park it.

Each claimed row is read back into the typed event the door parsed (`load_stored`) and handed
to `Notifier.deliver`, which looks its handler up in the one dispatch table. Routes and links
are read once per claim (`Routing`), not once per event.

It keeps up to `CONCURRENCY` deliveries in flight and claims more once half are done (one
round trip for many events), so a slow Slack answer holds up only its own event. The claim never
hands out two events with one ordering key, so concurrent deliveries never touch the same Slack
message. With nothing to claim it sleeps until this process stores an event, a delivery ends,
the earliest wait it was told of (a channel's cooldown) is over, or a short poll interval
passes, which is when events stored by other processes are seen.

The door first: while this process is answering webhooks (`Runtime.door`), the worker waits
for the door to go quiet before claiming, and claims at most `BUSY_DOOR_CLAIM` events every
DELIVERY_GIVE_WAY_SECONDS while it stays busy, so a burst's acknowledgements get the CPU; it
catches up in full batches as soon as the burst ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import logging
import math
from datetime import datetime
from typing import Any

from bot import metrics
from bot.delivery import inbox
from bot.delivery.notifier import Notifier
from bot.delivery.poster import Refused, SlackPoster
from bot.delivery.router import Routing
from bot.directory import ContactDirectory
from bot.logs import DELIVERY_ID, Scrubber
from bot.qtvoice.events import load_stored
from bot.runtime import Runtime
from bot.store.groupcommit import GroupCommit
from bot.store.models import InboxEvent, utcnow
from bot.store.outage import Backoff, describe, is_outage
from bot.store.routes import routes_and_links

logger = logging.getLogger(__name__)

#: Deliveries in flight at most, per process. Each holds no connection while it waits (for
#: Slack, for its slot in a rate-limited channel, for a group commit), and the more wait for
#: one group commit, the fewer transactions a delivery costs.
CONCURRENCY = 64
#: While busy, claim once this many slots are free: a claim is a write transaction, and on
#: SQLite one per finished delivery would queue behind the deliveries' own writes.
MIN_CLAIM = CONCURRENCY // 2
#: How often to look for events stored by other processes (or whose retry time came).
POLL_SECONDS = 1.0
#: While webhooks are being answered, claim at most this many events once per
#: DELIVERY_GIVE_WAY_SECONDS (by default 0.25 s: 32 deliveries started a second during a burst).
BUSY_DOOR_CLAIM = 8
#: Woken for an event this process postponed, wait this much more, so the events due about
#: then are claimed together (a post postponed for its channel's rate comes back ahead of its
#: slot, `ChannelCoolingDown`, so it is still in time).
DUE_GATHER_SECONDS = 0.25


class Worker:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        #: What a stored failure reason may say: no secret, and no full number if masking.
        self.scrub = Scrubber.for_settings(runtime.settings)
        #: What deliveries write (items, posts, done), committed many at a time.
        self.group = GroupCommit(runtime.engine)
        self.notifier = Notifier(
            runtime.settings,
            SlackPoster(runtime.slack, group=self.group),
            ContactDirectory(runtime.qtvoice, runtime.settings.contact_sync_minutes, self.group),
            self.group,
        )
        #: The delivery under way for each row this process holds.
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        #: Rows another worker took since this one claimed them: their deliveries give up.
        self._lost: set[int] = set()
        #: When the events this process postponed become due again (a heap).
        self._due: list[datetime] = []
        #: How long to wait, and when to say so, while the database is unreachable.
        self.outage = Backoff()
        #: When this worker last claimed (the event loop's clock, seconds).
        self._claimed_at = -math.inf

    async def run(self, stop: asyncio.Event) -> None:
        logger.info("delivery worker %s started", self.runtime.process_id)
        # Ended by `delivered`, not cancelled (a renewal cut off inside its database call could
        # leave its connection checked out of the pool).
        delivered = asyncio.Event()
        leases = asyncio.create_task(self._keep_leases(delivered), name="delivery-leases")
        try:
            while not stop.is_set():
                room = CONCURRENCY - len(self._in_flight)
                if room < MIN_CLAIM and self._in_flight:
                    await self._wait_for_work(stop, full=True)
                    continue
                room = await self._give_way(room)
                try:
                    claimed = await self.run_once(room)
                except Exception as error:
                    if not is_outage(error):
                        logger.exception("delivery worker: claiming failed; retrying shortly")
                        claimed = 0
                    else:
                        # Its claimed events come back when their leases run out.
                        await self._wait_out_outage(stop, error)
                        continue
                lasted = self.outage.recovered()
                if lasted is not None:
                    logger.info("delivery worker: database back after %.0f s", lasted)
                if claimed == 0 or claimed == room:
                    await self._wait_for_work(stop, full=claimed == room)
        finally:
            if self._in_flight:
                await asyncio.gather(*self._in_flight.values(), return_exceptions=True)
            delivered.set()
            await leases
            await self.group.close()

    async def _wait_out_outage(self, stop: asyncio.Event, error: Exception) -> None:
        """Back off while the database is unreachable: a line at first, one more after 5 min."""
        wait, say = self.outage.failed()
        if say == "first":
            logger.warning(
                "delivery worker: database unreachable, retrying every %g s at most: %s",
                self.outage.longest,
                describe(error),
            )
        elif say == "reminder":
            logger.error(
                "delivery worker: database still unreachable after %.0f min: %s",
                self.outage.lasted / 60,
                describe(error),
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), wait)

    async def _give_way(self, room: int) -> int:
        """The door first: how many events to claim now (at most `room`), once the webhooks
        this process is answering are done, or DELIVERY_GIVE_WAY_SECONDS after the last claim.

        A burst's webhooks and the deliveries share this event loop, and a delivery takes
        several times a webhook's CPU: claimed during the burst, the deliveries would slow
        every acknowledgement. So while the door is busy the worker waits for it to go quiet,
        and if it is still busy when the wait is over, claims `BUSY_DOOR_CLAIM` events at
        most: delivery goes on during a burst, slowly, and never waits longer than that.
        """
        door = self.runtime.door
        longest = self.settings.delivery_give_way_seconds
        if not door.busy or longest == 0:
            return room
        since = asyncio.get_running_loop().time() - self._claimed_at
        if await door.quiet(longest - since):
            return room
        return min(room, BUSY_DOOR_CLAIM)

    async def run_once(self, limit: int = CONCURRENCY) -> int:
        """Claim up to `limit` due events and start delivering them; how many were claimed."""
        self._claimed_at = asyncio.get_running_loop().time()
        async with self.runtime.sessions() as session:
            rows = await inbox.claim(
                session,
                self.runtime.process_id,
                limit=limit,
                lease_seconds=self.settings.delivery_lease_seconds,
            )
            if not rows:
                return 0
            routing = Routing(*await routes_and_links(session))
        for row in rows:
            if row.id in self._in_flight:
                # Its lease ran out while this worker was still delivering it (the loop was
                # starved for longer than a lease): the claim renewed it; one delivery is enough.
                continue
            task = asyncio.create_task(self._deliver_or_log(row, routing), name=f"deliver-{row.id}")
            self._in_flight[row.id] = task
            task.add_done_callback(functools.partial(self._forget, row.id))
        return len(rows)

    def _forget(self, row_id: int, _: asyncio.Task[None]) -> None:
        self._in_flight.pop(row_id, None)

    async def _deliver_or_log(self, row: InboxEvent, routing: Routing) -> None:
        """Deliver in a task of its own: what it cannot record is logged here, in one line."""
        DELIVERY_ID.set(row.id)  # this task's own context: its log records carry the id
        try:
            await self._deliver(row, routing)
        except Exception as error:
            if not is_outage(error):
                logger.exception("delivery %s (%s) could not be recorded", row.id, row.event)
                return
            # Its lease runs out and another claim delivers it (adopting what did land).
            logger.warning(
                "delivery %s: database unreachable, retried after its lease: %s",
                row.id,
                describe(error),
            )

    # Holding the leases while delivering

    async def _deliver(self, row: InboxEvent, routing: Routing) -> None:
        """Deliver `row`, unless `_keep_leases` finds that another worker took it meanwhile:
        then this delivery is cancelled before its next step reaches Slack."""
        try:
            await self._deliver_held(row, routing)
        except asyncio.CancelledError:
            if row.id not in self._lost:
                raise
            this = asyncio.current_task()
            assert this is not None
            this.uncancel()  # given up, not cancelled: the task ends as usual
            logger.warning("delivery %s (%s) given up: another worker holds it", row.id, row.event)
        finally:
            self._lost.discard(row.id)

    async def _keep_leases(self, delivered: asyncio.Event) -> None:
        """Every third of a lease, renew the leases of every row being delivered, at once,
        until `delivered` is set.

        A delivery slower than its lease (Slack answering late, a starved CPU) would otherwise
        be claimed and posted by another worker too. A row the renewal finds held by another
        worker has its delivery cancelled; one this worker's delivery already finished (or
        postponed) while the renewal ran is not another worker's, and its delivery ends as
        usual (`inbox.renew`).
        """
        lease = self.settings.delivery_lease_seconds
        while not delivered.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(delivered.wait(), lease / 3)
            rows = list(self._in_flight)
            if not rows:
                continue
            try:
                async with self.runtime.sessions() as session:
                    taken = await inbox.renew(
                        session, rows, self.runtime.process_id, lease_seconds=lease
                    )
            except Exception as error:
                # The leases may run out meanwhile; then the rows are claimed again, as before.
                logger.warning("delivery leases not renewed: %s", describe(error))
                continue
            for row_id in taken:
                delivery = self._in_flight.get(row_id)
                if delivery is not None and not delivery.done():
                    self._lost.add(row_id)
                    delivery.cancel()

    # Delivering

    async def _deliver_held(self, row: InboxEvent, routing: Routing) -> None:
        async with self.runtime.sessions() as session:
            try:
                await self.notifier.deliver(session, load_stored(row.payload), routing)
                await session.commit()
            except inbox.NotYet as wait:
                await session.rollback()
                logger.info("delivery %s waits: %s", row.id, wait)
                waiting = inbox.Postponed(row.id, wait.until, self.scrub(str(wait)))
                await self.group.run(inbox.postpone, waiting)
                heapq.heappush(self._due, wait.until)
                return
            except Exception as error:
                await session.rollback()
                await self._failed(session, row, error)
                return
        await self.group.run(inbox.finish, row.id)
        metrics.observe_delivery(row.received_at.timestamp())
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
        metrics.DELIVERIES.labels(metrics.FAILED if parked else metrics.RETRIED).inc()
        if parked:
            logger.error("delivery %s (%s) failed for good: %s", row.id, row.event, reason)
        else:
            logger.warning("delivery %s (%s) will be retried: %s", row.id, row.event, reason)

    async def _wait_for_work(self, stop: asyncio.Event, *, full: bool) -> None:
        """Sleep until a delivery ends or, unless every slot is taken, there may be work."""
        changed = self.runtime.inbox_changed
        waiters: list[asyncio.Future[Any]] = [asyncio.ensure_future(stop.wait())]
        if self._in_flight:
            waiters.append(
                asyncio.ensure_future(
                    asyncio.wait(set(self._in_flight.values()), return_when=asyncio.FIRST_COMPLETED)
                )
            )
        timeout = None
        if not full:
            waiters.append(asyncio.ensure_future(changed.wait()))
            timeout = POLL_SECONDS
            now = utcnow()
            while self._due and self._due[0] <= now:
                heapq.heappop(self._due)
            if self._due:
                timeout = min(timeout, (self._due[0] - now).total_seconds() + DUE_GATHER_SECONDS)
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        if not full:
            changed.clear()
