"""Which channels, and which people, an event goes to. Pure: routes and links in, places out.

A route sends the events about one of our numbers or extensions to a channel, for the kinds it
names or, naming none, the default kinds. `NOTIFY_CHANNEL` gets every default-kind event that
no route claims. Live call cards and contact changes are never posted unless a route asks.
Missed calls and voicemails on an extension that Slack users have linked also reach them by DM.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot import phone
from bot.delivery.events import sms_parties, text_field
from bot.qtvoice.kinds import CONTACT_EVENTS, DEFAULT_ON, SMS_EVENTS, VOICEMAIL_EVENTS
from bot.store.models import ExtensionLink, Route

DM_EVENTS = frozenset({"call.missed", *VOICEMAIL_EVENTS})


@dataclass(frozen=True)
class Destination:
    """A channel id, or a Slack user to reach by direct message."""

    channel: str | None = None
    user: str | None = None


def our_line(event: str, data: Mapping[str, Any]) -> str | None:
    """The QTvoice number an event is about: where a call or text came in, or went out from."""
    if event in SMS_EVENTS:
        return sms_parties(event, data)[0]
    direction = (text_field(data, "direction") or "inbound").lower()
    return text_field(data, "from" if direction == "outbound" else "to")


def destinations(
    event: str,
    data: Mapping[str, Any],
    routes: Sequence[Route],
    links: Sequence[ExtensionLink],
    notify_channel: str,
    default_region: str,
) -> list[Destination]:
    targets = _targets(event, data, default_region)
    channels: list[str] = []
    for route in routes:
        asks = event in route.kinds if route.kinds is not None else event in DEFAULT_ON
        about = route.target in targets or (event in CONTACT_EVENTS and route.kinds is not None)
        if asks and about and route.channel_id not in channels:
            channels.append(route.channel_id)
    if not channels and event in DEFAULT_ON:
        channels.append(notify_channel)
    places = [Destination(channel=channel) for channel in channels]
    if event in DM_EVENTS:
        extension = text_field(data, "extensionId")
        places += [
            Destination(user=link.slack_user_id)
            for link in links
            if extension and link.extension_id == extension
        ]
    return places


def live_card_channels(
    event: str, data: Mapping[str, Any], routes: Sequence[Route], default_region: str
) -> list[str]:
    """Channels whose routes asked, by name, for this call event: they keep a live call card."""
    targets = _targets(event, data, default_region)
    return list(
        dict.fromkeys(
            route.channel_id
            for route in routes
            if route.kinds is not None and event in route.kinds and route.target in targets
        )
    )


def _targets(event: str, data: Mapping[str, Any], default_region: str) -> set[str | None]:
    """What a route may name to claim this event: our line, or the extension."""
    line = our_line(event, data)
    targets = {text_field(data, "extensionId")}
    if line:
        targets.add(phone.normalize(line, default_region))
    return targets
