"""Operator commands on the inbox: `deliveries [--failed]` and `replay ID`.

A database that cannot be opened or is not migrated is an `OperatorError`: one line saying
what to do, which `__main__` prints instead of a traceback.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import DatabaseSettings
from bot.delivery import inbox
from bot.errors import OperatorError
from bot.store import deliveries
from bot.store.db import create_engine, create_sessionmaker
from bot.store.migrate import database_problem
from bot.store.models import InboxEvent


async def _ready(engine: AsyncEngine, url: str) -> None:
    problem = await database_problem(engine, url)
    if problem is not None:
        raise OperatorError(problem)


async def list_deliveries(settings: DatabaseSettings, *, failed: bool, limit: int) -> int:
    """Print the newest `limit` stored events (only failed ones if `failed`) and a summary."""
    engine = create_engine(settings.database_url)
    try:
        await _ready(engine, settings.database_url)
        async with create_sessionmaker(engine)() as session:
            query = select(InboxEvent).order_by(InboxEvent.id.desc()).limit(limit)
            if failed:
                query = query.where(InboxEvent.state == deliveries.FAILED)
            rows = list(await session.scalars(query))
            totals = await deliveries.counts(session)
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
    return 0


async def replay_delivery(settings: DatabaseSettings, row_id: int) -> int:
    """Queue stored event `row_id` for delivery again; 1 (and a line saying so) if none."""
    engine = create_engine(settings.database_url)
    try:
        await _ready(engine, settings.database_url)
        async with create_sessionmaker(engine)() as session:
            found = await inbox.replay(session, row_id)
    finally:
        await engine.dispose()
    if not found:
        print(f"no stored event {row_id}; `deliveries` lists them")
        return 1
    print(f"event {row_id} queued; a running worker delivers it within seconds")
    return 0
