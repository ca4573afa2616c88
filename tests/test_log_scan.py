"""The bot's whole output over a full flow at LOG_LEVEL=DEBUG with MASK_NUMBERS=true, scanned.

`python -m bot serve` runs as an operator runs it, against both sandboxes: every kind of
webhook (and a bad one that fails validation), a /link and a /sms, a thread reply, a Slack that
fails, rate-limits and answers with something that is not JSON. Everything it wrote to stdout
and stderr, and what `deliveries` lists of their stored failure reasons, must hold no token,
secret or API key, and no full number of any party used.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.sandbox.qtvoice import (
    ALICE_LINE,
    JANE_ROE,
    JOHN_DOE,
    STRANGER,
    QTvoiceSandbox,
    send_webhook,
)
from bot.sandbox.samples import CUSTOMER_NUMBER, MAIN_LINE, sample_event
from bot.sandbox.server import free_port
from bot.sandbox.slack import SlackDriver, SlackRecorder
from bot.store.deliveries import DONE, FAILED
from bot.store.models import InboxEvent
from tests.conftest import BOT_TOKEN, NOTIFY_CHANNEL, SIGNING_SECRET, WEBHOOK_SECRET

PARTIES = [CUSTOMER_NUMBER, MAIN_LINE, JOHN_DOE, JANE_ROE, STRANGER, ALICE_LINE]
EVERY_EVENT = [
    "call.incoming",
    "call.answered",
    "call.completed",
    "call.missed",
    "call.voicemail",
    "voicemail.new",
    "voicemail.transcribed",
    "sms.received",
    "sms.sent",
    "sms.delivered",
    "contact.created",
    "contact.updated",
]


def written_forms(e164: str) -> set[str]:
    """Every way a log line might write the number: E.164, national, international, digits."""
    number = phonenumbers.parse(e164)
    national = str(number.national_number)
    forms = {e164, national, national[:3] + "-" + national[3:6] + "-" + national[6:]}
    for style in (PhoneNumberFormat.NATIONAL, PhoneNumberFormat.INTERNATIONAL):
        forms.add(phonenumbers.format_number(number, style))
    return forms


@pytest.fixture
def served(settings: Settings, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The bot as a process (serve, with its worker); its URL and the file of its output."""
    port = free_port()
    output = tmp_path / "bot.log"
    environment = {
        **os.environ,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "QTVOICE_API_KEY": settings.qtvoice_api_key.get_secret_value(),
        "QTVOICE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "NOTIFY_CHANNEL": NOTIFY_CHANNEL,
        "SLACK_API_URL": settings.slack_api_url,
        "QTVOICE_API_URL": settings.qtvoice_api_url,
        "DATABASE_URL": settings.database_url,
        "RECONCILE_INTERVAL_SECONDS": "0",
        "DELIVERY_RETRY_SECONDS": "0.05",
        "MASK_NUMBERS": "true",
        "LOG_LEVEL": "DEBUG",
    }
    with output.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=tmp_path,
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process)
        yield url, output
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "the bot exited at start-up"
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("the bot did not start within 30 s")


def test_a_full_flow_at_debug_logs_no_secret_and_no_full_number(
    served: tuple[str, Path],
    settings: Settings,
    slack: SlackRecorder,
    qtvoice: QTvoiceSandbox,
    db: Engine,
) -> None:
    url, output = served
    webhooks = f"{url}/qtvoice/webhooks"
    driver = SlackDriver(url, SIGNING_SECRET, slack)

    def settled() -> bool:
        with Session(db) as session:
            states = list(session.scalars(select(InboxEvent.state)))
        return bool(states) and all(state in (DONE, FAILED) for state in states)

    try:
        slack.fail_next("chat.postMessage", status=500, count=2)
        slack.fail_next("chat.update", status=429, retry_after=1)
        slack.fail_next("conversations.history", status=502, raw_body="upstream error")
        for event in EVERY_EVENT:
            sent = send_webhook(webhooks, sample_event(event), WEBHOOK_SECRET)
            assert sent.status_code == 200, (event, sent.text)
        # Odd values whose validation errors echo their input, a number among it.
        odd = {"event": "call.missed", "data": {"from": JANE_ROE, "id": ["not", "an", "id"]}}
        assert send_webhook(webhooks, odd, WEBHOOK_SECRET).status_code < 500
        slack.wait_for(settled, timeout=60)

        linked = driver.slash_command("/qtvoice", "link 101", user_id="U0ALICE")
        slack.wait_for(lambda: slack.responses(linked.response_url_key or ""))
        texted = driver.slash_command("/sms", f"{JANE_ROE} Running late", user_id="U0ALICE")
        answer = slack.wait_for(lambda: slack.responses(texted.response_url_key or ""))[0]
        assert "Text sent" in answer["text"], answer["text"]
        parent = next(m for m in slack.messages(NOTIFY_CHANNEL) if m.get("reply_count"))
        driver.message_in_thread(NOTIFY_CHANNEL, parent["ts"], "On my way", user_id="U0ALICE")
        slack.wait_for(lambda: len(qtvoice.state.requests("POST", "/sms")) == 2)
        slack.wait_for(settled, timeout=60)
    finally:
        driver.close()

    listed = subprocess.run(
        [sys.executable, "-m", "bot", "deliveries"],
        env={**os.environ, "DATABASE_URL": settings.database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    log = output.read_text() + listed.stdout + listed.stderr
    assert "DEBUG" in log  # the scan read a DEBUG log, not an empty one
    for secret in (BOT_TOKEN, SIGNING_SECRET, WEBHOOK_SECRET, qtvoice.api_key):
        assert secret not in log
    leaked = {form for party in PARTIES for form in written_forms(party) if form in log}
    assert not leaked, f"full numbers in the log: {sorted(leaked)}"
