"""Slack's look, from what the sandbox recorded: Block Kit and mrkdwn drawn as HTML.

Pure functions from recorded messages to HTML strings, shared by the demo's `demo.html`, the
live page of `demo --keep-running` (`page.py`) and the README's screenshots. What they draw
follows Slack's own rendering (https://api.slack.com/reference/surfaces/formatting and
https://api.slack.com/reference/block-kit/blocks): mrkdwn's `*bold*`, `_italic_`, `~strike~`,
`` `code` ``, ```` ```pre``` ````, `>` quotes, `<url|label>` links, `<@U…>`/`<#C…>`/`<!here>`
mentions and its three entities; sections with two-column fields and accessories, actions
with primary/danger buttons, context lines, headers, dividers and images; the author, avatar
and time of each message, "(edited)", reactions as emoji, threads under their parent and
ephemerals marked "Only visible to you".

Everything recorded is escaped before it is drawn: text the bot escaped for mrkdwn (a caller's
`<script>` or `<!channel>`) appears as text, never as markup or a mention.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

EMOJI: Mapping[str, str] = {
    "outbox_tray": "📤",
    "white_check_mark": "✅",
    "heavy_check_mark": "✔️",
    "warning": "⚠️",
    "memo": "📝",
    "x": "❌",
    "eyes": "👀",
    "+1": "👍",
    "thumbsup": "👍",
    "tada": "🎉",
    "telephone_receiver": "📞",
    "phone": "☎️",
    "speech_balloon": "💬",
    "mailbox_with_mail": "📬",
    "bell": "🔔",
    "no_entry_sign": "🚫",
    "hourglass_flowing_sand": "⏳",
    "rotating_light": "🚨",
}
"""Slack's shortcodes for the emoji the bot reacts with (bot/slack/events.py,
bot/delivery/notifier.py) and a few common ones; any other stays `:shortcode:`."""

LINK_SCHEMES = ("http://", "https://", "mailto:", "tel:")
"""Link targets drawn as links; any other `<target|label>` shows its label as plain text."""

_OPEN, _CLOSE = "\ue000", "\ue001"
"""Private-use characters around the index of a fragment already drawn (see `mrkdwn`)."""
_KEPT = re.compile(f"{_OPEN}(\\d+){_CLOSE}")
_PRE = re.compile(r"```(.+?)```", re.DOTALL)
_CODE = re.compile(r"`([^`\n]+)`")
_CONTROL = re.compile(r"<([^<>]*)>")
_SHORTCODE = re.compile(r":([a-z0-9_+\-]+):")
_QUOTE = re.compile(r"^&gt; ?")


def _styled(marker: str, tag: str) -> tuple[re.Pattern[str], str]:
    """Slack's rule for `*`, `_` and `~`: open before a non-space, close after one, not
    inside a word (letters and digits; `_*both*_` nests), never across a line. What they enclose is text or a whole style
    drawn before (`*_bold italic_*`), never half a tag, so styles nest and never cross."""
    m = re.escape(marker)
    inner = rf"(?:[^{m}\n<>]|<([bis])>[^<>\n]*</\2>)+?"
    pattern = re.compile(rf"(?<![^\W_])(?<!{m}){m}(?=\S)({inner})(?<=\S){m}(?![^\W_])(?!{m})")
    return pattern, rf"<{tag}>\1</{tag}>"


_STYLES = [_styled("*", "b"), _styled("_", "i"), _styled("~", "s")]


@dataclass(frozen=True)
class Names:
    """How ids read in Slack: people by their name, channels by theirs (no '#')."""

    users: Mapping[str, str] = field(default_factory=dict)
    channels: Mapping[str, str] = field(default_factory=dict)
    bot_user_id: str = ""

    def user(self, user_id: str) -> str:
        return self.users.get(user_id, user_id)

    def channel(self, channel_id: str) -> str:
        return self.channels.get(channel_id, channel_id)


@dataclass(frozen=True)
class Conversation:
    """One pane: a channel (`#name`) or a DM (the person's name), with what it holds.

    `messages` are recorded messages (replies included, as `SlackRecorder.messages` gives
    them); `ephemerals` are those shown to one person only (`SlackRecorder.ephemerals`).
    """

    id: str
    name: str
    messages: Sequence[Mapping[str, Any]] = ()
    ephemerals: Sequence[Mapping[str, Any]] = ()

    @property
    def is_dm(self) -> bool:
        return self.id.startswith("D")

    @property
    def title(self) -> str:
        return self.name if self.is_dm else f"#{self.name}"


def _text(raw: str) -> str:
    """Recorded mrkdwn text as HTML text: Slack's three entities decoded, then escaped."""
    decoded = raw.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return html.escape(decoded, quote=False)


def emoji(name: str) -> str:
    """The character for a shortcode ("white_check_mark" → "✅"), else ":name:"."""
    return EMOJI.get(name.strip(":"), f":{name.strip(':')}:")


def _shortcodes(escaped: str) -> str:
    return _SHORTCODE.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), escaped)


