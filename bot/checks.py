"""`check`: can this deployment work? A line per check, exit 1 when any fails."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from sqlalchemy import text

from bot.config import Settings
from bot.qtvoice.errors import QTvoiceError
from bot.runtime import Runtime
from bot.slack.sentences import qtvoice_sentence
from bot.store.db import safe_url


async def run_checks(settings: Settings) -> int:
    runtime = Runtime.create(settings)
    print("ok    settings")
    failures = 0
    try:
        for name, check in (
            ("database", _database),
            ("slack", _slack),
            ("qtvoice", _qtvoice),
        ):
            try:
                detail = await check(runtime)
            except Exception as error:  # every failure is reported, none stops the others
                failures += 1
                print(f"FAIL  {name}: {_describe(error)}")
            else:
                print(f"ok    {name}: {detail}")
    finally:
        await runtime.close()
    return 1 if failures else 0


async def _database(runtime: Runtime) -> str:
    async with runtime.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
    return safe_url(runtime.settings.database_url)


async def _slack(runtime: Runtime) -> str:
    identity = await runtime.slack.auth_test()
    return f"bot {identity.get('user')} in workspace {identity.get('team')}"


async def _qtvoice(runtime: Runtime) -> str:
    extensions = await runtime.qtvoice.list_extensions()
    budget = runtime.qtvoice.rate_limit
    room = f", {budget.remaining}/{budget.limit} requests left this hour" if budget else ""
    return f"{len(extensions)} extensions{room}"


def _describe(error: Exception) -> str:
    if isinstance(error, SlackApiError):
        return f"Slack said {error.response.get('error')}"
    if isinstance(error, QTvoiceError):
        return qtvoice_sentence(error)
    return f"{type(error).__name__}: {error}"
