"""Erasing one caller (`forget NUMBER`, `/qtvoice forget NUMBER`) from every table.

Rather than a list of columns to keep up to date by hand, `forget` reads the schema: every
table but `opt_outs` (the law keeps an opt-out while in force), every text and JSON column,
and deletes each row where any of them holds the number in any way it is written (E.164,
national digits, as displayed nationally and internationally). A row that mentions the
number is about the caller, so the whole row goes; reminders go with their items first.
With `slack`, the bot's own messages recorded about the number are deleted from Slack first
(`chat.delete`; one already gone counts as deleted). Counts come back per kind.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import phonenumbers
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import JSON, ColumnElement, String, Table, Text, cast, delete, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import phone
from bot.store.models import Base, OpenItem, OptOut, PostedMessage, Reminder

logger = logging.getLogger(__name__)

#: What each table's rows are, as an operator reads the report.
KIND_OF_TABLE = {
    "inbox": "stored events",
    "slack_messages": "Slack message records",
    "open_items": "follow-up items",
    "reminders": "reminders",
    "contact_cache": "cached contacts",
    "outbound_texts": "texts sent",
    "placed_calls": "calls placed",
    "extension_links": "extension links",
    "routes": "routes",
    "voicemail_aliases": "voicemail aliases",
}
SLACK_DELETED = "Slack messages deleted"
#: What Slack answers about a message that is already gone: nothing left to delete.
ALREADY_GONE = {"message_not_found", "channel_not_found", "is_archived"}


#: A short code or sender id shorter than this would match unrelated rows (ids, times).
SHORTEST_OTHER_PARTY = 5


class NotANumber(ValueError):
    """What was typed is no number, nor a sender id long enough to search for safely."""


def spellings(number: str, default_region: str) -> list[str]:
    """Every way the bot may have stored `number`: E.164, national digits, national and
    international display. A short code or sender id is itself. Raises `NotANumber`."""
    e164 = phone.parse(number, default_region)
    if e164 is None:
        if len(number.strip()) < SHORTEST_OTHER_PARTY:
            raise NotANumber(
                f"{number.strip()!r} is not a phone number (nor a sender id of"
                f" {SHORTEST_OTHER_PARTY} or more characters)"
            )
        return [number.strip()]
    parsed = phonenumbers.parse(e164)
    forms = {
        e164,
        str(parsed.national_number),
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL),
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
    }
    return sorted(forms)


def _mentions(table: Table, forms: Sequence[str]) -> ColumnElement[bool]:
    """Rows of `table` where any text or JSON column contains any of `forms`."""
    return or_(
        false(),
        *(
            (cast(col, Text) if isinstance(col.type, JSON) else col).contains(form, autoescape=True)
            for col in table.columns
            if isinstance(col.type, String | Text | JSON)
            for form in forms
        ),
    )


def _tables() -> list[Table]:
    """Every table that may hold the caller; reminders before the items they point at."""
    tables = [t for t in Base.metadata.sorted_tables if t.name != OptOut.__tablename__]
    return sorted(tables, key=lambda t: t.name != Reminder.__tablename__)


async def forget(
    session: AsyncSession,
    number: str,
    default_region: str,
    *,
    slack: AsyncWebClient | None = None,
) -> dict[str, int]:
    """Erase `number` from every table but `opt_outs` (and, given `slack`, the bot's Slack
    messages about it); rows erased per kind (only kinds with some). Commits. Raises
    `NotANumber` before touching anything when `number` is not one."""
    forms = spellings(number, default_region)
    counts: dict[str, int] = {}
    posted = await _messages_about(session, forms)
    if slack is not None:
        # Thread replies before their roots: Slack keeps the replies of a deleted root.
        deleted = 0
        for ref in sorted(posted, key=lambda ref: ref.thread_ts is None):
            if ref.ts:
                deleted += await _delete_message(slack, ref.channel_id, ref.ts)
        if deleted:
            counts[SLACK_DELETED] = deleted
    if posted:
        await session.execute(
            delete(PostedMessage).where(PostedMessage.id.in_([ref.id for ref in posted]))
        )
        counts[KIND_OF_TABLE["slack_messages"]] = len(posted)
    items = _mentions(OpenItem.__table__, forms)  # type: ignore[arg-type]
    item_ids = select(OpenItem.id).where(items)
    reminders = await session.execute(delete(Reminder).where(Reminder.item_id.in_(item_ids)))
    if reminders.rowcount:  # type: ignore[attr-defined]
        counts[KIND_OF_TABLE["reminders"]] = reminders.rowcount  # type: ignore[attr-defined]
    for table in _tables():
        erased = (await session.execute(delete(table).where(_mentions(table, forms)))).rowcount  # type: ignore[attr-defined]
        if erased:
            kind = KIND_OF_TABLE.get(table.name, table.name)
            counts[kind] = counts.get(kind, 0) + erased
    await session.commit()
    return counts


async def _messages_about(session: AsyncSession, forms: Sequence[str]) -> list[PostedMessage]:
    """The bot's messages that mention the number, and the replies in their threads (a text
    conversation's thread holds the caller's words under the texts' own ids)."""
    about = list(
        await session.scalars(
            select(PostedMessage).where(_mentions(PostedMessage.__table__, forms))  # type: ignore[arg-type]
        )
    )
    roots = {(ref.channel_id, ref.ts) for ref in about if ref.ts and ref.thread_ts is None}
    replies = [
        ref
        for channel, ts in roots
        for ref in await session.scalars(
            select(PostedMessage).where(
                PostedMessage.channel_id == channel, PostedMessage.thread_ts == ts
            )
        )
    ]
    return list({ref.id: ref for ref in [*about, *replies]}.values())


async def _delete_message(slack: AsyncWebClient, channel: str, ts: str) -> int:
    try:
        await slack.chat_delete(channel=channel, ts=ts)
    except SlackApiError as error:
        data = getattr(error.response, "data", None)  # none when Slack's answer was not JSON
        code = data.get("error") if isinstance(data, dict) else None
        if code not in ALREADY_GONE:
            logger.warning("forget: a Slack message was not deleted (%s)", code)
            return 0
    return 1


def report(counts: dict[str, int]) -> str:
    """One line: what was erased, per kind, or that nothing was stored."""
    if not counts:
        return "nothing was stored about that number (its opt-out, if any, is kept)"
    parts = ", ".join(f"{kind}: {count}" for kind, count in sorted(counts.items()))
    return f"erased {parts} (its opt-out, if any, is kept)"
