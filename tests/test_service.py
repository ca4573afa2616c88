"""Running it as a service, seen from outside: /livez, /readyz, /metrics, incidents, canary.

Each test drives the real app over HTTP against the Slack and QTvoice sandboxes, and reads
what an operator reads: the probes' answers, the scrape, and the admins' DMs in the sandbox.
The scheduled jobs (reconcile, the watch, the canary) are run as the leader runs them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import anyio
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from bot.config import Settings
from bot.ops.canary import run_canary
from bot.ops.incidents import Watch, reconcile_watched, tell_admins
from bot.qtvoice.errors import QTvoiceError
from bot.runtime import Runtime
from bot.sandbox.qtvoice import QTvoiceSandbox
from bot.sandbox.samples import CUSTOMER_NUMBER, MAIN_LINE
from bot.sandbox.slack import DEFAULT_APP_TOKEN, SlackRecorder
from bot.store.models import utcnow
from tests.conftest import ADMIN, RunningBot, start_bot
from tests.helpers.slack import answer, click, home_blocks, posted_message
from tests.helpers.webhooks import send_with_wrong_secret

pytestmark = pytest.mark.anyio

METRICS_TOKEN = "metrics-token-for-tests-0123456789"
CANARY_CHANNEL = "C0SUPPORT"


@pytest.fixture
def slack(admin_slack: SlackRecorder) -> SlackRecorder:
    """The workspace with the admin in it."""
    return admin_slack


@pytest.fixture
def watched(settings: Settings, slack: SlackRecorder) -> Iterator[RunningBot]:
    """The bot with /metrics on."""
    running = start_bot(
        settings.model_copy(update={"metrics_token": SecretStr(METRICS_TOKEN)}), slack
    )
    yield running
    running.stop()


@pytest.fixture
def canaried(settings: Settings, slack: SlackRecorder) -> Iterator[RunningBot]:
    """The bot with /metrics on and the canary in CANARY_CHANNEL (its leader sends one at
    start, as a fresh deployment does)."""
    update = {"metrics_token": SecretStr(METRICS_TOKEN), "canary_channel": CANARY_CHANNEL}
    running = start_bot(settings.model_copy(update=update), slack)
    yield running
    running.stop()


def admin_dms(slack: SlackRecorder) -> list[str]:
    return [str(message.get("text")) for message in slack.messages(slack.im_channel(ADMIN))]


def scrape(bot: RunningBot) -> dict[str, float]:
    """Every sample of /metrics, by name and labels (`name{a="x"}`)."""
    response = httpx.get(f"{bot.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


def readiness(bot: RunningBot) -> dict[str, str]:
    checks: dict[str, str] = httpx.get(f"{bot.url}/readyz").json()["checks"]
    return checks


def moved(before: dict[str, float], after: dict[str, float], name: str) -> float:
    return after.get(name, 0.0) - before.get(name, 0.0)


def test_livez_answers_and_readyz_lists_every_check(canaried: RunningBot) -> None:
    assert httpx.get(f"{canaried.url}/livez").json() == {"status": "live"}
    body = httpx.get(f"{canaried.url}/readyz").json()
    assert set(body["checks"]) == {"database", "slack", "qtvoice", "delivery", "canary"}
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["slack"] == "ok"


def test_readyz_goes_503_naming_slack_when_the_token_is_revoked(
    bot: RunningBot, slack: SlackRecorder
) -> None:
    first = httpx.get(f"{bot.url}/readyz")
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "ready"

    slack.revoke_bot_token()
    bot.send("call.missed", id=f"call_{uuid.uuid4().hex[:8]}")  # the worker meets the refusal
    slack.wait_for(lambda: slack.calls("chat.postMessage", ok=False))

    answer = httpx.get(f"{bot.url}/readyz")
    assert answer.status_code == 503
    assert answer.json()["status"] == "unready"
    assert "token_revoked" in answer.json()["checks"]["slack"]
    assert answer.json()["checks"]["database"] == "ok"


def test_metrics_is_404_without_a_token_setting(bot: RunningBot) -> None:
    assert httpx.get(f"{bot.url}/metrics").status_code == 404


def test_metrics_is_401_without_the_bearer_token(watched: RunningBot) -> None:
    assert httpx.get(f"{watched.url}/metrics").status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert httpx.get(f"{watched.url}/metrics", headers=wrong).status_code == 401


def test_100_webhooks_move_the_counters_and_the_histogram_by_exactly_that(
    watched: RunningBot, slack: SlackRecorder
) -> None:
    before = scrape(watched)
    posts_before = len(slack.calls("chat.postMessage", ok=True))
    ids = [f"call_{uuid.uuid4().hex[:10]}" for _ in range(100)]
    with httpx.Client() as client:
        for call_id in ids:
            response = watched.send_envelope(
                {"event": "call.missed", "data": {"id": call_id, "from": CUSTOMER_NUMBER}},
                client=client,
            )
            assert response.json()["status"] == "accepted"
        for call_id in ids[:7]:
            response = watched.send_envelope(
                {"event": "call.missed", "data": {"id": call_id, "from": CUSTOMER_NUMBER}},
                client=client,
            )
            assert response.json()["status"] == "duplicate"
    for _ in range(3):
        assert send_with_wrong_secret(watched).status_code == 401
    slack.wait_for(
        lambda: (
            moved(before, scrape(watched), 'qtslack_deliveries_total{outcome="delivered"}') >= 100
        ),
        timeout=60,
    )

    after = scrape(watched)
    posts = len(slack.calls("chat.postMessage", ok=True)) - posts_before
    assert moved(before, after, 'qtslack_webhooks_total{outcome="accepted"}') == 100
    assert moved(before, after, 'qtslack_webhooks_total{outcome="duplicate"}') == 7
    assert moved(before, after, 'qtslack_webhooks_total{outcome="refused"}') == 3
    assert moved(before, after, 'qtslack_deliveries_total{outcome="delivered"}') == 100
    assert moved(before, after, 'qtslack_deliveries_total{outcome="failed"}') == 0
    assert moved(before, after, "qtslack_delivery_seconds_count") == 100
    assert moved(before, after, 'qtslack_delivery_seconds_bucket{le="+Inf"}') == 100
    assert (
        moved(before, after, 'qtslack_slack_calls_total{method="chat.postMessage",outcome="ok"}')
        == posts
        == 100
    )
    assert after["qtslack_deliveries_pending"] == 0
    assert after["qtslack_delivery_oldest_pending_seconds"] == 0


async def test_missed_webhooks_open_one_incident_and_its_recovery_is_told_once(
    bot: RunningBot, settings: Settings, qtvoice: QTvoiceSandbox, slack: SlackRecorder
) -> None:
    runtime = Runtime.create(settings)
    try:
        # Webhooks stop; QTvoice keeps taking calls.
        qtvoice.state.add_call(CUSTOMER_NUMBER, MAIN_LINE, status="missed")
        assert await reconcile_watched(runtime, 300) == 1
        await tell_admins(runtime, utcnow())  # the next watch: nothing new to tell
        started = slack.wait_for(lambda: admin_dms(slack))
        assert len(started) == 1
        assert "Incident" in started[0]
        assert "webhooks" in started[0]
        assert "Open incident" in str(home_blocks(bot, slack, ADMIN))

        # Webhooks are back: the next poll finds nothing they missed.
        call = qtvoice.state.add_call(CUSTOMER_NUMBER, MAIN_LINE, status="missed")
        assert bot.send("call.missed", id=call["id"], from_=CUSTOMER_NUMBER).status_code == 200
        assert await reconcile_watched(runtime, 300) == 0
        await tell_admins(runtime, utcnow())
        await reconcile_watched(runtime, 300)
    finally:
        await runtime.close()
    told = admin_dms(slack)
    assert len(told) == 2
    assert "Resolved" in told[1]
    assert "Open incident" not in str(home_blocks(bot, slack, ADMIN))


async def test_the_canary_lands_is_deleted_and_a_broken_channel_is_an_incident(
    canaried: RunningBot, slack: SlackRecorder
) -> None:
    watched = canaried
    # The leader's own canary at start-up lands and is deleted first: then only this one runs.
    slack.wait_for(lambda: readiness(watched)["canary"] == "ok", timeout=20)
    runtime = Runtime.create(watched.settings)
    try:
        assert await run_canary(runtime, wait_seconds=20)
        posted = [
            c
            for c in slack.calls("chat.postMessage", ok=True)
            if c.args["channel"] == CANARY_CHANNEL
        ]
        assert posted
        assert "<!" not in str(posted[-1].args)  # it pings nobody
        assert slack.messages(CANARY_CHANNEL) == []  # deleted once seen
        assert readiness(watched)["canary"] == "ok"
        assert scrape(watched)["qtslack_canary_last_success_timestamp_seconds"] > 0

        slack.remove_channel(CANARY_CHANNEL)
        assert not await run_canary(runtime, wait_seconds=3)
        await Watch(runtime).run()
    finally:
        await runtime.close()
    told = slack.wait_for(lambda: [text for text in admin_dms(slack) if "canary" in text])
    assert len(told) == 1
    assert "Incident" in told[0]
    # The canary's undelivered event is set aside, not parked as a failed delivery.
    assert not [text for text in admin_dms(slack) if "parked" in text]


async def test_a_parked_delivery_and_refused_signatures_are_incidents(
    settings: Settings, slack: SlackRecorder
) -> None:
    impatient = start_bot(settings.model_copy(update={"delivery_max_attempts": 1}), slack)
    try:
        slack.fail_next("chat.postMessage", status=500)
        impatient.send("call.missed", id=f"call_{uuid.uuid4().hex[:8]}")
        for _ in range(10):
            send_with_wrong_secret(impatient)
        runtime = Runtime.create(settings)
        try:
            watch = Watch(runtime)
            for _ in range(40):  # refusals are written a batch a second; the post fails at once
                await watch.run()
                if len(admin_dms(slack)) >= 2:
                    break
                await anyio.sleep(0.25)
            await watch.run()
        finally:
            await runtime.close()
        status = impatient.command("/qtvoice", "status", user=ADMIN)["text"]
    finally:
        impatient.stop()
    told: list[Any] = admin_dms(slack)
    assert len(told) == 2
    assert any("parked" in text for text in told)
    assert any("signature" in text for text in told)
    assert status.count("Open incident") == 2  # and `/qtvoice status` says so too


def test_taking_and_calling_back_feed_the_business_histograms(
    watched: RunningBot, slack: SlackRecorder
) -> None:
    watched.link("U0ALICE")
    before = scrape(watched)
    assert watched.send("call.missed", id=f"call_{uuid.uuid4().hex[:8]}").status_code == 200
    posted = posted_message(slack, watched)

    answer(slack, click(watched, posted, "take_it"))
    answer(slack, click(watched, posted, "call_back"))
    answer(slack, click(watched, posted, "call_back"))  # a second call back is no first one

    after = scrape(watched)
    taken = 'qtslack_time_to_take_seconds_count{kind="missed_call"}'
    called = 'qtslack_time_to_callback_seconds_count{kind="missed_call"}'
    assert moved(before, after, taken) == 1
    assert moved(before, after, called) == 1


def test_readyz_names_delivery_when_no_worker_drains_the_inbox(
    settings: Settings, slack: SlackRecorder
) -> None:
    web_only = start_bot(
        settings.model_copy(update={"ready_max_lag_seconds": 1}), slack, run_worker=False
    )
    try:
        assert readiness(web_only)["delivery"] == "ok"
        web_only.send("call.missed", id=f"call_{uuid.uuid4().hex[:8]}")
        late = slack.wait_for(lambda: readiness(web_only)["delivery"] != "ok", timeout=5)
        answer = httpx.get(f"{web_only.url}/readyz")
    finally:
        web_only.stop()
    assert late
    assert answer.status_code == 503
    assert "worker" in answer.json()["checks"]["delivery"]


async def test_a_refused_qtvoice_key_is_unready_and_an_incident(
    settings: Settings, slack: SlackRecorder
) -> None:
    revoked = settings.model_copy(update={"qtvoice_api_key": SecretStr("qtv_revoked_key_0000")})
    refusing = start_bot(revoked, slack)
    runtime = Runtime.create(revoked)
    try:
        with pytest.raises(QTvoiceError):
            await runtime.qtvoice.list_extensions()  # the leader's next use of the key
        await Watch(runtime).run()
        checks = await anyio.to_thread.run_sync(readiness, refusing)
    finally:
        await runtime.close()
        refusing.stop()
    assert "API key" in checks["qtvoice"]
    told = admin_dms(slack)
    assert len(told) == 1
    assert "QTvoice refused the API key" in told[0]


def test_readyz_names_socket_mode_once_the_connection_is_gone(
    settings: Settings, slack: SlackRecorder
) -> None:
    socket = settings.model_copy(update={"slack_app_token": SecretStr(DEFAULT_APP_TOKEN)})
    running = start_bot(socket, slack)
    try:
        assert slack.wait_for(lambda: readiness(running)["socket_mode"] == "ok")
        slack.socket_mode.stop()  # Slack's end goes away; reconnecting fails
        gone = slack.wait_for(lambda: readiness(running)["socket_mode"] != "ok", timeout=15)
    finally:
        running.stop()
    assert gone


async def test_admins_not_told_yet_is_one_line_naming_the_incident_and_slacks_code(
    settings: Settings, slack: SlackRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    socket = settings.model_copy(update={"slack_app_token": SecretStr(DEFAULT_APP_TOKEN)})
    runtime = Runtime.create(socket)
    watch, start = Watch(runtime), utcnow()
    try:
        await watch.run(start)
        slack.fail_next("*", status=200, error="invalid_auth", count=10)  # the token revoked
        await watch.run(start + timedelta(minutes=6))
    finally:
        await runtime.close()
    [line] = [record.getMessage() for record in caplog.records if "not told" in record.getMessage()]
    assert "(socket_mode)" in line
    assert line.endswith("invalid_auth")


async def test_without_socket_mode_no_socket_incident_is_ever_opened(
    settings: Settings, slack: SlackRecorder
) -> None:
    # An HTTP deployment (no SLACK_APP_TOKEN): its web app still says it holds no socket.
    runtime = Runtime.create(settings)

    async def holds_socket() -> bool:
        return False

    runtime.socket_connected = holds_socket
    watch, start = Watch(runtime), utcnow()
    try:
        for minutes in (0, 6, 7):
            await watch.run(start + timedelta(minutes=minutes))
    finally:
        await runtime.close()
    assert admin_dms(slack) == []


async def test_a_worker_leading_watches_the_deployments_socket_by_its_seats(
    settings: Settings, slack: SlackRecorder
) -> None:
    # A `worker` leads (no web app, so no socket of its own) and no `serve` holds a seat.
    socket = settings.model_copy(update={"slack_app_token": SecretStr(DEFAULT_APP_TOKEN)})
    runtime = Runtime.create(socket)
    watch, start = Watch(runtime), utcnow()
    try:
        await watch.run(start)
        await watch.run(start + timedelta(minutes=6))
    finally:
        await runtime.close()
    [told] = admin_dms(slack)
    assert "Incident: Socket Mode" in told


async def test_socket_mode_down_over_five_minutes_is_one_incident_and_its_end(
    settings: Settings, slack: SlackRecorder
) -> None:
    socket = settings.model_copy(update={"slack_app_token": SecretStr(DEFAULT_APP_TOKEN)})
    runtime = Runtime.create(socket)
    connected = False

    async def holds_socket() -> bool:  # this process's socket, as the web app reports it
        return connected

    runtime.socket_connected = holds_socket
    watch, start = Watch(runtime), utcnow()
    try:
        await watch.run(start)
        await watch.run(start + timedelta(minutes=4))
        assert admin_dms(slack) == []  # not yet five minutes
        await watch.run(start + timedelta(minutes=6))
        await watch.run(start + timedelta(minutes=7))
        connected = True
        await watch.run(start + timedelta(minutes=8))
        await watch.run(start + timedelta(minutes=9))
    finally:
        await runtime.close()
    told = admin_dms(slack)
    assert len(told) == 2
    assert "Incident: Socket Mode" in told[0]
    assert "Resolved: Socket Mode" in told[1]
