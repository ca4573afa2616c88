"""From a stored webhook to Slack, through real HTTP: the bot, the QTvoice sandbox, the recorder.

Each test sends signed webhooks to the running bot and asserts on what reached the Slack
recorder (and the QTvoice sandbox, and the database): posted once whatever is redelivered,
retried or restarted; updated in place; threaded per conversation; routed; escaped.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.delivery.poster import METADATA_EVENT
from bot.sandbox.qtvoice import JANE_ROE, JOHN_DOE, STRANGER, QTvoiceSandbox
from bot.sandbox.samples import MAIN_LINE, sample_event
from bot.sandbox.slack import RecordedCall, SlackRecorder
from bot.store.deliveries import DONE, FAILED, PENDING
from bot.store.models import (
    Base,
    ExtensionLink,
    InboxEvent,
    OptOut,
    PostedMessage,
    Route,
    utcnow,
)
from bot.store.routes import parse_kinds
from tests.conftest import ADMIN, BOT_TOKEN, NOTIFY_CHANNEL, RunningBot, start_bot
from tests.helpers.cli import run_cli
from tests.helpers.waits import settle

SALES = "C0SALES"
TRANSCRIPT = "Hi, it's John from Acme, please call me back about the quote."
HOSTILE_TEXT = "<!channel> hi <@U123>"
ESCAPED_TEXT = "&lt;!channel&gt; hi &lt;@U123&gt;"


# Helpers


@contextlib.contextmanager
def running(
    settings: Settings, slack: SlackRecorder, *, run_worker: bool = True
) -> Iterator[RunningBot]:
    bot = start_bot(settings, slack, run_worker=run_worker)
    try:
        yield bot
    finally:
        bot.stop()


def insert(db: Engine, *rows: Base) -> None:
    with Session(db) as session:
        session.add_all(rows)
        session.commit()


def inbox_states(db: Engine) -> list[str]:
    """The state of every stored event, oldest first."""
    with Session(db) as session:
        return list(session.scalars(select(InboxEvent.state).order_by(InboxEvent.id)))


def wait_until_delivered(slack: SlackRecorder, db: Engine, count: int) -> None:
    slack.wait_for(lambda: inbox_states(db).count(DONE) >= count)


def ok_posts(slack: SlackRecorder, channel: str | None = None) -> list[RecordedCall]:
    return [
        call
        for call in slack.calls("chat.postMessage", ok=True)
        if channel is None or call.args["channel"] == channel
    ]


def ok_updates(slack: SlackRecorder) -> list[RecordedCall]:
    return slack.calls("chat.update", ok=True)


def top_level(slack: SlackRecorder, channel: str) -> list[dict[str, Any]]:
    return [m for m in slack.messages(channel) if m["thread_ts"] in (None, m["ts"])]


def replies(slack: SlackRecorder, channel: str, parent_ts: str) -> list[dict[str, Any]]:
    return [m for m in slack.thread(channel, parent_ts) if m["ts"] != parent_ts]


def shown(message: dict[str, Any]) -> str:
    """Everything a message shows (fallback text and blocks), to search in."""
    return json.dumps({"text": message.get("text"), "blocks": message.get("blocks")})


def has_button(message: dict[str, Any], action_id: str) -> bool:
    return f'"action_id": "{action_id}"' in shown(message)


# Redelivery


@pytest.mark.parametrize("event", ["call.missed", "voicemail.transcribed", "sms.received"])
def test_redelivery_under_a_new_delivery_id_posts_nothing_new(
    bot: RunningBot, slack: SlackRecorder, db: Engine, event: str
) -> None:
    envelope = sample_event(event)
    bot.send_envelope(envelope)
    wait_until_delivered(slack, db, 1)
    calls_after_first = len(slack.calls())

    # QTvoice serialises the same event again, later, under a delivery id of its own.
    redelivered = {**envelope, "timestamp": "2030-01-01T00:00:00Z"}
    response = bot.send_envelope(redelivered, delivery_id="dlv_redelivered")
    settle()

    assert response.status_code == 200
    assert response.json()["status"] == "duplicate"
    assert len(slack.calls()) == calls_after_first


# Voicemail


def test_voicemail_then_transcript_is_one_message_updated_in_place(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    bot.send("call.voicemail", id="call_vm", voicemailId="vm_1")
    bot.send("voicemail.new", id="vm_1", callId="call_vm", transcription=None)
    wait_until_delivered(slack, db, 2)
    first = ok_posts(slack)[0]
    assert "Transcribing" in shown(first.args)

    bot.send("voicemail.transcribed", id="vm_1", callId="call_vm", transcription=TRANSCRIPT)
    wait_until_delivered(slack, db, 3)

    assert len(ok_posts(slack)) == 1
    assert ok_updates(slack)[-1].args["ts"] == first.response["ts"]
    [message] = top_level(slack, NOTIFY_CHANNEL)
    assert TRANSCRIPT in shown(message)
    assert "Transcribing" not in shown(message)


def test_transcript_before_voicemail_new_is_one_message_that_keeps_the_transcript(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    bot.send("voicemail.transcribed", id="vm_2", callId="call_vm2", transcription=TRANSCRIPT)
    slack.wait_for(lambda: ok_posts(slack))

    bot.send("voicemail.new", id="vm_2", callId="call_vm2", transcription=None)
    bot.send("call.voicemail", id="call_vm2", voicemailId="vm_2")
    wait_until_delivered(slack, db, 3)

    assert len(ok_posts(slack)) == 1
    every_version = [call.args for call in ok_posts(slack) + ok_updates(slack)]
    assert all("Transcribing" not in shown(version) for version in every_version)
    [message] = top_level(slack, NOTIFY_CHANNEL)
    assert TRANSCRIPT in shown(message)


def test_transcript_naming_only_the_voicemail_updates_the_same_message(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    bot.send("call.voicemail", id="call_vm3", voicemailId="vm_3")
    wait_until_delivered(slack, db, 1)
    [first] = ok_posts(slack)

    transcript_only = {"id": "vm_3", "transcription": TRANSCRIPT}
    bot.send_envelope({"event": "voicemail.transcribed", "data": transcript_only})
    wait_until_delivered(slack, db, 2)

    assert len(ok_posts(slack)) == 1
    assert ok_updates(slack)[-1].args["ts"] == first.response["ts"]
    [message] = top_level(slack, NOTIFY_CHANNEL)
    assert TRANSCRIPT in shown(message)


def test_voicemail_events_naming_different_ids_in_any_order_are_one_message(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    # The transcript names only the voicemail, the call event only the call; the
    # voicemail.new between them names both.
    bot.send_envelope(
        {"event": "voicemail.transcribed", "data": {"id": "vm_4", "transcript": TRANSCRIPT}}
    )
    bot.send("voicemail.new", id="vm_4", callId="call_vm4", transcription=None)
    bot.send_envelope({"event": "call.voicemail", "data": {"id": "call_vm4", "duration": 12}})
    wait_until_delivered(slack, db, 3)

    assert len(ok_posts(slack)) == 1
    [message] = top_level(slack, NOTIFY_CHANNEL)
    assert TRANSCRIPT in shown(message)
    assert "0:12" in shown(message)
    with Session(db) as session:
        assert len(set(session.scalars(select(InboxEvent.ordering_key)))) == 1


def test_events_of_one_new_voicemail_arriving_together_are_one_message(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    pairs = [(f"call_race_{n}", f"vm_race_{n}") for n in range(5)]
    envelopes = [
        envelope
        for call_id, vm_id in pairs
        for envelope in (
            {"event": "call.voicemail", "data": {"id": call_id, "voicemailId": vm_id}},
            {"event": "voicemail.transcribed", "data": {"id": vm_id, "transcript": TRANSCRIPT}},
        )
    ]
    with ThreadPoolExecutor(max_workers=len(envelopes)) as pool:
        responses = list(pool.map(bot.send_envelope, envelopes))

    assert [response.status_code for response in responses] == [200] * len(envelopes)
    wait_until_delivered(slack, db, len(envelopes))
    assert len(top_level(slack, NOTIFY_CHANNEL)) == len(pairs)
    assert all(TRANSCRIPT in shown(message) for message in top_level(slack, NOTIFY_CHANNEL))


# Odd input


@pytest.mark.parametrize(
    ("event", "odd"),
    [
        ("call.missed", {"from": ["+12155551234"], "duration": ["37"], "createdAt": True}),
        ("voicemail.new", {"duration": {"s": 3}, "transcription": True, "isRead": "no"}),
        ("sms.received", {"message": True, "to": 5, "createdAt": [2024]}),
        ("contact.updated", {"first_name": ["Ann"], "phone": {}, "updatedAt": "soon"}),
    ],
    ids=["call", "voicemail", "sms", "contact"],
)
def test_fields_of_the_wrong_type_are_read_as_absent_and_the_event_is_delivered(
    bot: RunningBot, slack: SlackRecorder, db: Engine, event: str, odd: dict[str, Any]
) -> None:
    response = bot.send(event, **odd)

    assert response.status_code == 200
    wait_until_delivered(slack, db, 1)
    assert inbox_states(db) == [DONE]


def test_a_lone_surrogate_in_a_text_is_posted_as_a_replacement_character(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    bot.send("sms.received", from_=JOHN_DOE, message="Smile \ud83d please\u0000")
    wait_until_delivered(slack, db, 1)

    [parent] = top_level(slack, NOTIFY_CHANNEL)
    [text] = replies(slack, NOTIFY_CHANNEL, parent["ts"])
    assert "Smile \ufffd please" in text["text"]
    assert "\x00" not in text["text"]


def test_the_longest_ids_the_door_accepts_are_stored_by_every_table_they_reach(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    # 128 characters is the door's limit (qtvoice/events.ID_LIMIT); a column narrower than
    # that (the open item's extension id was 64) parked the event on PostgreSQL.
    longest = "e" * 128
    response = bot.send("call.missed", id="c" * 128, extensionId=longest)

    assert response.json()["status"] == "accepted"
    wait_until_delivered(slack, db, 1)
    assert inbox_states(db) == [DONE]


# Texts


def test_texts_from_two_customers_to_one_line_open_two_threads(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    bot.send("sms.received", from_=JOHN_DOE, message="From John")
    bot.send("sms.received", from_=JANE_ROE, message="From Jane")
    wait_until_delivered(slack, db, 2)

    parents = top_level(slack, NOTIFY_CHANNEL)
    assert len(parents) == 2
    threads = {
        parent["ts"]: [reply["text"] for reply in replies(slack, NOTIFY_CHANNEL, parent["ts"])]
        for parent in parents
    }
    assert sorted(len(texts) for texts in threads.values()) == [1, 1]
    john, jane = (next(p for p in parents if name in p["text"]) for name in ("John", "Jane"))
    assert "From John" in threads[john["ts"]][0]
    assert "From Jane" in threads[jane["ts"]][0]


def test_second_text_from_the_same_number_lands_in_its_thread(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    bot.send("sms.received", from_=JOHN_DOE, message="First")
    wait_until_delivered(slack, db, 1)
    bot.send("sms.received", from_=JOHN_DOE, message="Second")
    wait_until_delivered(slack, db, 2)

    [parent] = top_level(slack, NOTIFY_CHANNEL)
    texts = [reply["text"] for reply in replies(slack, NOTIFY_CHANNEL, parent["ts"])]
    assert len(texts) == 2
    assert "First" in texts[0]
    assert "Second" in texts[1]


def test_outbound_text_state_is_updated_in_place_in_its_thread(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    bot.send("sms.sent", id="sms_out", message="On its way")
    wait_until_delivered(slack, db, 1)
    [parent] = top_level(slack, NOTIFY_CHANNEL)
    [sent] = replies(slack, NOTIFY_CHANNEL, parent["ts"])
    assert sent["text"].startswith("Text sent")

    bot.send("sms.delivered", id="sms_out", message="On its way")
    wait_until_delivered(slack, db, 2)

    [delivered] = replies(slack, NOTIFY_CHANNEL, parent["ts"])
    assert delivered["ts"] == sent["ts"]
    assert delivered["text"].startswith("Text delivered")
    assert len(ok_posts(slack)) == 2


def test_late_sent_after_delivered_does_not_regress(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    bot.send("sms.delivered", id="sms_late", message="On its way")
    wait_until_delivered(slack, db, 1)
    bot.send("sms.sent", id="sms_late", message="On its way")
    wait_until_delivered(slack, db, 2)

    [parent] = top_level(slack, NOTIFY_CHANNEL)
    [text] = replies(slack, NOTIFY_CHANNEL, parent["ts"])
    assert text["text"].startswith("Text delivered")
    every_version = [call.args for call in ok_posts(slack) + ok_updates(slack)]
    assert not any(version["text"].startswith("Text sent") for version in every_version)


# STOP and START


def opted_out(db: Engine, number: str) -> bool:
    with Session(db) as session:
        return session.get(OptOut, number) is not None


def test_inbound_stop_opts_the_number_out_and_says_so_in_the_thread(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    bot.send("sms.received", from_=JOHN_DOE, message="Hello")
    wait_until_delivered(slack, db, 1)
    [parent] = top_level(slack, NOTIFY_CHANNEL)
    assert has_button(parent, "sms_reply")

    bot.send("sms.received", from_=JOHN_DOE, message="stop")
    wait_until_delivered(slack, db, 2)

    assert opted_out(db, JOHN_DOE)
    notice = replies(slack, NOTIFY_CHANNEL, parent["ts"])[-1]
    assert "STOP" in notice["text"]
    assert "opted out" in notice["text"]
    [parent] = top_level(slack, NOTIFY_CHANNEL)
    assert parent["edited"] is not None
    assert not has_button(parent, "sms_reply")


def test_inbound_start_opts_the_number_back_in(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    bot.send("sms.received", from_=JOHN_DOE, message="STOP")
    wait_until_delivered(slack, db, 1)
    assert opted_out(db, JOHN_DOE)

    bot.send("sms.received", from_=JOHN_DOE, message="Start")
    wait_until_delivered(slack, db, 2)

    assert not opted_out(db, JOHN_DOE)
    [parent] = top_level(slack, NOTIFY_CHANNEL)
    notice = replies(slack, NOTIFY_CHANNEL, parent["ts"])[-1]
    assert "opted back in" in notice["text"]
    assert has_button(parent, "sms_reply")


# Slack failing


def test_slack_500s_then_recovery_posts_exactly_once(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    slack.fail_next("chat.postMessage", status=500, count=3)

    bot.send("call.missed")
    wait_until_delivered(slack, db, 1)
    settle()

    assert len(slack.calls("chat.postMessage", ok=False)) == 3
    assert len(ok_posts(slack)) == 1
    assert len(top_level(slack, NOTIFY_CHANNEL)) == 1


def test_slack_429_retry_after_is_honoured_then_posts_once(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    retry_after = 1
    slack.fail_next("chat.postMessage", status=429, retry_after=retry_after)

    def calls_to_the_channel() -> list[RecordedCall]:
        return [call for call in slack.calls() if call.args.get("channel") == NOTIFY_CHANNEL]

    bot.send("call.missed")
    slack.wait_for(lambda: slack.calls("chat.postMessage", ok=False))
    limited_at, calls_when_limited = time.monotonic(), len(calls_to_the_channel())
    slack.wait_for(lambda: len(calls_to_the_channel()) > calls_when_limited)
    next_call_at = time.monotonic()
    wait_until_delivered(slack, db, 1)
    settle()

    # Margin for the recorder's polling; a retry ignoring Retry-After comes within ~0.1 s.
    assert next_call_at - limited_at >= retry_after - 0.1
    assert len(ok_posts(slack)) == 1


# Restarts and lost answers


def test_event_stored_while_no_worker_runs_is_posted_once_after_a_restart(
    settings: Settings, slack: SlackRecorder, db: Engine
) -> None:
    with running(settings, slack, run_worker=False) as web_only:
        assert web_only.send("call.missed").status_code == 200
    assert inbox_states(db) == [PENDING]
    assert ok_posts(slack) == []

    with running(settings, slack):
        wait_until_delivered(slack, db, 1)
        settle()

    assert len(ok_posts(slack)) == 1


def test_event_leased_by_a_worker_that_died_is_posted_when_its_lease_runs_out(
    settings: Settings, slack: SlackRecorder, db: Engine
) -> None:
    with running(settings, slack, run_worker=False) as web_only:
        web_only.send("call.missed")
    lease_ends = utcnow() + timedelta(seconds=1)
    with db.begin() as connection:
        connection.execute(
            update(InboxEvent).values(locked_by="died:1:abc", locked_until=lease_ends)
        )

    with running(settings, slack):
        slack.wait_for(lambda: ok_posts(slack))
        posted_by = utcnow()
        settle()

    assert posted_by > lease_ends
    assert len(ok_posts(slack)) == 1


def post_as_the_bot(slack: SlackRecorder, channel: str, text: str, ref: str) -> str:
    """A post that reached Slack carrying the bot's identity metadata; its ts."""
    response = httpx.post(
        f"{slack.api_url}chat.postMessage",
        headers={"Authorization": f"Bearer {BOT_TOKEN}"},
        json={
            "channel": channel,
            "text": text,
            "metadata": {"event_type": METADATA_EVENT, "event_payload": {"ref": ref}},
        },
    )
    return str(response.json()["ts"])


