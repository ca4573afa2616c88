"""`GET /livez`, `/readyz` and `/metrics`, mounted on the web app with one line (`routes`)."""

from __future__ import annotations

import hmac
from datetime import datetime

from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot import metrics
from bot.ops.readiness import CANARY_JOB, OK, Readiness
from bot.runtime import Runtime
from bot.store import job_runs
from bot.store.deliveries import PENDING
from bot.store.models import InboxEvent, utcnow


def routes(runtime: Runtime) -> list[BaseRoute]:
    """The three routes of the contract's "Running it as a service"."""
    readiness = Readiness(runtime)
    token = runtime.settings.metrics_token

    async def livez(request: Request) -> Response:
        return JSONResponse({"status": "live"})

    async def readyz(request: Request) -> Response:
        checks = await readiness.checks()
        ready = all(result == OK for result in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "unready", "checks": checks}, 200 if ready else 503
        )

    async def metrics_page(request: Request) -> Response:
        if token is None:
            return PlainTextResponse("Not Found", 404)
        presented = request.headers.get("authorization", "").encode()
        wanted = f"Bearer {token.get_secret_value()}".encode()
        if not hmac.compare_digest(presented, wanted):
            return PlainTextResponse(
                "Unauthorized", 401, headers={"WWW-Authenticate": 'Bearer realm="metrics"'}
            )
        figures = await deployment_figures(runtime, utcnow())
        return Response(metrics.exposition(figures), media_type=metrics.CONTENT_TYPE)

    return [
        Route("/livez", livez, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_page, methods=["GET"]),
    ]


async def deployment_figures(runtime: Runtime, now: datetime) -> dict[str, float | None]:
    """The gauges read from the database: the whole deployment's, whichever process answers."""
    async with runtime.sessions() as session:
        pending, oldest = (
            await session.execute(
                select(func.count(), func.min(InboxEvent.received_at)).where(
                    InboxEvent.state == PENDING
                )
            )
        ).one()
        canary = await job_runs.last_finished(session, CANARY_JOB)
    return {
        "qtslack_deliveries_pending": pending,
        "qtslack_delivery_oldest_pending_seconds": (
            max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
        ),
        "qtslack_canary_last_success_timestamp_seconds": (
            canary.timestamp() if canary is not None else None
        ),
    }
