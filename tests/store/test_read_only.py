"""A PostgreSQL that answers but refuses writes (a standby after a failover, a database set
read-only) is an outage: webhooks get 503 with Retry-After, /healthz is not ok, and once it
takes writes again the bot recovers by itself. Through real HTTP, against a real database."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.sandbox.samples import sample_event
from bot.sandbox.slack import SlackRecorder
from bot.store.db import sync_url
from tests.conftest import NOTIFY_CHANNEL, RunningBot, start_bot

ON_POSTGRESQL = os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")
pytestmark = pytest.mark.skipif(
    not ON_POSTGRESQL, reason="needs PostgreSQL (TEST_DATABASE_URL=postgresql…)"
)


@pytest.fixture
def admin(settings: Settings) -> Iterator[Connection]:
    """A connection of the operator's own, writable whatever the database's default."""
    engine = create_engine(sync_url(settings.database_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("SET default_transaction_read_only = off"))
        yield connection
        connection.execute(text(f'ALTER DATABASE "{database(settings)}" RESET ALL'))
    engine.dispose()


def database(settings: Settings) -> str:
    name = make_url(settings.database_url).database
    assert name
    assert name.replace("_", "").isalnum()
    return name


def fail_over_to_read_only(admin: Connection, name: str) -> None:
    """New sessions are read-only, and every session but `admin` is cut (as a failover does)."""
    admin.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
    admin.execute(
        text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    )


def first_answer(bot: RunningBot, envelope: dict, *, until: int, tries: int = 40) -> httpx.Response:
    """Send `envelope` as QTvoice would, again after each answer that is not `until`."""
    for _ in range(tries):
        response = bot.send_envelope(envelope)
        if response.status_code == until:
            return response
        assert response.status_code in (200, 503), response.text
        time.sleep(0.25)
    return response


def test_a_read_only_database_is_an_outage_and_the_bot_recovers_by_itself(
    settings: Settings, slack: SlackRecorder, admin: Connection
) -> None:
    bot = start_bot(settings, slack)
    try:
        assert bot.send("call.missed").status_code == 200
        fail_over_to_read_only(admin, database(settings))

        during = sample_event("call.missed")
        refused = first_answer(bot, during, until=503)
        health = httpx.get(f"{bot.url}/healthz")

        assert refused.status_code == 503
        assert int(refused.headers["Retry-After"]) > 0
        assert health.status_code == 503
        assert health.json()["status"] != "ok"

        admin.execute(text(f'ALTER DATABASE "{database(settings)}" RESET ALL'))

        assert first_answer(bot, during, until=200).status_code == 200
        for _ in range(40):
            if httpx.get(f"{bot.url}/healthz").status_code == 200:
                break
            time.sleep(0.25)
        assert httpx.get(f"{bot.url}/healthz").json()["status"] == "ok"
        slack.wait_for(lambda: len(slack.messages(NOTIFY_CHANNEL)) == 2, timeout=20)
    finally:
        bot.stop()