def test_post_that_landed_but_whose_answer_was_lost_is_adopted_not_repeated(
    settings: Settings, slack: SlackRecorder, db: Engine
) -> None:
    # What an attempt that died waiting for Slack's answer leaves: the intent, and the post.
    insert(db, PostedMessage(kind="missed_call", key="call_lost", channel_id=NOTIFY_CHANNEL))
    landed_ts = post_as_the_bot(slack, NOTIFY_CHANNEL, "Missed call", "missed_call:call_lost")

    with running(settings, slack) as bot:
        bot.send("call.missed", id="call_lost")
        wait_until_delivered(slack, db, 1)

    assert len(slack.calls("chat.postMessage")) == 1
    assert [message["ts"] for message in top_level(slack, NOTIFY_CHANNEL)] == [landed_ts]
    with Session(db) as session:
        assert session.scalar(select(PostedMessage.ts)) == landed_ts


def test_two_workers_post_each_of_twenty_events_exactly_once(
    bot: RunningBot, settings: Settings, slack: SlackRecorder, db: Engine
) -> None:
    with running(settings, slack) as second:
        for number in range(20):
            receiver = bot if number % 2 else second
            receiver.send("call.missed", id=f"call_pair_{number}")
        wait_until_delivered(slack, db, 20)
        settle()

    refs = [post.args["metadata"]["event_payload"]["ref"] for post in ok_posts(slack)]
    assert sorted(refs) == sorted(f"missed_call:call_pair_{number}" for number in range(20))


