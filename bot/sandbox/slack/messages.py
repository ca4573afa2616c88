"""Stored messages as the Web API shows them: their public shape, time windows and cursor pages."""

from __future__ import annotations

import base64
import copy
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.sandbox.slack.arguments import MAX_READ_LIMIT, flag, optional, page_limit, ts_bound
from bot.sandbox.slack.errors import SlackError


def public(message: Mapping[str, Any], *, with_metadata: bool) -> dict[str, Any]:
    """A stored message as Slack returns it: absent fields left out, metadata only on request."""
    hidden = {"channel"} if with_metadata else {"channel", "metadata"}
    return {
        key: copy.deepcopy(value)
        for key, value in message.items()
        if key not in hidden and value is not None and value != []
    }


def is_top_level(message: Mapping[str, Any]) -> bool:
    thread_ts = message.get("thread_ts")
    return thread_ts in (None, message["ts"]) or bool(message.get("reply_broadcast"))


def in_window(messages: list[dict[str, Any]], args: Mapping[str, Any]) -> list[dict[str, Any]]:
    oldest, latest = ts_bound(args, "oldest"), ts_bound(args, "latest")
    inclusive = flag(args, "inclusive")

    def inside(message: Mapping[str, Any]) -> bool:
        ts = Decimal(message["ts"])
        above = oldest is None or ts > oldest or (inclusive and ts == oldest)
        below = latest is None or ts < latest or (inclusive and ts == latest)
        return above and below

    return [message for message in messages if inside(message)]


def _cursor(ts: str) -> str:
    return base64.b64encode(f"next_ts:{ts}".encode()).decode()


def paginate(
    messages: list[dict[str, Any]], args: Mapping[str, Any], *, newest_first: bool
) -> tuple[list[dict[str, Any]], str]:
    """One page of `messages` and the cursor of the next (empty when there is none).

    Slack's cursors are base64 of "next_ts:<ts of the first message of the next page>".
    """
    raw_cursor = optional(args, "cursor")
    if raw_cursor is not None:
        try:
            start_ts = Decimal(base64.b64decode(raw_cursor).decode().removeprefix("next_ts:"))
        except (ValueError, InvalidOperation):
            raise SlackError("invalid_cursor") from None
        messages = [
            message
            for message in messages
            if (
                Decimal(message["ts"]) <= start_ts
                if newest_first
                else Decimal(message["ts"]) >= start_ts
            )
        ]
    limit = page_limit(args, most=MAX_READ_LIMIT)
    page, rest = messages[:limit], messages[limit:]
    return page, _cursor(rest[0]["ts"]) if rest else ""
