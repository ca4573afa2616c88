"""`/qtvoice history <number or name>`: a party's calls, voicemails and texts, newest first.

Read from QTvoice, not from what the bot happened to post: five requests (calls from and to
the number, its voicemails, texts from and to it), one page of each. A name is looked up in
the contacts; several matches are listed with their numbers to type instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from bot import phone
from bot.qtvoice.models import Call, Sms, Voicemail
from bot.runtime import Runtime
from bot.slack.blocks import (
    Block,
    Message,
    RenderContext,
    escape_mrkdwn,
    format_duration,
    format_when,
)
from bot.telephony import Refusal, Telephony

#: Entries shown: one section each would pass Slack's 50 blocks, so they share sections.
SHOWN = 25
PER_SECTION = 5
PAGE = 20
SNIPPET = 80
_OLDEST = datetime.min.replace(tzinfo=UTC)
Item = TypeVar("Item", Call, Voicemail, Sms)


@dataclass(frozen=True)
class Entry:
    """One line of the history: when, and what it says (mrkdwn, already escaped)."""

    at: datetime | None
    line: str


class History:
    def __init__(self, runtime: Runtime, ctx: RenderContext) -> None:
        self.runtime = runtime
        self.telephony = Telephony(runtime)
        self.ctx = ctx

    async def show(self, typed: str) -> Message:
        """The history of the number typed, or of the one contact the words name.

        Raises `Refusal` (one friendly sentence) for no target, an unreadable number, or
        names matching nobody or several; `QTvoiceError` from QTvoice propagates.
        """
        target = " ".join(typed.split())
        if not target:
            raise Refusal("Whose history? Try `/qtvoice history 215-555-1234` or a name.")
        number, name = await self._party(target)
        qtvoice = self.runtime.qtvoice
        calls = [
            *(await qtvoice.list_calls(from_=number, limit=PAGE)).data,
            *(await qtvoice.list_calls(to=number, limit=PAGE)).data,
        ]
        voicemails = (await qtvoice.list_voicemails(from_=number, limit=PAGE)).data
        texts = [
            *(await qtvoice.list_sms(from_=number, limit=PAGE)).data,
            *(await qtvoice.list_sms(to=number, limit=PAGE)).data,
        ]
        return history_card(number, name, calls, voicemails, texts, self.ctx)

    async def _party(self, target: str) -> tuple[str, str | None]:
        if phone.is_phone_like(target):
            return self.telephony.parse_number(target), None
        region = self.runtime.settings.default_region
        contacts = await self.telephony.find_contacts(target)
        reachable = [
            (contact, number)
            for contact in contacts
            if contact.phone and (number := phone.parse(contact.phone, region))
        ]
        if not reachable:
            raise Refusal(
                f"No contact with a phone number matches “{escape_mrkdwn(target[:80])}”;"
                " try another name, or type the number."
            )
        if len(reachable) > 1:
            choices = ", ".join(
                f"{escape_mrkdwn(contact.full_name or contact.company or 'Unnamed')}"
                f" ({phone.display(number, region)})"
                for contact, number in reachable[:5]
            )
            raise Refusal(f"Several contacts match: {choices}. Run it again with the number.")
        contact, number = reachable[0]
        return number, contact.full_name or contact.company


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
    shown_number = escape_mrkdwn(
        phone.mask(number) if ctx.mask_numbers else phone.display(number, ctx.default_region)
    )
    who = (
        f"*{escape_mrkdwn(' '.join(name.split())[:80])}* · {shown_number}"
        if name
        else f"*{shown_number}*"
    )
    heading = f"🗂 History with {who}"
    if not entries:
        text = f"{heading}\n_No calls, voicemails or texts yet._"
        return Message(_plain_heading(name, shown_number), [_section("history_head", text)])
    blocks: list[Block] = [_section("history_head", heading)]
    lines = [entry.line for entry in entries[:SHOWN]]
    for start in range(0, len(lines), PER_SECTION):
        blocks.append(
            _section(
                f"history_{start // PER_SECTION}", "\n".join(lines[start : start + PER_SECTION])
            )
        )
    if len(entries) > SHOWN:
        blocks.append(_context("history_more", f"Showing the newest {SHOWN} of {len(entries)}."))
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
    what = {"missed": "Missed call", "voicemail": "Call to voicemail"}.get(status, "Call")
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


def _section(block_id: str, text: str) -> Block:
    return {"type": "section", "block_id": block_id, "text": {"type": "mrkdwn", "text": text}}


def _context(block_id: str, text: str) -> Block:
    return {"type": "context", "block_id": block_id, "elements": [{"type": "mrkdwn", "text": text}]}
