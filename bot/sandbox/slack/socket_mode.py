"""Socket Mode for the sandbox Slack: a loopback websocket that carries Slack's requests.

Slack's protocol (https://api.slack.com/apis/socket-mode), as slack_sdk's client speaks it:

- `apps.connections.open`, called with the app-level token (xapp-), answers a one-use URL
  (`wss://wss-primary.slack.com/link/?ticket=…`; here `ws://127.0.0.1:PORT/link/?ticket=…`).
- On connecting, Slack sends `{"type": "hello", "num_connections", "debug_info",
  "connection_info": {"app_id"}}`.
- Each request is an envelope `{"envelope_id", "type": "events_api" | "slash_commands" |
  "interactive", "payload", "accepts_response_payload"}` (events also carry `retry_attempt` and
  `retry_reason`); the payload is what HTTP mode would POST, as JSON.
- Slack may ask the app to reconnect: `{"type": "disconnect", "reason"}`; the app then asks
  `apps.connections.open` for a new URL.
- The app acks each envelope with `{"envelope_id", "payload"?}` within 3 seconds; the payload is
  what HTTP mode would answer (an ephemeral for a command, `response_action` for a modal).

The server is aiohttp's: aiohttp is already a runtime dependency (slack_sdk's Socket Mode client
runs on it), its websocket server answers the client's pings by itself, and uvicorn, which serves
the rest of the sandbox, would need another package (`websockets` or `wsproto`) for websockets.
It runs on its own loop in a daemon thread, like `BackgroundServer`.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from aiohttp import WSMsgType, web

from bot.sandbox.server import free_port
from bot.sandbox.slack.team import APP_ID

T = TypeVar("T")

EnvelopeType = Literal["events_api", "slash_commands", "interactive"]

ACK_DEADLINE_SECONDS = 3.0
"""Slack's deadline for an ack; later, a command shows the user an error, an event is retried."""

_ANSWERABLE_INTERACTIONS = {"view_submission", "block_suggestion", "dialog_suggestion"}
"""Interactions whose ack payload Slack acts on (`response_action`, options); a button
click's ack carries nothing. Every slash command's ack may carry a message; no event's may."""


@dataclass(frozen=True)
class Ack:
    """The bot's answer to one envelope: its payload (None when empty) and how long it took."""

    envelope_id: str
    envelope_type: str
    payload: dict[str, Any] | None
    seconds: float

    @property
    def on_time(self) -> bool:
        return self.seconds <= ACK_DEADLINE_SECONDS


@dataclass
class _Pending:
    envelope: dict[str, Any]
    sent_at: float
    acked: threading.Event
    ack: Ack | None = None