def _control(inner: str, names: Names) -> str:
    """One `<…>` sequence of mrkdwn as HTML: a mention, a special mention or a link."""
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        shown = label or names.user(target[1:])
        return f'<span class="mention">@{_text(shown)}</span>'
    if target.startswith("#"):
        shown = label or names.channel(target[1:])
        return f'<span class="mention">#{_text(shown)}</span>'
    if target.startswith("!"):
        command = target[1:].split("^")[0]
        if command in ("here", "channel", "everyone"):
            return f'<span class="mention loud">@{command}</span>'
        return f'<span class="mention">{_text(label or command)}</span>'
    url = target.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    shown = _text(label) if label else html.escape(url, quote=False)
    if url.lower().startswith(LINK_SCHEMES):
        return (
            f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener">{shown}</a>'
        )
    return shown


def mrkdwn(text: str, names: Names | None = None) -> str:
    """Slack mrkdwn as the HTML Slack's clients draw for it.

    Code and `<…>` sequences are drawn first and set aside, the rest is escaped, then the
    styles, shortcodes, quotes and line breaks apply, so nothing in `text` can become a tag
    of its own: a caller's `&lt;script&gt;` (as the bot escapes it) reads "<script>".
    """
    names = names or Names()
    kept: list[str] = []

    def keep(fragment: str) -> str:
        kept.append(fragment)
        return f"{_OPEN}{len(kept) - 1}{_CLOSE}"

    text = text.replace(_OPEN, "\ufffd").replace(_CLOSE, "\ufffd")
    text = _PRE.sub(lambda m: keep(f"<pre>{_text(m.group(1).strip(chr(10)))}</pre>"), text)
    text = _CODE.sub(lambda m: keep(f"<code>{_text(m.group(1))}</code>"), text)
    text = _CONTROL.sub(lambda m: keep(_control(m.group(1), names)), text)
    escaped = _text(text)
    for pattern, replacement in _STYLES:
        escaped = pattern.sub(replacement, escaped)
    escaped = _shortcodes(escaped)
    drawn = _lines(escaped.split("\n"))
    return _KEPT.sub(lambda m: kept[int(m.group(1))], drawn)


def _lines(lines: list[str]) -> str:
    """Lines joined by <br>, runs of `>` lines drawn as one block quote."""
    parts: list[str] = []
    quote: list[str] = []
    for line in lines:
        if _QUOTE.match(line):
            quote.append(_QUOTE.sub("", line, count=1))
            continue
        if quote:
            parts.append(f"<blockquote>{'<br>'.join(quote)}</blockquote>")
            quote = []
        parts.append(line + "<br>")
    if quote:
        parts.append(f"<blockquote>{'<br>'.join(quote)}</blockquote>")
    return "".join(parts).removesuffix("<br>")


def text_object(obj: Any, names: Names | None = None) -> str:
    """A Block Kit text object (mrkdwn or plain_text) as HTML; "" for anything else."""
    if not isinstance(obj, Mapping):
        return ""
    raw = str(obj.get("text", ""))
    if obj.get("type") == "mrkdwn":
        return mrkdwn(raw, names)
    return _shortcodes(html.escape(raw, quote=False))


