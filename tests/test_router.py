"""Where an event goes (`bot.delivery.router`): routes and links in, channels and DMs out."""

from __future__ import annotations

from typing import Any

import pytest

from bot.delivery.router import Destination, destinations, live_card_channels
from bot.qtvoice.events import (
    CALL_LIVE,
    SMS_EVENTS,
    VOICEMAIL_EVENTS,
    KnownEvent,
    UnknownEvent,
    parse_envelope,
)
from bot.store.models import ExtensionLink, Route
from bot.store.routes import parse_kinds

NOTIFY = "C0NOTIFY"
SALES = "C0SALES"
SUPPORT = "C0SUPPORT"
LINE, OTHER_LINE, CUSTOMER = "+12155550100", "+12155550199", "+12155551234"
ADMIN = "U0ADMIN"


def route(target: str, channel: str, kinds: tuple[str, ...] | None = None) -> Route:
    return Route(
        target=target,
        channel_id=channel,
        event_kinds=",".join(kinds) if kinds else None,
        created_by=ADMIN,
    )


def link(user: str, extension: str) -> ExtensionLink:
    return ExtensionLink(slack_user_id=user, extension_id=extension, linked_by=ADMIN)


def inbound_call(**overrides: Any) -> dict[str, Any]:
    return {
        "id": "call_1",
        "from": CUSTOMER,
        "to": LINE,
        "direction": "inbound",
        "extensionId": "ext_101",
        **overrides,
    }


def typed(event: str, data: dict[str, Any]) -> KnownEvent:
    parsed = parse_envelope({"event": event, "data": data})
    assert not isinstance(parsed, UnknownEvent)
    return parsed


def places(
    event: str,
    data: dict[str, Any],
    routes: list[Route] | None = None,
    links: list[ExtensionLink] | None = None,
) -> list[Destination]:
    return destinations(typed(event, data), routes or [], links or [], NOTIFY)


# our line: what a route names


def our_line(event: str, data: dict[str, Any]) -> str | None:
    return typed(event, data).our_line


def test_our_line_of_an_inbound_call_is_the_number_called() -> None:
    assert our_line("call.missed", inbound_call()) == LINE


def test_our_line_of_an_outbound_call_is_the_number_calling() -> None:
    data = inbound_call(**{"from": LINE, "to": CUSTOMER, "direction": "outbound"})
    assert our_line("call.completed", data) == LINE


def test_our_line_of_a_call_without_direction_reads_it_as_inbound() -> None:
    data = inbound_call()
    del data["direction"]
    assert our_line("call.missed", data) == LINE


def test_our_line_of_a_received_text_is_its_recipient() -> None:
    assert our_line("sms.received", {"id": "s", "from": CUSTOMER, "to": LINE}) == LINE


@pytest.mark.parametrize("event", ["sms.sent", "sms.delivered"])
def test_our_line_of_an_outbound_text_is_its_sender(event: str) -> None:
    data = {"id": "s", "from": LINE, "to": CUSTOMER, "direction": "outbound"}
    assert our_line(event, data) == LINE


# destinations: the notify channel


@pytest.mark.parametrize("event", ["call.missed", *VOICEMAIL_EVENTS, *SMS_EVENTS])
def test_default_kinds_go_to_the_notify_channel_when_no_route_claims_them(event: str) -> None:
    assert places(event, inbound_call()) == [Destination(channel=NOTIFY)]


@pytest.mark.parametrize("event", [*CALL_LIVE, "contact.created", "contact.updated"])
def test_live_calls_and_contacts_are_not_posted_unless_a_route_asks(event: str) -> None:
    assert places(event, inbound_call()) == []


# destinations: routes


def test_route_for_our_number_claims_its_events() -> None:
    routes = [route(LINE, SALES)]
    assert places("call.missed", inbound_call(), routes) == [Destination(channel=SALES)]


def test_route_matches_a_number_however_the_webhook_punctuates_it() -> None:
    routes = [route(LINE, SALES)]
    data = inbound_call(to="(215) 555-0100")
    assert places("call.missed", data, routes) == [Destination(channel=SALES)]


def test_route_for_an_extension_claims_its_events() -> None:
    routes = [route("ext_101", SUPPORT)]
    data = inbound_call(to=OTHER_LINE)
    assert places("call.missed", data, routes) == [Destination(channel=SUPPORT)]


