"""`/readyz`: each check the contract lists, `"ok"` or one line naming the trouble and its fix.

Every check reads what the product itself acts on: the database (migrated to head; the oldest
due delivery), Slack's `auth.test` (cached a minute per process, so a scrape every few seconds
costs Slack one call a minute), this process's Socket Mode connection, QTvoice's last answer
to the key, and the canary's last success.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.checks import SLACK_TOKEN_FIXES
from bot.connectivity import network_failure
from bot.runtime import Runtime
from bot.slack.api_errors import error_code, error_status
from bot.store import incidents, job_runs
from bot.store.deliveries import PENDING
from bot.store.migrate import database_problem
from bot.store.models import InboxEvent, utcnow

logger = logging.getLogger(__name__)

OK = "ok"
#: How long one `auth.test` answer stands for the token (the contract: up to a minute).
SLACK_CACHE_SECONDS = 60.0
#: The job name under which the canary records its last success (`bot.store.job_runs`).
CANARY_JOB = "canary"


@dataclass
class _Answer:
    at: float
    problem: str | None


class Readiness:
    """The checks of one process; `slack` remembers Slack's last answer for a minute."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._slack: _Answer | None = None

    async def checks(self) -> dict[str, str]:
        """Check name → `"ok"` or the reason with its fix; only the checks that apply."""
        settings = self.runtime.settings
        results = {"database": await self.database()}
        results["slack"] = await self.slack()
        if settings.slack_app_token is not None:
            results["socket_mode"] = await self.socket_mode()
        if results["database"] != OK:
            return results
        async with self.runtime.sessions() as session:
            results["qtvoice"] = await self.qtvoice(session)
            results["delivery"] = await self.delivery(session, utcnow())
            if settings.canary_channel:
                results["canary"] = await self.canary(session, utcnow())
        return results

    async def database(self) -> str:
        problem = await database_problem(self.runtime.engine, self.runtime.settings.database_url)
        return problem or OK

    async def slack(self) -> str:
        """`auth.test`'s answer of the last minute; asked again at once when a call of this
        process has seen Slack refuse the token since (`MeteredSlackClient.token_refused`)."""
        now = time.monotonic()
        refused_since = self.runtime.slack.token_refused is not None and (
            self._slack is None or self._slack.problem is None
        )
        if self._slack is None or refused_since or now - self._slack.at > SLACK_CACHE_SECONDS:
            self._slack = _Answer(now, await self._ask_slack())
        return self._slack.problem or OK

    async def _ask_slack(self) -> str | None:
        url = self.runtime.settings.slack_api_url
        try:
            await self.runtime.slack.auth_test()
        except SlackApiError as error:
            code = error_code(error) or f"HTTP {error_status(error)}"
            fix = SLACK_TOKEN_FIXES.get(code, f"Slack refused SLACK_BOT_TOKEN ({code})")
            logger.error("Slack refused the bot token (%s): %s", code, fix)
            return f"Slack refused the bot token ({code}): {fix}"
        except Exception as error:
            reason = network_failure(error, url) or type(error).__name__
            return f"cannot reach Slack at {url}: {reason}; check the network and SLACK_API_URL"
        return None

    async def socket_mode(self) -> str:
        connected = self.runtime.socket_connected
        if connected is not None and await connected():
            return OK
        return (
            "no Socket Mode connection: check SLACK_APP_TOKEN (connections:write) and that"
            " Socket Mode is on in the Slack app's settings"
        )

    async def qtvoice(self, session: AsyncSession) -> str:
        refused = self.runtime.qtvoice.key_refused or any(
            incident.kind == "qtvoice_key" for incident in await incidents.open_now(session)
        )
        return incidents.KINDS["qtvoice_key"] if refused else OK

    async def delivery(self, session: AsyncSession, now: datetime) -> str:
        """Late when the oldest delivery that is due (not one Slack asked to wait) is older
        than `READY_MAX_LAG_SECONDS`."""
        oldest = await session.scalar(
            select(func.min(InboxEvent.received_at)).where(
                InboxEvent.state == PENDING, InboxEvent.next_attempt_at <= now
            )
        )
        lag = self.runtime.settings.ready_max_lag_seconds
        if oldest is None or now - oldest < timedelta(seconds=lag):
            return OK
        waited = int((now - oldest).total_seconds())
        return (
            f"the oldest pending delivery has waited {waited} s (over {lag} s): check that a"
            " worker runs (`serve` without --no-worker, or `worker`) and its log"
        )

    async def canary(self, session: AsyncSession, now: datetime) -> str:
        last = await job_runs.last_finished(session, CANARY_JOB)
        window = timedelta(minutes=2 * self.runtime.settings.canary_minutes)
        if last is not None and now - last <= window:
            return OK
        return (
            f"no canary succeeded in {int(window.total_seconds() // 60)} min: "
            + (incidents.KINDS["canary"])
        )
