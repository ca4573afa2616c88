"""The door of `POST /slack/events`: size and signature are checked before anything parses.

Slack signs every request it sends: `X-Slack-Signature` is "v0=" + the hex HMAC-SHA256 of
"v0:<X-Slack-Request-Timestamp>:<raw body>" under the app's signing secret, and a timestamp more
than five minutes off is stale (https://api.slack.com/authentication/verifying-requests-from-slack).
slack_sdk's `SignatureVerifier` does that arithmetic; the door hands it only what it can take (an
ASCII-digit timestamp, a UTF-8 body) and turns every way a request falls short into `Refused`.

The contract for this route: a body over 1 MiB is a 413 before it is read whole; a missing, stale
or wrong signature is a 401 before the body is parsed; neither writes the body to the log. Only a
correctly signed body reaches Bolt's parser, and one Bolt cannot read is a 400.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from slack_bolt.adapter.starlette.async_handler import to_async_bolt_request
from slack_bolt.async_app import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier
from starlette.requests import Request

MAX_BODY_BYTES = 1024 * 1024
"""Slack's own payloads stay far below this (a modal's view is capped at 100 blocks)."""

SIGNATURE_HEADER = "x-slack-signature"
TIMESTAMP_HEADER = "x-slack-request-timestamp"

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
"""Unix seconds as Slack sends them. `int()` alone would also take " 12", "1_2" and "١٢", and
raises on 5,000 digits; a timestamp that is not this is simply not signed."""

_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")

_UNREADABLE = (ValueError, TypeError, AttributeError, KeyError, IndexError, RecursionError)
"""What Bolt's parser raises on a body that is not a Slack payload: bad JSON (ValueError), JSON
nested past the parser's depth (RecursionError), or JSON of the wrong shape (the others, from
Bolt reading fields such as `authorizations[0]` without checking their type)."""


class Refused(Exception):
    """A request the door turns away: `status` (400, 401 or 413) and a reason safe to log.

    The reason never quotes the body or a header value.
    """

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


async def admit(request: Request, verifier: SignatureVerifier) -> AsyncBoltRequest:
    """The request as Bolt reads it, once it is known to be small enough and signed by Slack.

    Checks, in order: the declared Content-Length (413), the signature headers' presence, form
    and freshness (401), the body counted while it streams in, so at most `MAX_BODY_BYTES` plus
    one chunk is ever held (413), the HMAC over the raw bytes (401), and only then Bolt's parse
    of the body (400 when it is not a payload Bolt can read).

    Raises `Refused`.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise Refused(413, "body over 1 MiB")
    timestamp = request.headers.get(TIMESTAMP_HEADER, "")
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not _TIMESTAMP.fullmatch(timestamp) or not _SIGNATURE.fullmatch(signature):
        raise Refused(401, "missing or malformed Slack signature headers")
    if abs(verifier.clock.now() - int(timestamp)) > 5 * 60:
        raise Refused(401, "stale Slack request timestamp")
    body = await _read_limited(request)
    try:
        valid = verifier.is_valid(body, timestamp, signature)
    except UnicodeDecodeError:
        # Slack signs UTF-8 text; the verifier cannot even compute a signature for other bytes.
        valid = False
    if not valid:
        raise Refused(401, "wrong Slack signature")
    try:
        bolt_request = to_async_bolt_request(request, body)
    except _UNREADABLE as error:
        raise Refused(400, f"signed body is not a Slack payload ({type(error).__name__})") from None
    return _shaped(bolt_request, "signed body")