def test_route_for_another_number_leaves_events_to_the_notify_channel() -> None:
    routes = [route(OTHER_LINE, SALES)]
    assert places("call.missed", inbound_call(), routes) == [Destination(channel=NOTIFY)]


def test_route_with_kinds_claims_only_those_kinds() -> None:
    routes = [route(LINE, SALES, SMS_EVENTS)]
    text = {"id": "sms_1", "from": CUSTOMER, "to": LINE}

    assert places("sms.received", text, routes) == [Destination(channel=SALES)]
    assert places("call.missed", inbound_call(), routes) == [Destination(channel=NOTIFY)]


def test_route_without_kinds_does_not_ask_for_live_calls() -> None:
    assert places("call.incoming", inbound_call(), [route(LINE, SALES)]) == []


def test_route_asking_for_live_calls_gets_them() -> None:
    routes = [route(LINE, SALES, parse_kinds(["live"]))]
    assert places("call.answered", inbound_call(), routes) == [Destination(channel=SALES)]


def test_route_asking_for_contacts_gets_every_contact_change() -> None:
    routes = [route(LINE, SALES, parse_kinds(["contacts"]))]
    contact = {"id": "contact_1", "phone": "+12155554321"}
    assert places("contact.updated", contact, routes) == [Destination(channel=SALES)]


def test_two_routes_to_one_channel_post_there_once() -> None:
    routes = [route(LINE, SALES), route("ext_101", SALES)]
    assert places("call.missed", inbound_call(), routes) == [Destination(channel=SALES)]


def test_routes_to_two_channels_post_in_both() -> None:
    routes = [route(LINE, SALES), route("ext_101", SUPPORT)]
    assert places("call.missed", inbound_call(), routes) == [
        Destination(channel=SALES),
        Destination(channel=SUPPORT),
    ]


# destinations: direct messages


@pytest.mark.parametrize("event", ["call.missed", *VOICEMAIL_EVENTS])
def test_linked_user_also_gets_missed_calls_and_voicemails_by_dm(event: str) -> None:
    links = [link("U0ALICE", "ext_101"), link("U0BOB", "ext_102")]
    assert places(event, inbound_call(), links=links) == [
        Destination(channel=NOTIFY),
        Destination(user="U0ALICE"),
    ]


@pytest.mark.parametrize("event", ["sms.received", "call.completed"])
def test_linked_user_gets_no_dm_for_texts_or_live_calls(event: str) -> None:
    links = [link("U0ALICE", "ext_101")]
    assert Destination(user="U0ALICE") not in places(event, inbound_call(), links=links)


def test_event_without_an_extension_reaches_no_linked_user() -> None:
    data = inbound_call()
    del data["extensionId"]
    assert places("call.missed", data, links=[link("U0ALICE", "ext_101")]) == [
        Destination(channel=NOTIFY)
    ]


def test_after_hours_channel_stands_in_for_every_channel_and_dms_still_go() -> None:
    routes = [route(LINE, SALES), route("ext_101", SUPPORT)]
    links = [link("U0ALICE", "ext_101")]

    found = destinations(typed("call.missed", inbound_call()), routes, links, NOTIFY, "C0NIGHT")

    assert found == [Destination(channel="C0NIGHT"), Destination(user="U0ALICE")]


def test_after_hours_channel_posts_nothing_no_channel_asked_for() -> None:
    event = typed("call.completed", inbound_call())
    assert destinations(event, [], [], NOTIFY, "C0NIGHT") == []


def test_live_cards_go_only_where_a_route_named_the_event() -> None:
    data = {"id": "call_1", "from": "+12155551234", "to": LINE, "extensionId": "ext_101"}
    routes = [
        route(LINE, "C0LIVE", ("call.incoming", "call.missed")),
        route("ext_101", "C0LIVE", ("call.incoming",)),
        route(LINE, "C0DEFAULT"),
        route("+12155559999", "C0OTHER", ("call.incoming",)),
    ]

    assert live_card_channels(typed("call.incoming", data), routes) == ["C0LIVE"]
    assert live_card_channels(typed("call.answered", data), routes) == []
