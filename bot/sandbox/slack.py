"""A local Slack for the demo and the tests: a Web API recorder, and a driver that plays Slack.

`SlackRecorder` serves the Slack Web API methods the bot uses over real HTTP, so the bot's own
`slack_sdk` client is what gets exercised. It answers in Slack's shapes (including its errors and
its limits on Block Kit), keeps the channel state those answers depend on (messages, threads,
reactions, views), records every call, and lets a test make a method fail or slow down.

`SlackDriver` plays Slack towards the bot: it builds slash commands, interactivity payloads and
Events API envelopes exactly as Slack sends them and POSTs them, signed, to `/slack/events`.

    with SlackRecorder() as slack:
        slack.fail_next("chat.postMessage", status=429, retry_after=1)
        ...  # point the bot's WebClient at slack.api_url with token "xoxb-test"
        slack.wait_for(lambda: slack.messages("C0GENERAL"))
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.sandbox.server import BackgroundServer

T = TypeVar("T")

DEFAULT_BOT_TOKEN = "xoxb-test"
TEAM_ID = "T0TEAM"
TEAM_NAME = "QTslack Sandbox"
TEAM_DOMAIN = "qtslack-sandbox"
TEAM_URL = f"https://{TEAM_DOMAIN}.slack.com/"
BOT_USER_ID = "U0QTSLACK"
BOT_USER_NAME = "qtslack"
BOT_ID = "B0QTSLACK"
APP_ID = "A0QTSLACK"
VERIFICATION_TOKEN = "sandbox-verification-token"
"""Slack still sends its deprecated verification token in every payload; Bolt ignores it."""

BOT_SCOPES = (
    "chat:write,commands,im:write,im:history,channels:history,groups:history,"
    "reactions:write,users:read,users:read.email,team:read,channels:read,groups:read"
)
"""Sent back in X-OAuth-Scopes, which Bolt reads from auth.test."""

SLACK_USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"

TRIGGER_TTL_SECONDS = 3.0
"""Slack refuses a trigger_id older than three seconds, so a slow modal really fails here too."""
RESPONSE_URL_MAX_USES = 5
"""Slack accepts at most five posts to one response_url."""

MAX_MESSAGE_TEXT = 40_000
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_VIEW_TITLE = 24
MAX_PRIVATE_METADATA = 3000
DEFAULT_PAGE_LIMIT = 100
MAX_PAGE_LIMIT = 999

_TEXT_LIMITS = {"section": 3000, "header": 150, "button": 75}
"""Longest `text.text` Slack accepts in each kind of block element."""
_STRING_LIMITS = {"value": 2000, "action_id": 255, "block_id": 255, "url": 3000}
_ELEMENT_LIMITS = {"actions": 25, "context": 10}

_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9_]+")
_USER_ID = re.compile(r"[UW][A-Z0-9_]+")

_JSON_ARGS = {
    "blocks": "invalid_blocks_format",
    "attachments": "invalid_attachments",
    "metadata": "invalid_metadata_format",
    "view": "invalid_arguments",
}
"""Arguments slack_sdk may send as JSON strings (form posts), and Slack's error when they do not
parse."""


# --- people and records that tests read back ---------------------------------------------


@dataclass(frozen=True)
class SlackUser:
    """A member of the sandbox workspace, as users.info and users.lookupByEmail see them."""

    id: str
    name: str
    real_name: str = ""
    email: str | None = None
    tz: str = "America/New_York"
    is_admin: bool = False
    is_bot: bool = False

    def to_api(self) -> dict[str, Any]:
        """The user object in the shape of Slack's users.info."""
        now = datetime.now(ZoneInfo(self.tz))
        offset = now.utcoffset()
        real_name = self.real_name or self.name
        profile: dict[str, Any] = {
            "real_name": real_name,
            "real_name_normalized": real_name,
            "display_name": self.name,
            "display_name_normalized": self.name,
            "team": TEAM_ID,
        }
        if self.email is not None:
            profile["email"] = self.email
        return {
            "id": self.id,
            "team_id": TEAM_ID,
            "name": self.name,
            "deleted": False,
            "real_name": real_name,
            "tz": self.tz,
            "tz_label": now.tzname(),
            "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
            "is_admin": self.is_admin,
            "is_owner": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "profile": profile,
        }


DEFAULT_USERS = (
    SlackUser("U0ALICE", "alice", "Alice Anderson", "alice@example.com", "America/New_York"),
    SlackUser("U0BOB", "bob", "Bob Brown", "bob@example.com", "America/Chicago"),
)
DEFAULT_CHANNELS: Mapping[str, str] = {"C0GENERAL": "general", "C0SUPPORT": "support"}
_BOT_USER = SlackUser(BOT_USER_ID, BOT_USER_NAME, "QTslack", is_bot=True)


@dataclass(frozen=True)
class RecordedCall:
    """One Web API call as the recorder received and answered it.

    `args` merges query, form and JSON arguments (the token is not among them, and `headers`
    show only its scheme: "Bearer <redacted>"), with `blocks`, `attachments`, `metadata` and `view` decoded when they
    came as JSON strings. `injected` marks an answer made by `fail_next`.
    """

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    status: int
    response: dict[str, Any]
    injected: bool = False

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.response.get("ok") is True

    @property
    def error(self) -> str | None:
        return None if self.ok else str(self.response.get("error"))


# --- answers and errors --------------------------------------------------------------------


@dataclass(frozen=True)
class _Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class _SlackError(Exception):
    """A Slack `ok: false` answer; `messages` become `response_metadata.messages`."""

    def __init__(self, code: str, messages: Iterable[str] = ()) -> None:
        super().__init__(code)
        self.code = code
        self.messages = list(messages)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error": self.code}
        if self.messages:
            body["response_metadata"] = {"messages": self.messages}
        return body


@dataclass
class _Fault:
    method: str
    status: int
    remaining: int
    retry_after: int | None
    error: str | None

    def answer(self) -> _Answer:
        headers = {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}
        if self.error is not None:
            return _Answer(200, {"ok": False, "error": self.error}, headers)
        if self.status == 429:
            # Slack always says how long to wait when it rate-limits.
            headers.setdefault("Retry-After", "1")
            return _Answer(429, {"ok": False, "error": "ratelimited"}, headers)
        return _Answer(self.status, {"ok": False, "error": "internal_error"}, headers)


@dataclass
class _Trigger:
    user_id: str | None
    issued_at: float
    used: bool = False


@dataclass
class _ResponseUrl:
    """Where a response_url leads: the conversation and message it may post to or replace."""

    channel: str | None
    message_ts: str | None
    user_id: str | None
    posts: list[dict[str, Any]] = field(default_factory=list)


# --- argument helpers ----------------------------------------------------------------------


def _missing(name: str) -> _SlackError:
    return _SlackError("invalid_arguments", [f"[ERROR] missing required field: {name}"])