def _attr(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _image(element: Mapping[str, Any], css: str) -> str:
    url = str(element.get("image_url", ""))
    if not url.lower().startswith(("http://", "https://")):
        return ""
    alt = _attr(element.get("alt_text", ""))
    return f'<img class="{css}" src="{_attr(url)}" alt="{alt}" title="{alt}">'


def element(element: Mapping[str, Any], names: Names | None = None) -> str:
    """An interactive element: buttons (primary/danger), menus, overflow, images."""
    kind = element.get("type")
    if kind == "button":
        style = element.get("style")
        css = "btn" + (f" {style}" if style in ("primary", "danger") else "")
        label = text_object(element.get("text"), names)
        url = str(element.get("url") or "")
        if url.lower().startswith(("http://", "https://")):
            return (
                f'<a class="{css}" href="{_attr(url)}" target="_blank" rel="noopener">{label}</a>'
            )
        return (
            f'<button type="button" class="{css}" data-action-id="{_attr(element.get("action_id", ""))}"'
            f' data-value="{_attr(element.get("value", ""))}">{label}</button>'
        )
    if kind == "image":
        return _image(element, "thumb")
    if kind == "overflow":
        return '<button type="button" class="btn overflow" disabled>⋯</button>'
    placeholder = text_object(element.get("placeholder"), names) or html.escape(str(kind))
    return f'<span class="btn select">{placeholder} ▾</span>'


def _rich_text(block: Mapping[str, Any], names: Names) -> str:
    """What a person typed (a rich_text block): its words escaped, its styles and links kept."""
    out: list[str] = []
    for section in block.get("elements") or []:
        for part in section.get("elements") or []:
            kind = part.get("type")
            if kind == "text":
                piece = html.escape(str(part.get("text", "")), quote=False).replace("\n", "<br>")
                for style, tag in (
                    ("bold", "b"),
                    ("italic", "i"),
                    ("strike", "s"),
                    ("code", "code"),
                ):
                    if (part.get("style") or {}).get(style):
                        piece = f"<{tag}>{piece}</{tag}>"
                out.append(piece)
            elif kind == "link":
                out.append(_control(f"{part.get('url', '')}|{part.get('text', '')}", names))
            elif kind == "user":
                out.append(_control(f"@{part.get('user_id', '')}", names))
            elif kind == "emoji":
                out.append(emoji(str(part.get("name", ""))))
    return "".join(out)


def block(block: Mapping[str, Any], names: Names | None = None) -> str:
    """One Block Kit block as Slack draws it in a message."""
    names = names or Names()
    kind = block.get("type")
    block_id = _attr(block.get("block_id", ""))
    if kind == "section":
        parts = []
        if block.get("text"):
            parts.append(f'<div class="text">{text_object(block["text"], names)}</div>')
        fields = block.get("fields") or []
        if fields:
            cells = "".join(f'<div class="field">{text_object(f, names)}</div>' for f in fields)
            parts.append(f'<div class="fields">{cells}</div>')
        accessory = block.get("accessory")
        side = f'<div class="accessory">{element(accessory, names)}</div>' if accessory else ""
        return f'<div class="block section" data-block-id="{block_id}"><div class="main">{"".join(parts)}</div>{side}</div>'
    if kind == "header":
        return f'<div class="block header">{text_object(block.get("text"), names)}</div>'
    if kind == "divider":
        return '<hr class="block divider">'
    if kind == "context":
        items = "".join(
            _image(e, "ctx-img")
            if e.get("type") == "image"
            else f"<span>{text_object(e, names)}</span>"
            for e in block.get("elements") or []
        )
        return f'<div class="block context">{items}</div>'
    if kind == "actions":
        buttons = "".join(element(e, names) for e in block.get("elements") or [])
        return f'<div class="block actions" data-block-id="{block_id}">{buttons}</div>'
    if kind == "image":
        title = text_object(block.get("title"), names)
        caption = f'<div class="caption">{title}</div>' if title else ""
        return f'<div class="block image">{caption}{_image(block, "picture")}</div>'
    if kind == "rich_text":
        return f'<div class="block rich">{_rich_text(block, names)}</div>'
    if kind == "input":
        return _input(block, names)
    if kind == "table":
        return _table(block)
    return f'<div class="block unknown">[{html.escape(str(kind))}]</div>'


def _table(block: Mapping[str, Any]) -> str:
    """A table block: its first row as the header, raw_text cells shown as they are."""
    rows = [
        [html.escape(str((cell or {}).get("text", ""))) for cell in row]
        for row in block.get("rows") or []
        if isinstance(row, list)
    ]
    if not rows:
        return '<table class="block table"></table>'
    head = "".join(f"<th>{cell}</th>" for cell in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows[1:])
    return f'<table class="block table"><tr>{head}</tr>{body}</table>'


def _file(file: Mapping[str, Any]) -> str:
    """A shared file as a card: an audio file shows as something to play."""
    name = html.escape(str(file.get("title") or file.get("name") or "file"))
    size = int(file.get("size") or 0)
    return (
        f'<div class="file">🔊 <b>{name}</b> <span>{max(1, size // 1024)} KB · ▶ play</span></div>'
    )


def _input(block: Mapping[str, Any], names: Names) -> str:
    """An input block of a modal: its label, its field (a text box, or a menu of its options
    for a static_select: the SMS modal's saved replies) and its hint."""
    field_of = block.get("element") or {}
    ids = (
        f'data-block-id="{_attr(block.get("block_id", ""))}" '
        f'data-action-id="{_attr(field_of.get("action_id", ""))}"'
    )
    limit = field_of.get("max_length")
    limit_attr = f' maxlength="{int(limit)}"' if isinstance(limit, int) else ""
    if field_of.get("type") == "static_select":
        box = _select(field_of, ids, names)
    elif field_of.get("multiline"):
        box = f'<textarea class="input" {ids}{limit_attr} rows="4"></textarea>'
    else:
        box = f'<input class="input" type="text" {ids}{limit_attr}>'
    hint = text_object(block.get("hint"), names)
    hint_line = f'<span class="hint">{hint}</span>' if hint else ""
    label = text_object(block.get("label"), names)
    return (
        f'<label class="block input-block"><span class="label">{label}</span>'
        f"{box}{hint_line}</label>"
    )


def _select(menu: Mapping[str, Any], ids: str, names: Names) -> str:
    """A static_select as a menu: its placeholder (nothing picked) first, then its options."""
    placeholder = text_object(menu.get("placeholder"), names)
    options = "".join(
        f'<option value="{_attr(option.get("value", ""))}">'
        f"{text_object(option.get('text'), names)}</option>"
        for option in menu.get("options") or []
    )
    return f'<select class="input" {ids}><option value="">{placeholder}</option>{options}</select>'


def modal(view: Mapping[str, Any], names: Names, *, errors: Mapping[str, str] | None = None) -> str:
    """A modal as Slack shows it: its title, its blocks, Cancel and Submit; `errors` (as the
    bot answers `response_action: errors`, by block_id) under their inputs."""
    drawn = []
    for item in view.get("blocks") or []:
        drawn.append(block(item, names))
        problem = (errors or {}).get(str(item.get("block_id")))
        if problem:
            drawn.append(f'<div class="input-error">{html.escape(problem)}</div>')
    close = text_object(view.get("close"), names) or "Cancel"
    submit = text_object(view.get("submit"), names)
    submit_button = f'<button type="submit" class="btn primary">{submit}</button>' if submit else ""
    return (
        f'<form class="modal" data-view-id="{_attr(view.get("id", ""))}">'
        f'<div class="modal-head">{text_object(view.get("title"), names)}</div>'
        f'<div class="modal-body">{"".join(drawn)}</div>'
        f'<div class="modal-foot"><button type="button" class="btn modal-close">{close}</button>'
        f"{submit_button}</div></form>"
    )


def home_tab(view: Mapping[str, Any], names: Names, user_id: str) -> str:
    """The App Home tab the bot last published for `user_id`, as a pane of its own."""
    drawn = "".join(block(item, names) for item in view.get("blocks") or [])
    return (
        f'<section class="pane home" id="pane-home-{_attr(user_id)}" data-user="{_attr(user_id)}">'
        f'<header class="pane-head">Home · {html.escape(names.user(user_id))} '
        f'<span class="only">(the app\'s Home tab, as this person sees it)</span></header>'
        f'<div class="messages home-view">{drawn}</div></section>'
    )


def clock(ts: str, zone: ZoneInfo) -> str:
    """A message ts ("1764500000.000100") as Slack's time of day, e.g. "3:52 PM"."""
    moment = datetime.fromtimestamp(float(Decimal(ts)), UTC).astimezone(zone)
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment:%M} {'AM' if moment.hour < 12 else 'PM'}"


