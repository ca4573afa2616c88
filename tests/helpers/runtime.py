"""A runtime of the test's own, beside the served bot: one tick of a job, what the store holds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from bot.config import Settings
from bot.runtime import Runtime
from bot.store.models import OpenItem


async def run(settings: Settings, job: Any, now: datetime) -> int:
    """One tick of a scheduled job, in a process of its own (as the scheduler's leader)."""
    runtime = Runtime.create(settings)
    try:
        return int(await job(runtime, now))
    finally:
        await runtime.close()


async def stored_items(settings: Settings) -> list[OpenItem]:
    runtime = Runtime.create(settings)
    try:
        async with runtime.sessions() as session:
            return list(await session.scalars(select(OpenItem)))
    finally:
        await runtime.close()
