"""What the bot asked the QTvoice sandbox to do."""

from __future__ import annotations

from typing import Any

from bot.sandbox.qtvoice import QTvoiceSandbox


def texts(qtvoice: QTvoiceSandbox) -> list[Any]:
    return [request.json for request in qtvoice.state.requests("POST", "/sms")]


def texts_sent(qtvoice: QTvoiceSandbox) -> list[Any]:
    return [request.json for request in qtvoice.state.requests("POST", "/sms")]
