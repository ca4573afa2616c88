"""Block Kit for the daily digest: yesterday in one message per notified channel.

Pure: a `Digest` (what the store and QTvoice's call list say about the day) in, a message
out. Numbers are shown as everywhere else (masked under `MASK_NUMBERS`), people as mentions
only when their stored id has the shape of a Slack user id.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.slack.blocks.kit import (
    Block,
    Message,
    RenderContext,
    display_number,
    format_when,
    is_user_id,
    section,
)
from bot.store.ownership import MISSED_CALL, SMS_REOPENED, SMS_THREAD, VOICEMAIL

OPEN_SHOWN = 10
_KIND_NAMES = {
    MISSED_CALL: ("missed call", "missed calls"),
    VOICEMAIL: ("voicemail", "voicemails"),
    SMS_THREAD: ("new text conversation", "new text conversations"),
    SMS_REOPENED: ("text conversation reopened", "text conversations reopened"),
}
#: The kinds a caller expects a call back for.
CALLBACK_KINDS = frozenset({MISSED_CALL, VOICEMAIL})


@dataclass(frozen=True)
class DigestItem:
    """One item as the digest sees it; `returned_after` is None when nobody called back."""

    kind: str
    party: str | None
    arrived_at: datetime
    handled_by: str | None = None
    returned_after: timedelta | None = None


@dataclass(frozen=True)
class Digest:
    """A day (local to `TIMEZONE`) in one channel: what arrived then, and what is still open."""

    day: date
    arrived: Sequence[DigestItem] = ()
    still_open: Sequence[DigestItem] = field(default_factory=tuple)
    #: Texts received that day, in new conversations and old ones alike.
    texts: int = 0

    @property
    def return_times(self) -> list[timedelta]:
        return [
            item.returned_after
            for item in self.arrived
            if item.kind in CALLBACK_KINDS and item.returned_after is not None
        ]

    @property
    def median_return(self) -> timedelta | None:
        """The median time to call back the day's returned callers; None when none was."""
        seconds = [span.total_seconds() for span in self.return_times]
        return timedelta(seconds=statistics.median(seconds)) if seconds else None


def digest(summary: Digest, ctx: RenderContext) -> Message:
    """The digest message: counts, calls returned and how fast, who handled what, what's open."""
    counts = Counter(item.kind for item in summary.arrived)
    tally = " · ".join(
        [
            _count(counts[MISSED_CALL], MISSED_CALL),
            _count(counts[VOICEMAIL], VOICEMAIL),
            f"{summary.texts} text{'' if summary.texts == 1 else 's'}"
            f" ({_count(counts[SMS_THREAD], SMS_THREAD)})",
        ]
    )
    heading = f"📊 *Daily digest for {summary.day:%a, %b} {summary.day.day}*\n{tally}"
    blocks: list[Block] = [section("digest_counts", heading)]

    callers = sum(counts[kind] for kind in CALLBACK_KINDS)
    if callers:
        returned = f"📞 Called back: *{len(summary.return_times)} of {callers}*"
        if summary.median_return is not None:
            returned += f" · median time to call back *{span(summary.median_return)}*"
        blocks.append(section("digest_returned", returned))

    handlers = Counter(
        item.handled_by
        for item in summary.arrived
        if item.handled_by and is_user_id(item.handled_by)
    ).most_common()
    if handlers:
        who = " · ".join(f"<@{user}> {count}" for user, count in handlers)
        blocks.append(section("digest_handled", f"✅ Handled: {who}"))

    if summary.still_open:
        lines = [_open_line(item, ctx) for item in summary.still_open[:OPEN_SHOWN]]
        if len(summary.still_open) > OPEN_SHOWN:
            lines.append(f"…and {len(summary.still_open) - OPEN_SHOWN} more")
        text = f"📭 *Still open ({len(summary.still_open)})*\n" + "\n".join(lines)
    else:
        text = "📭 Nothing is still open. 🎉"
    blocks.append(section("digest_open", text))
    return Message(f"Daily digest for {summary.day:%a, %b} {summary.day.day}: {tally}", blocks)


def _count(number: int, kind: str) -> str:
    one, many = _KIND_NAMES[kind]
    return f"{number} {one if number == 1 else many}"


def span(length: timedelta) -> str:
    """'under a minute', '12 min', '3 h 5 min', '2 d 4 h' (the weekly report's too)."""
    minutes = int(length.total_seconds() // 60)
    if minutes < 1:
        return "under a minute"
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


def _open_line(item: DigestItem, ctx: RenderContext) -> str:
    one, _ = _KIND_NAMES.get(item.kind, ("item", "items"))
    who = display_number(item.party, ctx) or "an unknown caller"
    return f"• {one.capitalize()} from {who}, {format_when(item.arrived_at, ctx)}"
