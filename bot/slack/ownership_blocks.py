"""Block Kit for ownership: who took a caller, the take and remind buttons, escalations.

Pure, like `blocks`: a notification as first rendered plus the stored `Ownership` in, the
message every copy shows out. Buttons carry only the item's id (`i`), so a click anywhere
(the channel, a DM, a reminder) is read against the stored item, never the clicked payload.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.slack import blocks
from bot.slack.blocks import Block, Message, RenderContext, actions, button, format_when
from bot.store.models import OpenItem, Reminder
from bot.store.ownership import ASSIGNED, REMINDER

TAKE_IT = "take_it"
ASSIGN_TO = "assign_to"
REMIND_HOUR = "remind_hour"
REMIND_MORNING = "remind_morning"
REMIND_ACTIONS = (REMIND_HOUR, REMIND_MORNING)

OWNERSHIP_BLOCK = "ownership"
OWNERSHIP_ACTIONS_BLOCK = "ownership_actions"
REMINDER_BLOCK = "reminder"
ASSIGNED_BLOCK = "assigned"

_SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,30}")


@dataclass(frozen=True)
class Ownership:
    """What is stored about an item's owner: who took it (from whom, when), who handled it."""

    item_id: int
    taken_by: str | None = None
    taken_from: str | None = None
    taken_at: datetime | None = None
    handled_by: str | None = None
    handled_at: datetime | None = None
    #: Who gave it to `taken_by` with Assign… (None when they took it themselves).
    assigned_by: str | None = None

    @classmethod
    def of(cls, item: OpenItem) -> Ownership:
        return cls(
            item_id=item.id,
            taken_by=item.taken_by,
            taken_from=item.taken_from,
            taken_at=item.taken_at,
            handled_by=item.handled_by,
            handled_at=item.handled_at,
            assigned_by=item.assigned_by,
        )


def item_of_value(raw: Any) -> int | None:
    """The item id an ownership button's value names; None for anything else."""
    try:
        value = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return None
    item = value.get("i") if isinstance(value, dict) else None
    if isinstance(item, str) and item.isascii() and item.isdigit() and len(item) < 19:
        return int(item)
    return None


def rendered(item: OpenItem, ctx: RenderContext, *, copy: str | None = None) -> Message:
    """What every copy of a stored item shows now; `copy` is the copy's `PostedMessage.kind`:
    a reminder or assignment DM (`ownership.ITEM_COPIES`) says first why it came."""
    base = Message(str(item.message.get("text") or ""), list(item.message.get("blocks") or []))
    state = Ownership.of(item)
    if copy == REMINDER:
        return reminder(base, state, ctx)
    if copy == ASSIGNED:
        return assignment(base, state, ctx)
    return owned(base, state, ctx)


def owned(base: Message, state: Ownership, ctx: RenderContext) -> Message:
    """The notification with who took it and the take/remind buttons; closed once handled."""
    shown = [
        blocks.copied(block)
        for block in base.blocks
        if block.get("block_id") not in (OWNERSHIP_BLOCK, OWNERSHIP_ACTIONS_BLOCK)
    ]
    taken = _taken_note(state, ctx)
    if taken is not None:
        shown.append(_context(OWNERSHIP_BLOCK, taken))
    if state.handled_by is not None and state.handled_at is not None:
        return Message(base.text, blocks.handled(shown, state.handled_by, state.handled_at, ctx))
    value = {"i": str(state.item_id)}
    buttons = [
        button("🙋 I'll take it", TAKE_IT, value),
        _assign_menu(),
        button("⏰ Remind me in an hour", REMIND_HOUR, value),
        button("🌅 Remind me tomorrow", REMIND_MORNING, value),
    ]
    if not _has_button(shown, blocks.MARK_HANDLED):
        # A text conversation's parent has only Reply: it needs a way to be closed too.
        buttons.append(button("Mark handled", blocks.MARK_HANDLED, value))
    shown.append(actions(OWNERSHIP_ACTIONS_BLOCK, buttons))
    return Message(base.text, shown)