_PHONE_ICON = (
    '<svg viewBox="0 0 24 24" width="22" height="22" fill="#fff"><path d="M6.6 10.8c1.4 2.8 3.8'
    " 5.1 6.6 6.6l2.2-2.2c.3-.3.7-.4 1-.2 1.1.4 2.3.6 3.6.6.6 0 1 .4 1 1V20c0 .6-.4 1-1 1C10.6 21"
    ' 3 13.4 3 4c0-.6.4-1 1-1h3.5c.6 0 1 .4 1 1 0 1.3.2 2.5.6 3.6.1.3 0 .7-.2 1l-2.3 2.2z"/></svg>'
)
"""The bot's avatar: a white handset (Material Design's "call" icon, Apache 2.0)."""

_AVATAR_COLOURS = ("#2bac76", "#e8912d", "#1d9bd1", "#e01e5a", "#4a154b", "#36c5f0")


def _avatar(user_id: str, name: str, *, bot: bool) -> str:
    if bot:
        return f'<div class="avatar bot" aria-hidden="true">{_PHONE_ICON}</div>'
    colour = _AVATAR_COLOURS[sum(map(ord, user_id)) % len(_AVATAR_COLOURS)]
    initial = html.escape((name or "?")[:1].upper())
    return f'<div class="avatar" style="background:{colour}" aria-hidden="true">{initial}</div>'