def admit_envelope(
    payload: Any, headers: dict[str, str | Sequence[str]] | None
) -> AsyncBoltRequest:
    """A Socket Mode envelope's payload as Bolt reads it, once it has Slack's shapes.

    Socket Mode needs no signature (the websocket was opened with the app-level token), but a
    payload Bolt cannot read would be a traceback there too, so it passes the same shape
    check as a signed HTTP body (`slack_shaped`). `headers` are Bolt's, from
    `slack_bolt.adapter.socket_mode.internals.build_headers`. Raises `Refused` (400).
    """
    if not isinstance(payload, dict):
        raise Refused(400, "Socket Mode payload is not a JSON object")
    try:
        bolt_request = AsyncBoltRequest(mode="socket_mode", body=payload, headers=headers)
    except _UNREADABLE as error:
        reason = f"Socket Mode payload is not a Slack payload ({type(error).__name__})"
        raise Refused(400, reason) from None
    return _shaped(bolt_request, "Socket Mode payload")


def _shaped(bolt_request: AsyncBoltRequest, what: str) -> AsyncBoltRequest:
    """`bolt_request` if its body and the ids Bolt took from it are Slack-shaped; else Refused."""
    if not slack_shaped(bolt_request.body) or not _ids_are_text(bolt_request.context):
        raise Refused(400, f"{what} is not shaped like a Slack payload")
    return bolt_request


def slack_shaped(body: Mapping[str, Any]) -> bool:
    """Whether the fields Bolt and our listeners read before checking have Slack's shapes.

    Bolt's middleware and listener matchers index into the payload without checking types
    (`body["event"].get("subtype")`, `body["actions"][0]["action_id"]`, a regex over
    `event["text"]`), and so do our listeners (`body["user"]["id"]`), so a signed body with a
    list where Slack puts an object would be a 500. Two tables say what is checked: the types
    of fields wherever they appear (`_ENVELOPE`, `_EVENT`, …), and the fields each kind of
    payload always carries (`_REQUIRED`). The shapes are Slack's:
    https://api.slack.com/apis/events-api#callback-field and
    https://api.slack.com/reference/interaction-payloads.
    """
    if not _fields(body, _ENVELOPE) or not _utf8(body):
        return False
    if any(key in body and body[key] is None for key in _DEFAULTED):
        return False
    actions = body.get("actions") or []
    kinds = (
        str(body.get("type")),
        f"view:{(body.get('view') or {}).get('type')}",
        f"event:{(body.get('event') or {}).get('type')}",
    )
    return (
        all(_fields(_at(body, path) or {}, types) for path, types in _SHAPES.items())
        and all(_fields(action, _ACTION) for action in actions)
        and all(
            isinstance(_at(body, path), kind)
            for payload_kind in kinds
            for path, kind in _REQUIRED.get(payload_kind, ())
        )
    )


def _utf8(body: Mapping[str, Any]) -> bool:
    """No string in `body` holds a lone surrogate (JSON's "\\udb8a"): Slack sends UTF-8 text,
    and neither a database driver nor an HTTP client can encode such a string."""
    try:
        json.dumps(body, ensure_ascii=False).encode()
    except (UnicodeEncodeError, RecursionError):
        return False
    return True


_CONTEXT_TEXT = (
    "enterprise_id",
    "team_id",
    "user_id",
    "actor_enterprise_id",
    "actor_team_id",
    "actor_user_id",
    "channel_id",
    "thread_ts",
    "function_execution_id",
    "function_bot_access_token",
    "response_url",
)
"""What Bolt extracts from a body into its context, to pass to Slack's clients as text."""


def _ids_are_text(context: Mapping[str, Any]) -> bool:
    """Bolt finds the team, user and channel ids in many places of a body (`authorizations[0]`,
    `team`, `enterprise`, `event`…) and hands them to its clients unchecked, where a number or
    a list is a 500 (`auth.test` with `team_id=-Infinity`); Slack's ids are always text."""
    return all(isinstance(context.get(name), str | None) for name in _CONTEXT_TEXT)


def _at(value: Any, path: tuple[str | int, ...]) -> Any:
    """What is at `path` in nested objects and lists (an int picks a list item); None if absent."""
    for step in path:
        if isinstance(step, int):
            value = value[step] if isinstance(value, list) and len(value) > step else None
        else:
            value = value.get(step) if isinstance(value, dict) else None
    return value


