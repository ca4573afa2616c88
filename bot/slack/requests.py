"""Slack's payloads, understood once: at each listener's door a typed request, or a friendly no.

The door (`bot.slack.door`) has checked the signature and the handful of fields Bolt reads
itself; this module reads everything the listeners use, the way `bot.qtvoice.events` reads
webhooks: one pydantic model per payload (`SlashCommand`, `Click`, `ViewSubmission`,
`MessageEvent`, `HomeOpened`), strict about types (a number where Slack sends text is not
text), tolerant of fields the bot does not read. The shapes are Slack's:
https://api.slack.com/interactivity/slash-commands#app_command_handling,
https://api.slack.com/reference/interaction-payloads and
https://api.slack.com/apis/events-api#callback-field.

The `on_*` functions wrap a listener for Bolt: the listener receives the typed request (and,
for an interaction, a `Tell` for the person waiting), never Bolt's dict. A payload that does
not fit is never a traceback and never a 5xx: a slash command is answered with one sentence,
a click is acked and its clicker told, a view submission gets a valid ack (the modal closes)
and its submitter a direct message, an event is acked and logged in one line.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from slack_bolt.async_app import AsyncAck, AsyncBoltRequest, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import listening
from bot.slack.tell import Tell

logger = logging.getLogger(__name__)

UNREADABLE = "Sorry, Slack sent me something I couldn't read; please try that again."
UNREADABLE_FORM = "Sorry, I couldn't read that form; please press the button again."


class SlackRequest(BaseModel):
    """A part of a Slack payload: strict types, unknown fields ignored, never changed."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class _Id(SlackRequest):
    id: str


class _Action(SlackRequest):
    action_id: str
    value: str | None = None
    #: A users_select's choice (Assign…).
    selected_user: str | None = None


class _Container(SlackRequest):
    channel_id: str | None = None


class _SeenView(SlackRequest):
    """The view a person has in front of them; its `hash` lets views.publish refuse to
    overwrite a newer one (https://docs.slack.dev/reference/methods/views.publish)."""

    hash: str | None = None


class _ClickedMessage(SlackRequest):
    ts: str | None = None
    thread_ts: str | None = None


class SlashCommand(SlackRequest):
    """A slash command as typed: the command, the text after it, who and where."""

    command: str
    text: str = ""
    user_id: str
    channel_id: str = ""


class Click(SlackRequest):
    """A button press (block_actions): the first action, who pressed it, on what message."""

    user: _Id
    actions: list[_Action] = Field(min_length=1)
    trigger_id: str | None = None
    channel: _Id | None = None
    container: _Container | None = None
    message: _ClickedMessage | None = None
    response_url: str | None = None
    view: _SeenView | None = None

    @property
    def user_id(self) -> str:
        return self.user.id

    @property
    def action_id(self) -> str:
        return self.actions[0].action_id

    @property
    def value(self) -> str | None:
        """The button's value as sent; `bot.slack.buttons` opens it."""
        return self.actions[0].value

    @property
    def selected_user(self) -> str | None:
        """The person picked in a users_select menu."""
        return self.actions[0].selected_user

    @property
    def channel_id(self) -> str | None:
        """The channel of the clicked message; None for a click in the App Home."""
        if self.channel is not None:
            return self.channel.id
        return self.container.channel_id if self.container is not None else None

    @property
    def message_ts(self) -> str | None:
        return self.message.ts if self.message is not None else None

    @property
    def view_hash(self) -> str | None:
        """The hash of the App Home the click came from; None for a click on a message."""
        return self.view.hash if self.view is not None else None

    @property
    def thread_ts(self) -> str | None:
        """The thread the clicked message is a reply in, if it is one."""
        message = self.message
        if message is None or not message.thread_ts or message.thread_ts == message.ts:
            return None
        return message.thread_ts


class _Option(SlackRequest):
    value: str


class _InputValue(SlackRequest):
    value: str | None = None
    #: A static_select's choice (the SMS modal's saved replies).
    selected_option: _Option | None = None


class _ViewState(SlackRequest):
    values: dict[str, dict[str, _InputValue]] = Field(default_factory=dict)


class _View(SlackRequest):
    callback_id: str
    private_metadata: str = ""
    state: _ViewState = Field(default_factory=_ViewState)


class ViewSubmission(SlackRequest):
    """A modal submitted: who, the metadata the bot gave it, what was typed in each input."""

    user: _Id
    view: _View

    @property
    def user_id(self) -> str:
        return self.user.id

    @property
    def private_metadata(self) -> str:
        return self.view.private_metadata

    def typed(self, block_id: str, action_id: str) -> str:
        """What was typed in the input `block_id`/`action_id`; "" when nothing was."""
        typed = self.view.state.values.get(block_id, {}).get(action_id)
        return (typed.value if typed is not None else None) or ""

    def chosen(self, block_id: str, action_id: str) -> str | None:
        """The value of the option picked in the menu `block_id`/`action_id`, if any."""
        picked = self.view.state.values.get(block_id, {}).get(action_id)
        option = picked.selected_option if picked is not None else None
        return option.value if option is not None and option.value else None


