"""Block Kit for ownership: who took a caller, the take and remind buttons, escalations.

Pure, like `notifications`: a notification as first rendered plus the stored `Ownership` in, the
message every copy shows out. Buttons name only the item (`bot.slack.buttons`), so a click anywhere
(the channel, a DM, a reminder) is read against the stored item, never the clicked payload.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from slack_sdk.models.blocks import PlainTextObject, UserSelectElement

from bot.slack.blocks.kit import (
    Block,
    Message,
    RenderContext,
    actions,
    button,
    context,
    copied,
    divider,
    format_when,
    mention,
    section,
)
from bot.slack.blocks.notifications import MARK_HANDLED, handled
from bot.slack.buttons import ButtonValue
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
        copied(block)
        for block in base.blocks
        if block.get("block_id") not in (OWNERSHIP_BLOCK, OWNERSHIP_ACTIONS_BLOCK)
    ]
    taken = _taken_note(state, ctx)
    if taken is not None:
        shown.append(context(OWNERSHIP_BLOCK, taken))
    if state.handled_by is not None and state.handled_at is not None:
        return Message(base.text, handled(shown, state.handled_by, state.handled_at, ctx))
    value = ButtonValue(item=str(state.item_id))
    buttons = [
        button("🙋 I'll take it", TAKE_IT, value, ctx),
        _assign_menu(),
        button("⏰ Remind me in an hour", REMIND_HOUR, value, ctx),
        button("🌅 Remind me tomorrow", REMIND_MORNING, value, ctx),
    ]
    if not _has_button(shown, MARK_HANDLED):
        # A text conversation's parent has only Reply: it needs a way to be closed too.
        buttons.append(button("Mark handled", MARK_HANDLED, value, ctx))
    shown.append(actions(OWNERSHIP_ACTIONS_BLOCK, buttons))
    return Message(base.text, shown)


def _assign_menu() -> UserSelectElement:
    """Assign…: a person picker. It carries no value: the item is the message's (read from
    the store by channel and ts, as Mark handled reads it)."""
    return UserSelectElement(
        action_id=ASSIGN_TO, placeholder=PlainTextObject(text="Assign…", emoji=True)
    )


def _has_button(shown: Sequence[Block], action_id: str) -> bool:
    return any(
        element.get("action_id") == action_id
        for block in shown
        for element in block.get("elements") or []
    )


def reminder(base: Message, state: Ownership, ctx: RenderContext) -> Message:
    """The DM a 'Remind me' sends: a line saying why, then the item as everyone sees it."""
    item = owned(base, state, ctx)
    note = context(REMINDER_BLOCK, "⏰ *Reminder:* you asked me to bring this back to you.")
    return Message(f"Reminder: {base.text}", [note, *item.blocks])


def assignment(base: Message, state: Ownership, ctx: RenderContext) -> Message:
    """The DM an assignee gets: who gave it to them, then the item as everyone sees it."""
    item = owned(base, state, ctx)
    by = mention(state.assigned_by)
    note = f"🙋 {by} assigned this to you." if by else "🙋 This was assigned to you."
    return Message(f"Assigned to you: {base.text}", [context(ASSIGNED_BLOCK, note), *item.blocks])


def escalation(mentions: Sequence[str], minutes: int) -> Message:
    """The one thread reply of an item nobody took: mentions the Slack users `mentions`
    (ids of any other shape are dropped), or `<!here>` when the line has nobody linked."""
    who = " ".join(filter(None, map(mention, mentions))) or "<!here>"
    text = (
        f"🚨 {who}: nobody has taken this in {minutes} open minutes."
        " Press *I'll take it* so everyone knows it's in hand."
    )
    return Message(text, [section("escalation", text)])


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
        section("home_taken", "*🙋 Taken by me*\n" + "\n".join(mine)),
        section("home_reminders", "*⏰ My reminders*\n" + "\n".join(upcoming)),
        divider(),
    ]


def _summary(item: OpenItem) -> str:
    """The item's notification text: built escaped by `blocks`, cut to one line here."""
    text = " ".join(str(item.message.get("text") or "A caller").split())
    return text if len(text) <= 150 else text[:149] + "…"


def _taken_note(state: Ownership, ctx: RenderContext) -> str | None:
    owner = mention(state.taken_by)
    if owner is None:
        return None
    assigner = mention(state.assigned_by)
    note = f"🙋 Assigned to {owner} by {assigner}" if assigner else f"🙋 Taken by {owner}"
    previous = mention(state.taken_from)
    if previous is not None:
        note += f" (from {previous})"
    if state.taken_at is not None:
        note += f" · {format_when(state.taken_at, ctx)}"
    return note