def _assign_menu() -> Block:
    """Assign…: a person picker. It carries no value: the item is the message's (read from
    the store by channel and ts), as for every ownership control."""
    return {
        "type": "users_select",
        "action_id": ASSIGN_TO,
        "placeholder": {"type": "plain_text", "text": "Assign…", "emoji": True},
    }


def _has_button(shown: Sequence[Block], action_id: str) -> bool:
    return any(
        element.get("action_id") == action_id
        for block in shown
        for element in block.get("elements") or []
    )


def reminder(base: Message, state: Ownership, ctx: RenderContext) -> Message:
    """The DM a 'Remind me' sends: a line saying why, then the item as everyone sees it."""
    item = owned(base, state, ctx)
    note = _context(REMINDER_BLOCK, "⏰ *Reminder:* you asked me to bring this back to you.")
    return Message(f"Reminder: {base.text}", [note, *item.blocks])


def assignment(base: Message, state: Ownership, ctx: RenderContext) -> Message:
    """The DM an assignee gets: who gave it to them, then the item as everyone sees it."""
    item = owned(base, state, ctx)
    by = _mention(state.assigned_by)
    note = f"🙋 {by} assigned this to you." if by else "🙋 This was assigned to you."
    return Message(f"Assigned to you: {base.text}", [_context(ASSIGNED_BLOCK, note), *item.blocks])


def escalation(mentions: Sequence[str], minutes: int) -> Message:
    """The one thread reply of an item nobody took: mentions the Slack users `mentions`
    (ids of any other shape are dropped), or `<!here>` when the line has nobody linked."""
    who = " ".join(filter(None, map(_mention, mentions))) or "<!here>"
    text = (
        f"🚨 {who}: nobody has taken this in {minutes} open minutes."
        " Press *I'll take it* so everyone knows it's in hand."
    )
    return Message(text, [_section("escalation", text)])


def home_blocks(
    taken: Sequence[OpenItem], reminders: Sequence[tuple[Reminder, OpenItem]], ctx: RenderContext
) -> list[Block]:
    """The App Home's part about a person: what they took and their reminders to come."""
    mine = [
        f"• {_summary(item)} · arrived {format_when(item.arrived_at, ctx)}" for item in taken
    ] or ["_Nothing: press *I'll take it* on a missed call, voicemail or new text._"]
    upcoming = [
        f"• {format_when(reminder.due_at, ctx)}: {_summary(item)}" for reminder, item in reminders
    ] or ["_None: press *Remind me* on a message to get it back later._"]
    return [
        _section("home_taken", "*🙋 Taken by me*\n" + "\n".join(mine)),
        _section("home_reminders", "*⏰ My reminders*\n" + "\n".join(upcoming)),
        {"type": "divider"},
    ]


def _summary(item: OpenItem) -> str:
    """The item's notification text: built escaped by `blocks`, cut to one line here."""
    text = " ".join(str(item.message.get("text") or "A caller").split())
    return text if len(text) <= 150 else text[:149] + "…"


def _taken_note(state: Ownership, ctx: RenderContext) -> str | None:
    owner = _mention(state.taken_by)
    if owner is None:
        return None
    assigner = _mention(state.assigned_by)
    note = f"🙋 Assigned to {owner} by {assigner}" if assigner else f"🙋 Taken by {owner}"
    previous = _mention(state.taken_from)
    if previous is not None:
        note += f" (from {previous})"
    if state.taken_at is not None:
        note += f" · {format_when(state.taken_at, ctx)}"
    return note


def _mention(user_id: str | None) -> str | None:
    """`<@U…>` for a stored user id, only when it has that shape: nothing else can ping."""
    return f"<@{user_id}>" if user_id and _SLACK_USER_ID.fullmatch(user_id) else None


def _context(block_id: str, text: str) -> Block:
    return {"type": "context", "block_id": block_id, "elements": [{"type": "mrkdwn", "text": text}]}


def _section(block_id: str, text: str) -> Block:
    return {"type": "section", "block_id": block_id, "text": {"type": "mrkdwn", "text": text}}
