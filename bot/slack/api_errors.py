"""Reading a Slack Web API failure safely, whatever came back.

`SlackApiError.response` is usually a `SlackResponse` whose `data` is Slack's JSON answer. But
when Slack (or a proxy in front of it) answers with a body that is not JSON, slack_sdk hands
over a `str` as `data`, or the raw aiohttp response itself, and `response.get("error")` raises
`AttributeError`. These helpers never raise: such an answer has no error code, and counts as
a transient failure like a 5xx.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slack_sdk.errors import SlackApiError

logger = logging.getLogger(__name__)

#: Slack's refusals of a message's content, from the chat.postMessage and chat.update
#: reference (docs.slack.dev/reference/methods/chat.postMessage, …/chat.update): sending the
#: same message again cannot succeed, a plain-text version of it may.
CONTENT_REFUSALS = frozenset(
    {
        "attachment_payload_limit_exceeded",
        "block_mismatch",
        "invalid_arguments",
        "invalid_array_arg",
        "invalid_attachments",
        "invalid_blocks",
        "invalid_blocks_format",
        "invalid_charset",
        "invalid_metadata_format",
        "invalid_metadata_schema",
        "markdown_text_conflict",
        "metadata_too_large",
        "msg_blocks_too_long",
        "msg_too_long",
        "no_text",
        "too_many_attachments",
    }
)

#: Slack's refusals to open a DM with a user, from the conversations.open reference
#: (docs.slack.dev/reference/methods/conversations.open): the user is gone, unknown, hidden
#: from the bot, a bot, or no user id was given; asking again cannot succeed.
DM_REFUSALS = frozenset(
    {
        "cannot_dm_bot",
        "invalid_user_combination",
        "user_disabled",
        "user_not_found",
        "user_not_visible",
        "users_list_not_supplied",
    }
)


def error_code(error: SlackApiError) -> str | None:
    """Slack's `error` code ("invalid_blocks"); None when the answer was not Slack's JSON."""
    data = getattr(error.response, "data", None)
    if isinstance(data, Mapping):
        code = data.get("error")
        return code if isinstance(code, str) else None
    return None


def error_status(error: SlackApiError) -> int | None:
    """The HTTP status of the failed call, from a SlackResponse or a raw aiohttp response."""
    response: Any = error.response
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    return status if isinstance(status, int) else None


def error_headers(error: SlackApiError) -> Mapping[str, Any]:
    headers = getattr(error.response, "headers", None)
    return headers if isinstance(headers, Mapping) else {}


def describe(error: SlackApiError) -> str:
    """One short line for a log or a stored reason: the code, else the HTTP status."""
    code = error_code(error)
    if code is not None:
        return code
    return f"unreadable answer (HTTP {error_status(error) or 'unknown'})"
