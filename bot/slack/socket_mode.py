"""Socket Mode with the door's shape check: what the websocket brings is read like a signed body."""

from __future__ import annotations

import logging
import time

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import send_async_response
from slack_bolt.adapter.socket_mode.internals import build_headers
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.slack import door

logger = logging.getLogger(__name__)


class CheckedSocketModeHandler(AsyncSocketModeHandler):
    """Bolt's Socket Mode handler with `door.admit_envelope` before Bolt's dispatch.

    Bolt's own handler (slack_bolt.adapter.socket_mode.aiohttp) dispatches every payload as it
    comes, so one Bolt cannot read is a traceback, and acks only what a listener answered 200,
    so an envelope it cannot read or no listener matches is never acked, and Slack retries an
    event. Here such an envelope is acked empty, and a refused one is logged in one line that
    quotes nothing of it.
    """

    async def handle(  # type: ignore[override]
        self, client: SocketModeClient, req: SocketModeRequest
    ) -> None:
        start = time.time()
        try:
            bolt_request = door.admit_envelope(req.payload, build_headers(req))
        except door.Refused as refused:
            logger.warning("Socket Mode envelope (%s) refused: %s", req.type, refused.reason)
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            return
        response = await self.app.async_dispatch(bolt_request)
        if response.status == 200:
            await send_async_response(client, req, response, start)
        else:
            # Bolt answers 404 when no listener matches (it has logged that) and leaves the
            # envelope unacked; over HTTP Slack would get the 404 and not retry.
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
