"""`SlackDriver`: plays Slack towards the bot, over HTTP or over Socket Mode.

It builds slash commands, interactivity payloads and Events API envelopes exactly as Slack
sends them, as `SlackRequest`s, then puts each on one of Slack's two wires: a signed POST to
`/slack/events` (form, form with a `payload` field, or JSON) or, with `socket_mode=True`, an
envelope pushed through the recorder's Socket Mode websocket. `slack_signature` is Slack's v0
signature.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlencode

import httpx

from bot.sandbox.slack.recorder import SlackRecorder
from bot.sandbox.slack.socket_mode import Ack, EnvelopeType
from bot.sandbox.slack.team import APP_ID, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID
from bot.sandbox.slack.workspace import channel_type, render_view
from bot.tls import client_context

VERIFICATION_TOKEN = "sandbox-verification-token"
"""Slack still sends its deprecated verification token in every payload; Bolt ignores it."""

SLACK_USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"

FORM = "application/x-www-form-urlencoded"


def slack_signature(secret: str, timestamp: str | int, body: bytes | str) -> str:
    """Slack's v0 request signature: "v0=" + hex HMAC-SHA256 of "v0:<timestamp>:<body>"."""
    raw = body.encode() if isinstance(body, str) else body
    base = f"v0:{timestamp}:".encode() + raw
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SlackRequest:
    """One request Slack makes of the app, before it goes on a wire.

    `kind` is Socket Mode's envelope type; over HTTP the same payload is a form (slash
    commands), a form whose one field `payload` is JSON (interactivity) or a JSON body (events).
    `retry_num`/`retry_reason` mark Slack's redelivery (X-Slack-Retry-* headers over HTTP,
    `retry_attempt`/`retry_reason` in the envelope).
    """

    kind: EnvelopeType
    payload: dict[str, Any]
    retry_num: int | None = None
    retry_reason: str | None = None

    def http_body(self) -> tuple[bytes, str]:
        """The body and Content-Type Slack POSTs for this request."""
        if self.kind == "slash_commands":
            return urlencode(self.payload).encode(), FORM
        if self.kind == "interactive":
            return urlencode({"payload": json.dumps(self.payload)}).encode(), FORM
        return json.dumps(self.payload).encode(), "application/json"

    def retry_headers(self) -> dict[str, str]:
        if self.retry_num is None:
            return {}
        return {
            "X-Slack-Retry-Num": str(self.retry_num),
            "X-Slack-Retry-Reason": self.retry_reason or "http_timeout",
        }


@dataclass(frozen=True)
class Delivery:
    """One request the driver sent to the bot, the bot's answer, and what it may answer through
    later (the response_url, the trigger_id).

    Over HTTP `response` is the bot's HTTP response; over Socket Mode `ack` is its ack, or None
    when none came within Slack's 3 seconds.
    """

    request: SlackRequest
    response: httpx.Response | None = None
    ack: Ack | None = None
    response_url_key: str | None = None
    response_url: str | None = None
    trigger_id: str | None = None
    event_id: str | None = None

    @property
    def status_code(self) -> int:
        """The HTTP status; over Socket Mode, 200 for an ack in time and 504 for none (Slack's
        view of it: the app did not answer)."""
        if self.response is not None:
            return self.response.status_code
        return 200 if self.ack is not None else 504

    @property
    def answer(self) -> dict[str, Any] | None:
        """What the bot answered at once, on either wire: its HTTP response's JSON object, or
        its ack's payload over Socket Mode; None when empty or not a JSON object."""
        if self.response is None:
            return None if self.ack is None else self.ack.payload
        try:
            body = self.response.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    @property
    def body(self) -> bytes:
        """The body as Slack POSTs it over HTTP."""
        return self.request.http_body()[0]

    @property
    def content_type(self) -> str:
        return self.request.http_body()[1]