class SocketModeServer:
    """Hands out Socket Mode URLs, pushes envelopes to the connected app, records its acks.

    Thread-safe: tests push from their own thread while the server's loop receives.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"ws://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._tickets: set[str] = set()
        self._sockets: list[web.WebSocketResponse] = []
        self._pending: dict[str, _Pending] = {}
        self._acks: list[Ack] = []
        self._unmatched: list[str] = []
        self._refused = 0
        self._opened = 0
        self._peak = 0
        self._pushed = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    def start(self) -> SocketModeServer:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, args=(self._loop,), daemon=True)
        self._thread.start()
        self._call(self._serve())
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        if self._runner is not None:
            self._call(self._runner.cleanup())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop = self._thread = None

    def _call(self, work: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        """Run `work` on the server's loop from another thread and wait for its result."""
        if self._loop is None:
            raise RuntimeError("SocketModeServer is not started")
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout)

    @staticmethod
    def _run(loop: asyncio.AbstractEventLoop) -> None:
        try:
            loop.run_forever()
        finally:
            loop.close()

    def reset(self) -> None:
        """Forget envelopes, acks and tickets; connections stay open."""
        with self._lock:
            self._tickets.clear()
            self._pending.clear()
            self._acks.clear()
            self._unmatched.clear()
            self._refused = 0
            self._peak = sum(1 for ws in self._sockets if not ws.closed)

    # -- what apps.connections.open and the tests use

    def issue_url(self) -> str:
        """A one-use websocket URL, as `apps.connections.open` returns it."""
        ticket = uuid.uuid4().hex
        with self._lock:
            self._tickets.add(ticket)
        return f"{self.url}/link/?ticket={ticket}&app_id={APP_ID}"

    @property
    def connections(self) -> int:
        """How many apps are connected now."""
        with self._lock:
            return sum(1 for ws in self._sockets if not ws.closed)

    @property
    def connections_opened(self) -> int:
        """How many connections were ever admitted (a reconnect adds one)."""
        with self._lock:
            return self._opened

    @property
    def peak_connections(self) -> int:
        """The most apps ever connected at once."""
        with self._lock:
            return self._peak

    @property
    def refused_connections(self) -> int:
        """Connection attempts without a valid ticket (Slack refuses them too)."""
        with self._lock:
            return self._refused

    def push(
        self,
        envelope_type: EnvelopeType,
        payload: dict[str, Any],
        *,
        retry_attempt: int | None = None,
        retry_reason: str | None = None,
        timeout: float = 10.0,
    ) -> Ack | None:
        """Send one envelope to one connection, each in turn as Slack spreads an app's
        envelopes over its connections, and wait for its ack.

        Returns the ack if one came within `ACK_DEADLINE_SECONDS`, else None (an ack that comes
        later is still recorded, with `on_time` false). Raises TimeoutError when no app is
        connected within `timeout` seconds.
        """
        socket = self._wait_for_connection(timeout)
        envelope: dict[str, Any] = {
            "envelope_id": str(uuid.uuid4()),
            "type": envelope_type,
            "payload": payload,
            "accepts_response_payload": envelope_type == "slash_commands"
            or (
                envelope_type == "interactive"
                and str(payload.get("type")) in _ANSWERABLE_INTERACTIONS
            ),
        }
        if envelope_type == "events_api":
            envelope["retry_attempt"] = retry_attempt or 0
            envelope["retry_reason"] = retry_reason or ""
        pending = _Pending(envelope, time.monotonic(), threading.Event())
        with self._lock:
            self._pending[envelope["envelope_id"]] = pending
        self._call(socket.send_json(envelope), timeout)
        pending.acked.wait(ACK_DEADLINE_SECONDS)
        with self._lock:
            return pending.ack if pending.ack is not None and pending.ack.on_time else None

    def disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask every connected app to reconnect, as Slack does every few hours (`warning`,
        `refresh_requested`) or when the app's Socket Mode is turned off (`link_disabled`)."""
        message = {
            "type": "disconnect",
            "reason": reason,
            "debug_info": {"host": "applink-sandbox"},
        }
        with self._lock:
            sockets = [ws for ws in self._sockets if not ws.closed]
        for socket in sockets:
            self._call(socket.send_json(message))

    def envelopes(self) -> list[dict[str, Any]]:
        """Every envelope pushed since the last reset, oldest first."""
        with self._lock:
            return [pending.envelope for pending in self._pending.values()]

    def acks(self) -> list[Ack]:
        """Every ack received since the last reset, in the order they came."""
        with self._lock:
            return list(self._acks)

    def unacked(self) -> list[dict[str, Any]]:
        """Envelopes pushed but never acked (Slack would retry an event, fail a command)."""
        with self._lock:
            return [p.envelope for p in self._pending.values() if p.ack is None]

    def unmatched(self) -> list[str]:
        """Messages from the app that ack no envelope we sent (wrong id, not JSON, ...)."""
        with self._lock:
            return list(self._unmatched)

    # -- the server

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_get("/link/", self._link)
        app.on_shutdown.append(self._close_sockets)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _close_sockets(self, app: web.Application) -> None:
        with self._lock:
            sockets = list(self._sockets)
        for socket in sockets:
            await socket.close()

    async def _link(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        with self._lock:
            admitted = ticket in self._tickets
            self._tickets.discard(ticket)
            if not admitted:
                self._refused += 1
        if not admitted:
            return web.Response(status=401, text="invalid ticket")
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        with self._lock:
            self._sockets.append(socket)
            self._opened += 1
            count = sum(1 for ws in self._sockets if not ws.closed)
            self._peak = max(self._peak, count)
        await socket.send_json(
            {
                "type": "hello",
                "num_connections": count,
                "debug_info": {
                    "host": "applink-sandbox",
                    "build_number": 1,
                    "approximate_connection_time": 18060,
                },
                "connection_info": {"app_id": APP_ID},
            }
        )
        async for message in socket:
            if message.type == WSMsgType.TEXT:
                self._receive(message.data)
        with self._lock:
            self._sockets.remove(socket)
        return socket

    def _receive(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        with self._lock:
            pending = self._pending.get(str(envelope_id))
            if message is None or pending is None or pending.ack is not None:
                self._unmatched.append(text)
                return
            pending.ack = Ack(
                envelope_id=str(envelope_id),
                envelope_type=pending.envelope["type"],
                payload=message.get("payload") or None,
                seconds=time.monotonic() - pending.sent_at,
            )
            self._acks.append(pending.ack)
        pending.acked.set()

    def _wait_for_connection(self, timeout: float) -> web.WebSocketResponse:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                open_sockets = [ws for ws in self._sockets if not ws.closed]
            if open_sockets:
                with self._lock:
                    self._pushed += 1
                    return open_sockets[self._pushed % len(open_sockets)]
            if time.monotonic() > deadline:
                raise TimeoutError("no app connected over Socket Mode")
            time.sleep(0.01)
