"""STOP and START hold the moment QTvoice is answered 200, and every texting party is its own.

Through real HTTP: signed webhooks into the bot, slash commands and thread replies as Slack
sends them, the QTvoice sandbox's request log for what was texted, the Slack recorder for what
was shown. While the Slack sandbox fails or rate-limits every call, the worker cannot post
anything, so whatever `/sms` refuses was decided at the door.
"""

from __future__ import annotations

import itertools
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from bot import consent
from bot.sandbox.qtvoice import QTvoiceSandbox
from bot.sandbox.samples import CUSTOMER_NUMBER, iso_timestamp, sample_event
from bot.sandbox.slack import SlackRecorder
from bot.store.models import InboxEvent, OptOut
from tests.conftest import NOTIFY_CHANNEL, RunningBot
from tests.helpers.database import delivered
from tests.helpers.waits import SETTLE_SECONDS
from tests.helpers.webhooks import inbound

OTHER_NUMBER = "+12155550199"


def opted_out(db: Engine, party: str) -> bool:
    with Session(db) as session:
        return session.get(OptOut, party) is not None


def texts_to(qtvoice: QTvoiceSandbox, party: str) -> list[Any]:
    return [r.json for r in qtvoice.state.requests("POST", "/sms") if r.json["to"] == party]


def sms(bot: RunningBot, text: str) -> str:
    """`/sms …` as the linked user: the bot's ephemeral answer."""
    answer = bot.command("/sms", text)
    assert answer["response_type"] == "ephemeral"
    return str(answer["text"])


SLACK_DOWN = {
    "failing": {"status": 503},
    "rate-limiting": {"status": 429, "retry_after": 3600},
}


@pytest.mark.parametrize("fault", SLACK_DOWN.values(), ids=SLACK_DOWN.keys())
def test_stop_refuses_texts_at_once_and_start_allows_them_whatever_slack_does(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox, db: Engine, fault: Any
) -> None:
    bot.link()
    slack.fail_next("*", count=10_000, **fault)

    inbound(bot, CUSTOMER_NUMBER, "Stop.")
    refused = sms(bot, f"{CUSTOMER_NUMBER} Your quote is ready")

    assert "opted out" in refused
    time.sleep(SETTLE_SECONDS)
    assert texts_to(qtvoice, CUSTOMER_NUMBER) == []
    assert not slack.calls("chat.postMessage", ok=True)

    inbound(bot, CUSTOMER_NUMBER, "start")
    sent = sms(bot, f"{CUSTOMER_NUMBER} Your quote is ready")

    assert "Text sent" in sent
    assert [t["message"] for t in texts_to(qtvoice, CUSTOMER_NUMBER)] == ["Your quote is ready"]


