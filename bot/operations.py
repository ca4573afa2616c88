"""Operator commands on the inbox: `deliveries [--failed]` and `replay ID`.

`deliveries` also says when the last webhook was accepted and which were refused in the
last day, and why, each with its fix (`bot.store.refusals`).

A database that cannot be opened or is not migrated is an `OperatorError`: one line saying
what to do, which `__main__` prints instead of a traceback.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import DatabaseSettings
from bot.errors import OperatorError
from bot.qtvoice.webhooks import refusal_line
from bot.store import deliveries, refusals
from bot.store.db import create_engine, create_sessionmaker
from bot.store.migrate import database_problem
from bot.store.models import InboxEvent


async def ready(engine: AsyncEngine, url: str) -> None:
    """Raise `OperatorError` (its line says what to do) unless the database is migrated."""
    problem = await database_problem(engine, url)
    if problem is not None:
        raise OperatorError(problem)


async def list_deliveries(settings: DatabaseSettings, *, failed: bool, limit: int) -> int:
    """Print the newest `limit` stored events (only failed ones if `failed`) and a summary."""
    engine = create_engine(settings.database_url)
    try:
        await ready(engine, settings.database_url)
        async with create_sessionmaker(engine)() as session:
            query = select(InboxEvent).order_by(InboxEvent.id.desc()).limit(limit)
            if failed:
                query = query.where(InboxEvent.state == deliveries.FAILED)
            rows = list(await session.scalars(query))
            totals = await deliveries.counts(session)
            last_webhook = await deliveries.last_webhook_at(session)
            refused = await refusals.recent(session)
    finally:
        await engine.dispose()
    print(f"{'ID':>6}  {'STATE':8} {'EVENT':22} {'TRIES':>5}  {'RECEIVED (UTC)':19}  LAST ERROR")
    for row in rows:
        error = (row.last_error or "").splitlines()[0][:80] if row.last_error else ""
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


async def replay_delivery(settings: DatabaseSettings, row_id: int) -> int:
    """Queue stored event `row_id` for delivery again; 1 (and a line saying so) if none."""
    engine = create_engine(settings.database_url)
    try:
        await ready(engine, settings.database_url)
        async with create_sessionmaker(engine)() as session:
            found = await deliveries.replay(session, row_id)
    finally:
        await engine.dispose()
    if found is None:
        print(f"no stored event {row_id}; `deliveries` lists them")
        return 1
    print(f"event {row_id} queued; a running worker delivers it within seconds")
    return 0
