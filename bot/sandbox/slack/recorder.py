"""`SlackRecorder`: the sandbox Slack Web API served over real HTTP, recording every call.

It authenticates the bot's token, reads arguments the ways slack_sdk sends them (query, form,
JSON), answers through `methods.METHODS`, serves response_urls, and lets a test make a method
fail or slow down. Tests read back the calls and the workspace's state.
"""

from __future__ import annotations

import asyncio
import copy
import hmac
import json
import math
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from types import TracebackType
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.sandbox.server import BackgroundServer
from bot.sandbox.slack.arguments import decode_json_args
from bot.sandbox.slack.errors import SlackError
from bot.sandbox.slack.files import receive_upload
from bot.sandbox.slack.messages import public
from bot.sandbox.slack.methods import METHODS
from bot.sandbox.slack.socket_mode import SocketModeServer
from bot.sandbox.slack.team import (
    BOT_SCOPES,
    DEFAULT_APP_TOKEN,
    DEFAULT_BOT_TOKEN,
    DEFAULT_CHANNELS,
    DEFAULT_USERS,
    SlackUser,
)
from bot.sandbox.slack.workspace import ResponseUrl, Workspace

T = TypeVar("T")

#: A black-holed call is dropped, unanswered, at the latest this long after it came.
BLACK_HOLE_MAX_SECONDS = 60.0

RESPONSE_URL_MAX_USES = 5
"""Slack accepts at most five posts to one response_url."""

LostAnswer = Literal["reset", "eof", "502"]
"""How an answer is lost after Slack acted on the call: the connection reset (RST) or closed
(EOF) before any byte of the answer, or a proxy's 502 page in its place."""

#: Where `_handle_api` tells `_HangUp` to lose the answer it is about to send.
_LOSE = "sandbox.lose_answer"


@dataclass(frozen=True)
class RecordedCall:
    """One Web API call as the recorder received and answered it.

    `args` merges query, form and JSON arguments (the token is not among them, and `headers`
    show only its scheme: "Bearer <redacted>"), with `blocks`, `attachments`, `metadata` and `view` decoded when they
    came as JSON strings. `injected` marks an answer made by `fail_next` or `limit_per_channel`.
    """

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    status: int
    response: dict[str, Any]
    injected: bool = False
    #: When the call arrived (`time.time()`), for benchmarks that time accepted → posted.
    received_at: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.response.get("ok") is True

    @property
    def error(self) -> str | None:
        return None if self.ok else str(self.response.get("error"))


@dataclass(frozen=True)
class _Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    #: `body["raw"]` goes out as is, typed `body["type"]`: an answer that is not Slack's JSON.
    raw: bool = False