def message(
    msg: Mapping[str, Any],
    names: Names,
    zone: ZoneInfo,
    *,
    channel: str,
    ephemeral_for: str | None = None,
    replies: Sequence[str] = (),
) -> str:
    """One message with its author, avatar, time, blocks (or text), "(edited)", reactions,
    and the already drawn `replies` of its thread beneath it."""
    is_bot = bool(msg.get("bot_id")) or ephemeral_for is not None
    user_id = str(msg.get("user") or "")
    author = names.user(names.bot_user_id if is_bot else user_id)
    ts = str(msg.get("ts", "0"))
    badge = '<span class="badge">APP</span>' if is_bot else ""
    meta = (
        f'<span class="author">{html.escape(author)}</span>{badge}'
        f'<time datetime="{ts}">{clock(ts, zone)}</time>'
    )
    if ephemeral_for is not None:
        meta += (
            f'<span class="only">Only visible to {html.escape(names.user(ephemeral_for))}</span>'
        )
    blocks = msg.get("blocks") or []
    if blocks:
        body = "".join(block(b, names) for b in blocks)
    else:
        text = str(msg.get("text") or "")
        if not is_bot:
            # Slack's clients escape what a person types before it becomes mrkdwn.
            text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        body = f'<div class="block text">{mrkdwn(text, names)}</div>'
    for attachment in msg.get("attachments") or []:
        inner = "".join(block(b, names) for b in attachment.get("blocks") or []) or mrkdwn(
            str(attachment.get("text") or attachment.get("fallback") or ""), names
        )
        colour = _attr(attachment.get("color") or "#dddddd").lstrip("#")
        body += f'<div class="attachment" style="border-color:#{colour}">{inner}</div>'
    body += "".join(_file(file) for file in msg.get("files") or [])
    if msg.get("edited"):
        body += '<span class="edited">(edited)</span>'
    reactions = "".join(
        f'<span class="reaction" title=":{_attr(r.get("name", ""))}:">{html.escape(emoji(str(r.get("name", ""))))}'
        f"<b>{int(r.get('count') or len(r.get('users') or []) or 1)}</b></span>"
        for r in msg.get("reactions") or []
    )
    if reactions:
        body += f'<div class="reactions">{reactions}</div>'
    thread = ""
    if replies:
        count = len(replies)
        label = f"{count} {'reply' if count == 1 else 'replies'}"
        thread = (
            f'<div class="thread"><div class="replies-count">{label}</div>{"".join(replies)}</div>'
        )
    css = "msg ephemeral" if ephemeral_for is not None else "msg"
    return (
        f'<div class="{css}" data-ts="{_attr(ts)}" data-channel="{_attr(channel)}">'
        f"{_avatar(user_id, author, bot=is_bot)}"
        f'<div class="content"><div class="meta">{meta}</div>{body}{thread}</div></div>'
    )


def _is_reply(msg: Mapping[str, Any]) -> bool:
    thread_ts = msg.get("thread_ts")
    return thread_ts not in (None, msg.get("ts")) and not msg.get("reply_broadcast")


