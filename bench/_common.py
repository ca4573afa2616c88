"""What the bench scripts share: a fresh database, and the real bot run as `python -m bot serve`.

`BotProcess` starts the bot exactly as an operator does (its own process, settings from the
environment, uvicorn, the worker beside the web app), pointed at sandboxes the bench runs in its
own process, and keeps the bot's log in a file the bench can read afterwards.

    with QTvoiceSandbox() as qtvoice, SlackRecorder(bot_token=BOT_TOKEN) as slack:
        url = fresh_database(args.database_url, workdir)
        environment = bot_environment(url, qtvoice.url, qtvoice.api_key, slack.api_url)
        with BotProcess(environment, workdir) as bot:
            httpx.post(f"{bot.url}/qtvoice/webhooks", ...)
"""

from __future__ import annotations

import logging
import os
import shlex
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from types import TracebackType

import httpx
from sqlalchemy import create_engine, text

from bot.sandbox.server import free_port
from bot.store.db import sync_url
from bot.store.migrate import upgrade
from bot.tls import client_context

BOT_TOKEN = "xoxb-bench-token"
SIGNING_SECRET = "bench-slack-signing-secret"
WEBHOOK_SECRET = "whsec_bench_secret"
NOTIFY_CHANNEL = "C0BENCH"
ADMIN = "U0ADMIN"


def fresh_database(url: str | None, workdir: Path) -> str:
    """An empty database at the latest schema: `url` emptied first, or a new SQLite file.

    PostgreSQL is emptied by dropping and recreating its `public` schema, so give a database
    that holds nothing else.
    """
    url = url or f"sqlite:///{workdir / 'bench.db'}"
    if url.startswith(("postgres://", "postgresql")):
        engine = create_engine(sync_url(url), isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)
    return url


def bot_environment(
    database_url: str, qtvoice_url: str, qtvoice_key: str, slack_api_url: str, **settings: str
) -> dict[str, str]:
    """The environment `python -m bot serve` reads: the sandboxes, the database, `settings`.

    `settings` are more settings by their lower-case names (`delivery_retry_seconds="0.2"`).
    """
    environment = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "QTVOICE_API_KEY": qtvoice_key,
        "QTVOICE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "NOTIFY_CHANNEL": NOTIFY_CHANNEL,
        "ADMIN_USER_IDS": ADMIN,
        "SLACK_API_URL": slack_api_url,
        "QTVOICE_API_URL": qtvoice_url,
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
    }
    environment.update({name.upper(): value for name, value in settings.items()})
    return environment


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so `with` blocks stop the bot and sandboxes they started."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


class BotProcess:
    """`python -m bot serve` on a free loopback port; `url` answers once `/healthz` says ok.

    It runs in `workdir` (so no stray `.env` is read) with only `environment` and PATH;
    everything it prints goes to `log_path`. Stopping sends SIGTERM, as a platform does.
    """

    def __init__(
        self, environment: dict[str, str], workdir: Path, *, extra_args: tuple[str, ...] = ()
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = [
            sys.executable,
            "-m",
            "bot",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            *extra_args,
        ]
        self.environment = {"PATH": os.environ.get("PATH", ""), **environment}
        self.workdir = workdir
        self.log_path = workdir / "bot.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> BotProcess:
        log = self.log_path.open("ab")
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            self.command, cwd=self.workdir, env=self.environment, stdout=log, stderr=log
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"`{shlex.join(self.command)}` exited with {self._process.returncode}; "
                    f"its log: {self.log_path}\n{self.log_tail()}"
                )
            try:
                health = httpx.get(f"{self.url}/healthz", timeout=1, verify=client_context())
                if health.status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the bot did not answer /healthz within {timeout:.0f} s")

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM, then SIGKILL after `timeout` seconds; the exit code."""
        if self._process is None:
            return None
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        return self._process.returncode

    def log_tail(self, lines: int = 20) -> str:
        try:
            content = self.log_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return ""
        return "\n".join(content[-lines:])

    def __enter__(self) -> BotProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class SandboxErrors(logging.Handler):
    """Counts the errors the in-process sandboxes' servers log, instead of printing each.

    Install it once the sandboxes are up (uvicorn configures its loggers as a server starts);
    `kinds` counts them by their exception's last line, so a report can name what broke.
    """

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.kinds: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            self.kinds[f"{type(error).__name__}: {str(error)[:80]}"] += 1
        else:
            self.kinds[record.getMessage()[:100]] += 1

    def install(self) -> SandboxErrors:
        server_log = logging.getLogger("uvicorn.error")
        server_log.handlers = [self]
        server_log.propagate = False
        return self

    def summary(self) -> str:
        if not self.kinds:
            return "sandbox server errors: 0"
        shown = "; ".join(f"{count} x {kind}" for kind, count in self.kinds.most_common(3))
        return f"sandbox server errors: {sum(self.kinds.values())} ({shown})"