@dataclass
class _Fault:
    method: str
    status: int
    remaining: int
    retry_after: int | None
    error: str | None
    raw_body: str | None = None
    raw_type: str = "text/plain"
    #: The call is carried out, then its answer lost this way (see `lose_next_answer`).
    lose: LostAnswer | None = None
    #: Only calls whose `text` argument contains this (None: any call of the method).
    matching: str | None = None

    def applies(self, method: str, args: dict[str, Any]) -> bool:
        return self.method in (method, "*") and (
            self.matching is None or self.matching in str(args.get("text") or "")
        )

    def answer(self) -> _Answer:
        headers = {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}
        if self.raw_body is not None:
            return _Answer(
                self.status, {"raw": self.raw_body, "type": self.raw_type}, headers, True
            )
        if self.error is not None:
            return _Answer(200, {"ok": False, "error": self.error}, headers)
        if self.status == 429:
            # Slack always says how long to wait when it rate-limits.
            headers.setdefault("Retry-After", "1")
            return _Answer(429, {"ok": False, "error": "ratelimited"}, headers)
        return _Answer(self.status, {"ok": False, "error": "internal_error"}, headers)


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
                raise SlackError("invalid_json") from None
            if not isinstance(parsed, dict):
                raise SlackError("invalid_json")
            args.update(parsed)
        elif media_type == "application/x-www-form-urlencoded":
            args.update(parse_qsl(body.decode(), keep_blank_values=True))
        else:
            raise SlackError("invalid_form_data")
    return decode_json_args(args)


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
        app_token: str = DEFAULT_APP_TOKEN,
        users: Iterable[SlackUser] | None = None,
        channels: Mapping[str, str] | None = None,
    ) -> None:
        self._bot_token = bot_token
        self._app_token = app_token
        self._lock = threading.RLock()
        self._workspace = Workspace(
            DEFAULT_USERS if users is None else users,
            DEFAULT_CHANNELS if channels is None else channels,
        )
        self._calls: list[RecordedCall] = []
        self._faults: list[_Fault] = []
        self._delays: dict[str, float] = {}
        #: Black-holed methods, each with the event that lets its held calls go.
        self._black_holes: dict[str, threading.Event] = {}
        self._channel_limits: dict[str, float] = {}
        self._last_write: dict[tuple[str, str], float] = {}
        self._blocks_refused: set[str] = set()
        self._dms_refused: set[str] = set()
        self._answers_lost: dict[str, int] = {}
        self._block_types_refused: set[str] = set()
        self._token_revoked = False
        self._response_urls: dict[str, ResponseUrl] = {}
        self._scopes = BOT_SCOPES
        self._server = BackgroundServer(_HangUp(self._asgi_app()), date_header=False)
        self.url = self._server.url
        self._workspace.upload_base = f"{self.url}/upload"
        self.api_url = f"{self.url}/api/"
        self.socket_mode = SocketModeServer()
        """Where `apps.connections.open` sends the app; push envelopes and read acks here."""

    # -- lifecycle

    def start(self) -> SlackRecorder:
        self.socket_mode.start()
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()
        self.socket_mode.stop()

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
            for hole in self._black_holes.values():
                hole.set()
            self._black_holes.clear()
            self._channel_limits.clear()
            self._last_write.clear()
            self._blocks_refused.clear()
            self._dms_refused.clear()
            self._answers_lost.clear()
            self._block_types_refused.clear()
            self._token_revoked = False
            self._response_urls.clear()
            self._scopes = BOT_SCOPES
            self._workspace.reset()
        self.socket_mode.reset()

    # -- steering

    def fail_next(
        self,
        method: str,
        *,
        status: int = 500,
        count: int = 1,
        retry_after: int | None = None,
        error: str | None = None,
        raw_body: str | None = None,
        raw_type: str = "text/plain",
        matching: str | None = None,
    ) -> None:
        """Answer the next `count` calls of `method` ("*": any method) with a failure; with
        `matching`, only calls whose `text` argument contains it (one message among others).

        `status=429` is Slack's rate limit (Retry-After: `retry_after`, default 1);
        another status is answered as is; `error` answers HTTP 200 `ok: false` with that error;
        `raw_body` answers `status` with that text typed `raw_type`, not JSON (a proxy's error
        page; typed application/json, a body slack_sdk fails to parse).
        Failed calls are recorded (`injected=True`) and change nothing.
        """
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._faults.append(
                _Fault(
                    method, status, count, retry_after, error, raw_body, raw_type, None, matching
                )
            )

    def lose_next_answer(self, method: str, how: LostAnswer, *, count: int = 1) -> None:
        """Carry out the next `count` calls of `method`, then lose each answer `how`.

        Slack posted the message, then the connection was reset or closed before its answer
        arrived, or a proxy answered 502 after forwarding: the client cannot tell whether the
        call was made. The calls are recorded (`injected=True`) with what Slack did.
        """
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._faults.append(_Fault(method, 0, count, None, None, lose=how))

    def set_clock(self, offset_seconds: float) -> None:
        """Run this Slack's clock `offset_seconds` off the machine's (its message ts and its
        `Date` header), as real Slack's differs from a server's whose clock drifted."""
        with self._lock:
            self._workspace.clock_offset = offset_seconds

    def lose_answer(self, method: str, *, count: int = 1) -> None:
        """The next `count` calls of `method` do what they ask, but their answer is lost on
        the way back: the caller gets an HTTP 500 although the call went through."""
        with self._lock:
            self._answers_lost[method] = self._answers_lost.get(method, 0) + count

    def uploaded(self, file_id: str) -> bytes | None:
        """The bytes uploaded for a file (`files.getUploadURLExternal`); None before."""
        with self._lock:
            file = self._workspace.files.get(file_id)
            return None if file is None else file["content"]

    def refuse_block_type(self, block_type: str) -> None:
        """From now on, a post or update with a block of `block_type` answers `invalid_blocks`,
        as a workspace does for a block Slack does not accept there (yet)."""
        with self._lock:
            self._block_types_refused.add(block_type)

    def refuse_blocks(self, channel: str) -> None:
        """From now on, chat.postMessage and chat.update with blocks in `channel` answer
        `invalid_blocks`, as Slack does for content it will never accept; plain text passes."""
        with self._lock:
            self._blocks_refused.add(channel)

    def revoke_bot_token(self) -> None:
        """From now on every call with the bot token answers `token_revoked`, as Slack does
        once the app is uninstalled; until `reset`."""
        with self._lock:
            self._token_revoked = True

    def refuse_dms(self, user_id: str) -> None:
        """From now on, conversations.open with `user_id` answers `user_disabled`, as Slack
        does for a deactivated user."""
        with self._lock:
            self._dms_refused.add(user_id)

    def delay(self, method: str, seconds: float) -> None:
        """Answer every later call of `method` ("*": any) `seconds` late; 0 removes the delay."""
        with self._lock:
            if seconds > 0:
                self._delays[method] = seconds
            else:
                self._delays.pop(method, None)

    def black_hole(self, method: str, *, on: bool = True) -> None:
        """Swallow every later call of `method` until `on=False` (or `reset`): each is held
        unanswered (at most BLACK_HOLE_MAX_SECONDS), never carried out, never recorded, and
        its connection then closed without an answer, as behind a dead network path."""
        with self._lock:
            if on:
                self._black_holes.setdefault(method, threading.Event())
            elif method in self._black_holes:
                self._black_holes.pop(method).set()

    def limit_per_channel(self, method: str, seconds: float) -> None:
        """Allow `method` once per `seconds` in each channel, as Slack limits chat.postMessage.

        A call sooner than that after the last allowed one in its channel is answered 429 with
        `Retry-After` (whole seconds, at least 1) and changes nothing; 0 removes the limit.
        """
        with self._lock:
            if seconds > 0:
                self._channel_limits[method] = seconds
            else:
                self._channel_limits.pop(method, None)

    def _channel_limited(self, method: str, args: Mapping[str, Any], now: float) -> _Answer | None:
        """The 429 for a call over its channel's limit (see `limit_per_channel`), else None."""
        interval = self._channel_limits.get(method)
        channel = str(args.get("channel", ""))
        if interval is None or not channel:
            return None
        last = self._last_write.get((method, channel))
        if last is not None and now - last < interval:
            wait = max(1, math.ceil(interval - (now - last)))
            return _Answer(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(wait)})
        self._last_write[(method, channel)] = now
        return None

    def response_url(
        self,
        key: str | None = None,
        *,
        channel: str | None = None,
        message_ts: str | None = None,
        user_id: str | None = None,
        ephemeral: bool = False,
    ) -> str:
        """A response_url on this server; posts to it are kept under `key` (see `responses`).

        With `channel` (and `message_ts`, for a message's buttons) the posts act on Slack as
        they would: `replace_original` updates that message, `delete_original` deletes it,
        `response_type: in_channel` posts to the channel, anything else is an ephemeral.
        `ephemeral`: the message at `message_ts` is `user_id`'s ephemeral, not a posted one.
        """
        key = key or uuid.uuid4().hex
        target = ResponseUrl(channel, message_ts, user_id, ephemeral=ephemeral)
        with self._lock:
            self._response_urls.setdefault(key, target)
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

    def delete_message(self, channel: str, ts: str) -> None:
        """Someone deleted the message at `ts` in `channel` (a person, or an admin's tool)."""
        with self._lock:
            channel_id = self._workspace.conversation(channel, allow_user=True)
            self._workspace.remove(channel_id, self._workspace.find(channel_id, ts))

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
                return public(self._workspace.find(channel_id, ts), with_metadata=True)
            except SlackError:
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

    def responses(self, key: str | None) -> list[dict[str, Any]]:
        """The JSON bodies posted to the response_url `key`, oldest first (none for None)."""
        if key is None:
            return []
        with self._lock:
            target = self._response_urls.get(key)
            return copy.deepcopy(target.posts) if target is not None else []

    def user(self, user_id: str) -> SlackUser | None:
        return self._workspace.users.get(user_id)

    def users(self) -> list[SlackUser]:
        """Everyone in the workspace, the bot included."""
        return list(self._workspace.users.values())

    def conversations(self) -> list[str]:
        """Ids of the conversations that hold messages, in the order each got its first."""
        with self._lock:
            return [channel for channel, messages in self._workspace.channels.items() if messages]

    def im_channel(self, user_id: str) -> str:
        """The DM channel id conversations.open gives for `user_id`."""
        return self._workspace.im_channel(user_id)

    def remove_bot_from(self, channel: str) -> None:
        """The bot is not in `channel` until it joins (public) or is invited: posts fail."""
        with self._lock:
            self._workspace.bot_absent.add(channel)

    def remove_channel(self, channel: str) -> None:
        """`channel` no longer exists (deleted, or never did): every method says channel_not_found."""
        with self._lock:
            self._workspace.missing_channels.add(channel)

    def grant_scopes(self, scopes: Iterable[str]) -> None:
        """The bot token now has exactly `scopes` (what X-OAuth-Scopes reports), until `reset`."""
        with self._lock:
            self._scopes = ",".join(scopes)

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
            answers = [
                (key, post) for key, url in self._response_urls.items() for post in url.posts
            ]
        # What the bot told a user (e.g. "out of date") is often why the awaited call never came.
        lines += [
            f"  response_url {key} <- {str(post.get('text'))[:60]!r}" for key, post in answers
        ]
        if last_error is not None:
            lines.append(f"last predicate error: {last_error!r}")
        return "\n".join(lines)

    # -- HTTP

    def _asgi_app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/{method}", self._handle_api, methods=["GET", "POST"]),
                Route("/response/{key}", self._handle_response_url, methods=["POST"]),
                Route("/upload/{file_id}", self._handle_upload, methods=["POST"]),
            ]
        )

    def _take_fault(self, method: str, args: dict[str, Any]) -> _Fault | None:
        fault = next(
            (f for f in self._faults if f.method == method and f.applies(method, args)), None
        ) or next((f for f in self._faults if f.method == "*" and f.applies(method, args)), None)
        if fault is not None:
            fault.remaining -= 1
            if fault.remaining == 0:
                self._faults.remove(fault)
        return fault

    def _answer(self, method: str, args: dict[str, Any], token: str | None) -> _Answer:
        if method == "apps.connections.open":
            return self._open_connection(token)
        handler = METHODS.get(method)
        if handler is None:
            return _Answer(200, SlackError("unknown_method").body())
        if not token:
            return _Answer(200, SlackError("not_authed").body())
        if not hmac.compare_digest(token.encode(), self._bot_token.encode()):
            return _Answer(200, SlackError("invalid_auth").body())
        if self._token_revoked:
            return _Answer(200, SlackError("token_revoked").body())
        refusing = method in ("chat.postMessage", "chat.update") and bool(args.get("blocks"))
        if refusing and args.get("channel") in self._blocks_refused:
            return _Answer(200, SlackError("invalid_blocks").body())
        if refusing and any(
            isinstance(block, Mapping) and block.get("type") in self._block_types_refused
            for block in args["blocks"]
        ):
            return _Answer(200, SlackError("invalid_blocks").body())
        if method == "conversations.open" and args.get("users") in self._dms_refused:
            return _Answer(200, SlackError("user_disabled").body())
        try:
            return _Answer(200, handler(self._workspace, args), {"X-OAuth-Scopes": self._scopes})
        except SlackError as error:
            return _Answer(200, error.body())

    def _open_connection(self, token: str | None) -> _Answer:
        """Socket Mode's `apps.connections.open`: only the app-level token may call it."""
        if not token:
            return _Answer(200, SlackError("not_authed").body())
        if hmac.compare_digest(token.encode(), self._bot_token.encode()):
            return _Answer(200, SlackError("not_allowed_token_type").body())
        if not hmac.compare_digest(token.encode(), self._app_token.encode()):
            return _Answer(200, SlackError("invalid_auth").body())
        return _Answer(200, {"ok": True, "url": self.socket_mode.issue_url()})

    async def _handle_api(self, request: Request) -> Response:
        method = request.path_params["method"]
        received_at = time.time()
        headers = _redacted(dict(request.headers))
        unreadable: SlackError | None = None
        try:
            args = await _read_args(request)
        except SlackError as error:
            args, unreadable = {}, error
        token = _presented_token(request.headers, args)
        with self._lock:
            hole = self._black_holes.get(method)
        if hole is not None:
            await asyncio.to_thread(hole.wait, BLACK_HOLE_MAX_SECONDS)
            request.scope[_LOSE] = "eof"
            return Response(status_code=504)
        with self._lock:
            delay = self._delays.get(method, self._delays.get("*", 0.0))
        if delay:
            await asyncio.sleep(delay)
        with self._lock:
            fault = self._take_fault(method, args)
            limited = None if fault else self._channel_limited(method, args, time.monotonic())
            if fault is not None and fault.lose is not None:
                answer = self._answer(method, args, token)
                if fault.lose == "502":
                    lost = _Answer(502, {"raw": PROXY_502, "type": "text/html"}, raw=True)
                else:
                    request.scope[_LOSE] = fault.lose
            elif fault is not None:
                answer = fault.answer()
            elif limited is not None:
                answer = limited
            elif unreadable is not None:
                answer = _Answer(200, unreadable.body())
            else:
                answer = self._answer(method, args, token)
                if answer.body.get("ok") and self._answers_lost.get(method):
                    self._answers_lost[method] -= 1
                    answer = _Answer(500, {"ok": False, "error": "answer_lost"})
            self._calls.append(
                RecordedCall(
                    method,
                    args,
                    headers,
                    answer.status,
                    answer.body,
                    fault is not None or limited is not None,
                    received_at,
                )
            )
            date = formatdate(self._workspace.now(), usegmt=True)
        if fault is not None and fault.lose == "502":
            answer = lost
        headers = {"Date": date, **answer.headers}
        if answer.raw:
            raw, media_type = answer.body["raw"], answer.body["type"]
            return Response(raw, answer.status, headers=headers, media_type=media_type)
        return JSONResponse(answer.body, status_code=answer.status, headers=headers)

    async def _handle_upload(self, request: Request) -> Response:
        """A file's bytes, raw or as the `file` field of a multipart form (as slack_sdk sends)."""
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            form = await request.form()
            field = form.get("file")
            content = (
                field.encode() if isinstance(field, str) else await field.read() if field else b""
            )
        else:
            content = await request.body()
        with self._lock:
            accepted = receive_upload(self._workspace, request.path_params["file_id"], content)
        if not accepted:
            return Response("no upload expected at this URL", 404, media_type="text/plain")
        return Response(f"OK - {len(content)}", 200, media_type="text/plain")

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
            except SlackError as error:
                return JSONResponse(error.body(), status_code=400)
            target.posts.append(payload)
        return JSONResponse({"ok": True})


PROXY_502 = "<html><body><h1>502 Bad Gateway</h1></body></html>"


class _HangUp:
    """ASGI middleware that loses an answer as `_handle_api` asked (`_LOSE` in the scope):
    it closes the connection instead of sending the answer, with a reset (RST) or an EOF."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_or_hang_up(message: Message) -> None:
            how = scope.get(_LOSE)
            if how is not None and message["type"] == "http.response.start":
                # uvicorn's send is its request cycle's; the cycle holds the connection.
                transport = send.__self__.transport  # type: ignore[attr-defined]
                if how == "reset":
                    transport.get_extra_info("socket").setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    transport.abort()
                else:
                    transport.close()
                # Once uvicorn has heard of the hang-up, what the app sends goes nowhere.
                await asyncio.sleep(0.01)
            await send(message)

        await self.app(scope, receive, send_or_hang_up)


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
