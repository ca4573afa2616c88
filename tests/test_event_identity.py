"""Which event is which, through real HTTP: a redelivery that tells more is taken, a true
repeat is not, and a voicemail's own id (never a call id it shares) decides which it is."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.sandbox.samples import EVENT_TYPES, SAMPLE_TRANSCRIPTION, iso_timestamp, sample_event
from bot.sandbox.slack import SlackRecorder
from tests.conftest import NOTIFY_CHANNEL, RunningBot
from tests.helpers.database import delivered

#: Fields an event of each type may lack at first and carry when QTvoice sends it again.
ADDED_LATER = {
    "call.incoming": "extensionId",
    "call.answered": "answeredAt",
    "call.completed": "endedAt",
    "call.missed": "from",
    "call.voicemail": "recordingUrl",
    "sms.received": "message",
    "sms.sent": "message",
    "sms.delivered": "message",
    "voicemail.new": "recordingUrl",
    "voicemail.transcribed": "transcription",
    "contact.created": "email",
    "contact.updated": "notes",
}


def shown(message: dict[str, Any]) -> str:
    return json.dumps({"text": message.get("text"), "blocks": message.get("blocks")})


def top_level(slack: SlackRecorder) -> list[dict[str, Any]]:
    return [m for m in slack.messages(NOTIFY_CHANNEL) if m["thread_ts"] in (None, m["ts"])]


# A redelivery that carries more


@pytest.mark.parametrize("event", EVENT_TYPES)
def test_a_redelivery_that_fills_a_field_is_taken_and_a_true_repeat_is_not(
    bot: RunningBot, event: str
) -> None:
    field = ADDED_LATER[event]
    fuller = sample_event(event)
    fuller["data"].setdefault(field, "+12155550123" if field == "from" else "filled later")
    first = {**fuller, "data": {k: v for k, v in fuller["data"].items() if k != field}}

    answers = [bot.send_envelope(envelope).json()["status"] for envelope in (first, fuller)]
    # Rebuilt again: a new createdAt and envelope time, nothing more.
    rebuilt = {**fuller, "timestamp": "2030-01-01T00:00:00Z"}
    if "createdAt" in fuller["data"]:
        rebuilt["data"] = {**fuller["data"], "createdAt": iso_timestamp()}
    answers += [bot.send_envelope(envelope).json()["status"] for envelope in (rebuilt, first)]

    assert answers == ["accepted", "accepted", "duplicate", "duplicate"]


def test_a_voicemail_sent_again_with_its_transcript_updates_the_message(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    first = sample_event("voicemail.new")
    bot.send_envelope(first)
    slack.wait_for(lambda: delivered(db) == 1)
    [posted] = top_level(slack)
    assert "Transcribing" in shown(posted)

    again = {**first, "timestamp": iso_timestamp()}
    again["data"] = {**first["data"], "createdAt": iso_timestamp(), "transcription": "Call me"}
    assert bot.send_envelope(again).json()["status"] == "accepted"
    slack.wait_for(lambda: delivered(db) == 2)

    [message] = top_level(slack)
    assert "Call me" in shown(message)
    assert "Transcribing" not in shown(message)
    assert len(slack.calls("chat.postMessage", ok=True)) == 1


# Ids that are not unique


@pytest.mark.parametrize("call_id", ["0", "-1", "+12155551234", "call_shared"])
def test_two_voicemails_naming_one_call_id_stay_two_with_their_own_transcripts(
    bot: RunningBot, slack: SlackRecorder, db: Engine, call_id: str
) -> None:
    voicemails = {"vm_ann": "Ann here, call me", "vm_bob": "Bob here, never mind"}
    for vm_id in voicemails:
        bot.send("voicemail.new", id=vm_id, callId=call_id, transcription=None)
    bot.send("call.voicemail", id=call_id, voicemailId="vm_bob")
    for vm_id, transcript in voicemails.items():
        bot.send("voicemail.transcribed", id=vm_id, callId=call_id, transcription=transcript)
    slack.wait_for(lambda: delivered(db) == 5)

    messages = top_level(slack)
    assert len(messages) == 2
    for transcript in voicemails.values():
        [holder] = [message for message in messages if transcript in shown(message)]
        others = [t for t in voicemails.values() if t != transcript]
        assert not any(other in shown(holder) for other in others)


def test_a_call_event_names_the_voicemail_its_call_left_first(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    # The usual order still makes one message: the call, then its voicemail, its transcript.
    bot.send("call.voicemail", id="call_1", voicemailId=None)
    bot.send("voicemail.new", id="vm_1", callId="call_1", transcription=None)
    bot.send("voicemail.transcribed", id="vm_1", transcription=SAMPLE_TRANSCRIPTION)
    slack.wait_for(lambda: delivered(db) == 3)

    [message] = top_level(slack)
    assert SAMPLE_TRANSCRIPTION[:20] in shown(message)
