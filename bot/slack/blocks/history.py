"""`/qtvoice history`'s answer: a party's calls, voicemails and texts, newest first.

Pure: what QTvoice listed in, one message out (built on `bot.slack.blocks.kit`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from bot import phone
from bot.qtvoice.models import Call, Sms, Voicemail
from bot.slack.blocks.kit import (
    Block,
    Message,
    RenderContext,
    context,
    display_number,
    escape_mrkdwn,
    format_duration,
    format_when,
    section,
)

#: Entries shown: one section each would pass Slack's 50 blocks, so they share sections.
SHOWN = 25
PER_SECTION = 5
SNIPPET = 80
_OLDEST = datetime.min.replace(tzinfo=UTC)
Item = TypeVar("Item", Call, Voicemail, Sms)


@dataclass(frozen=True)
class Entry:
    """One line of the history: when, and what it says (mrkdwn, already escaped)."""

    at: datetime | None
    line: str


def history_card(
    number: str,
    name: str | None,
    calls: Sequence[Call],
    voicemails: Sequence[Voicemail],
    texts: Sequence[Sms],
    ctx: RenderContext,
) -> Message:
    """Pure: the history message. Each object appears once (by id), newest first; a call
    that left a voicemail shown is told by the voicemail alone."""
    told_by_voicemail = {vm.call_id for vm in voicemails if vm.call_id} | {
        vm.id for vm in voicemails
    }
    entries = [
        *(
            _call(call, ctx)
            for call in _unique(calls)
            if call.id not in told_by_voicemail and call.voicemail_id not in told_by_voicemail
        ),
        *(_voicemail(voicemail, ctx) for voicemail in _unique(voicemails)),
        *(_text(sms, number, ctx) for sms in _unique(texts)),
    ]
    entries.sort(key=lambda entry: entry.at or _OLDEST, reverse=True)
    shown_number = display_number(number, ctx) or ""
    who = (
        f"*{escape_mrkdwn(' '.join(name.split())[:80])}* · {shown_number}"
        if name
        else f"*{shown_number}*"
    )
    heading = f"🗂 History with {who}"
    if not entries:
        text = f"{heading}\n_No calls, voicemails or texts yet._"
        return Message(_plain_heading(name, shown_number), [section("history_head", text)])
    blocks: list[Block] = [section("history_head", heading)]
    lines = [entry.line for entry in entries[:SHOWN]]
    for start in range(0, len(lines), PER_SECTION):
        blocks.append(
            section(
                f"history_{start // PER_SECTION}", "\n".join(lines[start : start + PER_SECTION])
            )
        )
    if len(entries) > SHOWN:
        blocks.append(context("history_more", f"Showing the newest {SHOWN} of {len(entries)}."))
    return Message(_plain_heading(name, shown_number), blocks)


def _plain_heading(name: str | None, shown_number: str) -> str:
    return (
        f"History with {escape_mrkdwn(name)} ({shown_number})"
        if name
        else f"History with {shown_number}"
    )


def _unique(items: Sequence[Item]) -> list[Item]:
    return list({item.id: item for item in items}.values())


def _when(moment: datetime | None, ctx: RenderContext) -> str:
    return format_when(moment, ctx) if moment else "at an unknown time"


def _call(call: Call, ctx: RenderContext) -> Entry:
    outbound = call.direction == "outbound"
    arrow = "↗" if outbound else "↙"
    status = (call.status or "").lower()
    if call.is_missed:
        what = "Missed call"
    else:  # status `missed` on an outbound call: the customer did not answer us
        what = {"missed": "No answer", "voicemail": "Call to voicemail"}.get(status, "Call")
    parts = [f"{arrow} {what}"]
    if call.duration:
        parts.append(format_duration(call.duration))
    parts.append(_when(call.created_at, ctx))
    return Entry(call.created_at, " · ".join(parts))


def _voicemail(voicemail: Voicemail, ctx: RenderContext) -> Entry:
    parts = ["📬 Voicemail"]
    if voicemail.duration:
        parts.append(format_duration(voicemail.duration))
    parts.append(_when(voicemail.created_at, ctx))
    line = " · ".join(parts)
    snippet = _snippet(voicemail.transcription)
    return Entry(voicemail.created_at, f"{line}: “{snippet}”" if snippet else line)


def _text(sms: Sms, number: str, ctx: RenderContext) -> Entry:
    inbound = sms.direction == "inbound" or (
        sms.direction is None and phone.normalize(sms.from_ or "", ctx.default_region) == number
    )
    icon = "💬 Text in" if inbound else "📤 Text out"
    snippet = _snippet(sms.message) or "(empty)"
    return Entry(sms.created_at, f"{icon} · {_when(sms.created_at, ctx)}: “{snippet}”")


def _snippet(text: str | None) -> str | None:
    collapsed = " ".join((text or "").split())
    if not collapsed:
        return None
    if len(collapsed) > SNIPPET:
        collapsed = collapsed[: SNIPPET - 1].rstrip() + "…"
    return escape_mrkdwn(collapsed)
