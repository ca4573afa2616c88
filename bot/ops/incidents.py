"""The leader's watch: open and close incidents from what the deployment shows, tell admins.

`watch` runs on the scheduler's leader every `WATCH_SECONDS`: it reads the database (parked
deliveries, refused signatures this hour), the QTvoice client's last answer to the key and,
with `SLACK_APP_TOKEN` set, the deployment's Socket Mode connection, observes each (`bot.store.incidents.observe`), then
tells the admins. `reconcile_watched` and the canary observe their own kinds as they run.

Telling is exactly once per admin and phase whatever fails: each DM is a `PostedMessage`
(kind `incident_start`/`incident_end`, key the incident id, the admin's DM channel), posted
by `SlackPoster.post_once`, which records the intent before posting and, after a crash,
finds the landed message by its metadata instead of posting it again. Start goes before end.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError
from sqlalchemy import func, select

from bot.delivery.followup import NEVER_POSTED
from bot.delivery.poster import SlackPoster
from bot.qtvoice.webhooks import BAD_SIGNATURE, NO_SIGNATURE
from bot.reconcile import reconcile
from bot.runtime import Runtime
from bot.seats import seated_elsewhere
from bot.slack.api_errors import describe as slack_reason
from bot.slack.blocks import service as service_blocks
from bot.slack.rendering import render_context
from bot.store import incidents, refusals
from bot.store.deliveries import FAILED
from bot.store.models import InboxEvent, utcnow
from bot.store.outage import describe

logger = logging.getLogger(__name__)

#: How often the leader looks; an incident is told within about this long.
WATCH_SECONDS = 30
#: Refused signatures within an hour that make an incident (the contract's number).
SIGNATURE_REFUSALS = 10
#: How long Socket Mode may be down before it is an incident (the contract's five minutes).
SOCKET_GRACE = timedelta(minutes=5)


class Watch:
    """The leader's watch of one process: `run` every `WATCH_SECONDS`. It remembers since
    when this process's Socket Mode connection is down, for the five minutes' grace."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.socket_down_since: datetime | None = None

    async def _socket_connected(self) -> bool:
        """Whether the deployment holds its Socket Mode connection: as this process's web app
        tells, or (a `worker` leading, with no socket of its own) whether a `serve` process
        holds a seat (`bot.seats`)."""
        runtime = self.runtime
        if runtime.socket_connected is not None:
            return await runtime.socket_connected()
        return await seated_elsewhere(runtime, set())

    async def run(self, now: datetime | None = None) -> None:
        """Observe the kinds the deployment's state shows, then tell the admins what is new."""
        now = now or utcnow()
        runtime = self.runtime
        async with runtime.sessions() as session:
            parked = await session.scalar(
                select(func.count()).select_from(InboxEvent).where(InboxEvent.state == FAILED)
            )
            await incidents.observe(
                session, "delivery_failed", bool(parked), f"{parked} parked as failed", now
            )
            refused = sum(
                kind.count
                for kind in await refusals.since(session, now - timedelta(hours=1))
                if kind.kind in (BAD_SIGNATURE, NO_SIGNATURE)
            )
            await incidents.observe(
                session,
                "webhook_signatures",
                refused >= SIGNATURE_REFUSALS,
                f"{refused} refused for their signature in the last hour",
                now,
            )
            key_refused = runtime.qtvoice.key_refused
            if key_refused is not None:
                await incidents.observe(session, "qtvoice_key", key_refused, "answered 401", now)
            if runtime.settings.slack_app_token is not None:
                if await self._socket_connected():
                    self.socket_down_since = None
                elif self.socket_down_since is None:
                    self.socket_down_since = now
                down = (
                    self.socket_down_since is not None
                    and now - self.socket_down_since > SOCKET_GRACE
                )
                await incidents.observe(session, "socket_mode", down, "no connection", now)
        await tell_admins(runtime, now)


async def reconcile_watched(runtime: Runtime, interval_seconds: int) -> int:
    """The reconcile poller, observing `webhooks_missed`: open while a run finds events the
    webhooks never brought, closed by the next run that finds none. How many it stored."""
    stored = await reconcile(
        runtime.qtvoice,
        runtime.sessions,
        interval_seconds,
        default_region=runtime.settings.default_region,
    )
    async with runtime.sessions() as session:
        await incidents.observe(
            session, "webhooks_missed", stored > 0, f"{stored} found by polling", utcnow()
        )
    await tell_admins(runtime, utcnow())
    return stored


async def tell_admins(runtime: Runtime, now: datetime) -> None:
    """DM each of `ADMIN_USER_IDS` every start and end not told yet, start before end.

    An admin Slack will never DM (deactivated) is skipped with a warning; any other failure
    stops here, and the next watch tells what is left (`post_once` skips what landed).
    """
    poster, ctx = SlackPoster(runtime.slack), render_context(runtime.settings)
    async with runtime.sessions() as session:
        for incident in await incidents.untold(session):
            phases = [service_blocks.START] if incident.start_told_at is None else []
            if incident.closed_at is not None:
                phases.append(service_blocks.END)
            for phase in phases:
                message = service_blocks.notice(incident, phase, ctx)
                for admin in runtime.settings.admin_user_ids:
                    try:
                        await poster.post_once(
                            session,
                            kind=f"incident_{phase}",
                            key=str(incident.id),
                            channel=await poster.dm_channel(session, admin),
                            message=message,
                        )
                    except NEVER_POSTED as error:
                        logger.warning(
                            "incident %s: an admin cannot be told: %s", incident.id, error
                        )
                    except Exception as error:
                        await session.rollback()
                        logger.warning(
                            "incident %s (%s): admins not told yet, tried again at the next"
                            " watch: %s",
                            incident.id,
                            incident.kind,
                            _reason(error),
                        )
                        return
                await incidents.told(session, incident.id, phase, now)


def _reason(error: Exception) -> str:
    """Why telling failed, in a word or two: Slack's error code, or the outage's cause."""
    if isinstance(error, SlackApiError):
        return slack_reason(error)
    return describe(error)
