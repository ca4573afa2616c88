"""What a connection may cost `serve` before its request proved anything (bot/connections.py).

Each test runs `python -m bot serve` as an operator does and talks to it over raw sockets, the
way a client that hangs up, stalls or floods would; the log is the server's own output.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.config import Settings
from bot.connections import READ_SECONDS
from bot.sandbox.qtvoice import QTvoiceSandbox
from bot.sandbox.server import free_port
from bot.sandbox.slack import SlackRecorder
from tests.conftest import process_environment
from tests.helpers.cli import wait_for_health

HANG_UP_LINE = "the connection closed before the body was complete; nothing stored"


@dataclass
class Served:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines()

    def wait_for_lines(self, text: str, count: int, timeout: float = 30) -> list[str]:
        deadline = time.monotonic() + timeout
        while True:
            found = [line for line in self.lines() if text in line]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.1)

    def peak_rss_mib(self) -> float:
        """The web process's peak resident memory so far (not its worker's), in MiB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        (line,) = [line for line in status.splitlines() if line.startswith("VmHWM:")]
        return int(line.split()[1]) / 1024


@pytest.fixture
def served(
    settings: Settings, qtvoice: QTvoiceSandbox, slack: SlackRecorder, tmp_path: Path
) -> Iterator[Served]:
    port = free_port()
    log = tmp_path / "serve.log"
    environment = process_environment(
        settings.database_url, qtvoice, slack, RECONCILE_INTERVAL_SECONDS="0"
    )
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=environment,
            cwd=tmp_path,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_health(f"http://127.0.0.1:{port}/healthz")
        yield Served(port, process, log)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def head(path: str, length: int | None, **headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: bot", "Content-Type: application/json"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def slack_signed_headers() -> dict[str, str]:
    """Headers of the right shape and a fresh timestamp, so the door reads the body."""
    return {
        "X_Slack_Request_Timestamp": str(int(time.time())),
        "X_Slack_Signature": "v0=" + "0" * 64,
    }


def test_clients_that_hang_up_mid_body_write_one_warning_line_each(served: Served) -> None:
    hang_ups = 0
    for index in range(40):
        if index % 2:
            request = head("/slack/events", 5000, **slack_signed_headers()) + b"x" * 100
        else:
            request = head("/qtvoice/webhooks", 5000, X_QTvoice_Signature="v1=00") + b"{" * 100
        with socket.create_connection(("127.0.0.1", served.port)) as client:
            client.sendall(request)
        hang_ups += 1

    found = served.wait_for_lines(HANG_UP_LINE, hang_ups)
    time.sleep(0.5)  # a second line for any of them would have been written by now

    assert len(found) == hang_ups
    assert len([line for line in served.lines() if HANG_UP_LINE in line]) == hang_ups
    assert all(" WARNING " in line for line in found)
    assert not [line for line in served.lines() if "Traceback" in line or " ERROR " in line]


def test_idle_and_slow_connections_are_closed_after_the_read_deadline(served: Served) -> None:
    idle = socket.create_connection(("127.0.0.1", served.port))
    slow = socket.create_connection(("127.0.0.1", served.port))
    slow.sendall(head("/qtvoice/webhooks", 1000, X_QTvoice_Signature="v1=00") + b"{")
    idle.settimeout(READ_SECONDS * 3)
    slow.settimeout(READ_SECONDS * 3)
    try:
        # recv() answers b"" once the server closes the connection; a timeout raises instead.
        idle_end = idle.recv(1024)
        slow_end = slow.recv(1024)
    finally:
        idle.close()
        slow.close()

    assert idle_end == b""
    assert slow_end == b""
    assert len(served.wait_for_lines("no complete request within", 1)) == 1
    assert len(served.wait_for_lines(HANG_UP_LINE, 1)) == 1
    assert not [line for line in served.lines() if "Traceback" in line]


def test_many_large_unsigned_bodies_at_once_hold_little_memory(served: Served) -> None:
    body = b"x" * (1024 * 1024)
    request = head("/slack/events", len(body), **slack_signed_headers()) + body
    before = served.peak_rss_mib()
    # Every client sends all of its body but the last byte, then all send their last bytes
    # together: a server that lets each request read its body holds all 200 at that moment.
    together = time.monotonic() + 3

    def send() -> bytes:
        with socket.create_connection(("127.0.0.1", served.port), timeout=60) as client:
            client.sendall(request[:-1])
            time.sleep(max(0.0, together - time.monotonic()))
            client.sendall(request[-1:])
            return client.recv(1024)

    with ThreadPoolExecutor(max_workers=200) as pool:
        answers = list(pool.map(lambda _: send(), range(200)))
    peak = served.peak_rss_mib()

    assert {answer.split(b" ")[1] for answer in answers} <= {b"401", b"503"}
    # Without a bound the 200 bodies are held at once: 200 MiB and more.
    assert peak - before < 64, f"peak {before:.0f} MiB before, {peak:.0f} MiB after"
