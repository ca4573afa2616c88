"""Operator commands on the inbox: `deliveries [--failed]`, `deliveries show ID`, `replay ID`.

`deliveries` also says when the last webhook was accepted and which were refused in the
last day, and why, each with its fix (`bot.store.refusals`).

A database that cannot be opened or is not migrated is an `OperatorError`: one line saying
what to do, which `__main__` prints instead of a traceback.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.config import DatabaseSettings
from bot.errors import OperatorError
from bot.qtvoice.webhooks import refusal_line
from bot.store import deliveries, refusals
from bot.store.db import create_engine, create_sessionmaker
from bot.store.migrate import database_problem
from bot.store.models import InboxEvent

T = TypeVar("T")


async def ready(engine: AsyncEngine, url: str) -> None:
    """Raise `OperatorError` (its line says what to do) unless the database is migrated."""
    problem = await database_problem(engine, url)
    if problem is not None:
        raise OperatorError(problem)


async def _in_session(
    settings: DatabaseSettings, work: Callable[[AsyncSession], Awaitable[T]]
) -> T:
    """`work` in a session of a database known to be ready; the engine disposed after."""
    engine = create_engine(settings.database_url)
    try:
        await ready(engine, settings.database_url)
        async with create_sessionmaker(engine)() as session:
            return await work(session)
    finally:
        await engine.dispose()


async def list_deliveries(settings: DatabaseSettings, *, failed: bool, limit: int) -> int:
    """Print the newest `limit` stored events (only failed ones if `failed`) and a summary."""
    query = select(InboxEvent).order_by(InboxEvent.id.desc()).limit(limit)
    if failed:
        query = query.where(InboxEvent.state == deliveries.FAILED)

    async def read(session: AsyncSession) -> tuple[Any, ...]:
        return (
            list(await session.scalars(query)),
            await deliveries.counts(session),
            await deliveries.last_webhook_at(session),
            await refusals.recent(session),
        )

    rows, totals, last_webhook, refused = await _in_session(settings, read)
    print(f"{'ID':>6}  {'STATE':8} {'EVENT':22} {'TRIES':>5}  {'RECEIVED (UTC)':19}  LAST ERROR")
    for row in rows:
        error = headline(row.last_error)[:ERROR_WIDTH]
        print(
            f"{row.id:>6}  {row.state:8} {row.event[:22]:22} {row.attempts:>5}  "
            f"{row.received_at:%Y-%m-%d %H:%M:%S}  {error}"
        )
    summary = ", ".join(f"{count} {state}" for state, count in sorted(totals.items())) or "none"
    print(f"stored events: {summary}")
    accepted = f"{last_webhook:%Y-%m-%d %H:%M:%S} UTC" if last_webhook else "none yet"
    print(f"last webhook accepted: {accepted}")
    print("webhooks refused in the last day:" + ("" if refused else " none"))
    for kind in refused:
        when = f"{kind.last_seen:%Y-%m-%d %H:%M} UTC"
        print(f"  {refusal_line(kind.count, kind.kind, kind.detail, when)}")
    return 0


#: How much of a stored error `deliveries` shows on each row; `deliveries show ID` shows it all.
ERROR_WIDTH = 80
#: Slack's error code inside slack_sdk's message: "… The server responded with: {'ok': False,
#: 'error': 'invalid_auth'}" (the code comes last, where a column would cut it off).
_SLACK_CODE = re.compile(r"""['"]error['"]:\s*['"]([a-z0-9_]+)['"]""")


def headline(error: str | None) -> str:
    """A stored failure in one line, Slack's error code first when it has one.

    e.g. "invalid_auth — SlackApiError: The request to the Slack API failed. (url: …)".
    """
    if not error:
        return ""
    first = " ".join(error.split("\n", 1)[0].split())
    code = _SLACK_CODE.search(error)
    if code is None or first.startswith(code.group(1)):
        return first
    return f"{code.group(1)} \N{EM DASH} {first}"


async def show_delivery(settings: DatabaseSettings, row_id: int) -> int:
    """Print one stored event's delivery state and its whole stored error; 1 if none."""
    row = await _in_session(settings, lambda session: session.get(InboxEvent, row_id))
    if row is None:
        print(f"no stored event {row_id}; `deliveries` lists them")
        return 1
    when = "%Y-%m-%d %H:%M:%S UTC"
    finished = f"{row.finished_at:{when}}" if row.finished_at else "not yet"
    print(f"event {row.id}: {row.event} {row.object_id or ''} (from {row.source})")
    print(f"state:    {row.state}, {row.attempts} attempt(s)")
    print(f"received: {row.received_at:{when}}")
    print(f"finished: {finished}")
    if row.state == deliveries.PENDING:
        print(f"next try: {row.next_attempt_at:{when}}")
    if row.last_error:
        print("last error:")
        print(row.last_error)
    if row.state == deliveries.FAILED:
        print(f"to try again once the cause is fixed: python -m bot replay {row.id}")
    return 0


async def replay_delivery(settings: DatabaseSettings, row_id: int) -> int:
    """Queue stored event `row_id` for delivery again; 1 (and a line saying so) if none."""
    found = await _in_session(settings, lambda session: deliveries.replay(session, row_id))
    if found is None:
        print(f"no stored event {row_id}; `deliveries` lists them")
        return 1
    print(f"event {row_id} queued; a running worker delivers it within seconds")
    return 0
