"""Slack refusing a message for good, or answering with something that is not its JSON.

A refused message must not hold its conversation through eight backed-off retries: it goes
once more as plain text, and is parked at once only if that is refused too. An answer whose
body is not JSON is a passing failure like a 5xx: retried, then posted exactly once.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.delivery.poster import FALLBACK_TEXT_LIMIT, plain_fallback
from bot.sandbox.slack import SlackRecorder
from bot.slack.blocks.kit import escape_mrkdwn
from bot.store.deliveries import DONE, FAILED
from bot.store.models import InboxEvent
from tests.conftest import NOTIFY_CHANNEL, RunningBot

HOSTILE = "<!channel> pay now & <@U123>"


def rows(db: Engine) -> list[InboxEvent]:
    with Session(db) as session:
        return list(session.scalars(select(InboxEvent).order_by(InboxEvent.id)))


def states(db: Engine) -> list[str]:
    return [row.state for row in rows(db)]


def test_a_channel_refusing_blocks_gets_plain_text_at_once_and_the_thread_goes_on(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    slack.refuse_blocks(NOTIFY_CHANNEL)

    bot.send("sms.received", id="sms_one", message=HOSTILE)
    bot.send("sms.received", id="sms_two", message="second text")
    slack.wait_for(lambda: states(db) == [DONE, DONE])

    posted = slack.messages(NOTIFY_CHANNEL)
    assert len(posted) == 3  # the thread's parent, then each text once
    assert all(not message["blocks"] for message in posted)
    assert all(row.attempts == 0 for row in rows(db))
    first_text = posted[1]["text"]
    assert escape_mrkdwn("<!channel>") in first_text
    assert "<!channel>" not in first_text
    assert "second text" in posted[2]["text"]


def test_refused_in_plain_text_too_is_parked_at_once_and_the_next_text_goes_on(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    bot.send("sms.received", id="sms_first", message="opens the thread")
    slack.wait_for(lambda: states(db) == [DONE])
    slack.fail_next("chat.postMessage", error="invalid_arguments", count=2)

    bot.send("sms.received", id="sms_poison", message="refused for good")
    bot.send("sms.received", id="sms_after", message="comes after")
    slack.wait_for(lambda: states(db) == [DONE, FAILED, DONE])

    poisoned = rows(db)[1]
    assert poisoned.attempts == 1
    assert "invalid_arguments" in (poisoned.last_error or "")
    assert "comes after" in slack.messages(NOTIFY_CHANNEL)[-1]["text"]


@pytest.mark.parametrize("media_type", ["text/plain", "application/json"])
def test_an_answer_that_is_not_json_is_retried_like_a_5xx_and_posts_once(
    bot: RunningBot,
    slack: SlackRecorder,
    db: Engine,
    media_type: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    slack.fail_next(
        "chat.postMessage", status=502, raw_body="<html>502 Bad Gateway</html>", raw_type=media_type
    )

    bot.send("call.missed", id="call_unreadable")
    slack.wait_for(lambda: states(db) == [DONE])

    assert len(slack.calls("chat.postMessage", ok=True)) == 1
    assert len(slack.messages(NOTIFY_CHANNEL)) == 1
    retried = [r.getMessage() for r in caplog.records if "will be retried" in r.getMessage()]
    assert retried
    assert all("unreadable answer (HTTP 502)" in line for line in retried)
    assert "AttributeError" not in caplog.text


def test_an_update_slack_refuses_shows_the_plain_text_in_place(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    data = json.loads(bot.send("voicemail.new", transcription=None).request.content)["data"]
    slack.wait_for(lambda: states(db) == [DONE])
    slack.refuse_blocks(NOTIFY_CHANNEL)

    bot.send(
        "voicemail.transcribed",
        id=data["id"],
        callId=data["callId"],
        transcription="Please call back",
    )
    slack.wait_for(lambda: states(db) == [DONE, DONE])

    [message] = slack.messages(NOTIFY_CHANNEL)
    assert not message["blocks"]
    assert "Please call back" in message["text"]


@given(st.text(max_size=9000))
def test_plain_fallback_is_escaped_once_and_fits(text: str) -> None:
    rendered = escape_mrkdwn(text)
    fallback = plain_fallback(rendered)
    assert len(fallback) <= FALLBACK_TEXT_LIMIT
    assert "<" not in fallback
    assert ">" not in fallback
    if len(rendered) <= FALLBACK_TEXT_LIMIT and text.strip():
        assert fallback == escape_mrkdwn(text.strip())
