"""What one HTTP connection may cost `serve` before its request has proved anything.

Anyone can open a connection to the bot's public URL. Unchecked, a client that sends nothing,
or a byte a minute, holds a connection (and, mid-body, a request) for ever, and many clients
sending large bodies at once make the process hold all of them (issue 20: 200 unsigned 1 MiB
bodies left about 200 MB that was not returned). So:

- `ReadDeadlineProtocol`: a request's head and body must have arrived `READ_SECONDS` after its
  first byte (after the connection opened, for the first request), or the connection is
  closed. Between requests uvicorn's keep-alive timeout applies as before.
- `BodyBudget`: the bodies being read at once hold at most `BODY_BUDGET_BYTES` between them;
  a request whose body does not fit waits for room, and is answered 503 with Retry-After if
  none comes within `READ_SECONDS`. Webhooks are a few hundred bytes, so only large bodies,
  which no legitimate sender sends, ever wait.
- A client that hangs up mid-body is one warning line (`client_gone`), not an error with a
  traceback: nothing is stored for a request whose body never arrived whole.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

logger = logging.getLogger(__name__)

#: Seconds a request's head and body may take to arrive. QTvoice and Slack send theirs at once
#: (Slack gives up on an answer after 3 s anyway).
READ_SECONDS = 10.0
#: Bytes of request bodies held at once, across all connections.
BODY_BUDGET_BYTES = 16 * 1024 * 1024
#: What a body without Content-Length reserves: the largest any route reads (Slack's, 1 MiB).
UNDECLARED_BODY_BYTES = 1024 * 1024
#: How long a request refused for want of room is asked to wait before it tries again.
BUSY_RETRY_AFTER_SECONDS = 5


class ReadDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol that closes a connection whose request is too slow to arrive.

    The deadline runs from the connection's opening and from the first byte of each request
    until that request's body is complete; the app then has the request, and uvicorn's own
    keep-alive timeout covers the wait for the next one. Closing mid-body ends the request as
    a hang-up does (`client_gone` logs it); closing before any request logs its own line.
    """

    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        self._arm()
        super().on_message_begin()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(READ_SECONDS, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:
            # No request reached the app, so nothing else will say why the connection ended.
            logger.warning(
                "closed a connection from %s: no complete request within %.0f s",
                _address(self.client),
                READ_SECONDS,
            )
        self.transport.close()


def _address(client: Any) -> str:
    return f"{client[0]}:{client[1]}" if client else "an unknown address"


async def client_gone(request: Request, error: Exception) -> Response:
    """One warning line for a request whose client hung up (or was too slow) mid-body.

    Nothing was stored: a webhook is stored only once its whole body has been read and
    checked. The answer goes nowhere (the connection is gone); it is there for the framework.
    """
    assert isinstance(error, ClientDisconnect)
    logger.warning(
        "%s %s from %s: the connection closed before the body was complete; nothing stored",
        request.method,
        request.url.path,
        _address(request.client and (request.client.host, request.client.port)),
    )
    return Response(status_code=400)


class BodyBudget:
    """ASGI middleware: the request bodies read at once hold at most `budget` bytes together.

    A request reserves its declared Content-Length (or `UNDECLARED_BODY_BYTES`), at most
    `UNDECLARED_BODY_BYTES`, before the app may read its body, and gives it back once the app
    has answered. Waiting for room longer than `READ_SECONDS` is answered 503 with
    Retry-After, and the connection closed.
    """

    def __init__(self, app: ASGIApp, budget: int = BODY_BUDGET_BYTES) -> None:
        self.app = app
        self.budget = budget
        self._free = budget
        self._waiting = 0
        self._room = asyncio.Condition()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        size = _declared(scope)
        try:
            async with asyncio.timeout(READ_SECONDS):
                await self._reserve(size)
        except TimeoutError:
            logger.warning(
                "%s %s: refused a %s-byte body, %s bytes of bodies already being read",
                scope["method"],
                scope["path"],
                size,
                self.budget - self._free,
            )
            busy = JSONResponse(
                {"error": "Too many large requests at once; retry later", "code": "BUSY"},
                503,
                headers={"Retry-After": str(BUSY_RETRY_AFTER_SECONDS), "Connection": "close"},
            )
            await busy(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            await self._release(size)

    async def _reserve(self, size: int) -> None:
        if self._free >= size:  # the usual case: no lock, nothing to wait for
            self._free -= size
            return
        self._waiting += 1
        try:
            async with self._room:
                await self._room.wait_for(lambda: self._free >= size)
                self._free -= size
        finally:
            self._waiting -= 1

    async def _release(self, size: int) -> None:
        self._free += size
        if self._waiting:
            async with self._room:
                self._room.notify_all()


def _declared(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit():
            return min(int(value), UNDECLARED_BODY_BYTES)
    return UNDECLARED_BODY_BYTES
