"""Voicemail recordings as audio files in their threads (UPLOAD_RECORDINGS), end to end:
a voicemail webhook in, the recording fetched from the QTvoice sandbox with the API key and
uploaded to the Slack sandbox in three steps, exactly once whatever answer is lost."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config import Settings
from bot.sandbox.qtvoice import QTvoiceSandbox
from bot.sandbox.slack import SlackRecorder
from tests.conftest import NOTIFY_CHANNEL, RunningBot

AUDIO = b"ID3" + bytes(range(256)) * 800  # about 200 KB: several chunks on the way


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"upload_recordings": True, "recording_max_mb": 1})


def recording_url(qtvoice: QTvoiceSandbox, name: str, audio: bytes = AUDIO) -> str:
    qtvoice.state.add_recording(name, audio)
    return f"{qtvoice.url}/recordings/{name}"


def files_in_thread(slack: SlackRecorder) -> list[dict[str, Any]]:
    parent = slack.messages(NOTIFY_CHANNEL)[0]
    return [
        file
        for message in slack.thread(NOTIFY_CHANNEL, parent["ts"])
        for file in message.get("files") or []
    ]


def test_a_recording_lands_once_as_a_file_in_the_thread_even_when_the_answer_is_lost(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox
) -> None:
    slack.lose_answer("files.completeUploadExternal")

    bot.send("voicemail.new", id="vm_lost", recordingUrl=recording_url(qtvoice, "vm_lost.mp3"))

    files = slack.wait_for(lambda: files_in_thread(slack))
    slack.wait_for(lambda: slack.calls("files.info", ok=True))
    assert len(slack.calls("files.completeUploadExternal")) == 1
    assert [file["title"] for file in files] == ["Voicemail recording.mp3"]
    assert slack.uploaded(files[0]["id"]) == AUDIO
    fetched = qtvoice.state.requests("GET", "/recordings/vm_lost.mp3")
    assert fetched
    assert fetched[0].headers["authorization"] == f"Bearer {qtvoice.api_key}"


def test_a_recording_over_the_limit_keeps_its_link_and_the_thread_says_why(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox
) -> None:
    big = recording_url(qtvoice, "vm_big.mp3", b"\0" * (1024 * 1024 + 1))

    bot.send("voicemail.new", id="vm_big", recordingUrl=big)

    parent = slack.wait_for(lambda: slack.messages(NOTIFY_CHANNEL))[0]
    note = slack.wait_for(lambda: slack.thread(NOTIFY_CHANNEL, parent["ts"])[1:])
    assert "over 1 MB" in note[0]["text"]
    assert "Listen" in str(parent["blocks"])
    assert not slack.calls("files.getUploadURLExternal")


def test_the_api_key_never_goes_to_a_link_outside_qtvoice(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox
) -> None:
    bot.send("voicemail.new", id="vm_elsewhere", recordingUrl="https://attacker.example/a.mp3")

    parent = slack.wait_for(lambda: slack.messages(NOTIFY_CHANNEL))[0]
    note = slack.wait_for(lambda: slack.thread(NOTIFY_CHANNEL, parent["ts"])[1:])
    assert "not on QTvoice" in note[0]["text"]


def test_a_recording_qtvoice_keeps_failing_to_hand_over_keeps_its_link_and_says_why(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox
) -> None:
    url = recording_url(qtvoice, "vm_flaky.mp3")
    qtvoice.state.fail_next("GET", "/recordings/vm_flaky.mp3", 503, count=50)

    bot.send("voicemail.new", id="vm_flaky", recordingUrl=url)

    parent = slack.wait_for(lambda: slack.messages(NOTIFY_CHANNEL))[0]
    note = slack.wait_for(lambda: slack.thread(NOTIFY_CHANNEL, parent["ts"])[1:])
    assert "QTvoice did not hand it over" in note[0]["text"]
    assert len(qtvoice.state.requests("GET", "/recordings/vm_flaky.mp3")) == 4
    assert not slack.calls("files.getUploadURLExternal")