def conversation(conv: Conversation, names: Names, zone: ZoneInfo) -> str:
    """One pane: its title bar, then its messages oldest first, each thread under its parent."""
    entries: list[tuple[Mapping[str, Any], str | None]] = [(m, None) for m in conv.messages]
    entries += [(e, str(e.get("user") or "")) for e in conv.ephemerals]
    entries.sort(key=lambda entry: Decimal(str(entry[0].get("ts", "0"))))
    replies: dict[str, list[str]] = {}
    for msg, only in entries:
        if _is_reply(msg):
            drawn = message(msg, names, zone, channel=conv.id, ephemeral_for=only)
            replies.setdefault(str(msg["thread_ts"]), []).append(drawn)
    top = [
        message(
            msg,
            names,
            zone,
            channel=conv.id,
            ephemeral_for=only,
            replies=replies.pop(str(msg.get("ts")), []),
        )
        for msg, only in entries
        if not _is_reply(msg)
    ]
    orphans = [drawn for thread in replies.values() for drawn in thread]
    body = "".join(top + orphans) or '<div class="empty">No messages yet.</div>'
    return (
        f'<section class="pane" id="pane-{_attr(conv.id)}" data-channel="{_attr(conv.id)}">'
        f'<header class="pane-head">{html.escape(conv.title)}</header>'
        f'<div class="messages">{body}</div></section>'
    )


def sidebar(team: str, conversations: Iterable[Conversation]) -> str:
    """Slack's left column: the workspace's name, then its channels, then its DMs."""
    convs = list(conversations)

    def links(items: list[Conversation]) -> str:
        return "".join(
            f'<a href="#pane-{_attr(c.id)}" data-channel="{_attr(c.id)}">'
            f"{'● ' if c.is_dm else '# '}{html.escape(c.name)}</a>"
            for c in items
        )

    return (
        f'<nav class="sidebar"><div class="team">{html.escape(team)}</div>'
        f'<div class="group">Channels</div>{links([c for c in convs if not c.is_dm])}'
        f'<div class="group">Direct messages</div>{links([c for c in convs if c.is_dm])}</nav>'
    )


