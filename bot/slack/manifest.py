"""The Slack app manifest for one deployment: `python -m bot manifest --socket-mode` or `--url …`.

Paste the printed JSON into https://api.slack.com/apps → Create New App → From a manifest.
With Socket Mode the app needs no public URL: Slack pushes everything over the websocket the
bot opens with its app-level token (`SLACK_APP_TOKEN`, scope `connections:write`, which a
manifest cannot create). Over HTTP every request URL is the bot's one Bolt endpoint,
`<url>/slack/events`. Both shapes follow Slack's published manifest schema
(https://github.com/slackapi/manifest-schema; a test validates them). The commands and
events listed here are exactly the ones the Bolt app registers (a test holds the two
together), and the bot scopes are the fewest the code's Web API calls and events need.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

APP_NAME = "QTvoice"
BOT_DISPLAY_NAME = "qtvoice"
SLACK_PATH = "/slack/events"
#: Where QTvoice posts webhooks (the contract's route), given to QTvoice by the operator.
WEBHOOK_PATH = "/qtvoice/webhooks"


@dataclass(frozen=True)
class SlashCommand:
    command: str
    description: str
    usage_hint: str


SLASH_COMMANDS = (
    SlashCommand(
        "/qtvoice",
        "Calls, texts and contacts from QTvoice",
        "call | sms | contact | link | whoami | voicemails | routes | help",
    ),
    SlashCommand(
        "/call", "Call a number or contact from your QTvoice extension", "<number or name>"
    ),
    SlashCommand("/sms", "Text a number or contact from QTvoice", "<number or name> <message>"),
    SlashCommand(
        "/contact", "Look up a QTvoice contact and their recent calls", "<number or name>"
    ),
)

BOT_EVENTS = (
    # Replies typed in SMS threads, in public and in private channels.
    "message.channels",
    "message.groups",
    # The App Home tab: the user's missed calls, voicemails and open conversations.
    "app_home_opened",
)

BOT_SCOPES = (
    # Slash commands.
    "commands",
    # chat.postMessage, chat.update (mark handled, voicemail transcripts), chat.postEphemeral.
    "chat:write",
    # conversations.join: a routed public channel the bot was not invited to is joined on the
    # first post, so notifications and its SMS thread replies work without an /invite.
    "channels:join",
    # conversations.open: missed calls and voicemails reach a linked user by DM.
    "im:write",
    # message.channels events (SMS thread replies), and conversations.history/replies, which the
    # worker reads to find a post that reached Slack before a crash left it unrecorded.
    "channels:history",
    # The same for private channels: message.groups and history/replies there.
    "groups:history",
    # The same history check for the DMs the worker posts to.
    "im:history",
    # conversations.info: `check` confirms the bot can see, and is in, every notified channel,
    # public (channels:read) and private (groups:read).
    "channels:read",
    "groups:read",
    # reactions.add: a thread reply's sent/delivered/refused marks.
    "reactions:write",
    # users.info: who is running a command (`/qtvoice link` with no extension).
    "users:read",
    # The email in users.info, matched against QTvoice extensions' emails to suggest a link.
    "users:read.email",
)

#: files.getUploadURLExternal and files.completeUploadExternal: voicemail recordings posted
#: as audio files (`UPLOAD_RECORDINGS`); asked for only when that is on.
RECORDING_SCOPE = "files:write"


def bot_scopes(upload_recordings: bool) -> tuple[str, ...]:
    """The scopes this deployment's manifest asks for (and `check` expects granted)."""
    return (*BOT_SCOPES, RECORDING_SCOPE) if upload_recordings else BOT_SCOPES


#: The app's page in Slack (App Directory style: 175 to 4,000 characters, Slack's schema).
LONG_DESCRIPTION = (
    "*Your QTvoice business phones, in Slack.* Every missed call, voicemail (with its "
    "transcript) and text message lands in the right channel the moment it happens, and your "
    "own missed calls and voicemails reach you by DM.\n"
    "• *Call or text back in one click*, or with `/call` and `/sms`; answer a customer's text "
    "by replying in its Slack thread.\n"
    "• *Nobody forgets a caller*: take a missed call with _I'll take it_; an untaken one is "
    "escalated after a while, and a daily digest sums up the day.\n"
    "• *Look people up* with `/contact`; your Home tab lists what waits for you.\n"
    "Nothing is lost and nothing is posted twice: events are stored before they are answered "
    "and delivered through Slack outages and rate limits."
)

#: What an operator must do by hand for Socket Mode: a manifest cannot make app-level tokens.
SOCKET_MODE_SETUP = (
    "Socket Mode needs an app-level token, which a manifest cannot create: after creating the app, "
    "open Basic Information → App-Level Tokens → Generate Token and Scopes, add the scope "
    "connections:write, and set the xapp-… token as SLACK_APP_TOKEN."
)


def build_manifest(url: str | None, *, upload_recordings: bool = False) -> dict[str, Any]:
    """The manifest (as a JSON-ready dict) for a bot served at the base URL `url`, asking
    for `files:write` too when it uploads recordings (`UPLOAD_RECORDINGS`).

    `url` None means Socket Mode: `socket_mode_enabled` is true and no request URL is named
    (Slack sends commands, clicks and events over the bot's websocket instead).
    """
    request_url = None if url is None else url.rstrip("/") + SLACK_PATH
    at_url = {} if request_url is None else {"url": request_url}
    events_at = {} if request_url is None else {"request_url": request_url}
    return {
        "display_information": {
            "name": APP_NAME,
            "description": "QTvoice business phones in Slack: missed calls, voicemail and SMS.",
            "long_description": LONG_DESCRIPTION,
            "background_color": "#1d3557",
        },
        "features": {
            "app_home": {
                "home_tab_enabled": True,
                # DMs carry the user's own missed calls and voicemails; the bot reads no DM
                # replies, so the tab is read-only rather than a box that answers nothing.
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": True,
            },
            "bot_user": {"display_name": BOT_DISPLAY_NAME, "always_online": True},
            "slash_commands": [
                {
                    "command": command.command,
                    **at_url,
                    "description": command.description,
                    "usage_hint": command.usage_hint,
                    # Mentions and channels arrive as <@U…|name> and <#C…|name>: ids, not names.
                    "should_escape": True,
                }
                for command in SLASH_COMMANDS
            ],
        },
        "oauth_config": {"scopes": {"bot": list(bot_scopes(upload_recordings))}},
        "settings": {
            "event_subscriptions": {**events_at, "bot_events": list(BOT_EVENTS)},
            "interactivity": {"is_enabled": True, **events_at},
            "org_deploy_enabled": False,
            "socket_mode_enabled": request_url is None,
            "token_rotation_enabled": False,
        },
    }
