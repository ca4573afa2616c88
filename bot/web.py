"""The web app: Slack's one request URL, QTvoice's webhooks and a health check.

The webhook handler does the least that makes an event durable (verify, parse, store) and
answers; the delivery worker, in this process or another, does everything that talks to Slack.
So a slow or failing Slack never slows or fails QTvoice's delivery.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import __version__
from bot.delivery import inbox
from bot.delivery.writer import InboxWriter
from bot.qtvoice.webhooks import MAX_BODY_BYTES, WebhookError, read_webhook, too_large
from bot.runtime import Runtime
from bot.services import BackgroundServices
from bot.slack.app import create_bolt_app
from bot.store.models import InboxEvent

logger = logging.getLogger(__name__)

#: What a 503 asks QTvoice to wait before retrying, while the database is away.
RETRY_AFTER_SECONDS = 5


def create_app(runtime: Runtime, *, run_worker: bool = True) -> Starlette:
    bolt_app = create_bolt_app(runtime)
    bolt = AsyncSlackRequestHandler(bolt_app)
    services = BackgroundServices(runtime) if run_worker else None
    writer = InboxWriter(
        runtime.engine, InboxEvent.__table__, inbox.IDENTITY, on_stored=runtime.inbox_changed.set
    )

    async def slack_events(request: Request) -> Response:
        return await bolt.handle(request)

    async def qtvoice_webhooks(request: Request) -> Response:
        try:
            body = await read_limited_body(request, MAX_BODY_BYTES)
            webhook = read_webhook(
                body,
                request.headers,
                runtime.settings.webhook_secrets,
                now=time.time(),
                tolerance_seconds=runtime.settings.webhook_tolerance_seconds,
            )
        except WebhookError as error:
            logger.warning("webhook refused: %s %s", error.status, error.message)
            return JSONResponse({"error": error.message, "code": error.code}, error.status)
        row = inbox.new_row(
            webhook.event,
            webhook.data,
            body_sha256=webhook.body_sha256,
            delivery_id=webhook.delivery_id,
            timestamp=webhook.timestamp,
        )
        try:
            row_id = await writer.store(row)
        except (SQLAlchemyError, OSError) as error:
            logger.warning("webhook not stored, database unreachable: %s", type(error).__name__)
            return JSONResponse(
                {"error": "Database unavailable; retry later", "code": "UNAVAILABLE"},
                503,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        if row_id is None:
            logger.info("webhook %s already stored", webhook.event)
            return JSONResponse({"status": "duplicate"})
        logger.info("webhook %s stored as delivery %s", webhook.event, row_id)
        return JSONResponse({"status": "accepted", "id": row_id})

    async def healthz(request: Request) -> Response:
        try:
            async with runtime.sessions() as session:
                await session.execute(text("SELECT 1"))
                pending = await session.scalar(
                    select(func.count()).where(InboxEvent.state == inbox.PENDING)
                )
        except Exception as error:
            # A warning, not a trace: the platform's health checks repeat it every few seconds.
            logger.warning("health check: database unreachable: %s", type(error).__name__)
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
        return JSONResponse(
            {"status": "ok", "version": __version__, "database": "ok", "pending": pending}
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if services is not None:
            await services.start()
        socket_mode = None
        if runtime.settings.slack_app_token is not None:
            # Socket Mode: Slack reaches us over a websocket we open; no public URL needed.
            socket_mode = AsyncSocketModeHandler(
                bolt_app, runtime.settings.slack_app_token.get_secret_value()
            )
            await socket_mode.connect_async()
        try:
            yield
        finally:
            if socket_mode is not None:
                await socket_mode.close_async()
            if services is not None:
                await services.stop()
            await writer.close()
            await runtime.close()

    return Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/qtvoice/webhooks", qtvoice_webhooks, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


async def read_limited_body(request: Request, limit: int) -> bytes:
    """The body, refusing to buffer more than `limit` bytes whatever Content-Length claims."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large()
        chunks.append(chunk)
    return b"".join(chunks)