# Contacts


def test_failed_contact_lookup_still_notifies_with_the_number(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox
) -> None:
    qtvoice.state.fail_next("GET", "/contacts/lookup", 500, count=10)

    bot.send("call.missed", from_=JOHN_DOE)
    post = slack.wait_for(lambda: ok_posts(slack)[0])

    assert qtvoice.state.requests("GET", "/contacts/lookup")
    assert "(215) 555-1234" in post.args["text"]
    assert "John Doe" not in post.args["text"]


def test_burst_of_calls_from_one_number_costs_one_lookup(
    bot: RunningBot, slack: SlackRecorder, db: Engine, qtvoice: QTvoiceSandbox
) -> None:
    for _ in range(5):
        bot.send("call.missed", from_=JOHN_DOE)
    wait_until_delivered(slack, db, 5)

    assert len(ok_posts(slack)) == 5
    assert all("John Doe" in post.args["text"] for post in ok_posts(slack))
    assert len(qtvoice.state.requests("GET", "/contacts/lookup")) == 1


def test_contact_update_refreshes_the_cached_name_without_a_new_lookup(
    bot: RunningBot, slack: SlackRecorder, db: Engine, qtvoice: QTvoiceSandbox
) -> None:
    bot.send("call.missed", from_=JOHN_DOE)
    wait_until_delivered(slack, db, 1)
    bot.send(
        "contact.updated",
        id="contact_1",
        first_name="Johnny",
        last_name="Doe",
        company="Acme Inc",
        phone=JOHN_DOE,
    )
    wait_until_delivered(slack, db, 2)

    bot.send("call.missed", from_=JOHN_DOE)
    wait_until_delivered(slack, db, 3)

    first, second = ok_posts(slack)
    assert "John Doe" in first.args["text"]
    assert "Johnny Doe" in second.args["text"]
    assert len(qtvoice.state.requests("GET", "/contacts/lookup")) == 1


