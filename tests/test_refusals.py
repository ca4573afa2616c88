"""Refused webhooks are counted by kind, shown to admins with the fix, and never stored whole.

Requests go to the real app over HTTP; what it recorded is read back through `/qtvoice status`
and the `deliveries` command, as an admin would, or from the table when counting rows.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.qtvoice.signing import sign
from bot.qtvoice.webhooks import BAD_SIGNATURE, NO_SIGNATURE, STALE_TIMESTAMP, TOO_LARGE
from bot.runtime import Runtime
from bot.sandbox.samples import sample_event
from bot.sandbox.slack import SlackRecorder
from bot.scheduler import prune
from bot.store import refusals
from bot.store.db import sync_url
from bot.store.models import InboxEvent, WebhookRefusal, utcnow
from bot.store.refusals import Tally, hour_of
from bot.tls import client_context
from tests.conftest import ADMIN, WEBHOOK_SECRET, RunningBot, start_bot
from tests.helpers.cli import run_cli
from tests.helpers.webhooks import SIGNATURE_FIX, TIMES, post_raw, send_with_wrong_secret


def stored_refusals(settings: Settings) -> list[WebhookRefusal]:
    engine = create_engine(sync_url(settings.database_url))
    with Session(engine) as session:
        rows = list(session.scalars(select(WebhookRefusal).order_by(WebhookRefusal.kind)))
        session.expunge_all()
    engine.dispose()
    return rows


def inbox_rows(settings: Settings) -> int:
    engine = create_engine(sync_url(settings.database_url))
    with engine.connect() as connection:
        count = connection.scalar(select(func.count()).select_from(InboxEvent))
    engine.dispose()
    return int(count or 0)


def test_a_wrong_secret_is_counted_and_status_names_the_fix(
    bot: RunningBot, slack: SlackRecorder
) -> None:
    assert send_with_wrong_secret(bot).status_code == 401

    def refused_line() -> str | None:
        text = bot.command("/qtvoice", "status", user=ADMIN)["text"]
        return text if f"1 {TIMES} {BAD_SIGNATURE}" in text else None

    status = slack.wait_for(refused_line)

    assert "Webhooks refused in the last day" in status
    assert SIGNATURE_FIX in status
    assert inbox_rows(bot.settings) == 0


def test_each_kind_of_refusal_is_counted_and_deliveries_lists_them(
    settings: Settings, slack: SlackRecorder, tmp_path: Path
) -> None:
    bot = start_bot(settings, slack)
    body = json.dumps(sample_event("call.missed")).encode()
    try:
        assert bot.send("call.missed").status_code == 200
        for _ in range(3):
            assert send_with_wrong_secret(bot).status_code == 401
        assert post_raw(bot, body, **{"X-QTvoice-Signature": ""}).status_code == 401
        stale = str(int(time.time()) - 412)
        assert post_raw(bot, body, **{"X-QTvoice-Timestamp": stale}).status_code == 401
        huge = json.dumps(sample_event("sms.received", message="x" * 300_000)).encode()
        assert post_raw(bot, huge).status_code == 413
        assert post_raw(bot, b"not json").status_code == 400
    finally:
        bot.stop()  # what is counted but not yet written is written on the way out

    listed = run_cli(settings, tmp_path, "deliveries")

    assert listed.returncode == 0, listed.stderr
    out = listed.stdout
    assert "last webhook accepted: 20" in out
    assert f"3 {TIMES} {BAD_SIGNATURE} (last " in out
    assert SIGNATURE_FIX in out
    assert f"1 {TIMES} {NO_SIGNATURE} (last " in out
    assert f"1 {TIMES} {TOO_LARGE} (last " in out
    assert f"1 {TIMES} not a JSON object (last " in out
    stale_line = next(line for line in out.splitlines() if STALE_TIMESTAMP in line)
    assert " s old (last " in stale_line  # how far off, in the bot's own words
    assert "NTP" in stale_line
    assert "x" * 50 not in out


def test_status_shows_only_the_last_day(bot: RunningBot, db: Engine) -> None:
    two_days_ago = utcnow() - timedelta(days=2)
    with Session(db) as session:
        session.add(
            WebhookRefusal(
                kind=BAD_SIGNATURE, hour=hour_of(two_days_ago), count=9, last_seen=two_days_ago
            )
        )
        session.commit()

    status = bot.command("/qtvoice", "status", user=ADMIN)["text"]

    assert "Webhooks refused in the last day:* none" in status


def test_a_refusal_while_the_database_is_down_is_still_a_401(
    settings: Settings, slack: SlackRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    unreachable = settings.model_copy(
        update={"database_url": "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"}
    )
    bot = start_bot(unreachable, slack, run_worker=False)
    try:
        answers = [send_with_wrong_secret(bot) for _ in range(5)]
        stale = post_raw(
            bot, json.dumps(sample_event("call.missed")).encode(), **{"X-QTvoice-Timestamp": "0"}
        )
        garbled = post_raw(bot, b"not json")
    finally:
        bot.stop()

    assert [answer.status_code for answer in answers] == [401] * 5
    assert answers[-1].json()["code"] == "UNAUTHORIZED"
    assert stale.status_code == 401
    assert garbled.status_code == 400
    warned = [r for r in caplog.records if "refused webhooks: database unreachable" in r.message]
    assert len(warned) == 1  # one line for the outage, not one per request or per try


# Hostile input: what an unsigned request can make the bot keep

#: What httpx sends as a header value: printable ASCII, no space at either end.
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80).map(
    str.strip
)


@st.composite
def garbage_requests(draw: st.DrawFn) -> tuple[bytes, dict[str, str]]:
    """A body (often a real event) with no signature, a wrong one, or one made for other bytes."""
    body = draw(
        st.binary(max_size=2000)
        | st.builds(lambda event: json.dumps(sample_event(event)).encode(), st.just("call.missed"))
    )
    signature = draw(
        st.none()
        | header_text
        | st.just(sign(b"other bytes", WEBHOOK_SECRET))
        | st.builds(lambda secret: sign(body, secret), st.text(min_size=1, max_size=20))
    )
    headers = {"X-QTvoice-Timestamp": draw(header_text), "X-QTvoice-Delivery-ID": draw(header_text)}
    if signature is not None:
        headers["X-QTvoice-Signature"] = signature
    return body, headers


def test_unsigned_requests_leave_a_bounded_count_and_never_an_inbox_row(
    settings: Settings, slack: SlackRecorder
) -> None:
    bot = start_bot(settings, slack, run_worker=False)
    sent = 0
    try:

        @hypothesis_settings(max_examples=150, database=None)
        @given(request=garbage_requests())
        def post(request: tuple[bytes, dict[str, str]]) -> None:
            nonlocal sent
            body, headers = request
            response = httpx.post(
                bot.webhook_url, content=body, headers=headers, verify=client_context()
            )
            sent += 1
            assert response.status_code == 401, (response.status_code, body[:100], headers)
            assert response.json()["code"] == "UNAUTHORIZED"

        post()
    finally:
        bot.stop()

    rows = stored_refusals(settings)
    assert inbox_rows(settings) == 0
    assert {row.kind for row in rows} <= {NO_SIGNATURE, BAD_SIGNATURE}
    assert len(rows) <= 2 * 2  # a row per kind and hour, and the run may cross an hour
    assert sum(row.count for row in rows) == sent
    assert all(row.last_detail is None for row in rows)


# The store: counts add up across writers; a week is kept


@pytest.mark.anyio
async def test_counts_from_two_processes_add_up_and_the_latest_detail_wins(
    settings: Settings,
) -> None:
    runtime = Runtime.create(settings)
    now = utcnow()
    key = (STALE_TIMESTAMP, hour_of(now))
    try:
        async with runtime.sessions() as session:
            await refusals.add(session, {key: Tally(2, now, "412 s old")})
        async with runtime.sessions() as session:  # another process, a little behind
            await refusals.add(session, {key: Tally(3, now - timedelta(seconds=5), "9 s old")})
        async with runtime.sessions() as session:
            [shown] = await refusals.recent(session)
    finally:
        await runtime.close()

    assert (shown.kind, shown.count, shown.detail) == (STALE_TIMESTAMP, 5, "412 s old")
    assert shown.last_seen == now


@pytest.mark.anyio
async def test_prune_forgets_refusal_counts_after_a_week(settings: Settings) -> None:
    runtime = Runtime.create(settings)
    old, recent = utcnow() - timedelta(days=8), utcnow() - timedelta(days=6)
    try:
        async with runtime.sessions() as session:
            await refusals.add(
                session,
                {
                    (BAD_SIGNATURE, hour_of(old)): Tally(7, old, None),
                    (BAD_SIGNATURE, hour_of(recent)): Tally(4, recent, None),
                },
            )

        await prune(runtime)

        async with runtime.sessions() as session:
            kept = await refusals.since(session, utcnow() - timedelta(days=30))
    finally:
        await runtime.close()
    assert [(kind.kind, kind.count) for kind in kept] == [(BAD_SIGNATURE, 4)]
