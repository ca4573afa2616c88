"""Shared fixtures: a migrated database, both sandboxes, and the real bot served over HTTP.

Set TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1/test) to run everything on
PostgreSQL; each test then gets a freshly migrated, empty schema. Otherwise each test gets
its own SQLite file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, create_engine

from bot.config import Settings
from bot.runtime import Runtime
from bot.sandbox.chromium import ChromiumError, ensure_chromium
from bot.sandbox.qtvoice import QTvoiceSandbox, send_webhook
from bot.sandbox.samples import sample_event
from bot.sandbox.server import BackgroundServer
from bot.sandbox.slack import DEFAULT_USERS, SlackDriver, SlackRecorder, SlackUser
from bot.store.db import sync_url
from bot.web import create_app
from tests.helpers.database import empty_database, worker_database_url

# Properties check what the bot does, never how fast: hypothesis's per-example deadline (200 ms)
# is a timed assertion, and it fails on a busy 2-core machine. Speed is measured under bench/.
hypothesis_settings.register_profile("qtslack", deadline=None)
hypothesis_settings.load_profile("qtslack")

#: pytest-xdist workers per core for `-n auto` (`make test`).
WORKERS_PER_CORE = 2


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: two workers a core. Most tests wait on real servers (a bot's HTTP round
    trips, a retry's back-off), so one worker a core kept about 0.8 of 2 cores busy."""
    return WORKERS_PER_CORE * len(os.sched_getaffinity(0))


WEBHOOK_SECRET = "whsec_test_secret"
SIGNING_SECRET = "slack_signing_secret_for_tests"
BOT_TOKEN = "xoxb-test-token"
NOTIFY_CHANNEL = "C0NOTIFY"


def process_environment(
    database_url: str, qtvoice: QTvoiceSandbox, slack: SlackRecorder, **settings: str
) -> dict[str, str]:
    """What an operator's .env would hold for `python -m bot …`, pointed at the sandboxes;
    `settings` adds or overrides variables (e.g. `LOG_LEVEL="DEBUG"`)."""
    return {
        "PATH": os.environ["PATH"],
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "QTVOICE_API_KEY": qtvoice.api_key,
        "QTVOICE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "NOTIFY_CHANNEL": NOTIFY_CHANNEL,
        "SLACK_API_URL": slack.api_url,
        "QTVOICE_API_URL": qtvoice.url,
        "DATABASE_URL": database_url,
        **settings,
    }


ADMIN = "U0ADMIN"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    configured = os.environ.get("TEST_DATABASE_URL")
    url = worker_database_url(configured) if configured else f"sqlite:///{tmp_path / 'qtslack.db'}"
    empty_database(url)
    return url


@pytest.fixture(scope="session")
def qtvoice_server() -> Iterator[QTvoiceSandbox]:
    with QTvoiceSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def qtvoice(qtvoice_server: QTvoiceSandbox) -> QTvoiceSandbox:
    """The QTvoice sandbox, as freshly seeded for each test (one server serves the session)."""
    qtvoice_server.state.reset()
    return qtvoice_server


@pytest.fixture(scope="session")
def slack_server() -> Iterator[SlackRecorder]:
    with SlackRecorder(bot_token=BOT_TOKEN) as recorder:
        yield recorder


@pytest.fixture
def db(settings: Settings) -> Iterator[Engine]:
    """A plain (synchronous) engine on the test's database, opened beside the bot to arrange rows
    and read back what it stored; disposed after the test."""
    engine = create_engine(sync_url(settings.database_url))
    yield engine
    engine.dispose()


@pytest.fixture
def admin_slack() -> Iterator[SlackRecorder]:
    """A Slack recorder of the test's own whose workspace also has the admin (`ADMIN`), whom
    the bot DMs and whose App Home shows the admins' panels. A module uses it as its `slack`."""
    users = [*DEFAULT_USERS, SlackUser(ADMIN, "admin", "Ada Admin", "ada@example.com")]
    with SlackRecorder(bot_token=BOT_TOKEN, users=users) as recorder:
        yield recorder


@pytest.fixture
def slack(slack_server: SlackRecorder) -> SlackRecorder:
    """The Slack recorder, emptied for each test (one server serves the session)."""
    slack_server.reset()
    return slack_server


@pytest.fixture
def settings(database_url: str, qtvoice: QTvoiceSandbox, slack: SlackRecorder) -> Settings:
    return Settings(
        _env_file=None,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        qtvoice_api_key=qtvoice.api_key,
        qtvoice_webhook_secret=WEBHOOK_SECRET,
        notify_channel=NOTIFY_CHANNEL,
        slack_api_url=slack.api_url,
        qtvoice_api_url=qtvoice.url,
        database_url=database_url,
        admin_user_ids=ADMIN,
        reconcile_interval_seconds=0,
        contact_sync_minutes=0,
        delivery_retry_seconds=0.05,
        delivery_lease_seconds=30,
    )


@dataclass
class RunningBot:
    """The bot served over real HTTP, and ways to talk to it as QTvoice and Slack do."""

    server: BackgroundServer
    settings: Settings
    slack: SlackDriver
    recorder: SlackRecorder

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def webhook_url(self) -> str:
        return f"{self.server.url}/qtvoice/webhooks"

    def send(self, event: str, **data: Any) -> httpx.Response:
        """Send a signed sample webhook of `event`, its data overridden by `data`."""
        return self.send_envelope(sample_event(event, **data))

    def send_envelope(self, envelope: dict[str, Any], **options: Any) -> httpx.Response:
        return send_webhook(self.webhook_url, envelope, WEBHOOK_SECRET, **options)

    def command(self, command: str, text: str, *, user: str = "U0ALICE") -> dict[str, Any]:
        """Run a slash command as `user`; the bot's first answer through its response URL."""
        delivery = self.slack.slash_command(command, text, user_id=user)
        assert delivery.status_code == 200
        key = delivery.response_url_key
        assert key is not None
        return self.recorder.wait_for(lambda: self.recorder.responses(key))[0]

    def link(self, user: str = "U0ALICE", extension: str = "101") -> None:
        """`/qtvoice link 101` as `user`, as a person would, waiting for the answer."""
        self.command("/qtvoice", f"link {extension}", user=user)

    def stop(self) -> None:
        self.slack.close()
        self.server.stop()


def start_bot(settings: Settings, slack: SlackRecorder, *, run_worker: bool = True) -> RunningBot:
    server = BackgroundServer(create_app(Runtime.create(settings), run_worker=run_worker)).start()
    return RunningBot(server, settings, SlackDriver(server.url, SIGNING_SECRET, slack), slack)


@pytest.fixture
def bot(settings: Settings, slack: SlackRecorder) -> Iterator[RunningBot]:
    running = start_bot(settings, slack)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium, for the browser tests; installed with apt-get where it is missing
    and we may, else those tests are skipped saying why."""
    try:
        return ensure_chromium()
    except ChromiumError as error:
        pytest.skip(str(error))
