"""Running `python -m bot …` as an operator does: one-shot commands and a served process."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bot.config import Settings
from bot.sandbox.server import free_port
from bot.tls import client_context


def run(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def run_into_closed_pipe(
    *args: str, env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """`run`, its stdout a pipe whose reader has already gone (`… | head -1` that has exited,
    `… | true`): every write to stdout is EPIPE."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            env=env,
            cwd=cwd,
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(writer)


@contextlib.contextmanager
def serving(environment: dict[str, str], cwd: Path) -> Iterator[Served]:
    """`python -m bot serve` on a free port, answering `/healthz`; stopped with SIGTERM on
    leaving, its output (stdout and stderr) then in `Served.output`."""
    port = free_port()
    server = serve_process(environment, cwd, port)
    served = Served(f"http://127.0.0.1:{port}")
    try:
        served.health = wait_for_health(f"{served.url}/healthz")
        yield served
    finally:
        server.send_signal(signal.SIGTERM)
        served.output, _ = server.communicate(timeout=30)


@dataclass
class Served:
    url: str
    health: dict[str, object] = field(default_factory=dict)
    output: str = ""


def wait_for_health(url: str, timeout: float = 30.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            response = httpx.get(url, timeout=1, verify=client_context())
            if response.status_code == 200:
                return dict(response.json())
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} never answered 200")
        time.sleep(0.1)


def serve_process(
    environment: dict[str, str], cwd: Path, port: int, *extra: str
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port), *extra],
        env=environment,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def run_cli(settings: Settings, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot ARGS` as an operator runs it, against the test's database.

    Warnings are errors there too, as in the rest of the suite.
    """
    environment = {**os.environ, "DATABASE_URL": settings.database_url}
    return subprocess.run(
        [sys.executable, "-W", "error", "-m", "bot", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
