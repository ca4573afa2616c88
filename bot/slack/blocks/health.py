"""How delivery health reads in Slack: the App Home's admin panel and `/qtvoice status` lines.

Pure builders, no I/O: what `bot.slack.health` read goes in, mrkdwn and Block Kit come out.
Everything that came from outside (a stored error, an event name) is escaped, and each text is
cut to what its block holds (3000 characters in a section), so Slack never refuses the view.

The Replay button's value names the inbox row (`bot.slack.buttons`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.qtvoice.webhooks import refusal_line
from bot.slack.blocks.kit import (
    Block,
    RenderContext,
    button,
    context,
    divider,
    escape_mrkdwn,
    format_when,
    header,
    section,
)
from bot.slack.buttons import ButtonValue
from bot.store.models import InboxEvent
from bot.store.refusals import RefusedKind

REPLAY_DELIVERY = "replay_delivery"
"""The Replay button on a failed delivery in the App Home's admin panel."""

FAILED_SHOWN = 10
"""Failed deliveries listed in the panel at most (each one block)."""
HOME_BLOCK_LIMIT = 100
"""Blocks Slack allows in a Home tab view."""
SECTION_TEXT_LIMIT = 3000
ERROR_SHOWN = 200
"""Characters of a failed delivery's last error the panel quotes."""


@dataclass(frozen=True)
class Health:
    """Where deliveries stand: counts, the newest failed ones, the last webhook, refusals."""

    waiting: int
    failed_count: int
    failed: Sequence[InboxEvent]
    last_webhook: datetime | None
    refused: Sequence[RefusedKind]


def _fit(text: str, limit: int = SECTION_TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def last_webhook_label(received_at: datetime | None, now: datetime, ctx: RenderContext) -> str:
    """'Fri, Nov 27 at 3:52 PM EST (12 min ago)', or that none came yet."""
    if received_at is None:
        return "none received yet"
    minutes = int((now - received_at).total_seconds() // 60)
    ago = "just now" if minutes < 1 else f"{minutes} min ago"
    return f"{format_when(received_at, ctx)} ({ago})"


def refused_lines(refused: Sequence[RefusedKind], ctx: RenderContext) -> list[str]:
    """A mrkdwn line per kind of refused webhook: how many, the last one, the fix."""
    return [
        escape_mrkdwn(
            refusal_line(kind.count, kind.kind, kind.detail, format_when(kind.last_seen, ctx))
        )
        for kind in refused
    ]


def refused_text(refused: Sequence[RefusedKind], ctx: RenderContext) -> str:
    """'*Webhooks refused in the last day*' and a bullet per kind, or that there were none."""
    if not refused:
        return "*Webhooks refused in the last day:* none"
    lines = "\n".join(f"• {line}" for line in refused_lines(refused, ctx))
    return _fit(f"*Webhooks refused in the last day:*\n{lines}")


def failed_line(row: InboxEvent, ctx: RenderContext) -> str:
    """'`call.missed` #12 · received Fri, … · 8 tries' and its last error, quoted."""
    text = (
        f"`{escape_mrkdwn(row.event)}` #{row.id} · received {format_when(row.received_at, ctx)}"
        f" · {row.attempts} {'try' if row.attempts == 1 else 'tries'}"
    )
    error = " ".join((row.last_error or "").split())
    if error:
        cut = error if len(error) <= ERROR_SHOWN else error[: ERROR_SHOWN - 1] + "…"
        text += f"\n> {escape_mrkdwn(cut)}"
    return text


def panel(health: Health, now: datetime, ctx: RenderContext, *, room: int) -> list[Block]:
    """The App Home's delivery-health panel for admins, in at most `room` blocks.

    Failed deliveries are listed newest first, each with a Replay button, as many as fit
    (at most FAILED_SHOWN); a line says how many more there are and where to see them all.
    """
    head: list[Block] = [
        divider(),
        header("🩺 Delivery health (admins)"),
        section(
            "health_summary",
            f"Deliveries waiting: *{health.waiting}* · failed: *{health.failed_count}*\n"
            f"Last webhook: {last_webhook_label(health.last_webhook, now, ctx)}",
        ),
    ]
    tail = [section("health_refused", refused_text(health.refused, ctx))]
    more_note = 1 if health.failed_count > 0 else 0
    fits = max(0, min(FAILED_SHOWN, room - len(head) - len(tail) - more_note))
    shown = list(health.failed)[:fits]
    rows: list[Block] = []
    for row in shown:
        replay = button("Replay", REPLAY_DELIVERY, ButtonValue(delivery=str(row.id)), ctx)
        rows.append(section(f"health_failed_{row.id}", failed_line(row, ctx), accessory=replay))
    if health.failed_count > len(shown):
        rows.append(
            context(
                "health_failed_more",
                f"The newest {len(shown)} of {health.failed_count} failed deliveries;"
                " `qtslack deliveries --failed` lists them all.",
            )
        )
    elif health.failed_count:
        rows.append(context("health_failed_more", "Replay queues one again for the worker."))
    return [*head, *rows, *tail][: max(room, 0)]
