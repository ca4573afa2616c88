"""The App Home's delivery-health panel: admins see it and replay from it; nobody else does.

Each test opens the Home tab as Slack reports it and reads the view the bot published to the
Slack sandbox; Replay is clicked as Slack sends a click from the Home tab.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.sandbox.slack import SlackRecorder
from bot.slack.buttons import ButtonCodec, ButtonValue
from bot.store.deliveries import DONE, FAILED
from bot.store.models import InboxEvent, utcnow
from tests.conftest import ADMIN, NOTIFY_CHANNEL, SIGNING_SECRET, RunningBot, start_bot
from tests.helpers.slack import home_blocks
from tests.helpers.waits import settle
from tests.helpers.webhooks import SIGNATURE_FIX, TIMES, send_with_wrong_secret

CODEC = ButtonCodec.for_signing_secret(SIGNING_SECRET)


REPLAY = "replay_delivery"


@pytest.fixture
def slack(admin_slack: SlackRecorder) -> SlackRecorder:
    """The workspace with the admin in it."""
    return admin_slack


@pytest.fixture
def impatient(settings: Settings, slack: SlackRecorder) -> Iterator[RunningBot]:
    """The bot parking a delivery as failed after its first failed attempt."""
    running = start_bot(settings.model_copy(update={"delivery_max_attempts": 1}), slack)
    yield running
    running.stop()


def states(db: Engine) -> dict[int, str]:
    with Session(db) as session:
        return {
            row.id: row.state for row in session.execute(select(InboxEvent.id, InboxEvent.state))
        }


def notifications(slack: SlackRecorder) -> list[Any]:
    """What reached the notify channel (the admin's answers go to their DM)."""
    return [
        call
        for call in slack.calls("chat.postMessage", ok=True)
        if call.args["channel"] == NOTIFY_CHANNEL
    ]


def park_one_failed(bot: RunningBot, slack: SlackRecorder, db: Engine) -> int:
    """A missed call whose only attempt Slack refused: parked as failed. Its row id."""
    slack.fail_next("chat.postMessage", status=500)
    assert bot.send("call.missed", id="call_parked").status_code == 200
    [(row_id, _)] = slack.wait_for(lambda: [i for i in states(db).items() if i[1] == FAILED])
    return row_id


def replay_values(blocks: list[Any]) -> list[str]:
    """The values (as sent, sealed) of the Replay buttons on the Home, top to bottom."""
    return [
        block["accessory"]["value"]
        for block in blocks
        if (block.get("accessory") or {}).get("action_id") == REPLAY
    ]


def text_of(blocks: list[Any]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def test_admin_home_shows_failed_deliveries_and_refused_webhooks(
    impatient: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    row_id = park_one_failed(impatient, slack, db)
    assert send_with_wrong_secret(impatient).status_code == 401

    def panel() -> str | None:
        home = text_of(home_blocks(impatient, slack, ADMIN))
        return home if f"1 {TIMES} signature does not match" in home else None

    home = slack.wait_for(panel)

    assert "Delivery health" in home
    assert "Deliveries waiting: *0* · failed: *1*" in home
    assert "Last webhook:" in home
    assert "none received yet" not in home
    assert f"`call.missed` #{row_id}" in home
    assert "SlackApiError" in home  # its last error, as the worker stored it
    assert "status: 500" in home
    assert SIGNATURE_FIX in home
    [value] = replay_values(home_blocks(impatient, slack, ADMIN))
    assert CODEC.decode(value) == ButtonValue(delivery=str(row_id))


def test_a_non_admin_home_has_no_health_panel(
    impatient: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    park_one_failed(impatient, slack, db)
    send_with_wrong_secret(impatient)

    home = text_of(home_blocks(impatient, slack, "U0ALICE"))

    assert "Delivery health" not in home
    assert "signature does not match" not in home
    assert REPLAY not in home


def test_replay_queues_a_failed_delivery_which_reaches_slack_once(
    impatient: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    row_id = park_one_failed(impatient, slack, db)
    [value] = replay_values(home_blocks(impatient, slack, ADMIN))
    homes_before = len(slack.views_published(ADMIN))

    assert impatient.slack.home_action(REPLAY, value, user_id=ADMIN).status_code == 200

    slack.wait_for(lambda: states(db)[row_id] == DONE)
    dm = slack.wait_for(lambda: slack.messages(slack.im_channel(ADMIN)))
    assert f"Delivery #{row_id} is queued again" in dm[-1]["text"]
    assert len(slack.wait_for(lambda: slack.views_published(ADMIN)[homes_before:])) >= 1
    # A second click (or one on a stale Home) after it was delivered posts nothing more.
    impatient.slack.home_action(REPLAY, value, user_id=ADMIN)
    slack.wait_for(lambda: len(slack.messages(slack.im_channel(ADMIN))) == 2)
    settle()
    assert "isn't failed any more" in slack.messages(slack.im_channel(ADMIN))[-1]["text"]
    assert len(notifications(slack)) == 1
    assert states(db)[row_id] == DONE


def test_a_forged_replay_click_by_a_non_admin_changes_nothing(
    impatient: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    row_id = park_one_failed(impatient, slack, db)

    forged = json.dumps({"d": str(row_id)})
    assert impatient.slack.home_action(REPLAY, forged, user_id="U0ALICE").status_code == 200

    dm = slack.wait_for(lambda: slack.messages(slack.im_channel("U0ALICE")))
    assert "Only QTvoice admins can replay deliveries" in dm[-1]["text"]
    settle()
    assert states(db) == {row_id: FAILED}
    assert notifications(slack) == []


def test_the_panel_fits_slacks_limits_and_escapes_stored_errors(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    hostile = "<!channel> " + "x" * 5000
    with Session(db) as session:
        session.add_all(
            InboxEvent(
                event="call.missed",
                object_id=f"call_{n}",
                dedupe_key=f"call.missed:call_{n}",
                ordering_key=f"call:call_{n}",
                payload={},
                state=FAILED,
                attempts=8,
                last_error=hostile,
                finished_at=utcnow(),
            )
            for n in range(150)
        )
        session.commit()

    blocks = home_blocks(bot, slack, ADMIN)

    assert len(blocks) <= 100
    assert len(replay_values(blocks)) == 10
    home = text_of(blocks)
    assert "<!channel>" not in home
    assert "&lt;!channel&gt;" in home
    assert "The newest 10 of 150 failed deliveries" in home
    for block in blocks:
        text = (block.get("text") or {}).get("text") or ""
        assert len(text) <= 3000