class SlackMessage(SlackRequest):
    """A message as the Events API sends it (the fields the bot reads)."""

    channel: str
    ts: str
    user: str | None = None
    thread_ts: str | None = None
    subtype: str | None = None
    bot_id: str | None = None
    text: str = ""
    files: list[object] | None = None


class MessageEvent(SlackRequest):
    """A message event (message.channels, message.groups), with the id Slack retries it by."""

    event_id: str | None = None
    event: SlackMessage


class _HomeEvent(SlackRequest):
    user: str
    tab: str = "home"
    view: _SeenView | None = None

    @property
    def view_hash(self) -> str | None:
        """The hash of the Home view Slack shows the person now; None on a first opening."""
        return self.view.hash if self.view is not None else None


class HomeOpened(SlackRequest):
    """The App Home opened by `user` on `tab` ("home" or "messages")."""

    event: _HomeEvent


class _Someone(SlackRequest):
    """What is left to answer by when the rest does not fit: the person and where they are."""

    user: _Id
    channel: _Id | None = None
    response_url: str | None = None


Request = TypeVar("Request", bound=SlackRequest)


def read(model: type[Request], body: dict[str, Any]) -> Request | None:
    """`body` read as `model`; None when it does not fit (the reason is logged, not the body)."""
    try:
        return model.model_validate(body)
    except ValidationError as error:
        where = ", ".join(".".join(map(str, item["loc"])) for item in error.errors()[:3])
        logger.info("Slack %s payload not readable (%s)", model.__name__, where)
        return None


def tell_for(
    client: AsyncWebClient,
    respond: AsyncRespond,
    user: str,
    channel: str | None,
    response_url: str | None,
    thread_ts: str | None = None,
) -> Tell:
    """The `Tell` for a person who asked in `channel`, through its response URL if any."""
    return Tell(client, user, channel, thread_ts, respond if response_url else None)


async def _tell_someone(
    body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, text: str
) -> None:
    someone = read(_Someone, body)
    if someone is None:
        return
    channel = someone.channel.id if someone.channel is not None else None
    await tell_for(client, respond, someone.user.id, channel, someone.response_url)(text)


BoltListener = Callable[..., Awaitable[None]]


def on_command(listener: Callable[[SlashCommand, Tell], Awaitable[None]]) -> BoltListener:
    """A slash command listener: acked at once (Slack waits three seconds), then answered."""

    async def read_command(
        ack: AsyncAck, request: AsyncBoltRequest, client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        with listening.running():
            command = read(SlashCommand, request.body)
            if command is None:
                await ack(text=UNREADABLE, response_type="ephemeral")
                return
            await ack()
            await listener(
                command, Tell(client, command.user_id, command.channel_id, None, respond)
            )

    return read_command


def on_click(listener: Callable[[Click, Tell], Awaitable[None]]) -> BoltListener:
    """A button listener: acked at once, then told who clicked where and how to answer them."""

    async def read_click(
        ack: AsyncAck, request: AsyncBoltRequest, client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        with listening.running():
            await ack()
            click = read(Click, request.body)
            if click is None:
                await _tell_someone(request.body, client, respond, UNREADABLE)
                return
            tell = tell_for(client, respond, click.user_id, click.channel_id, click.response_url)
            await listener(click, tell)

    return read_click


def on_view(
    listener: Callable[[ViewSubmission, AsyncAck, AsyncWebClient], Awaitable[None]],
) -> BoltListener:
    """A view submission listener, which acks itself (it may keep the modal open with errors);
    a submission that does not fit is acked (the modal closes) and its submitter told."""

    async def read_view(
        ack: AsyncAck, request: AsyncBoltRequest, client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        with listening.running():
            submission = read(ViewSubmission, request.body)
            if submission is None:
                await ack()
                await _tell_someone(request.body, client, respond, UNREADABLE_FORM)
                return
            await listener(submission, ack, client)

    return read_view


def on_event(
    model: type[Request], listener: Callable[[Request, AsyncWebClient], Awaitable[None]]
) -> BoltListener:
    """An Events API listener (Bolt acks events itself); an event that does not fit is
    dropped with one log line: nobody is waiting for an answer."""

    async def read_event(request: AsyncBoltRequest, client: AsyncWebClient) -> None:
        with listening.running():
            event = read(model, request.body)
            if event is not None:
                await listener(event, client)

    return read_event
