"""Who may link a Slack user to a QTvoice extension, and the links themselves.

A link sends the extension's missed calls and voicemail transcripts to its holder by direct
message and dials from it, so it is not for anyone to take (issue 20): a person links
themselves only to an extension nobody holds whose QTvoice email is their Slack email; an
admin (`ADMIN_USER_IDS`) links anyone to anything, a second person to a shared line too.
`verdict` is that rule, pure; the rest reads and writes `ExtensionLink` rows.
"""

from __future__ import annotations

import enum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import ExtensionLink


class Verdict(enum.Enum):
    """Whether a link may be made, and if not, why (each names whom to ask)."""

    ALLOWED = "allowed"
    #: Someone else holds the extension: they unlink first, or an admin adds the person.
    HELD = "held"
    #: The extension's email is not the person's Slack email (or either is unknown).
    NOT_THEIRS = "not_theirs"


def verdict(
    *,
    subject: str,
    by_admin: bool,
    holders: list[str],
    extension_email: str | None,
    slack_email: str | None,
) -> Verdict:
    """Whether `subject` may be linked to an extension held by `holders` (Slack user ids),
    by an admin or (`by_admin` False) by themselves, given the extension's email in QTvoice
    and the subject's email in Slack. Emails compare without regard to case."""
    if by_admin:
        return Verdict.ALLOWED
    if any(holder != subject for holder in holders):
        return Verdict.HELD
    if extension_email and slack_email and extension_email.casefold() == slack_email.casefold():
        return Verdict.ALLOWED
    return Verdict.NOT_THEIRS


async def holders(session: AsyncSession, extension_id: str) -> list[str]:
    """The Slack users linked to the extension, in the order they were linked."""
    found = await session.scalars(
        select(ExtensionLink.slack_user_id)
        .where(ExtensionLink.extension_id == extension_id)
        .order_by(ExtensionLink.linked_at, ExtensionLink.slack_user_id)
    )
    return list(found)


async def save(session: AsyncSession, link: ExtensionLink) -> None:
    """Link `link.slack_user_id` to `link.extension_id`, in place of any link they had."""
    await session.merge(link)


async def remove(session: AsyncSession, user_id: str) -> ExtensionLink | None:
    """Unlink `user_id`; the link they had, None when they had none."""
    link = await session.get(ExtensionLink, user_id)
    if link is not None:
        await session.delete(link)
    return link
