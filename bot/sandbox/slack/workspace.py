"""What the sandbox Slack remembers between calls: channels and their messages, threads,
ephemerals, views, trigger ids, and what a post to a response_url does to them."""

from __future__ import annotations

import copy
import re
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.slack.arguments import decode_json_args, flag, optional
from bot.sandbox.slack.blockkit import message_content
from bot.sandbox.slack.errors import SlackError, missing
from bot.sandbox.slack.team import APP_ID, BOT_ID, BOT_USER, BOT_USER_ID, TEAM_ID, SlackUser

TRIGGER_TTL_SECONDS = 3.0
"""Slack refuses a trigger_id older than three seconds, so a slow modal really fails here too."""

CHANNEL_ID = re.compile(r"[CGD][A-Z0-9_]+")
USER_ID = re.compile(r"[UW][A-Z0-9_]+")


@dataclass
class Trigger:
    user_id: str | None
    issued_at: float
    used: bool = False


@dataclass
class ResponseUrl:
    """Where a response_url leads: the conversation and message it may post to or replace."""

    channel: str | None
    message_ts: str | None
    user_id: str | None
    posts: list[dict[str, Any]] = field(default_factory=list)
    #: The message at `message_ts` is an ephemeral (only `user_id` sees it): Slack lets a
    #: response_url replace or delete it, the only way an app can change one.
    ephemeral: bool = False


def channel_type(channel: str) -> str:
    return {"D": "im", "G": "group"}.get(channel[:1], "channel")


def render_view(view: Mapping[str, Any], view_id: str) -> dict[str, Any]:
    """A view as Slack stores and returns it, from what the bot sent."""
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


