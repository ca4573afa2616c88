"""Routes as admins manage them: the kinds a route may name, and the route rows themselves.

A route sends the events about one of our numbers (E.164) or extensions (its QTvoice id) to a
Slack channel, for the event types it names or, naming none, the default kinds
(`bot.qtvoice.events.DEFAULT_ON`). Which events a stored route claims is decided by
`bot.delivery.router`; this module only reads and writes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.qtvoice.events import CALL_LIVE, CONTACT_EVENTS, KNOWN_EVENTS, SMS_EVENTS, VOICEMAIL_EVENTS
from bot.store.models import ExtensionLink, Route

#: Words an admin may type in `/qtvoice route … [kinds]`, and the event types each stands for.
KIND_ALIASES: dict[str, tuple[str, ...]] = {
    "missed": ("call.missed",),
    "voicemail": VOICEMAIL_EVENTS,
    "voicemails": VOICEMAIL_EVENTS,
    "sms": SMS_EVENTS,
    "texts": SMS_EVENTS,
    "live": (*CALL_LIVE, "call.missed"),
    "calls": (*CALL_LIVE, "call.missed"),
    "contacts": CONTACT_EVENTS,
}


def parse_kinds(words: Iterable[str]) -> tuple[str, ...] | None:
    """Event types for the words an admin typed, in order, each once; None for no words.

    Raises ValueError whose argument is the first word that is neither an alias in
    `KIND_ALIASES` nor a known event type.
    """
    kinds: list[str] = []
    for word in words:
        word = word.strip().lower().rstrip(",")
        if not word:
            continue
        if word in KIND_ALIASES:
            kinds.extend(KIND_ALIASES[word])
        elif word in KNOWN_EVENTS:
            kinds.append(word)
        else:
            raise ValueError(word)
    return tuple(dict.fromkeys(kinds)) or None


async def save_route(
    session: AsyncSession,
    target: str,
    channel_id: str,
    kinds: Sequence[str] | None,
    *,
    created_by: str,
) -> Route:
    """Send `target`'s events of `kinds` (None: the default kinds) to `channel_id`.

    A route for the same target and channel is replaced, not doubled. The caller commits.
    """
    stored_kinds = ",".join(kinds) if kinds else None
    route = await session.scalar(
        select(Route).where(Route.target == target, Route.channel_id == channel_id)
    )
    if route is None:
        route = Route(
            target=target, channel_id=channel_id, event_kinds=stored_kinds, created_by=created_by
        )
        session.add(route)
    else:
        route.event_kinds = stored_kinds
    return route


async def all_routes(session: AsyncSession) -> list[Route]:
    """Every route, ordered by target."""
    return list(await session.scalars(select(Route).order_by(Route.target)))


async def routes_and_links(session: AsyncSession) -> tuple[list[Route], list[ExtensionLink]]:
    """Every route and every extension link: what decides where events go."""
    routes = list(await session.scalars(select(Route)))
    links = list(await session.scalars(select(ExtensionLink)))
    return routes, links


async def remove_routes(session: AsyncSession, target: str, channel_id: str | None) -> int:
    """Delete `target`'s routes (only the one to `channel_id` when given); how many went.

    The caller commits.
    """
    statement = delete(Route).where(Route.target == target)
    if channel_id is not None:
        statement = statement.where(Route.channel_id == channel_id)
    # A DELETE's result is a CursorResult, the one kind of Result that knows its row count.
    result = cast(CursorResult[Any], await session.execute(statement))
    return result.rowcount
