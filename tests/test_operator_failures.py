"""Every failure says its cause and fix where the operator looks: `deliveries`, a closed pipe,
a second worker on SQLite, `send-webhook`'s refusals."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from bot.config import Settings
from bot.operations import headline
from bot.sandbox.qtvoice import QTvoiceSandbox
from bot.sandbox.server import free_port
from bot.sandbox.slack import SlackRecorder
from tests.conftest import WEBHOOK_SECRET, process_environment, start_bot
from tests.helpers.cli import run, run_into_closed_pipe, serve_process, wait_for_health

SLACK_FAILURE = (
    "SlackApiError: The request to the Slack API failed. (url: http://127.0.0.1:1/api/"
    "chat.postMessage)\nThe server responded with: {'ok': False, 'error': 'invalid_auth'}"
)


def test_a_stored_failure_shows_slacks_error_code_first() -> None:
    assert headline(SLACK_FAILURE).startswith("invalid_auth \N{EM DASH} SlackApiError: The req")
    assert headline("TimeoutError: ") == "TimeoutError:"
    assert headline(None) == ""


def test_deliveries_lists_slacks_code_first_and_show_prints_the_whole_error(
    settings: Settings, slack: SlackRecorder, tmp_path: Path
) -> None:
    once = settings.model_copy(update={"delivery_max_attempts": 1})
    bot = start_bot(once, slack)
    try:
        slack.fail_next("chat.postMessage", error="invalid_auth", count=20)
        row_id = bot.send("call.missed").json()["id"]
        env = {"PATH": os.environ["PATH"], "DATABASE_URL": settings.database_url}

        def failed_listed() -> subprocess.CompletedProcess[str] | None:
            listed = run("deliveries", "--failed", env=env, cwd=tmp_path)
            return listed if f"{row_id:>6}  failed" in listed.stdout else None

        listed = slack.wait_for(failed_listed)
    finally:
        bot.stop()
    shown = run("deliveries", "show", str(row_id), env=env, cwd=tmp_path)

    [row] = [line for line in listed.stdout.splitlines() if line.startswith(f"{row_id:>6}")]
    assert "LAST ERROR" in listed.stdout
    assert row.split("  ")[-1].startswith("invalid_auth")
    assert shown.returncode == 0, shown.stderr
    assert f"event {row_id}: call.missed" in shown.stdout
    assert "The server responded with: {'ok': False, 'error': 'invalid_auth'}" in shown.stdout
    assert f"python -m bot replay {row_id}" in shown.stdout


def test_deliveries_into_a_closed_pipe_ends_quietly(settings: Settings, tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "DATABASE_URL": settings.database_url}
    done = run_into_closed_pipe("deliveries", env=env, cwd=tmp_path)

    assert done.stderr == ""
    assert done.returncode == 0


def test_a_refused_send_webhook_into_a_closed_pipe_still_exits_1(
    settings: Settings, slack: SlackRecorder, tmp_path: Path
) -> None:
    bot = start_bot(settings, slack, run_worker=False)
    try:
        env = {"PATH": os.environ["PATH"]}
        args = ("send-webhook", "call.missed", "--url", bot.webhook_url, "--secret", "whsec_other")
        refused = run_into_closed_pipe(*args, env=env, cwd=tmp_path)
    finally:
        bot.stop()

    assert refused.returncode == 1
    assert refused.stderr.startswith("hint: the bot refused the signature")


def test_a_worker_beside_serve_on_sqlite_is_refused_saying_why(
    qtvoice: QTvoiceSandbox, slack: SlackRecorder, tmp_path: Path
) -> None:
    environment = process_environment(f"sqlite:///{tmp_path / 'one.db'}", qtvoice, slack)
    port = free_port()
    server = serve_process(environment, tmp_path, port)
    try:
        wait_for_health(f"http://127.0.0.1:{port}/healthz")
        worker = run("worker", env=environment, cwd=tmp_path)
    finally:
        server.terminate()
        server.communicate(timeout=30)

    assert worker.returncode == 1
    [line] = worker.stderr.splitlines()
    assert line.startswith("qtslack worker: another process already delivers from sqlite:///")
    assert "set DATABASE_URL to PostgreSQL" in line


@pytest.mark.parametrize(
    ("path", "secret", "hint"),
    [
        ("/qtvoice/webhooks", "whsec_not_the_bots", "hint: the bot refused the signature"),
        ("/webhooks", WEBHOOK_SECRET, "hint: nothing answers webhooks at that URL"),
    ],
)
def test_send_webhook_refusals_come_with_a_hint(
    settings: Settings, slack: SlackRecorder, tmp_path: Path, path: str, secret: str, hint: str
) -> None:
    bot = start_bot(settings, slack, run_worker=False)
    try:
        env = {"PATH": os.environ["PATH"]}
        args = ("send-webhook", "call.missed", "--url", bot.url + path, "--secret", secret)
        result = run(*args, env=env, cwd=tmp_path)
    finally:
        bot.stop()

    assert result.returncode == 1
    assert result.stderr.startswith(hint)
    assert secret not in result.stderr + result.stdout
