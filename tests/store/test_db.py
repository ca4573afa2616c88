"""The engine's pool: connections kept between uses, and replaced when the server dropped them."""

from __future__ import annotations

import asyncio
import os

import pytest
from sqlalchemy import event, text

from bot.store import db

ON_POSTGRESQL = os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")


def test_a_pool_reuses_its_connections_under_load(database_url: str) -> None:
    """More concurrent users than kept connections once made the pool open and close the
    extras on every use (a thread each on SQLite, a server process each on PostgreSQL)."""

    async def check() -> int:
        engine = db.create_engine(database_url)
        opened = 0

        def count(*_: object) -> None:
            nonlocal opened
            opened += 1

        event.listen(engine.sync_engine, "connect", count)

        async def use() -> None:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
                await asyncio.sleep(0.01)

        try:
            for _ in range(5):
                await asyncio.gather(*(use() for _ in range(db.POOL_SIZE)))
        finally:
            await engine.dispose()
        return opened

    assert asyncio.run(check()) == db.POOL_SIZE


@pytest.mark.skipif(not ON_POSTGRESQL, reason="needs PostgreSQL (TEST_DATABASE_URL=postgresql…)")
def test_a_connection_the_server_dropped_while_idle_is_replaced_unseen(database_url: str) -> None:
    async def check() -> int:
        engine = db.create_engine(database_url)
        try:
            async with engine.connect() as connection:
                backend = await connection.scalar(text("SELECT pg_backend_pid()"))
            admin = db.create_engine(database_url)
            async with admin.connect() as other:
                await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
            await admin.dispose()
            await asyncio.sleep(db.PING_IDLE_SECONDS + 0.1)
            async with engine.connect() as a, engine.connect() as b:
                for connection in (a, b):
                    assert await connection.scalar(text("SELECT 1")) == 1
            return 0
        finally:
            await engine.dispose()

    assert asyncio.run(check()) == 0