def _required(args: Mapping[str, Any], name: str) -> str:
    value = args.get(name)
    if value is None or value == "":
        raise _missing(name)
    return str(value)


def _optional(args: Mapping[str, Any], name: str) -> str | None:
    value = args.get(name)
    return None if value is None or value == "" else str(value)


def _flag(args: Mapping[str, Any], name: str) -> bool:
    """Slack booleans arrive as JSON true, or as "1"/"true" in forms and query strings."""
    return str(args.get(name, "")).lower() in {"1", "true"}


def _limit(args: Mapping[str, Any]) -> int:
    try:
        limit = int(args.get("limit") or DEFAULT_PAGE_LIMIT)
    except (TypeError, ValueError):
        raise _SlackError("invalid_limit") from None
    return min(max(limit, 1), MAX_PAGE_LIMIT)


def _ts_bound(args: Mapping[str, Any], name: str) -> Decimal | None:
    value = _optional(args, name)
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        raise _SlackError(f"invalid_ts_{name}") from None


def _decode_json_args(args: dict[str, Any]) -> dict[str, Any]:
    for name, error in _JSON_ARGS.items():
        value = args.get(name)
        if isinstance(value, str) and value:
            try:
                args[name] = json.loads(value)
            except ValueError:
                raise _SlackError(error) from None
    return args


def _presented_token(headers: Mapping[str, str], args: dict[str, Any]) -> str | None:
    """The bearer token, or (as Slack still allows) a `token` argument; never kept in args."""
    form_token = args.pop("token", None)
    authorization = headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        return authorization[len("bearer ") :].strip()
    return None if form_token is None else str(form_token)


def _redacted(headers: dict[str, str]) -> dict[str, str]:
    """Headers fit to record and show: the token's scheme stays, the token does not."""
    if "authorization" in headers:
        scheme = headers["authorization"].split(" ", 1)[0]
        headers["authorization"] = f"{scheme} <redacted>"
    return headers


async def _read_args(request: Request) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    if body:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type == "application/json":
            try:
                parsed = json.loads(body)
            except ValueError:
                raise _SlackError("invalid_json") from None
            if not isinstance(parsed, dict):
                raise _SlackError("invalid_json")
            args.update(parsed)
        elif media_type == "application/x-www-form-urlencoded":
            args.update(parse_qsl(body.decode(), keep_blank_values=True))
        else:
            raise _SlackError("invalid_form_data")
    return _decode_json_args(args)


# --- Block Kit limits ----------------------------------------------------------------------


def _problem(text: str, pointer: str) -> str:
    return f"[ERROR] {text} [json-pointer:{pointer}]"


def _node_problems(node: Mapping[str, Any], pointer: str) -> list[str]:
    """Slack's limits on one block or element: the ones a bot most often runs into."""
    problems: list[str] = []
    kind = node.get("type")
    if kind in ("plain_text", "mrkdwn") and not node.get("text"):
        problems.append(_problem("must be more than 0 characters", f"{pointer}/text"))
    text = node.get("text")
    if kind in _TEXT_LIMITS and isinstance(text, Mapping):
        limit = _TEXT_LIMITS[str(kind)]
        if len(str(text.get("text", ""))) > limit:
            problems.append(
                _problem(f"must be less than {limit + 1} characters", f"{pointer}/text/text")
            )
    for key, limit in _STRING_LIMITS.items():
        value = node.get(key)
        if isinstance(value, str) and len(value) > limit:
            problems.append(
                _problem(f"must be less than {limit + 1} characters", f"{pointer}/{key}")
            )
    elements = node.get("elements")
    if kind in _ELEMENT_LIMITS and isinstance(elements, list):
        limit = _ELEMENT_LIMITS[str(kind)]
        if len(elements) > limit:
            problems.append(_problem(f"no more than {limit} items allowed", f"{pointer}/elements"))
    fields = node.get("fields")
    if kind == "section" and isinstance(fields, list) and len(fields) > 10:
        problems.append(_problem("no more than 10 items allowed", f"{pointer}/fields"))
    for key, child in node.items():
        problems.extend(_child_problems(child, f"{pointer}/{key}"))
    return problems


def _child_problems(child: Any, pointer: str) -> list[str]:
    if isinstance(child, Mapping):
        return _node_problems(child, pointer)
    if isinstance(child, list):
        return [p for i, item in enumerate(child) for p in _child_problems(item, f"{pointer}/{i}")]
    return []


def _block_problems(blocks: Any, *, limit: int, pointer: str = "/blocks") -> list[str]:
    if not isinstance(blocks, list):
        return [_problem("must be an array", pointer)]
    problems: list[str] = []
    if len(blocks) > limit:
        problems.append(_problem(f"no more than {limit} items allowed", pointer))
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"{pointer}/{index}"
        if not isinstance(block, Mapping) or not isinstance(block.get("type"), str):
            problems.append(_problem("missing required field: type", where))
            continue
        block_id = block.get("block_id")
        if block_id in block_ids:
            problems.append(_problem(f"duplicate block_id: {block_id}", f"{where}/block_id"))
        if isinstance(block_id, str):
            block_ids.add(block_id)
        problems.extend(_node_problems(block, where))
    return problems


def _plain_text_problems(view: Mapping[str, Any], key: str, *, required: bool) -> list[str]:
    value = view.get(key)
    if value is None:
        return [_problem(f"missing required field: {key}", f"/view/{key}")] if required else []
    if not isinstance(value, Mapping) or value.get("type") != "plain_text":
        return [_problem("must be a plain_text object", f"/view/{key}")]
    if len(str(value.get("text", ""))) > MAX_VIEW_TITLE:
        return [_problem(f"must be less than {MAX_VIEW_TITLE + 1} characters", f"/view/{key}/text")]
    return []


def _view_problems(view: Any) -> list[str]:
    if not isinstance(view, Mapping):
        return [_problem("must provide an object", "/view")]
    kind = view.get("type")
    if kind not in ("modal", "home"):
        return [_problem("must be one of: modal, home", "/view/type")]
    problems = _block_problems(view.get("blocks"), limit=MAX_VIEW_BLOCKS, pointer="/view/blocks")
    if kind == "modal":
        problems += _plain_text_problems(view, "title", required=True)
        problems += _plain_text_problems(view, "submit", required=False)
        problems += _plain_text_problems(view, "close", required=False)
    if len(str(view.get("private_metadata", ""))) > MAX_PRIVATE_METADATA:
        problems.append(_problem("must be less than 3001 characters", "/view/private_metadata"))
    if len(str(view.get("callback_id", ""))) > _STRING_LIMITS["action_id"]:
        problems.append(_problem("must be less than 256 characters", "/view/callback_id"))
    return problems


