"""What `serve` and `worker` say, and wait for, as they start.

Two things an operator must learn from the log's first lines, not from a retried delivery an
hour later: who the bot acts as in Slack (`announce`: one line naming the workspace and bot
user, or an ERROR with the fix when Slack refuses the token, as the contract's "Start-up"
asks), and whether the database is at this code's migration (`SchemaGate`: until it is, one
ERROR line saying to run `migrate`, webhooks answered 503 with Retry-After, the delivery
worker and scheduler not started, and no traceback a second).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from slack_sdk.errors import SlackApiError

from bot.connectivity import network_failure
from bot.runtime import Runtime
from bot.slack.api_errors import error_code
from bot.store.migrate import MIGRATE_HINT, database_problem
from bot.store.outage import Backoff

logger = logging.getLogger("bot.startup")

#: What to do about each of Slack's refusals of the bot token (auth.test's error codes).
SLACK_TOKEN_FIXES = {
    "invalid_auth": "Slack does not know SLACK_BOT_TOKEN; copy the Bot User OAuth Token (xoxb-…) again from OAuth & Permissions at https://api.slack.com/apps",
    "token_revoked": "SLACK_BOT_TOKEN was revoked (the app was uninstalled?); reinstall the app (OAuth & Permissions → Install) and set the new xoxb- token",
    "account_inactive": "SLACK_BOT_TOKEN belongs to a deactivated app or workspace; reinstall the app and set the new xoxb- token",
    "not_authed": "Slack got no token; set SLACK_BOT_TOKEN",
}


def token_fix(code: str | None) -> str:
    """What to do about Slack refusing the bot token with `code`, in one line."""
    return SLACK_TOKEN_FIXES.get(code or "", f"Slack refused SLACK_BOT_TOKEN ({code})")


async def announce(runtime: Runtime) -> None:
    """Log who the bot acts as (auth.test), or an ERROR with the fix; never raises."""
    try:
        answer = await runtime.slack.auth_test()
    except SlackApiError as error:
        logger.error("Slack refused the bot token: %s", token_fix(error_code(error)))
        return
    except Exception as error:  # aiohttp's and the OS's errors alike: one line, no traceback
        url = runtime.settings.slack_api_url
        reason = network_failure(error, url) or type(error).__name__
        logger.warning(
            "cannot reach Slack at %s to confirm the bot token (%s); deliveries wait and retry",
            url,
            reason,
        )
        return
    logger.info(
        "acting in Slack workspace %s (%s) as bot user @%s (%s)",
        answer.get("team"),
        answer.get("team_id"),
        answer.get("user"),
        answer.get("user_id"),
    )


class SchemaGate:
    """Open once the database answers and is at this code's migration.

    `problem` is None when open, else the one line (from `bot.store.migrate`) saying what is
    wrong and what to do; the web app answers webhooks 503 meanwhile. `wait_open` looks again
    with `Backoff`'s waits (doubling up to 30 s), logging the problem once, and once more if
    it lasts five minutes.
    """

    def __init__(self, runtime: Runtime, backoff: Backoff | None = None) -> None:
        self.runtime = runtime
        self.backoff = backoff or Backoff()
        self.problem: str | None = "not checked yet"

    @property
    def unmigrated(self) -> bool:
        """The database answers but is not at this code's migration."""
        return self.problem is not None and MIGRATE_HINT in self.problem

    async def look(self) -> str | None:
        """Look once; the problem, or None (open)."""
        settings = self.runtime.settings
        self.problem = await database_problem(self.runtime.engine, settings.database_url)
        return self.problem

    async def wait_open(self, stop: asyncio.Event) -> bool:
        """Wait until open (True) or `stop` is set (False)."""
        while not stop.is_set():
            if await self.look() is None:
                lasted = self.backoff.recovered()
                if lasted is not None:
                    logger.info("database ready after %.0f s; starting", lasted)
                return True
            wait, say = self.backoff.failed()
            if say == "first":
                logger.error("database not ready: %s; webhooks get 503 until then", self.problem)
            elif say == "reminder":
                minutes = self.backoff.lasted / 60
                logger.error("database still not ready after %.0f min: %s", minutes, self.problem)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)
        return False
