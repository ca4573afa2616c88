"""Operator commands on the inbox: `deliveries [--failed]` and `replay ID`."""

from __future__ import annotations

from sqlalchemy import select

from bot.config import DatabaseSettings
from bot.delivery import inbox
from bot.store import deliveries
from bot.store.db import create_engine, create_sessionmaker
from bot.store.models import InboxEvent


async def list_deliveries(settings: DatabaseSettings, *, failed: bool, limit: int) -> int:
    engine = create_engine(settings.database_url)
    try:
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
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            found = await inbox.replay(session, row_id)
    finally:
        await engine.dispose()
    if not found:
        print(f"no stored event {row_id}; `deliveries` lists them")
        return 1
    print(f"event {row_id} queued; a running worker delivers it within seconds")
    return 0
