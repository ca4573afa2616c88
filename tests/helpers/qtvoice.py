"""What the bot asked the QTvoice sandbox to do."""

from __future__ import annotations

from typing import Any

from bot.sandbox.qtvoice import QTvoiceSandbox


def texts(qtvoice: QTvoiceSandbox) -> list[Any]:
    """The bodies of every `POST /sms` the bot made, oldest first."""
    return [request.json for request in qtvoice.state.requests("POST", "/sms")]