_USER_ID: tuple[tuple[str | int, ...], type] = (("user", "id"), str)
_REQUIRED: dict[str, tuple[tuple[tuple[str | int, ...], type], ...]] = {
    "event_callback": ((("event", "type"), str),),
    "block_actions": ((("actions", 0, "action_id"), str), _USER_ID),
    "interactive_message": ((("actions", 0), dict), _USER_ID),
    "view_submission": ((("view", "type"), str), _USER_ID),
    "view_closed": ((("view", "type"), str), _USER_ID),
    "workflow_step_edit": ((("workflow_step",), dict),),
    "view:workflow_step": ((("workflow_step",), dict),),
    "event:message": ((("event", "channel"), str),),
    "event:app_home_opened": ((("event", "user"), str),),
}
"""The fields Slack always sends with each payload `type` (and with a view of each type, as
"view:<type>", and with an event of each type, as "event:<type>"), which Bolt or our
listeners read unguarded: (path, type) pairs."""

_ENVELOPE: dict[str, type] = {
    "type": str,
    "command": str,
    "callback_id": str,
    "trigger_id": str,
    "token": str,
    "ssl_check": str,
    "challenge": str,
    "action_id": str,
    "block_id": str,
    "response_url": str,
    "user": dict,
    "channel": dict,
    "event": dict,
    "view": dict,
    "container": dict,
    "message": dict,
    "workflow_step": dict,
    "actions": list,
    "authorizations": list,
}
_EVENT: dict[str, type] = {
    "type": str,
    "subtype": str,
    "channel_type": str,
    "tab": str,
    "text": str,
    "ts": str,
    "thread_ts": str,
    "bot_id": str,
    "message": dict,
    "previous_message": dict,
    "assistant_thread": dict,
    "workflow_step": dict,
    "view": dict,
}
_VIEW: dict[str, type] = {"type": str, "callback_id": str, "id": str, "private_metadata": str}
_ACTION: dict[str, type] = {"type": str, "action_id": str, "block_id": str}
#: Objects Bolt reads as `body.get(key, {})`: present but null, they would be read as None.
_DEFAULTED = ("event", "view")
_SHAPES: dict[tuple[str | int, ...], dict[str, type]] = {
    ("event",): _EVENT,
    ("view",): _VIEW,
    ("user",): {"id": str},
    ("channel",): {"id": str},
    ("container",): {"channel_id": str, "message_ts": str, "thread_ts": str},
    ("message",): {"ts": str, "thread_ts": str, "text": str},
}
"""The types of the fields of each object of the envelope (`_ENVELOPE` types the objects)."""


def _fields(value: object, types: Mapping[str, type]) -> bool:
    """`value` is an object whose listed fields are absent, null or of their type (lists hold
    only objects)."""
    if not isinstance(value, dict):
        return False
    for name, kind in types.items():
        field = value.get(name)
        if field is None:
            continue
        if not isinstance(field, kind):
            return False
        if isinstance(field, list) and not all(isinstance(item, dict) for item in field):
            return False
    return True


class PayloadsKeptOut(logging.Filter):
    """Keeps payloads out of Bolt's log: its "Unhandled request" warning quotes the request's
    fields (a typed option search, a dialog's submission), over HTTP and Socket Mode alike.

    The warning keeps its meaning, without the fields or the multi-line code suggestion.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith("Unhandled request ("):
            record.msg, record.args = "Unhandled Slack request: no listener matches it", None
        return True


KEEP_PAYLOADS_OUT = PayloadsKeptOut()
"""One instance, so installing it on Bolt's logger again (an app per test) adds nothing."""


async def _read_limited(request: Request) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise Refused(413, "body over 1 MiB")
        chunks.append(chunk)
    return b"".join(chunks)
