"""The operator's commands, run as an operator would: `python -m bot …` in a subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, inspect

from bot.config import Settings
from bot.sandbox.qtvoice import QTvoiceSandbox, send_webhook
from bot.sandbox.samples import sample_event
from bot.sandbox.server import free_port
from bot.sandbox.slack import SlackRecorder
from bot.store.db import sync_url
from tests.conftest import (
    BOT_TOKEN,
    NOTIFY_CHANNEL,
    SIGNING_SECRET,
    WEBHOOK_SECRET,
    RunningBot,
    start_bot,
)


@pytest.fixture
def environment(qtvoice: QTvoiceSandbox, slack: SlackRecorder, tmp_path: Path) -> dict[str, str]:
    """What an operator's .env would hold, pointed at the sandboxes and a fresh SQLite file."""
    return {
        "PATH": os.environ["PATH"],
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "QTVOICE_API_KEY": qtvoice.api_key,
        "QTVOICE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "NOTIFY_CHANNEL": NOTIFY_CHANNEL,
        "SLACK_API_URL": slack.api_url,
        "QTVOICE_API_URL": qtvoice.url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
        "RECONCILE_INTERVAL_SECONDS": "0",
    }


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


def test_serve_migrates_a_fresh_sqlite_file_and_delivers(
    environment: dict[str, str], slack: SlackRecorder, tmp_path: Path
) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=environment,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        health = wait_for_health(f"http://127.0.0.1:{port}/healthz")
        response = send_webhook(
            f"http://127.0.0.1:{port}/qtvoice/webhooks", sample_event("call.missed"), WEBHOOK_SECRET
        )
        posted = slack.wait_for(lambda: slack.calls("chat.postMessage", ok=True))
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=30)

    assert health["status"] == "ok"
    assert response.status_code == 200
    assert posted[0].args["channel"] == NOTIFY_CHANNEL
    engine = create_engine(sync_url(environment["DATABASE_URL"]))
    assert "inbox" in inspect(engine).get_table_names()
    engine.dispose()
    for secret in (BOT_TOKEN, SIGNING_SECRET, WEBHOOK_SECRET, environment["QTVOICE_API_KEY"]):
        assert secret not in output


def wait_for_health(url: str, timeout: float = 30.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            response = httpx.get(url, timeout=1)
            if response.status_code == 200:
                return dict(response.json())
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} never answered 200")
        time.sleep(0.1)


def test_check_passes_against_reachable_slack_and_qtvoice(
    environment: dict[str, str], tmp_path: Path
) -> None:
    result = run("check", env=environment, cwd=tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert [line.split()[:2] for line in result.stdout.splitlines()] == [
        ["ok", "settings"],
        ["ok", "database:"],
        ["ok", "slack:"],
        ["ok", "qtvoice:"],
    ]


def test_check_fails_with_one_line_per_failing_service(
    environment: dict[str, str], tmp_path: Path
) -> None:
    environment |= {"SLACK_BOT_TOKEN": "xoxb-revoked", "QTVOICE_API_KEY": "qtv_wrong"}

    result = run("check", env=environment, cwd=tmp_path)

    assert result.returncode == 1
    failing = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert [line.split()[1] for line in failing] == ["slack:", "qtvoice:"]
    assert "invalid_auth" in failing[0]
    assert "xoxb-revoked" not in result.stdout + result.stderr
    assert "qtv_wrong" not in result.stdout + result.stderr


def test_send_webhook_posts_a_signed_sample_to_a_running_bot(
    bot: RunningBot, slack: SlackRecorder, tmp_path: Path
) -> None:
    env = {"PATH": os.environ["PATH"], "QTVOICE_WEBHOOK_SECRET": WEBHOOK_SECRET}

    result = run("send-webhook", "voicemail.new", "--url", bot.webhook_url, env=env, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "HTTP 200" in result.stdout
    slack.wait_for(lambda: slack.calls("chat.postMessage", ok=True))


def test_send_webhook_names_the_events_it_knows(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "QTVOICE_WEBHOOK_SECRET": WEBHOOK_SECRET}

    result = run(
        "send-webhook", "call.teleported", "--url", "http://127.0.0.1:9", env=env, cwd=tmp_path
    )

    assert result.returncode == 2
    assert "call.missed" in result.stderr


def test_worker_delivers_what_a_web_only_process_stored(
    settings: Settings, slack: SlackRecorder, environment: dict[str, str], tmp_path: Path
) -> None:
    web = start_bot(settings, slack, run_worker=False)
    environment["DATABASE_URL"] = settings.database_url
    worker = subprocess.Popen(
        [sys.executable, "-m", "bot", "worker"],
        env=environment,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert web.send("call.missed").status_code == 200
        posted = slack.wait_for(lambda: slack.calls("chat.postMessage", ok=True))
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=30)
        web.stop()

    assert posted[0].args["channel"] == NOTIFY_CHANNEL
    assert worker.returncode == 0
