"""Web API arguments read as Slack reads them: required or optional, flags, limits, JSON strings."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.sandbox.slack.errors import SlackError, missing

DEFAULT_PAGE_LIMIT = 100
MAX_PAGE_LIMIT = 999
#: Since 2025, conversations.history and conversations.replies give an app that is not internal
#: (nor in the Marketplace) at most 15 messages a call, whatever its `limit` asks.
MAX_READ_LIMIT = 15

_JSON_ARGS = {
    "blocks": "invalid_blocks_format",
    "attachments": "invalid_attachments",
    "metadata": "invalid_metadata_format",
    "view": "invalid_arguments",
}
"""Arguments slack_sdk may send as JSON strings (form posts), and Slack's error when they do not
parse."""


def required(args: Mapping[str, Any], name: str) -> str:
    value = args.get(name)
    if value is None or value == "":
        raise missing(name)
    return str(value)


def optional(args: Mapping[str, Any], name: str) -> str | None:
    value = args.get(name)
    return None if value is None or value == "" else str(value)


def flag(args: Mapping[str, Any], name: str) -> bool:
    """Slack booleans arrive as JSON true, or as "1"/"true" in forms and query strings."""
    return str(args.get(name, "")).lower() in {"1", "true"}


def page_limit(args: Mapping[str, Any], *, most: int = MAX_PAGE_LIMIT) -> int:
    """The page size a call asks for, within 1 and `most`."""
    try:
        limit = int(args.get("limit") or DEFAULT_PAGE_LIMIT)
    except (TypeError, ValueError):
        raise SlackError("invalid_limit") from None
    return min(max(limit, 1), most)


def ts_bound(args: Mapping[str, Any], name: str) -> Decimal | None:
    value = optional(args, name)
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        raise SlackError(f"invalid_ts_{name}") from None


def decode_json_args(args: dict[str, Any]) -> dict[str, Any]:
    for name, error in _JSON_ARGS.items():
        value = args.get(name)
        if isinstance(value, str) and value:
            try:
                args[name] = json.loads(value)
            except ValueError:
                raise SlackError(error) from None
    return args
