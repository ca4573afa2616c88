"""How running the service reads in Slack: incident DMs, the App Home banner, the canary, and
`/qtvoice forget`'s question.

Pure builders. An incident's words are the bot's own (`bot.store.incidents.KINDS` and its
`detail`), escaped all the same. Nothing here mentions anyone: the canary never pings.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.slack.blocks.kit import (
    Block,
    Message,
    RenderContext,
    actions,
    button,
    context,
    divider,
    escape_mrkdwn,
    format_when,
    section,
)
from bot.slack.buttons import ButtonValue
from bot.store.incidents import KINDS
from bot.store.models import Incident

START, END = "start", "end"
FORGET_CONFIRMED = "forget_number"
"""The confirmation button of `/qtvoice forget NUMBER`; its value names the number."""


def notice(incident: Incident, phase: str, ctx: RenderContext) -> Message:
    """The DM an admin gets when `incident` starts (`START`) or ends (`END`)."""
    what = escape_mrkdwn(KINDS[incident.kind])
    if phase == START:
        text = f":rotating_light: Incident: {what}"
        since = f"Since {format_when(incident.opened_at, ctx)} · {escape_mrkdwn(incident.detail)}"
    else:
        assert incident.closed_at is not None
        text = f":white_check_mark: Resolved: {what}"
        since = (
            f"From {format_when(incident.opened_at, ctx)} to {format_when(incident.closed_at, ctx)}"
        )
    return Message(
        text=text,
        blocks=[
            section(f"incident-{incident.id}-{phase}", text),
            context(f"incident-{incident.id}-{phase}-when", since),
        ],
    )


def open_incident(incident: Incident, ctx: RenderContext) -> str:
    """One open incident in a line (mrkdwn): since when, and what it is with its fix."""
    return (
        f":rotating_light: *Open incident* since {format_when(incident.opened_at, ctx)}:"
        f" {escape_mrkdwn(KINDS[incident.kind])}"
    )


def banner(open_incidents: Sequence[Incident], ctx: RenderContext) -> list[Block]:
    """The top of an admin's App Home while incidents are open; nothing when none is."""
    return [
        section(f"incident-{incident.id}", open_incident(incident, ctx))
        for incident in open_incidents
    ] + ([divider()] if open_incidents else [])


def canary(check_id: str) -> Message:
    """The canary's test notification: plain words, no mention, deleted once seen."""
    text = f"qtslack canary {check_id}: checking that notifications reach this channel."
    return Message(text=text, blocks=[context(f"canary-{check_id}", escape_mrkdwn(text))])


def forget_confirmation(number: str, shown: str, ctx: RenderContext) -> Message:
    """The ephemeral question `/qtvoice forget` asks before erasing anything."""
    text = (
        f"Erase everything stored about {escape_mrkdwn(shown)} (events, messages, follow-ups,"
        " contact cache) and delete the bot's Slack messages about it? Its opt-out, if any,"
        " is kept. This cannot be undone."
    )
    erase = button("Erase it", FORGET_CONFIRMED, ButtonValue(number=number), ctx, style="danger")
    return Message(
        text=text, blocks=[section("forget-question", text), actions("forget-actions", [erase])]
    )
