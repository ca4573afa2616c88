"""Saved replies: texts an admin keeps under a short name, offered when texting a customer.

Names are compared in lower case (`Hours` and `hours` are one reply). The text is kept as
typed; it is escaped where Slack shows it and checked against opt-outs like any text when
sent, since choosing a saved reply sends it through the same `Telephony.send_text`.
"""

from __future__ import annotations

import re

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import SavedReply

#: Slack's static_select shows at most 100 options; a longer list would be refused whole.
MOST_REPLIES = 100
#: The longest reply: ten SMS segments, QTvoice's (and the carriers') usual ceiling.
LONGEST_TEXT = 1600
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


class ReplyRefused(ValueError):
    """A reply that cannot be saved; its message says what to type instead."""


def reply_name(raw: str) -> str:
    """The stored form of a reply's name; ReplyRefused when it is not 1-32 letters, digits,
    `-` or `_` (names are typed in a command, so they are one word)."""
    name = raw.strip().lower()
    if not NAME.fullmatch(name):
        raise ReplyRefused("A name is one word of up to 32 letters, digits, - or _, like `hours`.")
    return name


async def all_replies(session: AsyncSession) -> list[SavedReply]:
    """Every saved reply, by name."""
    return list(await session.scalars(select(SavedReply).order_by(SavedReply.name)))


async def reply(session: AsyncSession, name: str) -> SavedReply | None:
    return await session.get(SavedReply, name.strip().lower())


async def save(session: AsyncSession, name: str, text: str, by: str) -> SavedReply:
    """Save (or replace) the reply `name`; ReplyRefused for a bad name, an empty or too long
    text, or one reply too many. Commits."""
    name, text = reply_name(name), text.strip()
    if not text:
        raise ReplyRefused(
            "Give the reply's words after its name: `replies add hours We open at 9`."
        )
    if len(text) > LONGEST_TEXT:
        raise ReplyRefused(f"A saved reply is at most {LONGEST_TEXT} characters.")
    existing = await session.get(SavedReply, name)
    if existing is None:
        if len(await all_replies(session)) >= MOST_REPLIES:
            raise ReplyRefused(f"There are already {MOST_REPLIES} saved replies; remove one first.")
        existing = SavedReply(name=name, text=text, created_by=by)
        session.add(existing)
    else:
        existing.text, existing.created_by = text, by
    await session.commit()
    return existing


async def remove(session: AsyncSession, name: str) -> bool:
    """Forget the reply `name`; whether there was one. Commits."""
    result = await session.execute(
        delete(SavedReply).where(SavedReply.name == name.strip().lower())
    )
    await session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]
