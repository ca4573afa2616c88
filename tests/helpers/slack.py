"""Acting in Slack as a person does (clicks, replies, App Home, modals) and reading the answers."""

from __future__ import annotations

import json
from typing import Any

import httpx

from bot.sandbox.slack import Delivery, SlackRecorder
from bot.tls import client_context
from tests.conftest import NOTIFY_CHANNEL, RunningBot


def button(message: dict[str, Any], action_id: str, index: int = 0) -> dict[str, Any]:
    found = [
        element
        for block in message.get("blocks") or []
        for element in [*(block.get("elements") or []), block.get("accessory") or {}]
        if element.get("action_id") == action_id
    ]
    return found[index]


def click(
    bot: RunningBot,
    message: dict[str, Any],
    action_id: str,
    *,
    user: str = "U0ALICE",
    channel: str = NOTIFY_CHANNEL,
    index: int = 0,
) -> Delivery:
    """Press the `action_id` button of `message` (a posted message or an ephemeral answer)."""
    value = button(message, action_id, index)["value"]
    ts = str(message.get("ts") or "1700000000.000100")
    delivery = bot.slack.block_action(
        action_id, value, user_id=user, channel_id=channel, message_ts=ts, message=message
    )
    assert delivery.status_code == 200
    return delivery


def answer(slack: SlackRecorder, delivery: Delivery) -> dict[str, Any]:
    """The bot's answer to a click, through its response URL: only the clicker sees it."""
    key = delivery.response_url_key
    assert key is not None
    posted = slack.wait_for(lambda: slack.responses(key))[0]
    assert posted["response_type"] == "ephemeral"
    assert posted.get("replace_original") is False
    return posted


def posted_message(slack: SlackRecorder, bot: RunningBot | None = None) -> dict[str, Any]:
    """The message the worker posted for the webhook just sent.

    Given the bot, also waits until its worker has finished the event (`/healthz` says none
    is pending), so a click cannot race the worker recording where the message went.
    """
    message = slack.wait_for(lambda: slack.messages(NOTIFY_CHANNEL))[-1]
    if bot is not None:
        slack.wait_for(
            lambda: (
                httpx.get(f"{bot.url}/healthz", verify=client_context()).json().get("pending") == 0
            )
        )
    return message


def home_blocks(bot: RunningBot, slack: SlackRecorder, user: str = "U0ALICE") -> list[Any]:
    """The App Home `user` sees after opening it."""
    before = len(slack.views_published(user))
    assert bot.slack.app_home_opened(user).status_code == 200
    published = slack.wait_for(lambda: slack.views_published(user)[before:])
    return published[-1]["blocks"]


def open_sms_thread(bot: RunningBot, slack: SlackRecorder, text: str = "Hi there") -> str:
    """An inbound text, and the ts of the thread the worker opened for it."""
    assert bot.send("sms.received", message=text).status_code == 200
    slack.wait_for(lambda: len(slack.messages(NOTIFY_CHANNEL)) >= 2)
    return str(slack.messages(NOTIFY_CHANNEL)[0]["ts"])


def reactions(slack: SlackRecorder, ts: str) -> list[str]:
    message = next(m for m in slack.messages(NOTIFY_CHANNEL) if m["ts"] == ts)
    return [reaction["name"] for reaction in message["reactions"] or []]


def reply(bot: RunningBot, thread_ts: str, text: str, **kwargs: Any) -> str:
    """A reply typed in the thread; its ts."""
    delivery = bot.slack.message_in_thread(NOTIFY_CHANNEL, thread_ts, text, **kwargs)
    assert delivery.status_code == 200
    return ts_of(delivery)


def ts_of(delivery: Delivery) -> str:
    """The ts of the message an Events API delivery carried."""
    return str(json.loads(delivery.body)["event"]["ts"])


def open_modal_on(
    bot: RunningBot, slack: SlackRecorder, message: dict[str, Any], action: str
) -> dict[str, Any]:
    """Click `action` on `message` and wait for the modal with its conversation filled in."""
    value = next(
        element["value"]
        for block in message["blocks"]
        for element in block.get("elements") or []
        if element.get("action_id") == action
    )
    bot.slack.block_action(action, value, channel_id=NOTIFY_CHANNEL, message_ts=message["ts"])

    def filled_in() -> dict[str, Any] | None:
        view = slack.views_opened("U0ALICE")[-1]
        history = next(b for b in view["blocks"] if b["block_id"] == "sms_history")
        return None if "Loading" in json.dumps(history) else view

    return slack.wait_for(filled_in)


def form_errors(delivery: Delivery) -> dict[str, str]:
    assert delivery.status_code == 200
    body = delivery.response.json()
    assert body["response_action"] == "errors"
    return body["errors"]


def replies(slack: SlackRecorder, parent: dict[str, Any]) -> list[dict[str, Any]]:
    return slack.thread(NOTIFY_CHANNEL, parent["ts"])[1:]
