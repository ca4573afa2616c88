"""The web app: Slack's one request URL, QTvoice's webhooks and a health check.

The webhook handler does the least that makes an event durable (verify, parse, store) and
answers; the delivery worker, in this process or another, does everything that talks to Slack.
So a slow or failing Slack never slows or fails QTvoice's delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator
from typing import cast

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import to_starlette_response
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import Table, func, select
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import __version__, metrics
from bot.config import Settings, load_settings
from bot.connections import BodyBudget, client_gone
from bot.delivery import inbox
from bot.delivery.executor import ClickUpdates
from bot.delivery.writer import InboxWriter
from bot.logs import Scrubber, configure_logging
from bot.ops.routes import routes as ops_routes
from bot.qtvoice.webhooks import MAX_BODY_BYTES, WebhookError, read_webhook, too_large
from bot.runtime import Runtime
from bot.seats import FIRST_TRY_SECONDS, hold_a_seat, seated_elsewhere
from bot.services import BackgroundServices
from bot.setup_page import setup_routes
from bot.slack import door, listening
from bot.slack.app import create_bolt_app
from bot.slack.socket_mode import CheckedSocketModeHandler
from bot.startup import SchemaGate, announce
from bot.store.deliveries import PENDING
from bot.store.models import InboxEvent
from bot.store.outage import OUTAGE_CANDIDATES, describe, is_outage, refuses_writes
from bot.store.refusals import RefusalCounter

logger = logging.getLogger(__name__)


def create_app(runtime: Runtime, *, run_worker: bool = True) -> Starlette:
    runtime.updates = ClickUpdates(runtime)
    bolt_app = create_bolt_app(
        runtime, functools.partial(inbox.store_own, runtime.sessions, source="slack")
    )
    verifier = SignatureVerifier(runtime.settings.slack_signing_secret.get_secret_value())
    services = BackgroundServices(runtime) if run_worker else None
    gate = SchemaGate(runtime)
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
        # Counted while answered: the worker in this process gives way (bot/delivery/worker.py).
        with runtime.door.entered():
            return await answer_webhook(request)

    async def answer_webhook(request: Request) -> Response:
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
            metrics.WEBHOOKS.labels("refused").inc()
            return JSONResponse({"error": error.message, "code": error.code}, error.status)
        if gate.problem is not None:  # refused or not, junk is told so first
            return not_ready(gate)
        row = inbox.new_row(
            webhook.event, body_sha256=webhook.body_sha256, delivery_id=webhook.delivery_id
        )
        # A database outage raises through to the app's handler: 503 with Retry-After.
        row_id = await writer.store(row) if row is not None else None
        if row_id is None:
            # A key of it was taken (a repeat, or a redelivery that tells more, which
            # `inbox.store` tells apart), or it is one `inbox.store` must take itself.
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
        metrics.WEBHOOKS.labels("accepted" if row_id is not None else "duplicate").inc()
        if row_id is None:
            logger.info("webhook %s already stored", webhook.event.event)
            return JSONResponse({"status": "duplicate"})
        logger.info("webhook %s stored as delivery %s", webhook.event.event, row_id)
        return JSONResponse({"status": "accepted", "id": row_id})

    async def healthz(request: Request) -> Response:
        if gate.unmigrated:
            return JSONResponse({"status": "unavailable", "database": NOT_MIGRATED}, 503)
        try:
            async with runtime.sessions() as session:
                if await refuses_writes(await session.connection()):
                    logger.warning("health check: the database is read-only")
                    return JSONResponse({"status": "unavailable", "database": "read-only"}, 503)
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

    socket_mode: AsyncSocketModeHandler | None = None
    #: The Socket Mode seats this process holds (`bot.seats`).
    seats_held: set[int] = set()

    async def socket_connected() -> bool:
        """This deployment holds a Socket Mode connection: this process's own, or a seat held
        by another process (`bot.seats`)."""
        connected = socket_mode is not None and await socket_mode.client.is_connected()
        connected = connected or await seated_elsewhere(runtime, seats_held)
        metrics.SOCKET_MODE_CONNECTED.set(connected)
        return connected

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        nonlocal socket_mode
        runtime.socket_connected = socket_connected
        runtime.reuse_slack_connections()
        await announce(runtime)
        stopping = asyncio.Event()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(gate.look(), GATE_FIRST_LOOK_SECONDS)
        opening = asyncio.create_task(open_then_start(gate, services, stopping))
        seat: asyncio.Task[None] | None = None
        leave_seat = asyncio.Event()
        app_token = runtime.settings.slack_app_token
        if app_token is not None:
            token = app_token.get_secret_value()

            async def open_socket() -> AsyncSocketModeHandler:
                nonlocal socket_mode
                socket_mode = socket_mode_handler(bolt_app, runtime, token)
                await connect_socket_mode(socket_mode)
                return socket_mode

            tried = asyncio.Event()
            seat = asyncio.create_task(
                hold_a_seat(runtime, open_socket, leave_seat, tried=tried, held=seats_held)
            )
            # Served with its socket open when it has a seat, as without seats; never held up
            # for long by a database that does not answer.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(tried.wait(), FIRST_TRY_SECONDS)
        try:
            yield
        finally:
            stopping.set()
            await opening
            if seat is not None:
                leave_seat.set()
                await seat
            # Slack's requests no longer arrive: what their listeners began ends first.
            await listening.settle(LISTENERS_GRACE_SECONDS)
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
            *ops_routes(runtime),
            *setup_routes(runtime.settings),
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
    configure_logging(settings.log_level, Scrubber.for_settings(settings), settings.log_format)
    return create_app(Runtime.create(settings), run_worker=run_worker)


#: How long QTvoice is asked to wait before retrying a webhook while the database is away.
DATABASE_RETRY_AFTER_SECONDS = 5
#: How long start-up waits for its first look at the database before serving anyway.
GATE_FIRST_LOOK_SECONDS = 10
#: How long a stopping app lets Slack listeners under way finish (a QTvoice call, a post).
LISTENERS_GRACE_SECONDS = 5.0
NOT_MIGRATED = "not migrated: run `python -m bot migrate`"


async def open_then_start(
    gate: SchemaGate, services: BackgroundServices | None, stopping: asyncio.Event
) -> None:
    """Start the worker and scheduler once the database is ready (never, if stopped first)."""
    if await gate.wait_open(stopping) and services is not None:
        await services.start()


def not_ready(gate: SchemaGate) -> Response:
    """503 with Retry-After to a webhook while the database is not ready: QTvoice retries."""
    reason = NOT_MIGRATED if gate.unmigrated else "unreachable"
    return JSONResponse(
        {
            "error": f"The bot's database is not ready ({reason}); retry later",
            "code": "UNAVAILABLE",
        },
        503,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


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
