"""The canary: an end-to-end "send and receive" check through the real path, now and then.

Every `CANARY_MINUTES` the scheduler's leader signs a synthetic event (`CANARY_EVENT`) with
the webhook secret, reads it with the door's own `read_webhook` (verified and parsed as any
webhook), stores it in the inbox, and waits for a worker (any process's) to deliver it into
`CANARY_CHANNEL`. It then reads the message back from the channel's history (it landed),
deletes it, and records the success (`job_runs`, read by `/readyz` and `/metrics`). Any step
failing within `WAIT_SECONDS` opens the `canary` incident; the next success closes it. The
message mentions no one; a canary that failed is set aside (`ignored`), so its own row never
counts as a parked delivery.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlalchemy import delete, select, update

from bot.delivery import inbox
from bot.ops.incidents import tell_admins
from bot.ops.readiness import CANARY_JOB
from bot.qtvoice.events import CANARY_EVENT
from bot.qtvoice.signing import sign
from bot.qtvoice.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookError, read_webhook
from bot.runtime import Runtime
from bot.slack.api_errors import error_code
from bot.store import incidents, job_runs
from bot.store.deliveries import DONE, FAILED, IGNORED
from bot.store.models import InboxEvent, PostedMessage, utcnow

logger = logging.getLogger(__name__)

#: How long the canary waits for its message to be delivered (a worker polls every second).
WAIT_SECONDS = 60.0
POLL_SECONDS = 0.2


class CanaryFailed(Exception):
    """What went wrong, in one line for the incident's detail."""


async def run_canary(runtime: Runtime, *, wait_seconds: float = WAIT_SECONDS) -> bool:
    """One canary round trip; whether it succeeded. Observes the `canary` incident."""
    started, check_id = utcnow(), f"canary-{uuid.uuid4().hex[:12]}"
    try:
        ts = await _send_and_confirm(runtime, check_id, started, wait_seconds)
    except CanaryFailed as failure:
        logger.warning("canary %s failed: %s", check_id, failure)
        await _observe(runtime, failing=True, detail=str(failure))
        return False
    async with runtime.sessions() as session:
        await session.execute(
            delete(PostedMessage).where(
                PostedMessage.kind == "canary", PostedMessage.key == check_id
            )
        )
        await session.commit()
        await job_runs.finished(session, CANARY_JOB, started)
    logger.info("canary %s landed (ts %s) and was deleted", check_id, ts)
    await _observe(runtime, failing=False, detail="landed")
    return True


async def _send_and_confirm(
    runtime: Runtime, check_id: str, started: datetime, wait_seconds: float
) -> str:
    settings = runtime.settings
    channel = settings.canary_channel
    assert channel, "the canary runs only with CANARY_CHANNEL"
    body = json.dumps(
        {"event": CANARY_EVENT, "timestamp": started.isoformat(), "data": {"id": check_id}}
    ).encode()
    headers = {
        SIGNATURE_HEADER: sign(body, settings.webhook_secrets[0]),
        TIMESTAMP_HEADER: str(int(time.time())),
    }
    try:
        webhook = read_webhook(
            body,
            headers,
            settings.webhook_secrets,
            now=time.time(),
            tolerance_seconds=settings.webhook_tolerance_seconds,
        )
    except WebhookError as error:
        raise CanaryFailed(f"the door refused it: {error.message}") from None
    async with runtime.sessions() as session:
        row = await inbox.store(
            session, webhook.event, body_sha256=webhook.body_sha256, source="canary"
        )
    if row is None:
        raise CanaryFailed("the inbox took it for a duplicate")
    runtime.inbox_changed.set()
    ts = await _delivered(runtime, row.id, check_id, channel, wait_seconds)
    try:
        history = await runtime.slack.conversations_history(
            channel=channel, latest=ts, oldest=ts, inclusive=True, limit=1
        )
        messages: list[dict[str, Any]] = history.get("messages", [])
        if not any(message.get("ts") == ts for message in messages):
            raise CanaryFailed("posted, but not in the channel's history")
        await runtime.slack.chat_delete(channel=channel, ts=ts)
    except SlackApiError as error:
        raise CanaryFailed(f"Slack: {error_code(error) or 'unreadable answer'}") from None
    return ts


async def _delivered(
    runtime: Runtime, row_id: int, check_id: str, channel: str, wait_seconds: float
) -> str:
    """The ts of the canary's message once a worker delivered it; CanaryFailed past the wait
    (the row is then set aside)."""
    deadline, error = time.monotonic() + wait_seconds, None
    while time.monotonic() < deadline:
        async with runtime.sessions() as session:
            row = await session.get(InboxEvent, row_id, populate_existing=True)
            state, error = (row.state, row.last_error) if row is not None else (None, None)
            if state == DONE:
                posted = await session.scalar(
                    select(PostedMessage.ts).where(
                        PostedMessage.kind == "canary",
                        PostedMessage.key == check_id,
                        PostedMessage.channel_id == channel,
                    )
                )
                if posted:
                    return str(posted)
                raise CanaryFailed("delivered, but no message was recorded")
            if state == FAILED:
                break
        await asyncio.sleep(POLL_SECONDS)
    async with runtime.sessions() as session:
        await session.execute(
            update(InboxEvent)
            .where(InboxEvent.id == row_id, InboxEvent.state != DONE)
            .values(state=IGNORED, locked_until=None)
        )
        await session.commit()
    raise CanaryFailed(
        f"not delivered within {wait_seconds:g} s" + (f" ({error[:120]})" if error else "")
    )


async def _observe(runtime: Runtime, *, failing: bool, detail: str) -> None:
    async with runtime.sessions() as session:
        await incidents.observe(session, "canary", failing, detail, utcnow())
    await tell_admins(runtime, utcnow())