def _message_content(args: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """The text, blocks, attachments and metadata of a post, checked as Slack checks them.

    `partial` (chat.update) returns only what the call changes: Slack keeps the rest.
    """
    content = {name: args[name] for name in ("text", "blocks", "attachments") if name in args}
    if "metadata" in args:
        content["metadata"] = args["metadata"]
    if not any(content.get(name) for name in ("text", "blocks", "attachments")) and not (
        partial and content
    ):
        raise _SlackError("no_text")
    if len(str(content.get("text") or "")) > MAX_MESSAGE_TEXT:
        raise _SlackError("msg_too_long")
    if content.get("blocks") is not None:
        problems = _block_problems(content["blocks"], limit=MAX_MESSAGE_BLOCKS)
        if problems:
            raise _SlackError("invalid_blocks", problems)
    if content.get("attachments") is not None and not isinstance(content["attachments"], list):
        raise _SlackError("invalid_attachments")
    metadata = content.get("metadata")
    if metadata is not None and not (
        isinstance(metadata, Mapping) and "event_type" in metadata and "event_payload" in metadata
    ):
        raise _SlackError("invalid_metadata_format")
    if "text" in content:
        content["text"] = str(content["text"] or "")
    return content


# --- messages as the Web API shows them ----------------------------------------------------


def _public(message: Mapping[str, Any], *, with_metadata: bool) -> dict[str, Any]:
    """A stored message as Slack returns it: absent fields left out, metadata only on request."""
    hidden = {"channel"} if with_metadata else {"channel", "metadata"}
    return {
        key: copy.deepcopy(value)
        for key, value in message.items()
        if key not in hidden and value is not None and value != []
    }


def _is_top_level(message: Mapping[str, Any]) -> bool:
    thread_ts = message.get("thread_ts")
    return thread_ts in (None, message["ts"]) or bool(message.get("reply_broadcast"))


def _in_window(messages: list[dict[str, Any]], args: Mapping[str, Any]) -> list[dict[str, Any]]:
    oldest, latest = _ts_bound(args, "oldest"), _ts_bound(args, "latest")
    inclusive = _flag(args, "inclusive")

    def inside(message: Mapping[str, Any]) -> bool:
        ts = Decimal(message["ts"])
        above = oldest is None or ts > oldest or (inclusive and ts == oldest)
        below = latest is None or ts < latest or (inclusive and ts == latest)
        return above and below

    return [message for message in messages if inside(message)]


def _cursor(ts: str) -> str:
    return base64.b64encode(f"next_ts:{ts}".encode()).decode()


def _paginate(
    messages: list[dict[str, Any]], args: Mapping[str, Any], *, newest_first: bool
) -> tuple[list[dict[str, Any]], str]:
    """One page of `messages` and the cursor of the next (empty when there is none).

    Slack's cursors are base64 of "next_ts:<ts of the first message of the next page>".
    """
    raw_cursor = _optional(args, "cursor")
    if raw_cursor is not None:
        try:
            start_ts = Decimal(base64.b64decode(raw_cursor).decode().removeprefix("next_ts:"))
        except (ValueError, InvalidOperation):
            raise _SlackError("invalid_cursor") from None
        messages = [
            message
            for message in messages
            if (
                Decimal(message["ts"]) <= start_ts
                if newest_first
                else Decimal(message["ts"]) >= start_ts
            )
        ]
    limit = _limit(args)
    page, rest = messages[:limit], messages[limit:]
    return page, _cursor(rest[0]["ts"]) if rest else ""


def _channel_type(channel: str) -> str:
    return {"D": "im", "G": "group"}.get(channel[:1], "channel")


# --- the workspace: state and the Web API methods ------------------------------------------


class _Workspace:
    """Everything Slack would remember between calls. Callers hold the recorder's lock.

    Each method handler checks all its arguments before it changes anything, so a call that
    fails leaves the workspace as it was.
    """

    def __init__(self, users: Iterable[SlackUser], channels: Mapping[str, str]) -> None:
        self.users = {user.id: user for user in (*users, _BOT_USER)}
        self.channel_names = dict(channels)
        self.reset()

    def reset(self) -> None:
        self.channels: dict[str, list[dict[str, Any]]] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self.open_conversations: set[str] = set()
        self.views: dict[str, dict[str, Any]] = {}
        self.view_users: dict[str, str | None] = {}
        self.opened_view_ids: list[str] = []
        self.published: dict[str, list[dict[str, Any]]] = {}
        self.triggers: dict[str, _Trigger] = {}
        self._last_micros = 0
        self._view_count = 0
        self._trigger_count = 0

    # -- identifiers

    def next_ts(self) -> str:
        """A message timestamp: the current unix time, strictly later than the last one."""
        micros = max(time.time_ns() // 1000, self._last_micros + 1)
        self._last_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def new_trigger_id(self, user_id: str | None) -> str:
        self._trigger_count += 1
        trigger_id = f"{self._trigger_count}.{TEAM_ID}.{uuid.uuid4().hex[:20]}"
        self.triggers[trigger_id] = _Trigger(user_id, time.monotonic())
        return trigger_id

    @staticmethod
    def im_channel(user_id: str) -> str:
        return f"D{user_id}"

    def channel_name(self, channel: str) -> str:
        if channel.startswith("D"):
            return "directmessage"
        return self.channel_names.get(channel) or channel[1:].strip("_").lower()

    def conversation(self, raw: Any, *, allow_user: bool = False) -> str:
        """A channel id the way Slack resolves it: a user id means the DM with that user."""
        channel = str(raw or "")
        if allow_user and _USER_ID.fullmatch(channel):
            return self.im_channel(channel)
        if _CHANNEL_ID.fullmatch(channel):
            return channel
        raise _SlackError("channel_not_found")

    # -- messages

    def history(self, channel: str) -> list[dict[str, Any]]:
        return self.channels.setdefault(channel, [])

    def find(self, channel: str, ts: str, *, error: str = "message_not_found") -> dict[str, Any]:
        for message in self.history(channel):
            if message["ts"] == ts:
                return message
        raise _SlackError(error)

    def thread_root(self, channel: str, thread_ts: str | None) -> str | None:
        """Slack files a reply to a reply under the thread's parent."""
        if thread_ts is None:
            return None
        try:
            parent = self.find(channel, thread_ts)
        except _SlackError:
            return thread_ts
        return parent.get("thread_ts") or thread_ts

    def thread(self, channel: str, root_ts: str) -> list[dict[str, Any]]:
        return [
            message
            for message in self.history(channel)
            if message["ts"] == root_ts or message.get("thread_ts") == root_ts
        ]

    def add_message(
        self,
        channel: str,
        content: Mapping[str, Any],
        *,
        user: str,
        from_bot: bool,
        thread_ts: str | None = None,
        reply_broadcast: bool = False,
    ) -> dict[str, Any]:
        thread_ts = self.thread_root(channel, thread_ts)
        message: dict[str, Any] = {
            "type": "message",
            "channel": channel,
            "ts": self.next_ts(),
            "text": content.get("text") or "",
            "blocks": content.get("blocks") or [],
            "attachments": content.get("attachments"),
            "metadata": content.get("metadata"),
            "thread_ts": thread_ts,
            "reply_broadcast": reply_broadcast or None,
            "user": user,
            "bot_id": BOT_ID if from_bot else None,
            "app_id": APP_ID if from_bot else None,
            "team": TEAM_ID,
            "reactions": [],
            "reply_count": None,
            "reply_users": None,
            "latest_reply": None,
            "edited": None,
        }
        self.history(channel).append(message)
        if thread_ts is not None:
            self.refresh_thread(channel, thread_ts)
        return message

    def refresh_thread(self, channel: str, root_ts: str) -> None:
        """Keep a parent's reply_count/latest_reply true, as Slack shows them in history."""
        try:
            parent = self.find(channel, root_ts)
        except _SlackError:
            return
        replies = [m for m in self.thread(channel, root_ts) if m["ts"] != root_ts]
        parent["thread_ts"] = root_ts if replies else None
        parent["reply_count"] = len(replies) or None
        parent["reply_users"] = sorted({m["user"] for m in replies}) or None
        parent["latest_reply"] = replies[-1]["ts"] if replies else None

    def remove(self, channel: str, message: Mapping[str, Any]) -> None:
        self.history(channel).remove(message)
        root_ts = message.get("thread_ts")
        if root_ts is not None and root_ts != message["ts"]:
            self.refresh_thread(channel, root_ts)

    def bot_message(self, channel: str, ts: str, *, refusal: str) -> dict[str, Any]:
        message = self.find(channel, ts)
        if message["bot_id"] is None:
            raise _SlackError(refusal)
        return message

    def update(self, message: dict[str, Any], content: Mapping[str, Any]) -> None:
        message.update(content)
        message["edited"] = {"user": BOT_USER_ID, "ts": self.next_ts()}

    # -- views

    def use_trigger(self, trigger_id: str) -> _Trigger:
        trigger = self.triggers.get(trigger_id)
        if trigger is None:
            raise _SlackError("invalid_trigger_id")
        if trigger.used:
            raise _SlackError("exchanged_trigger_id")
        if time.monotonic() - trigger.issued_at > TRIGGER_TTL_SECONDS:
            raise _SlackError("expired_trigger_id")
        return trigger

    def new_view_id(self) -> str:
        self._view_count += 1
        return f"V{self._view_count:08d}"

    @staticmethod
    def render_view(view: Mapping[str, Any], view_id: str) -> dict[str, Any]:
        return {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": view["type"],
            "blocks": copy.deepcopy(view.get("blocks", [])),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
            "title": copy.deepcopy(view.get("title")),
            "submit": copy.deepcopy(view.get("submit")),
            "close": copy.deepcopy(view.get("close")),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "external_id": view.get("external_id", ""),
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": APP_ID,
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        }

    def find_view(self, args: Mapping[str, Any]) -> dict[str, Any]:
        view_id, external_id = _optional(args, "view_id"), _optional(args, "external_id")
        if view_id is None and external_id is None:
            raise _missing("view_id")
        for view in self.views.values():
            if view["id"] == view_id or (external_id and view["external_id"] == external_id):
                return view
        raise _SlackError("not_found")

    # -- apps.* / auth.* / team.* / users.*

    def auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": TEAM_URL,
            "team": TEAM_NAME,
            "user": BOT_USER_NAME,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def team_info(self, args: dict[str, Any]) -> dict[str, Any]:
        team = {
            "id": TEAM_ID,
            "name": TEAM_NAME,
            "url": TEAM_URL,
            "domain": TEAM_DOMAIN,
            "email_domain": "example.com",
            "icon": {"image_default": True},
            "is_verified": False,
        }
        return {"ok": True, "team": team}

    def users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(_required(args, "user"))
        if user is None:
            raise _SlackError("user_not_found")
        return {"ok": True, "user": user.to_api()}

    def users_lookup_by_email(self, args: dict[str, Any]) -> dict[str, Any]:
        email = _required(args, "email").lower()
        for user in self.users.values():
            if user.email is not None and user.email.lower() == email:
                return {"ok": True, "user": user.to_api()}
        raise _SlackError("users_not_found")

    # -- chat.*

    def chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.conversation(args.get("channel"), allow_user=True)
        content = _message_content(args)
        message = self.add_message(
            channel,
            content,
            user=BOT_USER_ID,
            from_bot=True,
            thread_ts=_optional(args, "thread_ts"),
            reply_broadcast=_flag(args, "reply_broadcast"),
        )
        public = _public(message, with_metadata=True)
        return {"ok": True, "channel": channel, "ts": message["ts"], "message": public}

    def chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.conversation(args.get("channel"))
        message = self.bot_message(channel, _required(args, "ts"), refusal="cant_update_message")
        self.update(message, _message_content(args, partial=True))
        return {
            "ok": True,
            "channel": channel,
            "ts": message["ts"],
            "text": message["text"],
            "message": _public(message, with_metadata=True),
        }

    def chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.conversation(args.get("channel"))
        user = _required(args, "user")
        if not _USER_ID.fullmatch(user):
            raise _SlackError("user_not_in_channel")
        content = _message_content(args)
        ts = self.next_ts()
        self.ephemerals.append(
            {"channel": channel, "user": user, "ts": ts, "thread_ts": _optional(args, "thread_ts")}
            | content
        )
        return {"ok": True, "message_ts": ts}

    def chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.conversation(args.get("channel"))
        message = self.bot_message(channel, _required(args, "ts"), refusal="cant_delete_message")
        self.remove(channel, message)
        return {"ok": True, "channel": channel, "ts": message["ts"]}

    def chat_get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.conversation(args.get("channel"))
        message = self.find(channel, _required(args, "message_ts"))
        permalink = f"{TEAM_URL}archives/{channel}/p{message['ts'].replace('.', '')}"
        if not _is_top_level(message):
            permalink += f"?thread_ts={message['thread_ts']}&cid={channel}"
        return {"ok": True, "channel": channel, "permalink": permalink}

    # -- conversations.*

    def conversation_info(self, channel: str) -> dict[str, Any]:
        if channel.startswith("D"):
            return {
                "id": channel,
                "created": int(time.time()),
                "is_im": True,
                "is_org_shared": False,
                "user": channel[1:],
                "is_user_deleted": False,
                "priority": 0,
            }
        private = channel.startswith("G")
        name = self.channel_name(channel)
        return {
            "id": channel,
            "name": name,
            "name_normalized": name,
            "created": int(time.time()),
            "creator": "U0ALICE",
            "is_channel": not private,
            "is_group": private,
            "is_im": False,
            "is_mpim": False,
            "is_private": private,
            "is_archived": False,
            "is_general": name == "general",
            "is_member": True,
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }

    def conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if _optional(args, "channel") is not None:
            channel = self.conversation(args["channel"])
        else:
            raw_users = args.get("users") or ""
            joined = ",".join(raw_users) if isinstance(raw_users, list) else str(raw_users)
            users = [user.strip() for user in joined.split(",") if user.strip()]
            if not users:
                raise _SlackError("users_list_not_supplied")
            if not all(_USER_ID.fullmatch(user) for user in users):
                raise _SlackError("user_not_found")
            if len(users) > 8:
                raise _SlackError("too_many_users")
            channel = self.im_channel(users[0]) if len(users) == 1 else "G" + "".join(sorted(users))
        body: dict[str, Any] = {"ok": True, "channel": {"id": channel}}
        if channel in self.open_conversations:
            body |= {"no_op": True, "already_open": True}
        self.open_conversations.add(channel)
        if _flag(args, "return_im"):
            body["channel"] = self.conversation_info(channel)
        return body

    def conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.conversation(args.get("channel"))
        return {"ok": True, "channel": self.conversation_info(channel)}

    def conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.conversation(args.get("channel"))
        newest_first = [m for m in reversed(self.history(channel)) if _is_top_level(m)]
        page, next_cursor = _paginate(_in_window(newest_first, args), args, newest_first=True)
        with_metadata = _flag(args, "include_all_metadata")
        return {
            "ok": True,
            "messages": [_public(message, with_metadata=with_metadata) for message in page],
            "has_more": bool(next_cursor),
            "pin_count": 0,
            "channel_actions_ts": None,
            "channel_actions_count": 0,
            "response_metadata": {"next_cursor": next_cursor},
        }

    def conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.conversation(args.get("channel"))
        message = self.find(channel, _required(args, "ts"), error="thread_not_found")
        thread = self.thread(channel, message.get("thread_ts") or message["ts"])
        page, next_cursor = _paginate(_in_window(thread, args), args, newest_first=False)
        with_metadata = _flag(args, "include_all_metadata")
        return {
            "ok": True,
            "messages": [_public(message, with_metadata=with_metadata) for message in page],
            "has_more": bool(next_cursor),
            "response_metadata": {"next_cursor": next_cursor},
        }

    # -- reactions.*

    def _reaction_target(self, args: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
        channel = self.conversation(args.get("channel"))
        message = self.find(channel, _required(args, "timestamp"))
        return message, _required(args, "name").strip(":")

    def reactions_add(self, args: dict[str, Any]) -> dict[str, Any]:
        message, name = self._reaction_target(args)
        reaction = next((r for r in message["reactions"] if r["name"] == name), None)
        if reaction is None:
            message["reactions"].append({"name": name, "users": [BOT_USER_ID], "count": 1})
        elif BOT_USER_ID in reaction["users"]:
            raise _SlackError("already_reacted")
        else:
            reaction["users"].append(BOT_USER_ID)
            reaction["count"] += 1
        return {"ok": True}

    def reactions_remove(self, args: dict[str, Any]) -> dict[str, Any]:
        message, name = self._reaction_target(args)
        reaction = next((r for r in message["reactions"] if r["name"] == name), None)
        if reaction is None or BOT_USER_ID not in reaction["users"]:
            raise _SlackError("no_reaction")
        reaction["users"].remove(BOT_USER_ID)
        reaction["count"] -= 1
        if not reaction["users"]:
            message["reactions"].remove(reaction)
        return {"ok": True}

    # -- views.*

    def _checked_view(self, args: Mapping[str, Any]) -> Mapping[str, Any]:
        view = args.get("view")
        if view is None:
            raise _missing("view")
        problems = _view_problems(view)
        if problems:
            raise _SlackError("invalid_arguments", problems)
        return view

    def _open_view(self, args: dict[str, Any]) -> dict[str, Any]:
        view = self._checked_view(args)
        trigger = self.use_trigger(_required(args, "trigger_id"))
        if view["type"] != "modal":
            raise _SlackError("invalid_arguments", [_problem("must be modal", "/view/type")])
        trigger.used = True
        rendered = self.render_view(view, self.new_view_id())
        self.views[rendered["id"]] = rendered
        self.view_users[rendered["id"]] = trigger.user_id
        self.opened_view_ids.append(rendered["id"])
        return {"ok": True, "view": copy.deepcopy(rendered)}

    def views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._open_view(args)

    def views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._open_view(args)

    def views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        existing = self.find_view(args)
        view = self._checked_view(args)
        expected_hash = _optional(args, "hash")
        if expected_hash is not None and expected_hash != existing["hash"]:
            raise _SlackError("hash_conflict")
        existing.update(self.render_view(view, existing["id"]))
        return {"ok": True, "view": copy.deepcopy(existing)}

    def views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = _required(args, "user_id")
        if not _USER_ID.fullmatch(user):
            raise _SlackError("user_not_found")
        view = self._checked_view(args)
        if view["type"] != "home":
            raise _SlackError("invalid_arguments", [_problem("must be home", "/view/type")])
        earlier = self.published.get(user)
        rendered = self.render_view(view, earlier[-1]["id"] if earlier else self.new_view_id())
        self.published.setdefault(user, []).append(rendered)
        return {"ok": True, "view": copy.deepcopy(rendered)}

    # -- response_url

    def respond(self, target: _ResponseUrl, payload: dict[str, Any]) -> None:
        """What Slack does with a post to a response_url: replace, delete, post or whisper."""
        if _flag(payload, "delete_original"):
            if target.channel is not None and target.message_ts is not None:
                self.remove(target.channel, self.find(target.channel, target.message_ts))
            return
        content = _message_content(_decode_json_args(dict(payload)))
        if _flag(payload, "replace_original") and target.message_ts is not None:
            self.update(self.find(str(target.channel), target.message_ts), content)
        elif payload.get("response_type") == "in_channel" and target.channel is not None:
            thread_ts = _optional(payload, "thread_ts")
            self.add_message(
                target.channel, content, user=BOT_USER_ID, from_bot=True, thread_ts=thread_ts
            )
        else:
            ephemeral = {"channel": target.channel, "user": target.user_id, "ts": self.next_ts()}
            self.ephemerals.append(ephemeral | content)


_Handler = Callable[[_Workspace, dict[str, Any]], dict[str, Any]]

_METHODS: dict[str, _Handler] = {
    "auth.test": _Workspace.auth_test,
    "team.info": _Workspace.team_info,
    "users.info": _Workspace.users_info,
    "users.lookupByEmail": _Workspace.users_lookup_by_email,
    "chat.postMessage": _Workspace.chat_post_message,
    "chat.update": _Workspace.chat_update,
    "chat.postEphemeral": _Workspace.chat_post_ephemeral,
    "chat.delete": _Workspace.chat_delete,
    "chat.getPermalink": _Workspace.chat_get_permalink,
    "conversations.open": _Workspace.conversations_open,
    "conversations.info": _Workspace.conversations_info,
    "conversations.history": _Workspace.conversations_history,
    "conversations.replies": _Workspace.conversations_replies,
    "reactions.add": _Workspace.reactions_add,
    "reactions.remove": _Workspace.reactions_remove,
    "views.open": _Workspace.views_open,
    "views.push": _Workspace.views_push,
    "views.update": _Workspace.views_update,
    "views.publish": _Workspace.views_publish,
}


# --- the recorder ----------------------------------------------------------------------------


class SlackRecorder:
    """The Slack Web API on a loopback port, recording every call.

    Point slack_sdk's `WebClient` or `AsyncWebClient` at it: `base_url=recorder.api_url`.
    The server runs in its own thread; every read and write of the recorded state takes one
    lock, so tests may inspect it while the bot is calling.
    """

    def __init__(
        self,
        bot_token: str = DEFAULT_BOT_TOKEN,
        *,
        users: Iterable[SlackUser] | None = None,
        channels: Mapping[str, str] | None = None,
    ) -> None:
        self._bot_token = bot_token
        self._lock = threading.RLock()
        self._workspace = _Workspace(
            DEFAULT_USERS if users is None else users,
            DEFAULT_CHANNELS if channels is None else channels,
        )
        self._calls: list[RecordedCall] = []
        self._faults: list[_Fault] = []
        self._delays: dict[str, float] = {}
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._server = BackgroundServer(self._asgi_app())
        self.url = self._server.url
        self.api_url = f"{self.url}/api/"

    # -- lifecycle

    def start(self) -> SlackRecorder:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> SlackRecorder:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget every call, message, view, response URL, fault and delay; keep the people."""
        with self._lock:
            self._calls.clear()
            self._faults.clear()
            self._delays.clear()
            self._response_urls.clear()
            self._workspace.reset()

    # -- steering

    def fail_next(
        self,
        method: str,
        *,
        status: int = 500,
        count: int = 1,
        retry_after: int | None = None,
        error: str | None = None,
    ) -> None:
        """Answer the next `count` calls of `method` ("*": any method) with a failure.

        `status=429` is Slack's rate limit (Retry-After: `retry_after`, default 1);
        another status is answered as is; `error` answers HTTP 200 `ok: false` with that error.
        Failed calls are recorded (`injected=True`) and change nothing.
        """
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._faults.append(_Fault(method, status, count, retry_after, error))

    def delay(self, method: str, seconds: float) -> None:
        """Answer every later call of `method` ("*": any) `seconds` late; 0 removes the delay."""
        with self._lock:
            if seconds > 0:
                self._delays[method] = seconds
            else:
                self._delays.pop(method, None)

    def response_url(
        self,
        key: str | None = None,
        *,
        channel: str | None = None,
        message_ts: str | None = None,
        user_id: str | None = None,
    ) -> str:
        """A response_url on this server; posts to it are kept under `key` (see `responses`).

        With `channel` (and `message_ts`, for a message's buttons) the posts act on Slack as
        they would: `replace_original` updates that message, `delete_original` deletes it,
        `response_type: in_channel` posts to the channel, anything else is an ephemeral.
        """
        key = key or uuid.uuid4().hex
        with self._lock:
            self._response_urls.setdefault(key, _ResponseUrl(channel, message_ts, user_id))
        return f"{self.url}/response/{key}"

    def new_trigger_id(self, user_id: str | None = None) -> str:
        """A trigger_id that views.open/views.push accept once, within three seconds."""
        with self._lock:
            return self._workspace.new_trigger_id(user_id)

    def post_as_user(
        self, channel: str, text: str, *, user_id: str, thread_ts: str | None = None
    ) -> dict[str, Any]:
        """Put a message from a person into the workspace, as if typed in Slack."""
        with self._lock:
            channel_id = self._workspace.conversation(channel, allow_user=True)
            message = self._workspace.add_message(
                channel_id, {"text": text}, user=user_id, from_bot=False, thread_ts=thread_ts
            )
            return copy.deepcopy(message)

    # -- reading back

    def calls(self, method: str | None = None, *, ok: bool | None = None) -> list[RecordedCall]:
        """Every Web API call so far, oldest first; optionally one method's, or only (not) ok."""
        with self._lock:
            return [
                call
                for call in self._calls
                if (method is None or call.method == method) and (ok is None or call.ok == ok)
            ]

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """The messages now in `channel` (a user id means the DM), oldest first, replies too.

        Each has every field (None when absent): ts, text, blocks, attachments, thread_ts,
        metadata, reactions, user, bot_id, reply_count, ...; updates applied, deletions gone.
        """
        with self._lock:
            channel_id = self._workspace.conversation(channel, allow_user=True)
            return copy.deepcopy(self._workspace.history(channel_id))

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """One message as Slack would show it in an interaction payload, or None."""
        with self._lock:
            channel_id = self._workspace.conversation(channel, allow_user=True)
            try:
                return _public(self._workspace.find(channel_id, ts), with_metadata=True)
            except _SlackError:
                return None

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """The thread rooted at `ts`: its parent, then its replies, oldest first."""
        with self._lock:
            channel_id = self._workspace.conversation(channel, allow_user=True)
            return copy.deepcopy(self._workspace.thread(channel_id, ts))

    def ephemerals(self, user: str | None = None) -> list[dict[str, Any]]:
        """Ephemeral messages (chat.postEphemeral and response_url whispers), oldest first."""
        with self._lock:
            return copy.deepcopy(
                [e for e in self._workspace.ephemerals if user is None or e["user"] == user]
            )

    def views_opened(self, user: str | None = None) -> list[dict[str, Any]]:
        """Modals opened or pushed, oldest first, as they are now (updates applied)."""
        with self._lock:
            workspace = self._workspace
            return copy.deepcopy(
                [
                    workspace.views[view_id]
                    for view_id in workspace.opened_view_ids
                    if user is None or workspace.view_users[view_id] == user
                ]
            )

    def views_published(self, user: str) -> list[dict[str, Any]]:
        """Every App Home published for `user`, oldest first: the last one is what they see."""
        with self._lock:
            return copy.deepcopy(self._workspace.published.get(user, []))

    def responses(self, key: str) -> list[dict[str, Any]]:
        """The JSON bodies posted to the response_url `key`, oldest first."""
        with self._lock:
            target = self._response_urls.get(key)
            return copy.deepcopy(target.posts) if target is not None else []

    def user(self, user_id: str) -> SlackUser | None:
        return self._workspace.users.get(user_id)

    def im_channel(self, user_id: str) -> str:
        """The DM channel id conversations.open gives for `user_id`."""
        return self._workspace.im_channel(user_id)

    def channel_name(self, channel: str) -> str:
        return self._workspace.channel_name(channel)

    def wait_for(self, predicate: Callable[[], T], timeout: float = 10.0) -> T:
        """Poll `predicate` until it returns something truthy, and return that.

        A LookupError from the predicate (e.g. `messages(c)[0]` before the first post) counts
        as "not yet". On timeout, raises AssertionError listing every recorded call.
        """
        deadline = time.monotonic() + timeout
        last_error: LookupError | None = None
        while True:
            try:
                result = predicate()
            except LookupError as error:
                last_error = error
            else:
                if result:
                    return result
            if time.monotonic() >= deadline:
                raise AssertionError(self._summary(timeout, last_error))
            time.sleep(0.02)

    def _summary(self, timeout: float, last_error: LookupError | None) -> str:
        calls = self.calls()
        lines = [f"condition not met within {timeout}s", f"recorded Slack calls ({len(calls)}):"]
        lines += [f"  {n}. {_describe(call)}" for n, call in enumerate(calls, start=1)]
        with self._lock:
            posted = {key: len(t.posts) for key, t in self._response_urls.items() if t.posts}
        if posted:
            lines.append(f"response_url posts: {posted}")
        if last_error is not None:
            lines.append(f"last predicate error: {last_error!r}")
        return "\n".join(lines)

    # -- HTTP

    def _asgi_app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/{method}", self._handle_api, methods=["GET", "POST"]),
                Route("/response/{key}", self._handle_response_url, methods=["POST"]),
            ]
        )

    def _take_fault(self, method: str) -> _Fault | None:
        fault = next((f for f in self._faults if f.method == method), None) or next(
            (f for f in self._faults if f.method == "*"), None
        )
        if fault is not None:
            fault.remaining -= 1
            if fault.remaining == 0:
                self._faults.remove(fault)
        return fault

    def _answer(self, method: str, args: dict[str, Any], token: str | None) -> _Answer:
        handler = _METHODS.get(method)
        if handler is None:
            return _Answer(200, _SlackError("unknown_method").body())
        if not token:
            return _Answer(200, _SlackError("not_authed").body())
        if not hmac.compare_digest(token.encode(), self._bot_token.encode()):
            return _Answer(200, _SlackError("invalid_auth").body())
        try:
            return _Answer(200, handler(self._workspace, args), {"X-OAuth-Scopes": BOT_SCOPES})
        except _SlackError as error:
            return _Answer(200, error.body())

    async def _handle_api(self, request: Request) -> JSONResponse:
        method = request.path_params["method"]
        headers = _redacted(dict(request.headers))
        unreadable: _SlackError | None = None
        try:
            args = await _read_args(request)
        except _SlackError as error:
            args, unreadable = {}, error
        token = _presented_token(request.headers, args)
        with self._lock:
            delay = self._delays.get(method, self._delays.get("*", 0.0))
        if delay:
            await asyncio.sleep(delay)
        with self._lock:
            fault = self._take_fault(method)
            if fault is not None:
                answer = fault.answer()
            elif unreadable is not None:
                answer = _Answer(200, unreadable.body())
            else:
                answer = self._answer(method, args, token)
            self._calls.append(
                RecordedCall(method, args, headers, answer.status, answer.body, fault is not None)
            )
        return JSONResponse(answer.body, status_code=answer.status, headers=answer.headers)

    async def _handle_response_url(self, request: Request) -> JSONResponse:
        try:
            payload = json.loads(await request.body())
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            return JSONResponse({"ok": False, "error": "invalid_payload"}, status_code=400)
        with self._lock:
            target = self._response_urls.get(request.path_params["key"])
            if target is None:
                return JSONResponse({"ok": False, "error": "expired_url"}, status_code=404)
            if len(target.posts) >= RESPONSE_URL_MAX_USES:
                return JSONResponse({"ok": False, "error": "used_url"}, status_code=404)
            try:
                self._workspace.respond(target, payload)
            except _SlackError as error:
                return JSONResponse(error.body(), status_code=400)
            target.posts.append(payload)
        return JSONResponse({"ok": True})


def _describe(call: RecordedCall) -> str:
    outcome = "ok" if call.ok else f"HTTP {call.status} {call.error}"
    if call.injected:
        outcome += " (injected)"
    details = [
        f"{name}={str(call.args[name])[:60]!r}"
        for name in ("channel", "ts", "thread_ts", "user", "trigger_id", "text")
        if name in call.args
    ]
    return " ".join([call.method, "->", outcome, *details])


# --- the driver: Slack calling the bot -----------------------------------------------------


def slack_signature(secret: str, timestamp: str | int, body: bytes | str) -> str:
    """Slack's v0 request signature: "v0=" + hex HMAC-SHA256 of "v0:<timestamp>:<body>"."""
    raw = body.encode() if isinstance(body, str) else body
    base = f"v0:{timestamp}:".encode() + raw
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Delivery:
    """One request the driver sent to the bot, with what the bot may answer through later."""

    response: httpx.Response
    body: bytes
    content_type: str
    response_url_key: str | None = None
    response_url: str | None = None
    trigger_id: str | None = None
    event_id: str | None = None

    @property
    def status_code(self) -> int:
        return self.response.status_code


def _rich_text(text: str) -> dict[str, Any]:
    """The block Slack's clients attach to a typed message."""
    section = {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
    return {"type": "rich_text", "block_id": uuid.uuid4().hex[:5], "elements": [section]}


def _button_in(message: Mapping[str, Any], action_id: str) -> tuple[str, dict[str, Any]]:
    """The block_id and label of the button `action_id` in a posted message, as Slack sends."""
    for block in message.get("blocks") or []:
        elements = list(block.get("elements") or [])
        if block.get("accessory"):
            elements.append(block["accessory"])
        for element in elements:
            if element.get("action_id") == action_id:
                text = element.get("text") or {"type": "plain_text", "text": action_id}
                return str(block.get("block_id") or uuid.uuid4().hex[:5]), text
    return uuid.uuid4().hex[:5], {"type": "plain_text", "text": action_id, "emoji": True}


def _state_values(values: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Slack's view.state.values; a plain string stands for a plain_text_input's value."""
    return {
        block_id: {
            action_id: value
            if isinstance(value, Mapping)
            else {"type": "plain_text_input", "value": value}
            for action_id, value in actions.items()
        }
        for block_id, actions in values.items()
    }


class SlackDriver:
    """Plays Slack towards the bot: signed POSTs to `<bot_url>/slack/events`, as Slack sends.

    Interactions get a response_url and a trigger_id from `recorder`, so whatever the bot
    answers through them lands there too.
    """

    def __init__(
        self, bot_url: str, signing_secret: str, recorder: SlackRecorder, *, timeout: float = 10.0
    ) -> None:
        self.events_url = f"{bot_url.rstrip('/')}/slack/events"
        self._signing_secret = signing_secret
        self._recorder = recorder
        self._http = httpx.Client(timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SlackDriver:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- raw

    def send(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """POST `body` signed now (or at `timestamp`, or with a forged `signature`)."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        request_headers = {
            "Content-Type": content_type,
            "User-Agent": SLACK_USER_AGENT,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature or slack_signature(self._signing_secret, stamp, body),
            **(headers or {}),
        }
        return self._http.post(self.events_url, content=body, headers=request_headers)

    def redeliver(
        self, delivery: Delivery, *, retry_num: int = 1, retry_reason: str = "http_timeout"
    ) -> Delivery:
        """Slack's retry of an earlier request: the same body, signed anew, with retry headers."""
        retry_headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        response = self.send(delivery.body, delivery.content_type, headers=retry_headers)
        return Delivery(
            response,
            delivery.body,
            delivery.content_type,
            delivery.response_url_key,
            delivery.response_url,
            delivery.trigger_id,
            delivery.event_id,
        )

    # -- slash commands and interactivity

    def _user(self, user_id: str) -> dict[str, Any]:
        known = self._recorder.user(user_id)
        name = known.name if known is not None else user_id.lower()
        return {"id": user_id, "username": name, "name": name, "team_id": TEAM_ID}

    def slash_command(
        self,
        command: str,
        text: str = "",
        *,
        user_id: str = "U0ALICE",
        user_name: str = "alice",
        channel_id: str = "C0GENERAL",
        team_id: str = TEAM_ID,
    ) -> Delivery:
        key = f"cmd_{uuid.uuid4().hex[:12]}"
        response_url = self._recorder.response_url(key, channel=channel_id, user_id=user_id)
        trigger_id = self._recorder.new_trigger_id(user_id)
        form = {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id,
            "team_domain": TEAM_DOMAIN,
            "channel_id": channel_id,
            "channel_name": self._recorder.channel_name(channel_id),
            "user_id": user_id,
            "user_name": user_name,
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
        body = urlencode(form).encode()
        content_type = "application/x-www-form-urlencoded"
        response = self.send(body, content_type)
        return Delivery(response, body, content_type, key, response_url, trigger_id)

    def _interaction(self, payload: dict[str, Any], **extra: Any) -> Delivery:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        content_type = "application/x-www-form-urlencoded"
        return Delivery(self.send(body, content_type), body, content_type, **extra)

    def block_action(
        self,
        action_id: str,
        value: str,
        *,
        user_id: str = "U0ALICE",
        channel_id: str = "C0GENERAL",
        message_ts: str,
        message: Mapping[str, Any] | None = None,
    ) -> Delivery:
        """A click on the button `action_id` of a message (by default the one the bot posted)."""
        message = message or self._recorder.message(channel_id, message_ts)
        message = message or {"type": "message", "ts": message_ts, "text": ""}
        block_id, label = _button_in(message, action_id)
        key = f"act_{uuid.uuid4().hex[:12]}"
        response_url = self._recorder.response_url(
            key, channel=channel_id, message_ts=message_ts, user_id=user_id
        )
        trigger_id = self._recorder.new_trigger_id(user_id)
        action = {
            "action_id": action_id,
            "block_id": block_id,
            "text": label,
            "value": value,
            "type": "button",
            "action_ts": f"{time.time():.6f}",
        }
        payload = {
            "type": "block_actions",
            "user": self._user(user_id),
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "container": {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel_id,
                "is_ephemeral": False,
            },
            "trigger_id": trigger_id,
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel_id, "name": self._recorder.channel_name(channel_id)},
            "message": dict(message),
            "state": {"values": {}},
            "response_url": response_url,
            "actions": [action],
        }
        return self._interaction(
            payload, response_url_key=key, response_url=response_url, trigger_id=trigger_id
        )

    def view_submission(
        self,
        callback_id: str,
        values: Mapping[str, Mapping[str, Any]],
        *,
        user_id: str = "U0ALICE",
        private_metadata: str | None = None,
    ) -> Delivery:
        """Submit a modal. `values` is {block_id: {action_id: value or state dict}}.

        The latest modal the bot opened with this callback_id supplies the view's id, blocks
        and private_metadata, unless `private_metadata` is given.
        """
        opened = [v for v in self._recorder.views_opened() if v["callback_id"] == callback_id]
        view: dict[str, Any] = opened[-1] if opened else self._unseen_view(callback_id)
        if private_metadata is not None:
            view["private_metadata"] = private_metadata
        view["state"] = {"values": _state_values(values)}
        trigger_id = self._recorder.new_trigger_id(user_id)
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "user": self._user(user_id),
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "trigger_id": trigger_id,
            "view": view,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return self._interaction(payload, trigger_id=trigger_id)

    @staticmethod
    def _unseen_view(callback_id: str) -> dict[str, Any]:
        return _Workspace.render_view(
            {"type": "modal", "callback_id": callback_id, "blocks": []}, "V_UNSEEN"
        )

    # -- Events API

    def event(
        self,
        event: Mapping[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str | None = None,
    ) -> Delivery:
        """An Events API `event_callback` envelope around `event`."""
        event_id = event_id or f"Ev{uuid.uuid4().hex[:10].upper()}"
        envelope = {
            "token": VERIFICATION_TOKEN,
            "team_id": TEAM_ID,
            "context_team_id": TEAM_ID,
            "context_enterprise_id": None,
            "api_app_id": APP_ID,
            "event": {"event_ts": event.get("ts") or f"{time.time():.6f}", **event},
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": TEAM_ID,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{uuid.uuid4().hex}",
        }
        headers = {}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
        body = json.dumps(envelope).encode()
        content_type = "application/json"
        response = self.send(body, content_type, headers=headers)
        return Delivery(response, body, content_type, event_id=event_id)

    def message_in_thread(
        self,
        channel: str,
        thread_ts: str,
        text: str,
        *,
        user_id: str = "U0ALICE",
        event_id: str | None = None,
    ) -> Delivery:
        """A person replies in a thread: the message joins the recorder's thread, then the event."""
        message = self._recorder.post_as_user(channel, text, user_id=user_id, thread_ts=thread_ts)
        parent = self._recorder.message(channel, message["thread_ts"])
        event = {
            "type": "message",
            "channel": message["channel"],
            "user": user_id,
            "text": text,
            "ts": message["ts"],
            "thread_ts": message["thread_ts"],
            "parent_user_id": parent["user"] if parent else BOT_USER_ID,
            "channel_type": _channel_type(message["channel"]),
            "team": TEAM_ID,
            "client_msg_id": str(uuid.uuid4()),
            "blocks": [_rich_text(text)],
        }
        return self.event(event, event_id=event_id)

    def app_home_opened(self, user_id: str) -> Delivery:
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": self._recorder.im_channel(user_id),
            "tab": "home",
        }
        published = self._recorder.views_published(user_id)
        if published:
            event["view"] = published[-1]
        return self.event(event)