def _rich_text(text: str) -> dict[str, Any]:
    """The block Slack's clients attach to a typed message."""
    section = {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
    return {"type": "rich_text", "block_id": uuid.uuid4().hex[:5], "elements": [section]}


def _file(name: str) -> dict[str, Any]:
    """A file as a `file_share` message event carries it (the fields a bot may read)."""
    file_id = f"F{uuid.uuid4().hex[:10].upper()}"
    return {
        "id": file_id,
        "name": name,
        "title": name,
        "mimetype": "application/octet-stream",
        "filetype": name.rsplit(".", 1)[-1],
        "mode": "hosted",
        "url_private": f"https://files.slack.com/files-pri/{TEAM_ID}-{file_id}/{name}",
    }


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


def _clicked(action_id: str, block_id: str, label: dict[str, Any], value: str) -> dict[str, Any]:
    """The `actions` entry Slack sends for a button press."""
    return {
        "action_id": action_id,
        "block_id": block_id,
        "text": label,
        "value": value,
        "type": "button",
        "action_ts": f"{time.time():.6f}",
    }


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
    """Plays Slack towards the bot: signed POSTs to `<bot_url>/slack/events`, as Slack sends,
    or with `socket_mode=True` envelopes through `recorder.socket_mode` (the bot must have
    connected with the recorder's app token).

    Interactions get a response_url and a trigger_id from `recorder`, so whatever the bot
    answers through them lands there too.
    """

    def __init__(
        self,
        bot_url: str,
        signing_secret: str,
        recorder: SlackRecorder,
        *,
        timeout: float = 10.0,
        socket_mode: bool = False,
    ) -> None:
        self.events_url = f"{bot_url.rstrip('/')}/slack/events"
        self.socket_mode = socket_mode
        self._signing_secret = signing_secret
        self._recorder = recorder
        self._timeout = timeout
        self._http = httpx.Client(timeout=timeout, verify=client_context())

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

    def deliver(self, request: SlackRequest, **details: Any) -> Delivery:
        """Put `request` on the driver's wire; `details` are the Delivery's response_url etc."""
        if self.socket_mode:
            ack = self._recorder.socket_mode.push(
                request.kind,
                request.payload,
                retry_attempt=request.retry_num,
                retry_reason=request.retry_reason,
                timeout=self._timeout,
            )
            return Delivery(request, ack=ack, **details)
        body, content_type = request.http_body()
        response = self.send(body, content_type, headers=request.retry_headers())
        return Delivery(request, response=response, **details)

    def redeliver(
        self, delivery: Delivery, *, retry_num: int = 1, retry_reason: str = "http_timeout"
    ) -> Delivery:
        """Slack's retry of an earlier request: the same payload, sent anew, marked as a retry."""
        retry = dataclasses.replace(
            delivery.request, retry_num=retry_num, retry_reason=retry_reason
        )
        again = self.deliver(retry)
        return dataclasses.replace(delivery, request=retry, response=again.response, ack=again.ack)

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
        form: dict[str, Any] = {
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
        return self.deliver(
            SlackRequest("slash_commands", form),
            response_url_key=key,
            response_url=response_url,
            trigger_id=trigger_id,
        )

    def _interaction(self, payload: dict[str, Any], **details: Any) -> Delivery:
        return self.deliver(SlackRequest("interactive", payload), **details)

    def block_action(
        self,
        action_id: str,
        value: str,
        *,
        user_id: str = "U0ALICE",
        channel_id: str = "C0GENERAL",
        message_ts: str,
        message: Mapping[str, Any] | None = None,
        ephemeral: bool = False,
    ) -> Delivery:
        """A click on the button `action_id` of a message (by default the one the bot posted).

        `ephemeral`: the message is one only `user_id` sees (`message` its content). Slack
        then says so in `container.is_ephemeral` and sends no `message`, since it keeps none;
        the app can change that message only through the click's response_url.
        """
        message = self._message(channel_id, message_ts, message)
        block_id, label = _button_in(message, action_id)
        action = _clicked(action_id, block_id, label, value)
        return self._message_action(
            action, message, user_id, channel_id, message_ts, ephemeral=ephemeral
        )

    def pick_user(
        self,
        action_id: str,
        selected_user: str,
        *,
        user_id: str = "U0ALICE",
        channel_id: str = "C0GENERAL",
        message_ts: str,
    ) -> Delivery:
        """A person chosen in the `users_select` menu `action_id` of a message the bot posted."""
        message = self._message(channel_id, message_ts)
        block_id, _ = _button_in(message, action_id)
        action = {
            "action_id": action_id,
            "block_id": block_id,
            "type": "users_select",
            "selected_user": selected_user,
            "action_ts": f"{time.time():.6f}",
        }
        return self._message_action(action, message, user_id, channel_id, message_ts)

    def _message(
        self, channel_id: str, message_ts: str, given: Mapping[str, Any] | None = None
    ) -> Mapping[str, Any]:
        """The message acted on: the one given, else the bot's post there, else a stand-in."""
        found = given or self._recorder.message(channel_id, message_ts)
        return found or {"type": "message", "ts": message_ts, "text": ""}

    def _message_action(
        self,
        action: dict[str, Any],
        message: Mapping[str, Any],
        user_id: str,
        channel_id: str,
        message_ts: str,
        *,
        ephemeral: bool = False,
    ) -> Delivery:
        """A block_actions payload for `action` taken on `message`, as Slack sends it."""
        key = f"act_{uuid.uuid4().hex[:12]}"
        response_url = self._recorder.response_url(
            key, channel=channel_id, message_ts=message_ts, user_id=user_id, ephemeral=ephemeral
        )
        trigger_id = self._recorder.new_trigger_id(user_id)
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user(user_id),
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "container": {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel_id,
                "is_ephemeral": ephemeral,
            },
            "trigger_id": trigger_id,
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel_id, "name": self._recorder.channel_name(channel_id)},
            "state": {"values": {}},
            "response_url": response_url,
            "actions": [action],
        }
        if not ephemeral:
            payload["message"] = dict(message)
        return self._interaction(
            payload, response_url_key=key, response_url=response_url, trigger_id=trigger_id
        )

    def home_action(self, action_id: str, value: str, *, user_id: str = "U0ALICE") -> Delivery:
        """A click on a button in the App Home: it comes from a view, so it carries no
        channel, no message and no response_url, only a trigger_id."""
        view = (self._recorder.views_published(user_id) or [{}])[-1]
        block_id, label = _button_in(view, action_id)
        trigger_id = self._recorder.new_trigger_id(user_id)
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user(user_id),
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "container": {"type": "view", "view_id": view.get("id", "")},
            "trigger_id": trigger_id,
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "enterprise": None,
            "is_enterprise_install": False,
            "view": dict(view),
            "state": {"values": {}},
            "actions": [_clicked(action_id, block_id, label, value)],
        }
        return self._interaction(payload, trigger_id=trigger_id)

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
        return render_view({"type": "modal", "callback_id": callback_id, "blocks": []}, "V_UNSEEN")

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
        request = SlackRequest("events_api", envelope, retry_num, retry_reason)
        return self.deliver(request, event_id=event_id)

    def message_in_thread(
        self,
        channel: str,
        thread_ts: str,
        text: str,
        *,
        user_id: str = "U0ALICE",
        event_id: str | None = None,
        files: list[str] | None = None,
    ) -> Delivery:
        """A person replies in a thread: the message joins the recorder's thread, then the event.

        `files` (file names) makes it a reply with files attached, `subtype: file_share`.
        """
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
            "channel_type": channel_type(message["channel"]),
            "team": TEAM_ID,
            "client_msg_id": str(uuid.uuid4()),
            "blocks": [_rich_text(text)] if text else [],
        }
        if files:
            event |= {"subtype": "file_share", "upload": False, "files": [_file(n) for n in files]}
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