STYLE = """
*{box-sizing:border-box}
body{margin:0;font:15px/1.46668 Lato,"Helvetica Neue",Helvetica,"Segoe UI",Arial,sans-serif;color:#1d1c1d;background:#fff}
.workspace{display:flex;min-height:100vh}
.sidebar{flex:0 0 220px;background:#3f0e40;color:#cfc3cf;padding:12px 0}
.sidebar .team{color:#fff;font-weight:900;font-size:18px;padding:4px 16px 12px;border-bottom:1px solid #5d3d5e}
.sidebar .group{padding:14px 16px 4px;font-size:14px}
.sidebar a{display:block;padding:2px 16px 2px 26px;color:#cfc3cf;text-decoration:none;font-size:15px}
.sidebar a:hover,.sidebar a.active{background:#1164a3;color:#fff}
main{flex:1;min-width:0}
.pane{border-bottom:1px solid #ddd}
.pane-head{font-weight:900;font-size:18px;padding:12px 20px;border-bottom:1px solid #ddd;background:#fff}
.messages{padding:8px 0}
.empty{color:#616061;padding:8px 20px}
.msg{display:flex;align-items:flex-start;gap:8px;padding:8px 20px}
.msg:hover{background:#f8f8f8}
.avatar{flex:0 0 36px;height:36px;overflow:hidden;line-height:36px;border-radius:6px;color:#fff;font-weight:900;display:flex;align-items:center;justify-content:center;font-size:18px}
.avatar.bot{background:linear-gradient(135deg,#4a154b,#1264a3);font-size:20px}
.content{flex:1;min-width:0}
.meta{display:flex;align-items:baseline;gap:6px;flex-wrap:wrap}
.author{font-weight:900}
.badge{background:rgba(29,28,29,.13);color:rgba(29,28,29,.7);font-size:10px;font-weight:700;padding:1px 3px;border-radius:2px}
time{color:#616061;font-size:12px}
.only{color:#616061;font-size:12px;font-style:italic}
.msg.ephemeral{background:#f8f8f8}
.home-view{padding:8px 20px}
.block{margin:4px 0}
.section{display:flex;gap:12px;align-items:flex-start}
.section .main{flex:1;min-width:0}
.fields{display:grid;grid-template-columns:1fr 1fr;gap:8px 16px;margin-top:8px;max-width:600px}
.header{font-size:18px;font-weight:900}
.divider{border:0;border-top:1px solid #ddd}
.context{display:flex;gap:8px;align-items:center;color:#616061;font-size:13px}
.ctx-img{width:20px;height:20px;border-radius:4px}
.actions{display:flex;gap:8px;flex-wrap:wrap;margin-top:8px}
.btn{display:inline-block;font:700 13px/1 Lato,"Helvetica Neue",Helvetica,Arial,sans-serif;padding:8px 12px;height:28px;border:1px solid rgba(29,28,29,.3);border-radius:4px;background:#fff;color:#1d1c1d;cursor:pointer;text-decoration:none}
.btn:hover{background:#f8f8f8;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.btn.primary{background:#007a5a;border-color:#007a5a;color:#fff}
.btn.danger{background:#e01e5a;border-color:#e01e5a;color:#fff}
.btn.select{font-weight:400}
.picture{max-width:360px;border-radius:8px;display:block}
.thumb{width:88px;height:88px;border-radius:6px;object-fit:cover}
a{color:#1264a3;text-decoration:none}
a:hover{text-decoration:underline}
b{font-weight:900}
.mention{color:#1264a3;background:rgba(29,155,209,.1);border-radius:3px;padding:0 2px}
.mention.loud{color:#7d4d00;background:rgba(242,199,68,.4)}
code{font:12px Monaco,Menlo,Consolas,"Courier New",monospace;color:#e01e5a;background:#f6f6f6;border:1px solid #ddd;border-radius:3px;padding:2px 3px}
pre{font:12px/1.5 Monaco,Menlo,Consolas,"Courier New",monospace;background:#f8f8f8;border:1px solid #ddd;border-radius:4px;padding:8px;white-space:pre-wrap;margin:4px 0}
blockquote{margin:4px 0;padding-left:12px;border-left:4px solid #ddd}
.edited{color:#616061;font-size:13px}
.reactions{display:flex;gap:4px;margin-top:4px}
.reaction{display:inline-flex;align-items:center;gap:4px;background:#eaf4fb;border:1px solid #1d9bd1;border-radius:12px;padding:0 7px;height:24px;font-size:14px}
.reaction b{font-size:11px;color:#1264a3;font-weight:700}
.attachment{border-left:4px solid #ddd;padding-left:12px;margin:4px 0}
.block.table{border-collapse:collapse;margin:4px 0;font-size:14px}
.block.table th,.block.table td{border:1px solid #ddd;padding:3px 8px;text-align:right}
.block.table th:first-child,.block.table td:first-child{text-align:left}
.file{border:1px solid #ddd;border-radius:8px;padding:8px 12px;margin:4px 0;display:inline-block}
.thread{margin:6px 0 0 -8px;border-left:2px solid #e8e8e8;padding-left:8px}
.thread .msg{padding:6px 8px}
.replies-count{color:#1264a3;font-weight:700;font-size:13px;padding:2px 8px}
.modal{background:#fff;border-radius:8px;width:520px;max-width:95vw;max-height:90vh;display:flex;flex-direction:column;box-shadow:0 18px 48px rgba(0,0,0,.35)}
.modal-head{font-weight:900;font-size:22px;padding:20px 28px 12px}
.modal-body{padding:0 28px;overflow:auto}
.modal-foot{display:flex;justify-content:flex-end;gap:12px;padding:20px 28px;border-top:1px solid #ddd;margin-top:16px}
.input-block{display:block;margin:12px 0}
.input-block .label{display:block;font-weight:700;margin-bottom:6px}
.input{width:100%;font:15px Lato,Helvetica,Arial,sans-serif;padding:8px;border:1px solid #868686;border-radius:4px}
.hint{display:block;color:#616061;font-size:13px;margin-top:4px}
.input-error{color:#e01e5a;font-size:13px}
.demo-notes{padding:12px 20px;background:#f4ede4;border-bottom:1px solid #ddd;font-size:14px}
.demo-notes h1{font-size:18px;margin:0 0 6px}
.demo-notes ol{margin:0;padding-left:20px}
.demo-notes .ok{color:#007a5a}.demo-notes .failed{color:#e01e5a;font-weight:700}
"""


def page(
    title: str,
    body: str,
    *,
    extra_head: str = "",
) -> str:
    """A whole HTML document in Slack's style around `body`."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style>{extra_head}</head>"
        f"<body>{body}</body></html>"
    )


def workspace(
    team: str,
    conversations: Sequence[Conversation],
    names: Names,
    zone: ZoneInfo,
    *,
    intro: str = "",
    after: str = "",
    homes: str = "",
) -> str:
    """The sidebar and every pane, as the body of a page (see `page`); `homes` (drawn Home
    tabs, `home_tab`) come first."""
    panes = homes + "".join(conversation(c, names, zone) for c in conversations)
    return (
        f'<div class="workspace">{sidebar(team, conversations)}'
        f'<main>{intro}<div id="panes">{panes}</div>{after}</main></div>'
    )
