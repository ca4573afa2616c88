"""The hourly extension check: a Slack user linked to an extension QTvoice no longer has.

The user and every admin are told once by DM (`post_once`, keyed by user and extension), so
the check may run every hour, on any leader, without repeating itself. The link stays: only
a person knows which extension replaces it.
"""

from __future__ import annotations

import logging
from datetime import datetime

from slack_sdk.errors import SlackApiError
from sqlalchemy import select

from bot.delivery.inbox import NotYet
from bot.delivery.poster import SlackPoster
from bot.qtvoice.errors import QTvoiceError
from bot.runtime import Runtime
from bot.slack.blocks import extensions as extension_blocks
from bot.store.models import ExtensionLink

logger = logging.getLogger(__name__)

INTERVAL_SECONDS = 3600


async def check_extensions(runtime: Runtime, now: datetime | None = None) -> int:
    """DM each user whose linked extension vanished, and the admins; how many links are gone.

    `now` is unused but kept so every clock job is called alike.
    """
    try:
        extensions = await runtime.qtvoice.list_extensions(background=True)
    except QTvoiceError as error:
        logger.warning("extension check skipped: %s", error)
        return 0
    known = {extension.id for extension in extensions}
    poster = SlackPoster(runtime.slack)
    async with runtime.sessions() as session:
        links = list(await session.scalars(select(ExtensionLink)))
        gone = [link for link in links if link.extension_id not in known]
        for link in gone:
            told = [(link.slack_user_id, False)]
            told += [(admin, True) for admin in runtime.settings.admin_user_ids]
            for user, to_admin in told:
                try:
                    await poster.post_once(
                        session,
                        kind="link_gone",
                        key=f"{link.slack_user_id}:{link.extension_id}",
                        channel=await poster.dm_channel(session, user),
                        message=extension_blocks.link_gone(link, to_admin=to_admin),
                    )
                except (SlackApiError, NotYet) as error:
                    logger.warning("could not tell %s about a vanished extension: %s", user, error)
                    await session.rollback()
    return len(gone)