def test_a_later_start_wins_over_an_earlier_stop_the_worker_has_not_posted(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    slack.fail_next("*", count=10_000, status=500)

    for keyword in ("opt out", "UNSTOP", "QUIT!", "Yes"):
        inbound(bot, CUSTOMER_NUMBER, keyword)

    assert not opted_out(db, CUSTOMER_NUMBER)
    inbound(bot, CUSTOMER_NUMBER, "  Opt-Out ")
    assert opted_out(db, CUSTOMER_NUMBER)


def test_stop_is_still_told_in_the_thread_once_slack_is_back(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    slack.fail_next("chat.postMessage", count=3, status=500)

    inbound(bot, CUSTOMER_NUMBER, "STOP")

    assert opted_out(db, CUSTOMER_NUMBER)
    slack.wait_for(lambda: len(slack.messages(NOTIFY_CHANNEL)) >= 3)
    parent = slack.messages(NOTIFY_CHANNEL)[0]
    notice = slack.thread(NOTIFY_CHANNEL, parent["ts"])[-1]
    assert "opted out" in notice["text"]


# The newest word decides, whatever the order of arrival


def said(bot: RunningBot, party: str, message: str, at: datetime) -> dict[str, Any]:
    """`message` from `party` written at `at`, as QTvoice signs it; the envelope sent."""
    envelope = sample_event("sms.received", from_=party, message=message)
    envelope["data"]["createdAt"] = iso_timestamp(at)
    assert bot.send_envelope(envelope).json()["status"] == "accepted"
    return envelope


def test_a_captured_start_replayed_after_retention_does_not_undo_a_later_stop(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox, db: Engine
) -> None:
    bot.link()
    month_ago = datetime.now(UTC) - timedelta(days=31)
    captured = said(bot, CUSTOMER_NUMBER, "START", month_ago)
    slack.wait_for(lambda: delivered(db) == 1)  # delivered the day before the STOP came
    said(bot, CUSTOMER_NUMBER, "STOP", month_ago + timedelta(days=1))
    slack.wait_for(lambda: delivered(db) == 2)  # retention only forgets what was delivered
    with Session(db) as session:  # the 30-day retention forgets both deliveries
        session.execute(delete(InboxEvent))
        session.commit()

    replayed = bot.send_envelope(captured)
    said(bot, CUSTOMER_NUMBER, "YES", month_ago + timedelta(hours=1))  # delayed a month

    assert replayed.json()["status"] == "accepted"
    assert opted_out(db, CUSTOMER_NUMBER)
    assert "opted out" in sms(bot, f"{CUSTOMER_NUMBER} Welcome back!")
    time.sleep(SETTLE_SECONDS)
    assert texts_to(qtvoice, CUSTOMER_NUMBER) == []
    # The late YES is shown as the text it is, never as opting back in: only START was.
    slack.wait_for(lambda: delivered(db) == 2)
    opted_in = [m for m in slack.messages(NOTIFY_CHANNEL) if "opted back in" in m["text"]]
    assert [m["text"].split(" texted ")[1][:5] for m in opted_in] == ["START"]


WORDS = st.sampled_from(["STOP", "Start", "opt out", "UNSTOP", "quit", "yes"])
_parties = itertools.count(1000)


@settings(
    max_examples=25,
    database=None,
    # Each example speaks as a party of its own, so one bot serves them all.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    words=st.lists(st.tuples(WORDS, st.integers(0, 10_000)), min_size=1, max_size=5),
    order=st.randoms(use_true_random=False),
)
def test_the_newest_word_decides_whatever_the_order_of_arrival(
    bot: RunningBot, db: Engine, words: list[tuple[str, int]], order: Any
) -> None:
    party = f"+1215555{next(_parties):04d}"
    start = datetime(2026, 1, 1, tzinfo=UTC)
    arrivals = list(enumerate(words))
    order.shuffle(arrivals)
    for _, (word, seconds) in arrivals:
        said(bot, party, word, start + timedelta(seconds=seconds))

    # Of words said in the same second, the one that arrived last counts.
    newest = max(arrivals, key=lambda arrival: (arrival[1][1], arrivals.index(arrival)))
    assert opted_out(db, party) == consent.opts_out(consent.opt_keyword(newest[1][0]) or "")


# Parties that are not phone numbers

SENDERS = ("ACMEBANK", "PAYPAL", "72345")


def blocks_of(slack: SlackRecorder, ts: str) -> str:
    return json.dumps((slack.message(NOTIFY_CHANNEL, ts) or {}).get("blocks"))


def thread_of(slack: SlackRecorder, party: str) -> dict[str, Any]:
    return next(
        m
        for m in slack.messages(NOTIFY_CHANNEL)
        if party in m["text"] and m.get("thread_ts") in (None, m["ts"])
    )


def test_each_sender_id_and_short_code_is_its_own_conversation_with_its_own_opt_out(
    bot: RunningBot, slack: SlackRecorder, db: Engine
) -> None:
    for party in SENDERS:
        inbound(bot, party, f"Your code from {party} is 1234")
    inbound(bot, "ACMEBANK", "STOP")

    assert opted_out(db, "ACMEBANK")
    assert not opted_out(db, "PAYPAL")
    assert not opted_out(db, "72345")
    slack.wait_for(lambda: len(slack.messages(NOTIFY_CHANNEL)) >= 7)
    parents = [m for m in slack.messages(NOTIFY_CHANNEL) if m.get("thread_ts") in (None, m["ts"])]
    assert len(parents) == 3
    assert not any("Unknown caller" in m["text"] for m in slack.messages(NOTIFY_CHANNEL))
    for party in SENDERS:
        [parent] = [m for m in parents if party in m["text"]]
        replies = slack.thread(NOTIFY_CHANNEL, parent["ts"])
        assert any(f"from {party}" in m["text"] for m in replies)
        hint = "texted STOP" if party == "ACMEBANK" else "can't receive texts"
        slack.wait_for(lambda ts=parent["ts"], hint=hint: hint in blocks_of(slack, ts))


@pytest.mark.parametrize("party", SENDERS)
def test_a_thread_reply_to_a_party_that_cannot_be_texted_is_refused_with_the_reason(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox, party: str
) -> None:
    bot.link()
    inbound(bot, party, "Your parcel is on its way")
    slack.wait_for(lambda: len(slack.messages(NOTIFY_CHANNEL)) >= 2)
    parent = thread_of(slack, party)

    delivery = bot.slack.message_in_thread(NOTIFY_CHANNEL, parent["ts"], "Thanks!")

    assert delivery.status_code == 200
    reply_ts = json.loads(delivery.body)["event"]["ts"]
    [whisper] = slack.wait_for(
        lambda: [e for e in slack.ephemerals("U0ALICE") if e.get("thread_ts") == parent["ts"]]
    )
    assert "not texted" in whisper["text"]
    assert party in whisper["text"]
    assert ("short code" if party.isdecimal() else "sender name") in whisper["text"]
    reply = slack.message(NOTIFY_CHANNEL, reply_ts)
    assert reply is not None
    assert [r["name"] for r in reply["reactions"] or []] == ["warning"]
    assert qtvoice.state.requests("POST", "/sms") == []


def test_sms_to_a_short_code_is_refused_with_the_reason(
    bot: RunningBot, qtvoice: QTvoiceSandbox
) -> None:
    bot.link()

    refused = sms(bot, "72345 HELP")

    assert "72345" in refused
    assert "short code" in refused
    assert qtvoice.state.requests("POST", "/sms") == []
