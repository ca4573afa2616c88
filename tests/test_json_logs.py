"""`LOG_FORMAT=json`: `serve` writes one JSON object per line, masked and redacted as ever."""

from __future__ import annotations

import json
from pathlib import Path

from bot.sandbox.qtvoice import QTvoiceSandbox, send_webhook
from bot.sandbox.samples import CUSTOMER_NUMBER, sample_event
from bot.sandbox.slack import SlackRecorder
from tests.conftest import BOT_TOKEN, WEBHOOK_SECRET, process_environment
from tests.helpers.cli import serving


def test_serve_logs_one_masked_json_object_per_line_with_the_delivery_id(
    qtvoice: QTvoiceSandbox, slack: SlackRecorder, tmp_path: Path
) -> None:
    environment = process_environment(
        f"sqlite:///{tmp_path / 'json.db'}",
        qtvoice,
        slack,
        LOG_FORMAT="json",
        MASK_NUMBERS="true",
        RECONCILE_INTERVAL_SECONDS="0",
    )
    with serving(environment, tmp_path) as served:
        response = send_webhook(
            f"{served.url}/qtvoice/webhooks",
            sample_event("call.missed", from_=CUSTOMER_NUMBER),
            WEBHOOK_SECRET,
        )
        slack.wait_for(lambda: slack.calls("chat.postMessage", ok=True))
    output = served.output

    assert response.status_code == 200
    delivery = response.json()["id"]
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    assert lines
    assert all({"level", "logger", "message"} <= set(line) for line in lines)
    done = [line for line in lines if line["message"].startswith(f"delivery {delivery} ")]
    assert done
    assert all(line["delivery_id"] == delivery for line in done)
    assert CUSTOMER_NUMBER not in output
    assert CUSTOMER_NUMBER.removeprefix("+1") not in output
    assert BOT_TOKEN not in output
