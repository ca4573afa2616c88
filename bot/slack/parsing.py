"""Reading what people type into Slack: message markup back to plain text, and the parts of a
slash command's text. Pure functions of their input; no I/O.

Slack sends typed text with `&`, `<` and `>` escaped as entities, links as `<https://…|label>`,
mentions as `<@U123|name>`, channels as `<#C123|name>` and broadcasts as `<!here>` (slash
commands do so because the manifest sets `should_escape`). See
https://api.slack.com/reference/surfaces/formatting#escaping.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot import phone
from bot.qtvoice.models import Extension

_USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_CHANNEL_MENTION = re.compile(r"<#([CG][A-Z0-9]+)(?:\|[^>]*)?>")
_SLACK_MARKUP = re.compile(r"<([^<>]*)>")
#: A name in straight or curly double quotes (Slack's clients often curl them), then the text.
_QUOTED_NAME = re.compile(
    r'^\s*["\u201c\u201d]([^"\u201c\u201d]+)["\u201c\u201d]\s*(.*)$', re.DOTALL
)
#: A name (not blank) ended by a colon, then the text.
_NAME_THEN_COLON = re.compile(r"^\s*([^:\n]*?[^:\s])\s*:\s*(.*)$", re.DOTALL)


def plain_text(slack_text: str) -> str:
    """Slack's markup as the person saw it: the link, the label or the name, and the characters
    that were typed. `&amp;` is decoded last, so a typed "&lt;" stays "&lt;"."""

    def readable(match: re.Match[str]) -> str:
        target, _, label = match.group(1).partition("|")
        if target.startswith(("@", "#")):
            return target[0] + label if label else target
        if target.startswith("!"):
            return label or "@" + target[1:].split("^")[0]
        if label:
            return label
        return target.removeprefix("mailto:")

    unlinked = _SLACK_MARKUP.sub(readable, slack_text)
    return unlinked.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def split_first(text: str) -> tuple[str, str]:
    """The first word and the rest, the rest's own spacing and line breaks kept."""
    parts = text.strip().split(maxsplit=1)
    if not parts:
        return "", ""
    return parts[0], parts[1] if len(parts) > 1 else ""


def leading_mention(slack_text: str) -> tuple[str | None, str]:
    """The Slack user id a text starts by mentioning (`<@U123|name> …`), and the rest;
    (None, the text) when it starts with no mention."""
    mention = _USER_MENTION.match(slack_text.strip())
    if mention is None:
        return None, slack_text
    return mention.group(1), slack_text.strip()[mention.end() :]


def around_channel(slack_text: str) -> tuple[str, str | None, str]:
    """The text before a `<#C…|name>` mention, the channel id, and the text after it;
    (the text, None, "") when no channel is mentioned."""
    mention = _CHANNEL_MENTION.search(slack_text)
    if mention is None:
        return slack_text, None, ""
    return slack_text[: mention.start()], mention.group(1), slack_text[mention.end() :]


def target_and_text(typed: str, region: str) -> tuple[str, str]:
    """Who to text and what, from `<number or name> <text>` (plain text, see `plain_text`).

    A number may be typed with spaces ("215 555 1234 hi"), so the longest run of leading words
    that reads as a valid number in `region` is taken, else the longest that looks like one (to
    be refused as a bad number). A name is one word, or quoted, or ended by a colon
    ("Jane Roe: hi").
    """
    quoted = _QUOTED_NAME.match(typed)
    if quoted:
        return quoted.group(1).strip(), quoted.group(2)
    words = typed.split()
    numbers = [" ".join(words[:end]) for end in range(len(words), 0, -1)]
    phone_like = [candidate for candidate in numbers if phone.is_phone_like(candidate)]
    if phone_like:
        valid = [candidate for candidate in phone_like if phone.parse(candidate, region)]
        number = (valid or phone_like)[0]
        return number, _after_words(typed, len(number.split()))
    named = _NAME_THEN_COLON.match(typed)
    if named and not phone.is_phone_like(named.group(1)):
        return named.group(1), named.group(2)
    return split_first(typed)


def find_extension(extensions: Sequence[Extension], typed: str, region: str) -> Extension | None:
    """The extension a person named by id ("ext_101"), number ("101") or phone line."""
    wanted = typed.strip().casefold()
    for extension in extensions:
        if extension.id.casefold() == wanted:
            return extension
    if not phone.is_phone_like(typed):
        return None
    digits = _digits(typed)
    line = phone.parse(typed, region)
    for extension in extensions:
        if extension.number and _digits(extension.number) == digits:
            return extension
        if line and line == extension_phone(extension, region):
            return extension
    return None


def extension_phone(extension: Extension, region: str) -> str | None:
    """The extension's own phone line in E.164, from whichever key QTvoice put it under."""
    extra = extension.model_extra or {}
    for candidate in (
        extra.get("phone"),
        extra.get("phoneNumber"),
        extra.get("phone_number"),
        extension.number,
    ):
        if isinstance(candidate, str) and (e164 := phone.parse(candidate, region)):
            return e164
    return None


def _after_words(text: str, count: int) -> str:
    """`text` without its first `count` words, the rest's own spacing kept."""
    skipped = re.match(rf"\s*(?:\S+\s*){{{count}}}", text)
    return text[skipped.end() :] if skipped else ""


def _digits(text: str) -> str:
    return "".join(char for char in text if char.isdigit())
