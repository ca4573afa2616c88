"""The one small Block Kit kit every builder in `bot.slack.blocks` is made of.

Blocks are built with `slack_sdk.models.blocks`, whose `to_dict()` raises
`SlackObjectFormationError` when a block breaks one of Slack's limits, so a limit is met where
a block is made rather than found out when Slack refuses the message. Besides the blocks
(section, context line, actions, button, header, divider) the kit owns the primitives every
surface shows the same way: escaping for mrkdwn, a text on one line, a mention of a user
(only of an id shaped like one), a customer's number (masked under `MASK_NUMBERS`), times and
durations. Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InteractiveElement,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot import phone
from bot.slack.buttons import ButtonCodec, ButtonValue

Block = dict[str, Any]
"""One block as Slack's JSON has it (what `to_dict()` gives, and what is stored)."""

ELLIPSIS = "…"
NUMBER_LIMIT = 40

USER_ID = re.compile(r"[UW][A-Z0-9]{2,30}")
"""A Slack user id: "U" (or "W" on Enterprise Grid) then capitals and digits, as in
https://api.slack.com/changelog/2016-08-11-user-id-format-changes ("U024BE7LH")."""


def escape_mrkdwn(text: str) -> str:
    """Escapes the three characters Slack's mrkdwn treats as control characters.

    `&` first, so the entities produced for `<` and `>` are not escaped twice.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def one_line(text: str | None, limit: int) -> str | None:
    """`text` on one line, cut to `limit` characters before escaping; None when blank."""
    if text is None:
        return None
    collapsed = " ".join(text.split())
    if not collapsed:
        return None
    if len(collapsed) > limit:
        collapsed = collapsed[: limit - len(ELLIPSIS)].rstrip() + ELLIPSIS
    return escape_mrkdwn(collapsed)


def is_user_id(text: str) -> bool:
    """Whether `text` is shaped like a Slack user id (`U024BE7LH`); says nothing of whether
    that user exists."""
    return USER_ID.fullmatch(text) is not None


def mention(user_id: str | None) -> str | None:
    """`<@U…>` for a user id, only when it has that shape: nothing else can ping anyone."""
    return f"<@{user_id}>" if user_id and is_user_id(user_id) else None


@dataclass(frozen=True)
class RenderContext:
    """How this deployment shows things: `TIMEZONE`, `DEFAULT_REGION`, `MASK_NUMBERS`, and
    the codec that seals its buttons' values (`bot.slack.buttons`)."""

    timezone: ZoneInfo
    default_region: str
    mask_numbers: bool
    buttons: ButtonCodec
    #: `REPLY_MODE=explicit`: a text's thread says replies stay internal unless `send:`.
    explicit_replies: bool = False


@dataclass(frozen=True)
class Message:
    """A message ready for `chat.postMessage`/`chat.update`: fallback `text` plus `blocks`."""

    text: str
    blocks: list[Block]
    #: A plainer layout to send when Slack refuses these blocks (`invalid_blocks`), before
    #: falling back to the text alone: a table some workspaces do not accept yet, say.
    simpler: Message | None = None

    def as_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for the Web API call (slack_sdk reads the blocks, never changes
        them); a new dict and list, so the caller may add to them."""
        return {"text": self.text, "blocks": list(self.blocks)}


def display_number(number: str | None, ctx: RenderContext) -> str | None:
    """A customer's number as shown: masked or formatted, on one line and escaped, because a
    webhook can carry anything ("anonymous", or worse) where a number should be."""
    if not number:
        return None
    shown = phone.mask(number) if ctx.mask_numbers else phone.display(number, ctx.default_region)
    return one_line(shown, NUMBER_LIMIT)


def shown_number(number: str, ctx: RenderContext) -> str:
    """`display_number` for a number known to be there (a confirmation's)."""
    return display_number(number, ctx) or ""


def same_number(one: str | None, other: str | None, ctx: RenderContext) -> bool:
    """Whether two numbers, as typed or as QTvoice wrote them, are the same line."""
    if not one or not other:
        return False
    region = ctx.default_region
    return phone.normalize(one, region) == phone.normalize(other, region)


def format_when(moment: datetime, ctx: RenderContext) -> str:
    """'Fri, Nov 27 at 3:52 PM EST' in the deployment's timezone (naive times are UTC)."""
    local = local_time(moment, ctx)
    return f"{local:%a, %b} {local.day} at {clock(local)} {local:%Z}"


def format_duration(seconds: int) -> str:
    """'2:25' (m:ss), or '1:02:05' past the hour."""
    minutes, secs = divmod(max(seconds, 0), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def local_time(moment: datetime, ctx: RenderContext) -> datetime:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(ctx.timezone)


def clock(local: datetime) -> str:
    """'3:52 PM', spelled out by hand because strftime's %p and %-I follow the locale/libc."""
    hour = local.hour % 12 or 12
    meridiem = "AM" if local.hour < 12 else "PM"
    return f"{hour}:{local:%M} {meridiem}"


def copied(block: Block) -> Block:
    """A deep copy of a block (JSON-shaped: dicts, lists and scalars), four times as fast as
    `copy.deepcopy`, which every delivery would otherwise pay a few times over."""
    return cast(Block, _copied(block))


def _copied(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copied(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copied(item) for item in value]
    return value


def field(label: str, value: str) -> str:
    """A section field: '*Label*' over its value (mrkdwn)."""
    return f"*{label}*\n{value}"


def section(
    block_id: str,
    text: str,
    fields: Iterable[str] = (),
    *,
    accessory: ButtonElement | None = None,
) -> Block:
    """A section of mrkdwn `text`, with `fields` (mrkdwn) and a button `accessory`."""
    return SectionBlock(
        block_id=block_id,
        text=MarkdownTextObject(text=text),
        fields=[MarkdownTextObject(text=item) for item in fields] or None,
        accessory=accessory,
    ).to_dict()


def context(block_id: str, text: str) -> Block:
    """A line of small print (mrkdwn)."""
    return ContextBlock(block_id=block_id, elements=[MarkdownTextObject(text=text)]).to_dict()


def actions(block_id: str, buttons: Iterable[InteractiveElement]) -> Block:
    """A row of buttons (made by `button`), or menus."""
    return ActionsBlock(block_id=block_id, elements=list(buttons)).to_dict()


def button(
    text: str, action_id: str, value: ButtonValue, ctx: RenderContext, *, style: str | None = None
) -> ButtonElement:
    """A button whose value is `value` sealed by the deployment's codec (`bot.slack.buttons`).

    Raises ValueError when the value would pass Slack's 2000 characters.
    """
    return ButtonElement(
        text=PlainTextObject(text=text, emoji=True),
        action_id=action_id,
        value=ctx.buttons.encode(value),
        style=style,
    )


def header(text: str) -> Block:
    """A header: plain text in large type."""
    return HeaderBlock(text=PlainTextObject(text=text)).to_dict()


def divider() -> Block:
    return DividerBlock().to_dict()
