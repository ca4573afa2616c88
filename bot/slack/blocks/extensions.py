"""Block Kit for the hourly extension check: a link whose extension is gone from QTvoice."""

from __future__ import annotations

from bot.slack.blocks.kit import Message, escape_mrkdwn, mention, section
from bot.store.models import ExtensionLink


def link_gone(link: ExtensionLink, *, to_admin: bool) -> Message:
    """Tells the linked user (or an admin, naming the user) that their extension vanished."""
    extension = escape_mrkdwn(
        " ".join(
            part
            for part in (link.extension_number or link.extension_id, _named(link.extension_name))
            if part
        )
    )
    if to_admin:
        text = (
            f"⚠️ {mention(link.slack_user_id) or 'Someone'} is linked to QTvoice extension {extension}, which is no"
            " longer in QTvoice: their calls from Slack fail until they (or you) run"
            " `/qtvoice link <extension>` again."
        )
    else:
        text = (
            f"⚠️ Your QTvoice extension {extension} is no longer in QTvoice, so calls from Slack"
            " can't ring it. Run `/qtvoice link <extension>` to link the one you use now."
        )
    return Message(text, [section("link_gone", text)])


def _named(name: str | None) -> str | None:
    return f"({' '.join(name.split())[:80]})" if name and name.strip() else None
