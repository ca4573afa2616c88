"""A lease renewal never gives up a delivery its own worker finished.

The worker renews the leases of every row it is delivering at once (`_keep_leases`), from a
snapshot of the deliveries in flight. A delivery's `done` is committed with others' (group
commit), and the delivery's task ends a moment later: a renewal between the two finds a row
no longer pending that this worker still counts as in flight. Only a row another worker
claimed is lost; one this worker finished (or postponed, or set to retry) is not, and its
delivery must not be cancelled nor reported as "given up: another worker holds it".

One worker, a short lease (renewals every 0.1 s) and many deliveries whose posts Slack
answers at about the same time, so that many finish in one group commit while renewals run.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine

from bot.config import Settings
from bot.sandbox.slack import SlackRecorder
from tests.conftest import NOTIFY_CHANNEL, start_bot
from tests.helpers.database import delivered

LEASE_SECONDS = 0.3
EVENTS = 240
#: Slack's lateness, so that posts in flight are answered, and finished, together.
SLACK_LATE_SECONDS = 0.2


def test_a_renewal_does_not_give_up_deliveries_this_worker_finished(
    settings: Settings, slack: SlackRecorder, db: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.delivery.worker")
    bot = start_bot(settings.model_copy(update={"delivery_lease_seconds": LEASE_SECONDS}), slack)
    try:
        slack.delay("chat.postMessage", SLACK_LATE_SECONDS)
        callers = [f"+1415555{index:04d}" for index in range(EVENTS)]
        with ThreadPoolExecutor(8) as senders:
            answers = list(senders.map(lambda n: bot.send("call.missed", from_=n), callers))
        assert {answer.status_code for answer in answers} == {200}
        slack.wait_for(lambda: delivered(db) == EVENTS, timeout=60)
    finally:
        bot.stop()

    given_up = [r.getMessage() for r in caplog.records if "given up" in r.getMessage()]
    assert given_up == []
    posts = [
        c for c in slack.calls("chat.postMessage", ok=True) if c.args["channel"] == NOTIFY_CHANNEL
    ]
    assert len(posts) == EVENTS
