"""What Slack shows for each QTvoice event, through the path production takes.

Golden tests in the style of Zulip's integrations: the webhook envelope in
`tests/fixtures/qtvoice/<event>.json` is signed and POSTed to the running bot; the door parses
it, the inbox stores it, the worker claims it and the one dispatch table
(`bot.delivery.notifier.DISPATCH`) delivers it; what the Slack sandbox then shows must equal
`tests/fixtures/slack/<event>.json` (the message the event is about: its `text` and `blocks`).

A route asks for every kind of event on the fixtures' line, so live call cards and contact
changes are posted too; the deployment's TIMEZONE is New York, as in the fixtures.

After changing a layout on purpose, rewrite the expected files with

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_golden.py tests/slack/test_blocks.py

and read the diff line by line before committing: the committed files are checked by hand,
so a golden file that was merely regenerated proves nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.delivery.notifier import DISPATCH
from bot.qtvoice.events import CANARY_EVENT, KNOWN_EVENTS
from bot.sandbox.samples import EVENT_TYPES, MAIN_LINE
from bot.sandbox.slack import SlackRecorder
from bot.slack.blocks.kit import Message
from bot.store.db import sync_url
from bot.store.deliveries import DONE
from bot.store.models import InboxEvent, Route
from tests.conftest import ADMIN, RunningBot, start_bot
from tests.helpers.block_kit import assert_fits_block_kit

FIXTURES = Path(__file__).resolve().parent / "fixtures"
WEBHOOKS = FIXTURES / "qtvoice"
GOLDEN = FIXTURES / "slack"
CHANNEL = "C0GOLDEN"
#: Texts open their conversation's thread first: the parent, then the text in it.
MESSAGES_SHOWN = {event: 2 if event.startswith("sms.") else 1 for event in EVENT_TYPES}


@pytest.fixture
def golden_bot(settings: Settings, slack: SlackRecorder, db: Engine) -> Iterator[RunningBot]:
    """The bot in New York time, with a route asking for every kind of event on our line."""
    new_york = settings.model_copy(update={"timezone": "America/New_York"})
    with Session(db) as session:
        every_kind = ",".join(sorted(KNOWN_EVENTS))
        session.add(
            Route(target=MAIN_LINE, channel_id=CHANNEL, event_kinds=every_kind, created_by=ADMIN)
        )
        session.commit()
    running = start_bot(new_york, slack)
    yield running
    running.stop()


def webhook(event: str) -> dict[str, Any]:
    return dict(json.loads((WEBHOOKS / f"{event}.json").read_text()))


def delivered(bot: RunningBot) -> list[str]:
    engine = create_engine(sync_url(bot.settings.database_url))
    try:
        with Session(engine) as session:
            return list(session.scalars(select(InboxEvent.state)))
    finally:
        engine.dispose()


def test_every_event_type_has_a_handler_and_a_fixture() -> None:
    # And the canary's own synthetic event (bot.ops.canary), which QTvoice never sends.
    assert set(DISPATCH) == KNOWN_EVENTS | {CANARY_EVENT}
    assert set(EVENT_TYPES) == KNOWN_EVENTS
    assert {path.stem for path in WEBHOOKS.glob("*.json")} == KNOWN_EVENTS


@pytest.mark.parametrize("event", EVENT_TYPES)
def test_webhook_event_shows_its_golden_message_in_slack(
    golden_bot: RunningBot, slack: SlackRecorder, event: str
) -> None:
    envelope = webhook(event)
    assert envelope["event"] == event

    response = golden_bot.send_envelope(envelope)
    assert response.status_code == 200, response.text
    slack.wait_for(lambda: delivered(golden_bot) == [DONE])

    shown = slack.messages(CHANNEL)
    assert len(shown) == MESSAGES_SHOWN[event]
    if len(shown) == 2:
        parent, reply = shown
        assert reply["thread_ts"] == parent["ts"]
    message = Message(text=shown[-1]["text"], blocks=shown[-1]["blocks"])
    assert_fits_block_kit(message)
    assert_golden(event, message)


def assert_golden(name: str, message: Message) -> None:
    path = GOLDEN / f"{name}.json"
    actual = message.as_kwargs()
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n")
    assert actual == json.loads(path.read_text())
