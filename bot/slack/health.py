"""Delivery health for admins: read from the store for `/qtvoice status` and the App Home, and
the App Home's Replay button, which queues a failed delivery again.

Only users in `ADMIN_USER_IDS` see it or may replay; the check is made on the click itself,
server-side, since anyone can forge a click's payload. `bot.slack.blocks.health` renders it.
"""

from __future__ import annotations

import logging

from bot.runtime import Runtime
from bot.slack.blocks.health import FAILED_SHOWN, Health
from bot.slack.sentences import ADMINS_ONLY
from bot.store import deliveries, refusals

logger = logging.getLogger(__name__)

NO_SUCH_DELIVERY = "That delivery is gone (finished ones are kept 30 days); nothing to replay."
ALREADY_QUEUED = "That delivery is already queued again; it reaches Slack within seconds."
NOT_FAILED = "That delivery isn't failed any more ({state}), so it was not replayed."
REPLAYED = "🔁 Delivery #{id} is queued again; it reaches Slack within seconds."


class DeliveryHealth:
    """What admins are shown about deliveries, and replaying a failed one."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def is_admin(self, user_id: str) -> bool:
        return user_id in self.runtime.settings.admin_user_ids

    async def read(self, failed_shown: int = FAILED_SHOWN) -> Health:
        """Counts by state, the newest `failed_shown` failed deliveries, the last webhook
        accepted and the webhooks refused in the last day."""
        async with self.runtime.sessions() as session:
            counts = await deliveries.counts(session)
            failed = await deliveries.failed(session, failed_shown) if failed_shown else []
            last_webhook = await deliveries.last_webhook_at(session)
            refused = await refusals.recent(session)
        return Health(
            waiting=counts.get(deliveries.PENDING, 0),
            failed_count=counts.get(deliveries.FAILED, 0),
            failed=failed,
            last_webhook=last_webhook,
            refused=refused,
        )

    async def replay(self, user_id: str, row_id: int | None) -> str:
        """Queue failed delivery `row_id` again for admin `user_id`; the sentence to tell them.

        Anyone else, no id (None), or a delivery no longer failed changes nothing.
        """
        if not self.is_admin(user_id):
            logger.warning("replay refused: %s is not in ADMIN_USER_IDS", user_id)
            return ADMINS_ONLY.format(what="replay deliveries")
        if row_id is None:
            return NO_SUCH_DELIVERY
        async with self.runtime.sessions() as session:
            before = await deliveries.replay(session, row_id, only_failed=True)
        if before is None:
            return NO_SUCH_DELIVERY
        if before == deliveries.PENDING:
            return ALREADY_QUEUED
        if before != deliveries.FAILED:
            return NOT_FAILED.format(state=before)
        self.runtime.inbox_changed.set()  # wakes this process's worker, if it runs one
        logger.info("delivery %s replayed by %s", row_id, user_id)
        return REPLAYED.format(id=row_id)