class Workspace:
    """Everything Slack would remember between calls. Callers hold the recorder's lock."""

    def __init__(self, users: Iterable[SlackUser], channels: Mapping[str, str]) -> None:
        self.users = {user.id: user for user in (*users, BOT_USER)}
        self.channel_names = dict(channels)
        #: Where file bytes are POSTed (`/upload/<file id>` on the recorder), once it knows.
        self.upload_base = ""
        self.reset()

    def reset(self) -> None:
        self.channels: dict[str, list[dict[str, Any]]] = {}
        #: Each channel's messages by ts, and each thread's replies oldest first, by (channel,
        #: parent ts): finding a message or a thread must not read the whole channel, which
        #: holds tens of thousands of messages after a simulated month.
        self._by_ts: dict[str, dict[str, dict[str, Any]]] = {}
        self._replies: dict[tuple[str, str], list[dict[str, Any]]] = {}
        #: Channels the bot has not been invited to (by default it is in every one).
        self.bot_absent: set[str] = set()
        #: Channel ids that name no channel (deleted, or mistyped): every method says so.
        self.missing_channels: set[str] = set()
        self.ephemerals: list[dict[str, Any]] = []
        self.open_conversations: set[str] = set()
        self.views: dict[str, dict[str, Any]] = {}
        self.view_users: dict[str, str | None] = {}
        self.opened_view_ids: list[str] = []
        self.published: dict[str, list[dict[str, Any]]] = {}
        self.triggers: dict[str, Trigger] = {}
        #: Uploaded files by id (`bot.sandbox.slack.files`), with their bytes.
        self.files: dict[str, dict[str, Any]] = {}
        self._last_micros = 0
        #: How far this Slack's clock is from the machine's, in seconds (see `now`).
        self.clock_offset = 0.0
        self._view_count = 0
        self._trigger_count = 0

    # -- identifiers

    def now(self) -> float:
        """This Slack's time, in Unix seconds: the machine's, moved by `clock_offset`."""
        return time.time() + self.clock_offset

    def next_ts(self) -> str:
        """A message timestamp: Slack's time now, strictly later than the last one."""
        micros = max(int(self.now() * 1_000_000), self._last_micros + 1)
        self._last_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def new_trigger_id(self, user_id: str | None) -> str:
        self._trigger_count += 1
        trigger_id = f"{self._trigger_count}.{TEAM_ID}.{uuid.uuid4().hex[:20]}"
        self.triggers[trigger_id] = Trigger(user_id, time.monotonic())
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
        if allow_user and USER_ID.fullmatch(channel):
            return self.im_channel(channel)
        if CHANNEL_ID.fullmatch(channel) and channel not in self.missing_channels:
            return channel
        raise SlackError("channel_not_found")

    # -- messages

    def history(self, channel: str) -> list[dict[str, Any]]:
        return self.channels.setdefault(channel, [])

    def find(self, channel: str, ts: str, *, error: str = "message_not_found") -> dict[str, Any]:
        message = self._by_ts.get(channel, {}).get(ts)
        if message is None:
            raise SlackError(error)
        return message

    def thread_root(self, channel: str, thread_ts: str | None) -> str | None:
        """Slack files a reply to a reply under the thread's parent."""
        if thread_ts is None:
            return None
        try:
            parent = self.find(channel, thread_ts)
        except SlackError:
            return thread_ts
        return parent.get("thread_ts") or thread_ts

    def thread(self, channel: str, root_ts: str) -> list[dict[str, Any]]:
        """The parent (when it is there) and its replies, oldest first."""
        parent = self._by_ts.get(channel, {}).get(root_ts)
        return [
            *([parent] if parent is not None else []),
            *self._replies.get((channel, root_ts), []),
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
        self._by_ts.setdefault(channel, {})[message["ts"]] = message
        if thread_ts is not None:
            self._replies.setdefault((channel, thread_ts), []).append(message)
            self.refresh_thread(channel, thread_ts)
        return message

    def refresh_thread(self, channel: str, root_ts: str) -> None:
        """Keep a parent's reply_count/latest_reply true, as Slack shows them in history."""
        try:
            parent = self.find(channel, root_ts)
        except SlackError:
            return
        replies = [m for m in self.thread(channel, root_ts) if m["ts"] != root_ts]
        parent["thread_ts"] = root_ts if replies else None
        parent["reply_count"] = len(replies) or None
        parent["reply_users"] = sorted({m["user"] for m in replies}) or None
        parent["latest_reply"] = replies[-1]["ts"] if replies else None

    def remove(self, channel: str, message: dict[str, Any]) -> None:
        self.history(channel).remove(message)
        del self._by_ts[channel][message["ts"]]
        root_ts = message.get("thread_ts")
        if root_ts is not None and root_ts != message["ts"]:
            self._replies[(channel, root_ts)].remove(message)
            self.refresh_thread(channel, root_ts)

    def bot_message(self, channel: str, ts: str, *, refusal: str) -> dict[str, Any]:
        message = self.find(channel, ts)
        if message["bot_id"] is None:
            raise SlackError(refusal)
        return message

    def update(self, message: dict[str, Any], content: Mapping[str, Any]) -> None:
        message.update(content)
        message["edited"] = {"user": BOT_USER_ID, "ts": self.next_ts()}

    # -- views

    def use_trigger(self, trigger_id: str) -> Trigger:
        trigger = self.triggers.get(trigger_id)
        if trigger is None:
            raise SlackError("invalid_trigger_id")
        if trigger.used:
            raise SlackError("exchanged_trigger_id")
        if time.monotonic() - trigger.issued_at > TRIGGER_TTL_SECONDS:
            raise SlackError("expired_trigger_id")
        return trigger

    def new_view_id(self) -> str:
        self._view_count += 1
        return f"V{self._view_count:08d}"

    def find_view(self, args: Mapping[str, Any]) -> dict[str, Any]:
        view_id, external_id = optional(args, "view_id"), optional(args, "external_id")
        if view_id is None and external_id is None:
            raise missing("view_id")
        for view in self.views.values():
            if view["id"] == view_id or (external_id and view["external_id"] == external_id):
                return view
        raise SlackError("not_found")

    # -- response_url

    def respond(self, target: ResponseUrl, payload: dict[str, Any]) -> None:
        """What Slack does with a post to a response_url: replace, delete, post or whisper."""
        if target.ephemeral and (
            flag(payload, "delete_original") or flag(payload, "replace_original")
        ):
            self._respond_to_ephemeral(target, payload)
            return
        if flag(payload, "delete_original"):
            if target.channel is not None and target.message_ts is not None:
                self.remove(target.channel, self.find(target.channel, target.message_ts))
            return
        content = message_content(decode_json_args(dict(payload)))
        if flag(payload, "replace_original") and target.message_ts is not None:
            self.update(self.find(str(target.channel), target.message_ts), content)
        elif payload.get("response_type") == "in_channel" and target.channel is not None:
            thread_ts = optional(payload, "thread_ts")
            self.add_message(
                target.channel, content, user=BOT_USER_ID, from_bot=True, thread_ts=thread_ts
            )
        else:
            ephemeral = {"channel": target.channel, "user": target.user_id, "ts": self.next_ts()}
            self.ephemerals.append(ephemeral | content)

    def _respond_to_ephemeral(self, target: ResponseUrl, payload: dict[str, Any]) -> None:
        """Replace or delete the ephemeral a response_url came from (gone: nothing happens,
        as in Slack, where a reload drops ephemerals)."""
        shown = next(
            (
                e
                for e in self.ephemerals
                if e["ts"] == target.message_ts and e["channel"] == target.channel
            ),
            None,
        )
        if shown is None:
            return
        if flag(payload, "delete_original"):
            self.ephemerals.remove(shown)
            return
        kept = {key: shown[key] for key in ("channel", "user", "ts")}
        shown.clear()
        shown.update(kept | message_content(decode_json_args(dict(payload))))
