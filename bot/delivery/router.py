"""Which channels, and which people, an event goes to. Pure: routes and links in, places out.

A route sends the events about one of our numbers or extensions to a channel, for the kinds it
names or, naming none, the default kinds. `NOTIFY_CHANNEL` gets every default-kind event that
no route claims. Live call cards and contact changes are never posted unless a route asks.
Missed calls and voicemails on an extension that Slack users have linked also reach them by DM.
While the office is closed, `AFTER_HOURS_CHANNEL` (when set) stands in for every channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.qtvoice.events import (
    CONTACT_EVENTS,
    DEFAULT_ON,
    VOICEMAIL_EVENTS,
    KnownEvent,
)
from bot.store.models import ExtensionLink, Route

DM_EVENTS = frozenset({"call.missed", *VOICEMAIL_EVENTS})


@dataclass(frozen=True)
class Routing:
    """Every route and extension link, read once for a batch of claimed events.

    A worker reads them with each claim (`bot.store.routes.routes_and_links`), so a change an
    admin makes (`/qtvoice route`, `link`) applies to every event claimed after it, in every
    process, and a delivery costs no query to find its channels.
    """

    routes: Sequence[Route]
    links: Sequence[ExtensionLink]


@dataclass(frozen=True)
class Destination:
    """A channel id, or a Slack user to reach by direct message."""

    channel: str | None = None
    user: str | None = None


def destinations(
    event: KnownEvent,
    routes: Sequence[Route],
    links: Sequence[ExtensionLink],
    notify_channel: str,
    after_hours_channel: str | None = None,
) -> list[Destination]:
    """Where `event` is posted: routed channels (else NOTIFY_CHANNEL), then linked users' DMs.

    `after_hours_channel` is given while the office is closed (`AFTER_HOURS_CHANNEL` outside
    `BUSINESS_HOURS`): it then takes every channel's share, and direct messages still go out.
    """
    kind, targets = event.event, _targets(event)
    channels: list[str] = []
    for route in routes:
        asks = kind in route.kinds if route.kinds is not None else kind in DEFAULT_ON
        about = route.target in targets or (kind in CONTACT_EVENTS and route.kinds is not None)
        if asks and about and route.channel_id not in channels:
            channels.append(route.channel_id)
    if not channels and kind in DEFAULT_ON:
        channels.append(notify_channel)
    if channels and after_hours_channel:
        channels = [after_hours_channel]
    places = [Destination(channel=channel) for channel in channels]
    if kind in DM_EVENTS and event.extension_id:
        places += [
            Destination(user=link.slack_user_id)
            for link in links
            if link.extension_id == event.extension_id
        ]
    return places


def live_card_channels(event: KnownEvent, routes: Sequence[Route]) -> list[str]:
    """Channels whose routes asked, by name, for this call event: they keep a live call card."""
    targets = _targets(event)
    return list(
        dict.fromkeys(
            route.channel_id
            for route in routes
            if route.kinds is not None and event.event in route.kinds and route.target in targets
        )
    )


def _targets(event: KnownEvent) -> set[str]:
    """What a route may name to claim this event: our line (normalized at the door), or the
    extension."""
    return {target for target in (event.our_line, event.extension_id) if target}
