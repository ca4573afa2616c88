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
from typing import cast

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import to_starlette_response
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import Table, func, select, text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import __version__
from bot.config import Settings, load_settings
from bot.connections import BodyBudget, client_gone
from bot.delivery import inbox
from bot.delivery.writer import InboxWriter
from bot.logs import Scrubber, configure_logging
from bot.qtvoice.webhooks import MAX_BODY_BYTES, WebhookError, read_webhook, too_large
from bot.runtime import Runtime
from bot.services import BackgroundServices
from bot.slack import door
from bot.slack.app import create_bolt_app
from bot.slack.socket_mode import CheckedSocketModeHandler
from bot.store.deliveries import PENDING
from bot.store.models import InboxEvent
from bot.store.outage import OUTAGE_CANDIDATES, describe, is_outage
from bot.store.refusals import RefusalCounter

logger = logging.getLogger(__name__)


def create_app(runtime: Runtime, *, run_worker: bool = True) -> Starlette:
    bolt_app = create_bolt_app(runtime)
    verifier = SignatureVerifier(runtime.settings.slack_signing_secret.get_secret_value())
    services = BackgroundServices(runtime) if run_worker else None
    writer = InboxWriter(
        runtime.engine,
        cast(Table, InboxEvent.__table__),
        inbox.IDENTITY,
        on_stored=runtime.inbox_changed.set,
    )
    # Counted in memory, written a batch a second at most: junk costs no transaction each.
    refusals = RefusalCounter(runtime.sessions)

    async def slack_events(request: Request) -> Response:
        try:
            bolt_request = await door.admit(request, verifier)
        except door.Refused as refusal:
            logger.warning("slack request refused: %s %s", refusal.status, refusal.reason)
            return JSONResponse({"error": refusal.reason}, refusal.status)
        return to_starlette_response(await bolt_app.async_dispatch(bolt_request))

    async def qtvoice_webhooks(request: Request) -> Response:
        try:
            body = await read_limited_body(request, MAX_BODY_BYTES)
            webhook = read_webhook(
                body,
                request.headers,
                runtime.settings.webhook_secrets,
                now=time.time(),
                tolerance_seconds=runtime.settings.webhook_tolerance_seconds,
                default_region=runtime.settings.default_region,
            )
        except WebhookError as error:
            logger.warning("webhook refused: %s %s", error.status, error.message)
            refusals.note(error.kind, error.detail)
            return JSONResponse({"error": error.message, "code": error.code}, error.status)
        row = inbox.new_row(
            webhook.event, body_sha256=webhook.body_sha256, delivery_id=webhook.delivery_id
        )
        # A database outage raises through to the app's handler: 503 with Retry-After.
        if row is not None:
            row_id = await writer.store(row)
        else:
            async with runtime.sessions() as session:
                stored = await inbox.store(
                    session,
                    webhook.event,
                    body_sha256=webhook.body_sha256,
                    delivery_id=webhook.delivery_id,
                )
            row_id = stored.id if stored is not None else None
            if row_id is not None:
                runtime.inbox_changed.set()
        if row_id is None:
            logger.info("webhook %s already stored", webhook.event.event)
            return JSONResponse({"status": "duplicate"})
        logger.info("webhook %s stored as delivery %s", webhook.event.event, row_id)
        return JSONResponse({"status": "accepted", "id": row_id})

    async def healthz(request: Request) -> Response:
        try:
            async with runtime.sessions() as session:
                await session.execute(text("SELECT 1"))
                pending = await session.scalar(
                    select(func.count()).where(InboxEvent.state == PENDING)
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
        app_token = runtime.settings.slack_app_token
        if app_token is not None:
            socket_mode = socket_mode_handler(bolt_app, runtime, app_token.get_secret_value())
            await connect_socket_mode(socket_mode)
        try:
            yield
        finally:
            if socket_mode is not None:
                await socket_mode.close_async()
            if services is not None:
                await services.stop()
            await writer.close()
            await refusals.close()
            await runtime.close()

    return Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/qtvoice/webhooks", qtvoice_webhooks, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
        middleware=[Middleware(BodyBudget)],
        exception_handlers={
            **dict.fromkeys(OUTAGE_CANDIDATES, database_unavailable),
            ClientDisconnect: client_gone,
        },
    )


def app_with_worker() -> Starlette:
    """The app of one of `serve`'s several web processes (WEB_CONCURRENCY), worker included.

    uvicorn starts each process afresh and builds its app by this import string, so the
    settings are read again here, from the same environment and `.env` `serve` checked.
    """
    return _app_from_environment(run_worker=True)


def app_without_worker() -> Starlette:
    """Like `app_with_worker`, for `serve --no-worker`: HTTP only."""
    return _app_from_environment(run_worker=False)


def _app_from_environment(*, run_worker: bool) -> Starlette:
    settings = load_settings(Settings)
    configure_logging(settings.log_level, Scrubber.for_settings(settings))
    return create_app(Runtime.create(settings), run_worker=run_worker)


#: How long QTvoice is asked to wait before retrying a webhook while the database is away.
DATABASE_RETRY_AFTER_SECONDS = 5


async def database_unavailable(request: Request, error: Exception) -> Response:
    """503 with Retry-After while the database cannot be reached (QTvoice then retries).

    Any route's handler may raise; only an outage (bot.store.outage) is answered here, with
    one warning line and no traceback. Any other error goes on to Starlette's 500 as before.
    """
    if not is_outage(error):
        raise error
    logger.warning(
        "%s %s: database unreachable, answered 503: %s",
        request.method,
        request.url.path,
        describe(error),
    )
    return JSONResponse(
        {"error": "The database is unavailable; retry later", "code": "UNAVAILABLE"},
        503,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


def socket_mode_handler(
    bolt_app: AsyncApp, runtime: Runtime, app_token: str
) -> AsyncSocketModeHandler:
    """Socket Mode: Slack reaches the bot over a websocket the bot opens, so no public URL.

    Its web client is the runtime's, so `apps.connections.open` goes to `SLACK_API_URL` like
    every other call. The client logs every envelope whole at DEBUG (texts, phone numbers), so
    its logger never goes below INFO.
    """
    socket_logger = logging.getLogger("slack_sdk.socket_mode")
    socket_logger.setLevel(max(logging.INFO, logging.getLogger().getEffectiveLevel()))
    return CheckedSocketModeHandler(
        bolt_app,
        app_token,
        logger=socket_logger,
        web_client=runtime.slack,
    )


async def connect_socket_mode(handler: AsyncSocketModeHandler) -> None:
    """Open the socket, or say in one line why Slack refused the app token and serve without it.

    slack_sdk's `connect()` retries a refused token forever, a traceback every ten seconds,
    and start-up would never finish; so the first URL is asked for here. Webhooks still reach
    Slack meanwhile; only Slack's requests (commands, clicks, replies) wait for a good token.
    """
    client = handler.client
    try:
        opened = await client.web_client.apps_connections_open(app_token=client.app_token)
    except SlackApiError as error:
        data = error.response.data
        reason = (
            data.get("error") if isinstance(data, dict) else f"HTTP {error.response.status_code}"
        )
        logger.error(
            "Socket Mode is off: Slack refused SLACK_APP_TOKEN (%s). Create an app-level token "
            "with the connections:write scope (app settings > Basic Information > App-Level "
            "Tokens) and set SLACK_APP_TOKEN to it.",
            reason,
        )
        return
    client.wss_uri = opened["url"]
    await handler.connect_async()


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
