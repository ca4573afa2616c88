"""A local Slack for the demo and the tests: a Web API recorder, and a driver that plays Slack.

`SlackRecorder` serves the Slack Web API methods the bot uses over real HTTP, so the bot's own
`slack_sdk` client is what gets exercised. It answers in Slack's shapes (including its errors and
its limits on Block Kit), keeps the channel state those answers depend on (messages, threads,
reactions, views), records every call, and lets a test make a method fail or slow down.

`SlackDriver` plays Slack towards the bot: it builds slash commands, interactivity payloads and
Events API envelopes exactly as Slack sends them and POSTs them, signed, to `/slack/events`, or
pushes them as Socket Mode envelopes through the recorder's websocket and checks the acks.

    with SlackRecorder() as slack:
        slack.fail_next("chat.postMessage", status=429, retry_after=1)
        ...  # point the bot's WebClient at slack.api_url with token "xoxb-test"
        slack.wait_for(lambda: slack.messages("C0GENERAL"))

Where each part lives:

- `team`: the workspace's ids, the bot's identity and token, its people and channels.
- `recorder`: the HTTP server, `SlackRecorder`, and the `RecordedCall`s tests read back.
- `methods`: each Web API method the recorder answers, by name.
- `workspace`: the state those methods read and change (messages, threads, views, triggers).
- `messages`: stored messages as the Web API shows them, windowed and paged.
- `blockkit`: Block Kit's limits and the other checks on posted content.
- `arguments` and `errors`: reading a call's arguments, and Slack's `ok: false` answers.
- `driver`: `SlackDriver`, `SlackRequest`, `Delivery` and `slack_signature`.
- `socket_mode`: `SocketModeServer` (what `apps.connections.open` leads to) and the `Ack`s it
  records.
"""

from __future__ import annotations

from bot.sandbox.slack.arguments import DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT
from bot.sandbox.slack.blockkit import (
    MAX_MESSAGE_BLOCKS,
    MAX_MESSAGE_TEXT,
    MAX_PRIVATE_METADATA,
    MAX_VIEW_BLOCKS,
    MAX_VIEW_TITLE,
)
from bot.sandbox.slack.driver import (
    SLACK_USER_AGENT,
    VERIFICATION_TOKEN,
    Delivery,
    SlackDriver,
    SlackRequest,
    slack_signature,
)
from bot.sandbox.slack.recorder import RESPONSE_URL_MAX_USES, RecordedCall, SlackRecorder
from bot.sandbox.slack.socket_mode import ACK_DEADLINE_SECONDS, Ack, SocketModeServer
from bot.sandbox.slack.team import (
    APP_ID,
    BOT_ID,
    BOT_SCOPES,
    BOT_USER_ID,
    BOT_USER_NAME,
    DEFAULT_APP_TOKEN,
    DEFAULT_BOT_TOKEN,
    DEFAULT_CHANNELS,
    DEFAULT_USERS,
    TEAM_DOMAIN,
    TEAM_ID,
    TEAM_NAME,
    TEAM_URL,
    SlackUser,
)
from bot.sandbox.slack.workspace import TRIGGER_TTL_SECONDS

__all__ = [
    "ACK_DEADLINE_SECONDS",
    "APP_ID",
    "BOT_ID",
    "BOT_SCOPES",
    "BOT_USER_ID",
    "BOT_USER_NAME",
    "DEFAULT_APP_TOKEN",
    "DEFAULT_BOT_TOKEN",
    "DEFAULT_CHANNELS",
    "DEFAULT_PAGE_LIMIT",
    "DEFAULT_USERS",
    "MAX_MESSAGE_BLOCKS",
    "MAX_MESSAGE_TEXT",
    "MAX_PAGE_LIMIT",
    "MAX_PRIVATE_METADATA",
    "MAX_VIEW_BLOCKS",
    "MAX_VIEW_TITLE",
    "RESPONSE_URL_MAX_USES",
    "SLACK_USER_AGENT",
    "TEAM_DOMAIN",
    "TEAM_ID",
    "TEAM_NAME",
    "TEAM_URL",
    "TRIGGER_TTL_SECONDS",
    "VERIFICATION_TOKEN",
    "Ack",
    "Delivery",
    "RecordedCall",
    "SlackDriver",
    "SlackRecorder",
    "SlackRequest",
    "SlackUser",
    "SocketModeServer",
    "slack_signature",
]
