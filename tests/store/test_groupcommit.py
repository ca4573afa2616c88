"""Group commit (`bot.store.groupcommit`): concurrent writes share a transaction, each caller
gets its own outcome, and one value the database refuses fails only its own write."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.db import create_engine
from bot.store.groupcommit import GroupCommit
from bot.store.models import JobRun, utcnow

pytestmark = pytest.mark.anyio


async def start_runs(connection: AsyncConnection, names: list[str]) -> list[str]:
    """A write as the worker's are: one statement for the lot, a result per value."""
    await connection.execute(
        insert(JobRun), [{"name": name, "started_at": utcnow()} for name in names]
    )
    return [f"started {name}" for name in names]


async def test_concurrent_writes_share_one_transaction_and_each_gets_its_own_result(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    commits: list[object] = []
    event.listen(engine.sync_engine, "commit", commits.append)
    group = GroupCommit(engine)
    try:
        names = [f"job-{index}" for index in range(20)]
        results = await asyncio.gather(*(group.run(start_runs, name) for name in names))

        assert results == [f"started {name}" for name in names]
        assert len(commits) == 1
        async with engine.connect() as connection:
            assert set(await connection.scalars(select(JobRun.name))) == set(names)
    finally:
        await group.close()
        await engine.dispose()


async def test_a_value_the_database_refuses_fails_only_its_own_write(database_url: str) -> None:
    engine = create_engine(database_url)
    group = GroupCommit(engine)
    try:
        await group.run(start_runs, "taken")

        outcomes = await asyncio.gather(
            *(group.run(start_runs, name) for name in ("before", "taken", "after")),
            return_exceptions=True,
        )

        assert outcomes[0] == "started before"
        assert isinstance(outcomes[1], IntegrityError)
        assert outcomes[2] == "started after"
        async with engine.connect() as connection:
            stored = set(await connection.scalars(select(JobRun.name)))
        assert stored == {"taken", "before", "after"}
    finally:
        await group.close()
        await engine.dispose()
