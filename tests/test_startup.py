"""Start-up and `check` tell the truth: who the bot acts as, a database that is not migrated
yet, a Socket Mode connection that does not open."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import create_engine, text

from bot.checks import _socket_says_hello
from bot.config import Settings
from bot.sandbox.qtvoice import QTvoiceSandbox
from bot.sandbox.server import free_port
from bot.sandbox.slack import SlackRecorder
from bot.store.db import sync_url
from bot.store.migrate import upgrade
from bot.store.outage import Backoff
from tests.conftest import process_environment, start_bot
from tests.helpers.database import worker_database_url


@pytest.fixture
def empty_database(tmp_path: Path) -> str:
    """A database that answers but was never migrated (PostgreSQL: an empty schema)."""
    configured = os.environ.get("TEST_DATABASE_URL")
    url = worker_database_url(configured) if configured else f"sqlite:///{tmp_path / 'empty.db'}"
    if url.startswith("postgresql"):
        engine = create_engine(sync_url(url), isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    return url


def test_start_up_names_the_workspace_and_bot_user(
    settings: Settings, slack: SlackRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.startup")
    running = start_bot(settings, slack)
    running.stop()

    said = [record for record in caplog.records if record.name == "bot.startup"]
    assert len(said) == 1
    assert said[0].levelno == logging.INFO
    assert said[0].getMessage().startswith("acting in Slack workspace QTslack Sandbox (T")
    assert "as bot user @qtslack (U" in said[0].getMessage()


def test_start_up_logs_an_error_with_the_fix_when_slack_refuses_the_token(
    settings: Settings, slack: SlackRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = settings.model_copy(update={"slack_bot_token": SecretStr("xoxb-not-this-one")})
    running = start_bot(wrong, slack)
    running.stop()

    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert [record.getMessage() for record in errors] == [
        "Slack refused the bot token: Slack does not know SLACK_BOT_TOKEN; copy the Bot User "
        "OAuth Token (xoxb-…) again from OAuth & Permissions at https://api.slack.com/apps"
    ]


def test_an_unmigrated_database_is_one_line_503s_and_no_traceback_until_migrated(
    settings: Settings,
    slack: SlackRecorder,
    empty_database: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    unmigrated = settings.model_copy(update={"database_url": empty_database})
    running = start_bot(unmigrated, slack)
    try:
        health = httpx.get(f"{running.url}/healthz")
        refused = running.send("call.missed")
        time.sleep(2.5)  # the worker and the scheduler would have failed a few times by now
        logged = list(caplog.records)
        upgrade(empty_database)
        deadline = time.monotonic() + 30
        accepted = running.send("call.missed")
        while accepted.status_code == 503 and time.monotonic() < deadline:
            time.sleep(0.5)
            accepted = running.send("call.missed")
        slack.wait_for(lambda: slack.calls("chat.postMessage", ok=True))
    finally:
        running.stop()

    assert health.status_code == 503
    assert health.json()["database"] == "not migrated: run `python -m bot migrate`"
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "5"
    assert "not migrated" in refused.json()["error"]
    problems = [record for record in logged if record.levelno >= logging.WARNING]
    assert len(problems) == 1, [record.getMessage() for record in problems]
    assert "has not been migrated" in problems[0].getMessage()
    assert "python -m bot migrate" in problems[0].getMessage()
    assert not any(record.exc_info for record in logged)
    assert accepted.status_code == 200


def test_worker_on_an_unmigrated_database_waits_saying_so_once(
    qtvoice: QTvoiceSandbox, slack: SlackRecorder, empty_database: str, tmp_path: Path
) -> None:
    env = process_environment(empty_database, qtvoice, slack)
    worker = subprocess.Popen(
        [sys.executable, "-m", "bot", "worker"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert worker.stdout is not None
    said: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while not any("database not ready" in line for line in said):
            assert time.monotonic() < deadline, said
            assert worker.poll() is None, said
            said.append(worker.stdout.readline())
        time.sleep(3)  # long enough for a second and third look (1 s, then 2 s later)
        worker.send_signal(signal.SIGTERM)
        rest, _ = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.communicate()
    output = "".join(said) + rest

    assert "Traceback" not in output
    assert output.count("database not ready") == 1, output
    assert "Context impl" not in output  # alembic, at each look at the database's revision
    assert "python -m bot migrate" in output
    assert worker.returncode == 0


def test_backoff_doubles_to_its_longest_and_speaks_twice() -> None:
    backoff = Backoff(first=1, longest=30, remind_after=0)

    steps = [backoff.failed() for _ in range(8)]

    assert [wait for wait, _ in steps] == [1, 2, 4, 8, 16, 30, 30, 30]
    assert [say for _, say in steps] == ["first", "reminder", None, None, None, None, None, None]
    assert backoff.recovered() is not None
    assert backoff.recovered() is None
    assert backoff.failed() == (1, "first")


@pytest.mark.anyio
async def test_a_socket_that_does_not_open_is_named_with_its_reason() -> None:
    nobody = f"ws://127.0.0.1:{free_port()}/link/?ticket=x"

    assert "connection refused" in str(await _socket_says_hello(nobody))
    assert await _socket_says_hello("") == "Slack returned no URL"