# Routes


def test_route_for_a_number_sends_its_events_to_its_channel(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    insert(db, Route(target=MAIN_LINE, channel_id=SALES, created_by=ADMIN))

    bot.send("call.missed", to=MAIN_LINE)
    wait_until_delivered(slack, db, 1)

    assert [post.args["channel"] for post in ok_posts(slack)] == [SALES]


def test_route_kinds_leave_other_kinds_to_the_notify_channel(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    texts_only = ",".join(parse_kinds(["sms"]) or ())
    insert(db, Route(target=MAIN_LINE, channel_id=SALES, event_kinds=texts_only, created_by=ADMIN))

    bot.send("sms.received", to=MAIN_LINE)
    bot.send("call.missed", to=MAIN_LINE)
    wait_until_delivered(slack, db, 2)

    [conversation] = top_level(slack, SALES)
    assert len(replies(slack, SALES, conversation["ts"])) == 1
    [missed_call] = slack.messages(NOTIFY_CHANNEL)
    assert missed_call["text"].startswith("Missed call")


def test_live_call_card_is_off_by_default(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    bot.send("call.incoming", id="call_live")
    bot.send("call.answered", id="call_live")
    wait_until_delivered(slack, db, 2)

    assert ok_posts(slack) == []


def test_live_call_card_follows_the_call_in_place_when_a_route_asks(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    live = ",".join(parse_kinds(["live"]) or ())
    insert(db, Route(target=MAIN_LINE, channel_id=SALES, event_kinds=live, created_by=ADMIN))

    bot.send("call.incoming", id="call_card")
    wait_until_delivered(slack, db, 1)
    [card] = top_level(slack, SALES)
    assert card["text"].startswith("Ringing")

    bot.send("call.answered", id="call_card")
    wait_until_delivered(slack, db, 2)
    assert slack.message(SALES, card["ts"])["text"].startswith("On the call")

    bot.send("call.completed", id="call_card", duration=145)
    wait_until_delivered(slack, db, 3)

    assert len(ok_posts(slack)) == 1
    assert [update.args["ts"] for update in ok_updates(slack)] == [card["ts"]] * 2
    assert slack.message(SALES, card["ts"])["text"].startswith("Ended · 2:25")


# Direct messages


def test_linked_extension_gets_the_missed_call_by_dm_too(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    insert(db, ExtensionLink(slack_user_id="U0ALICE", extension_id="ext_101", linked_by=ADMIN))

    bot.send("call.missed", extensionId="ext_101")
    wait_until_delivered(slack, db, 1)

    [opened] = slack.calls("conversations.open", ok=True)
    assert opened.args["users"] == "U0ALICE"
    channels = [post.args["channel"] for post in ok_posts(slack)]
    assert sorted(channels) == sorted([NOTIFY_CHANNEL, slack.im_channel("U0ALICE")])
    assert "Missed call" in slack.messages("U0ALICE")[0]["text"]


def test_a_user_slack_will_not_dm_does_not_keep_the_missed_call_from_the_channel(
    bot: RunningBot, slack: SlackRecorder, db: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    insert(
        db,
        ExtensionLink(slack_user_id="U0ALICE", extension_id="ext_101", linked_by=ADMIN),
        ExtensionLink(slack_user_id="U0BOB", extension_id="ext_101", linked_by=ADMIN),
    )
    slack.refuse_dms("U0ALICE")  # deactivated: Slack answers user_disabled, for good

    bot.send("call.missed", id="call_first", extensionId="ext_101")
    bot.send("call.missed", id="call_second", extensionId="ext_101")
    wait_until_delivered(slack, db, 2)

    assert inbox_states(db) == [DONE, DONE]
    assert len(ok_posts(slack, NOTIFY_CHANNEL)) == 2
    assert len(ok_posts(slack, slack.im_channel("U0BOB"))) == 2
    assert not ok_posts(slack, slack.im_channel("U0ALICE"))
    refusals = [r.getMessage() for r in caplog.records if "will not open a DM" in r.getMessage()]
    assert len(refusals) == 1
    assert "U0ALICE" not in refusals[0]


def test_a_dm_that_fails_for_now_is_retried_without_posting_the_channel_again(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    insert(db, ExtensionLink(slack_user_id="U0ALICE", extension_id="ext_101", linked_by=ADMIN))
    slack.fail_next("conversations.open", status=503)

    bot.send("call.missed", extensionId="ext_101")
    wait_until_delivered(slack, db, 1)

    assert len(ok_posts(slack, NOTIFY_CHANNEL)) == 1
    assert len(ok_posts(slack, slack.im_channel("U0ALICE"))) == 1
    # The channel was posted on the first attempt, before the DM failed.
    calls = slack.calls()
    [first_post] = ok_posts(slack, NOTIFY_CHANNEL)
    [failed_open] = slack.calls("conversations.open", ok=False)
    assert calls.index(first_post) < calls.index(failed_open)


# Dead letters


def test_event_failing_past_max_attempts_is_parked_listed_and_replayed_once(
    settings: Settings, slack: SlackRecorder, db: Engine, tmp_path: Path
) -> None:
    impatient = settings.model_copy(update={"delivery_max_attempts": 2})
    slack.fail_next("chat.postMessage", status=500, count=2)

    with running(impatient, slack) as bot:
        bot.send("call.missed", id="call_parked")
        slack.wait_for(lambda: inbox_states(db) == [FAILED])
        with Session(db) as session:
            row_id = session.scalar(select(InboxEvent.id))

        listed = run_cli(settings, tmp_path, "deliveries", "--failed")
        replayed = run_cli(settings, tmp_path, "replay", str(row_id))
        wait_until_delivered(slack, db, 1)
        settle()

    assert listed.returncode == 0, listed.stderr
    [row_line] = [line for line in listed.stdout.splitlines() if "call.missed" in line]
    assert row_line.split()[:2] == [str(row_id), FAILED]
    assert replayed.returncode == 0, replayed.stderr
    assert len(slack.calls("chat.postMessage", ok=False)) == 2
    assert len(ok_posts(slack)) == 1
    assert inbox_states(db) == [DONE]


# Escaping


@pytest.mark.parametrize(
    ("event", "hostile"),
    [
        ("sms.received", {"message": HOSTILE_TEXT}),
        ("voicemail.transcribed", {"transcription": HOSTILE_TEXT}),
    ],
    ids=["sms", "transcript"],
)
def test_caller_text_is_escaped_so_it_pings_nobody(
    bot: RunningBot, slack: SlackRecorder, db: Engine, event: str, hostile: dict[str, str]
) -> None:
    bot.send(event, **hostile)
    wait_until_delivered(slack, db, 1)

    written = json.dumps([call.args for call in ok_posts(slack) + ok_updates(slack)])
    assert "<!channel>" not in written
    assert "<@U123>" not in written
    assert ESCAPED_TEXT in written


def test_contact_name_is_escaped_so_it_pings_nobody(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox
) -> None:
    qtvoice.state.add_contact("<!here>", "Mallory", phone=STRANGER)

    bot.send("call.missed", from_=STRANGER)
    post = slack.wait_for(lambda: ok_posts(slack)[0])

    assert "<!here>" not in json.dumps(post.args)
    assert "&lt;!here&gt; Mallory" in post.args["text"]


def test_bot_joins_a_public_channel_it_was_not_invited_to_and_posts_once(
    bot: RunningBot, slack: SlackRecorder
) -> None:
    slack.remove_bot_from(NOTIFY_CHANNEL)

    bot.send("call.missed")

    slack.wait_for(lambda: len(slack.calls("chat.postMessage", ok=True)) == 1)
    assert [call.args["channel"] for call in slack.calls("conversations.join")] == [NOTIFY_CHANNEL]
    assert len(slack.messages(NOTIFY_CHANNEL)) == 1


def test_private_channel_without_the_bot_says_to_invite_it(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    with Session(db) as session:
        session.add(Route(target=MAIN_LINE, channel_id="G0PRIVATE", created_by="U0ADMIN"))
        session.commit()
    slack.remove_bot_from("G0PRIVATE")

    bot.send("call.missed", to=MAIN_LINE)

    def last_error() -> str | None:
        with Session(db) as session:
            return session.scalar(select(InboxEvent.last_error))

    assert "invite it there with /invite" in slack.wait_for(last_error)
    assert slack.calls("chat.postMessage", ok=True) == []


def test_receipt_overtaking_a_thread_reply_marks_the_reply_instead_of_copying_it(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    bot.send("sms.received", from_=JOHN_DOE, message="Open today?")
    wait_until_delivered(slack, db, 1)
    [parent] = top_level(slack, NOTIFY_CHANNEL)
    reply = slack.post_as_user(NOTIFY_CHANNEL, "Until 5", user_id="U0ALICE", thread_ts=parent["ts"])
    # The reply's text is with QTvoice, and its sms.sent receipt arrives before the bot
    # has recorded which text the reply became (the events listener's marker says so).
    sending = PostedMessage(
        kind="sms_reply_sending",
        key=reply["ts"],
        channel_id=NOTIFY_CHANNEL,
        ts=reply["ts"],
        thread_ts=parent["ts"],
    )
    insert(db, sending)
    posts_before = len(slack.calls("chat.postMessage", ok=True))

    bot.send("sms.sent", id="sms_from_reply", from_=MAIN_LINE, to=JOHN_DOE, message="Until 5")
    time.sleep(0.5)
    assert len(slack.calls("chat.postMessage", ok=True)) == posts_before

    with Session(db) as session:
        session.add(
            PostedMessage(
                kind="sms",
                key="sms_from_reply",
                channel_id=NOTIFY_CHANNEL,
                ts=reply["ts"],
                thread_ts=parent["ts"],
                state={"origin": "slack", "sent_by": "U0ALICE"},
            )
        )
        session.delete(session.merge(sending))
        session.commit()

    slack.wait_for(lambda: slack.calls("reactions.add", ok=True))
    assert slack.calls("reactions.add")[0].args["timestamp"] == reply["ts"]
    assert len(slack.calls("chat.postMessage", ok=True)) == posts_before
