"""Slack's `ok: false` answers, raised wherever a Web API call is found wanting."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class SlackError(Exception):
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


def missing(name: str) -> SlackError:
    return SlackError("invalid_arguments", [f"[ERROR] missing required field: {name}"])
