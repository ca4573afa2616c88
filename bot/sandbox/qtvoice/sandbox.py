"""`QTvoiceSandbox`: the API served on a free loopback port, started and stopped by a test."""

from __future__ import annotations

from types import TracebackType

from bot.sandbox.qtvoice.account import API_PREFIX, DEFAULT_API_KEY, DEFAULT_READ_ONLY_KEY
from bot.sandbox.qtvoice.api import QTvoiceApi
from bot.sandbox.qtvoice.state import QTvoiceState
from bot.sandbox.server import BackgroundServer


class QTvoiceSandbox:
    """A QTvoice API on a free loopback port; `url` is the base to give the bot's client.

    With `webhook_url` and `webhook_secret` (also settable later on `state`), a sent text
    is followed by signed `sms.sent` and `sms.delivered` webhooks to that URL.
    """

    def __init__(
        self,
        api_key: str = DEFAULT_API_KEY,
        *,
        read_only_key: str | None = DEFAULT_READ_ONLY_KEY,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
    ) -> None:
        self.state = QTvoiceState(
            api_key, read_only_key, webhook_url=webhook_url, webhook_secret=webhook_secret
        )
        self.api = QTvoiceApi(self.state)
        self._server = BackgroundServer(self.api.app)
        self.url = f"{self._server.url}{API_PREFIX}"

    @property
    def api_key(self) -> str:
        return self.state.api_key

    def start(self) -> QTvoiceSandbox:
        self._server.start()
        return self

    def stop(self) -> None:
        self.state.clear_delays()
        self._server.stop()

    def __enter__(self) -> QTvoiceSandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
