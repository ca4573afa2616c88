"""The Slack stand-in's live page (`demo --keep-running`), over HTTP, against the real bot.

The demo's scenarios run first; then the page must list what the sandbox recorded, and a
click, a slash command and a thread reply posted to it must reach the bot as Slack's signed
requests and change what the sandbox records. Last, the same in headless Chromium: the page
redraws as a webhook's message arrives, and its button and composer work.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bot.demo import CHANNEL, COMMAND_CHANNEL, HOURS, Demo, Flow
from bot.sandbox.chromium import DevTools
from bot.sandbox.samples import CUSTOMER_NUMBER, MAIN_LINE
from bot.sandbox.server import BackgroundServer
from bot.slack.blocks.health import REPLAY_DELIVERY

BOB = "U0BOB"
ALICE = "U0ALICE"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Demo, list[Flow]]]:
    played = Demo(tmp_path_factory.mktemp("demo"))
    try:
        yield played, played.play()
    finally:
        played.close()


@pytest.fixture(scope="module")
def page(demo: tuple[Demo, list[Flow]]) -> Iterator[httpx.Client]:
    server: BackgroundServer = demo[0].serve_page()
    try:
        with httpx.Client(base_url=server.url, timeout=15) as client:
            yield client
    finally:
        server.stop()


def flow(demo: tuple[Demo, list[Flow]], slug: str) -> Flow:
    return next(f for f in demo[1] if f.slug == slug)


def listed(page: httpx.Client, channel: str) -> list[dict[str, Any]]:
    state = page.get("/state").json()
    return next(c["messages"] for c in state["conversations"] if c["id"] == channel)


def test_the_page_draws_every_channel_and_message(
    demo: tuple[Demo, list[Flow]], page: httpx.Client
) -> None:
    response = page.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    body = response.text
    assert '<header class="pane-head">#phones</header>' in body
    assert '<header class="pane-head">#general</header>' in body
    assert '<header class="pane-head">Bob Smith</header>' in body
    for message in demo[0].slack.messages(CHANNEL):
        assert f'data-ts="{message["ts"]}"' in body
    assert '<form id="composer">' in body


def test_the_state_lists_the_recorded_messages_and_stays_put_until_something_changes(
    demo: tuple[Demo, list[Flow]], page: httpx.Client
) -> None:
    first, second = page.get("/state").json(), page.get("/state").json()
    assert first["version"] == second["version"]
    phones = next(c for c in first["conversations"] if c["id"] == CHANNEL)
    assert phones["name"] == "phones"
    # The page also shows the ephemerals a click there answered with (I'll take it's).
    assert [m["ts"] for m in phones["messages"] if not m["ephemeral"]] == [
        m["ts"] for m in demo[0].slack.messages(CHANNEL)
    ]
    general = listed(page, COMMAND_CHANNEL)
    assert any(m["ephemeral"] and m["user"] == "U0ALICE" for m in general)
    assert 'data-channel="C0PHONES"' in first["panes"]


# Refusals come before the tests that change things: nothing is in flight yet.


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "/click",
            {"channel": CHANNEL, "ts": "1.000000", "user": BOB, "action_id": "mark_handled"},
        ),
        ("/click", {"channel": "not a channel", "ts": "1", "user": BOB, "action_id": "x"}),
        ("/click", ["not", "an", "object"]),
        ("/say", {"channel": CHANNEL, "user": BOB, "text": "no thread picked"}),
        ("/say", {"channel": CHANNEL, "user": "U0NOBODY", "text": "/qtvoice help"}),
        ("/say", {"channel": CHANNEL, "user": BOB, "text": "   "}),
    ],
)
def test_what_the_page_cannot_send_is_refused_and_changes_nothing(
    demo: tuple[Demo, list[Flow]], page: httpx.Client, path: str, body: Any
) -> None:
    calls = len(demo[0].slack.calls())
    before = page.get("/state").json()["version"]
    response = page.post(path, json=body)
    assert response.status_code == 400
    assert response.json()["ok"] is False
    assert len(demo[0].slack.calls()) == calls
    assert page.get("/state").json()["version"] == before


def test_a_click_reaches_the_bot_and_changes_the_message(
    demo: tuple[Demo, list[Flow]], page: httpx.Client
) -> None:
    missed = flow(demo, "missed-call").messages[0]
    before = page.get("/state").json()["version"]
    response = page.post(
        "/click",
        json={
            "channel": CHANNEL,
            "ts": missed["ts"],
            "user": BOB,
            "action_id": "mark_handled",
            "value": "{}",
        },
    )
    assert response.json() == {"ok": True, "status": 200}
    handled = demo[0].slack.wait_for(
        lambda: "Handled by <@U0BOB>" in str(demo[0].slack.message(CHANNEL, missed["ts"]))
    )
    assert handled
    assert page.get("/state").json()["version"] != before
    assert 'Handled by <span class="mention">@Bob Smith</span>' in page.get("/").text


def test_a_slash_command_typed_as_a_person_reaches_the_bot(
    demo: tuple[Demo, list[Flow]], page: httpx.Client
) -> None:
    seen = len(demo[0].slack.ephemerals(BOB))
    response = page.post(
        "/say", json={"channel": COMMAND_CHANNEL, "user": BOB, "text": "/qtvoice help"}
    )
    assert response.json() == {"ok": True, "status": 200}
    answer = demo[0].slack.wait_for(lambda: demo[0].slack.ephemerals(BOB)[seen:])
    assert answer[0]["channel"] == COMMAND_CHANNEL
    assert any(m["ephemeral"] and m["user"] == BOB for m in listed(page, COMMAND_CHANNEL))


def test_a_thread_reply_typed_on_the_page_is_texted_to_the_caller(
    demo: tuple[Demo, list[Flow]], page: httpx.Client
) -> None:
    parent = flow(demo, "sms-thread").messages[0]
    reply = "Typed on the stand-in's page"
    response = page.post(
        "/say",
        json={"channel": CHANNEL, "user": "U0ALICE", "text": reply, "thread_ts": parent["ts"]},
    )
    assert response.json() == {"ok": True, "status": 200}
    demo[0].slack.wait_for(
        lambda: [
            r
            for r in demo[0].qtvoice.state.requests("POST", "/sms")
            if r.json and r.json.get("message") == reply
        ]
    )
    assert any(m["text"] == reply and m["thread_ts"] == parent["ts"] for m in listed(page, CHANNEL))


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """A message's buttons: action_id → value (the first of each)."""
    found: dict[str, str] = {}
    for block in message.get("blocks") or []:
        for element in [*(block.get("elements") or []), block.get("accessory") or {}]:
            if element.get("action_id"):
                found.setdefault(element["action_id"], element.get("value") or "")
    return found


def press_on_ephemeral(
    demo: tuple[Demo, list[Flow]], page: httpx.Client, user: str, action_id: str
) -> tuple[httpx.Response, list[dict[str, Any]]]:
    """Press `action_id` on `user`'s newest ephemeral with it; the answer and what came after."""
    slack = demo[0].slack
    shown = next(e for e in reversed(slack.ephemerals(user)) if action_id in buttons(e))
    seen = len(slack.ephemerals(user))
    pressed = page.post(
        "/click",
        json={
            "channel": shown["channel"],
            "ts": shown["ts"],
            "user": user,
            "action_id": action_id,
            "value": buttons(shown)[action_id],
        },
    )
    return pressed, slack.wait_for(lambda: slack.ephemerals(user)[seen:])


def test_an_ephemerals_buttons_work_on_the_page_for_the_person_who_sees_it(
    demo: tuple[Demo, list[Flow]], page: httpx.Client
) -> None:
    # Alice is linked to extension 101 in the demo, so her Call rings it.
    slack, qtvoice = demo[0].slack, demo[0].qtvoice
    seen = len(slack.ephemerals(ALICE))
    page.post("/say", json={"channel": COMMAND_CHANNEL, "user": ALICE, "text": "/contact John"})
    picker = slack.wait_for(lambda: slack.ephemerals(ALICE)[seen:])[0]
    stranger = page.post(
        "/click",
        json={
            "channel": COMMAND_CHANNEL,
            "ts": picker["ts"],
            "user": BOB,
            "action_id": "pick_contact",
            "value": buttons(picker)["pick_contact"],
        },
    )

    picked, card = press_on_ephemeral(demo, page, ALICE, "pick_contact")
    calls = len(qtvoice.state.requests("POST", "/calls"))
    dialled, answer = press_on_ephemeral(
        demo, page, ALICE, next(a for a in buttons(card[0]) if "call" in a)
    )

    assert stranger.status_code == 400
    assert "that U0BOB can see" in stranger.json()["error"]
    assert picked.json() == {"ok": True, "status": 200}
    assert card[0]["text"].startswith("Contact: John Doe")
    assert dialled.json() == {"ok": True, "status": 200}
    assert slack.wait_for(lambda: qtvoice.state.requests("POST", "/calls")[calls:])
    assert "Calling" in answer[0]["text"]


def test_a_modal_the_bot_opens_is_drawn_and_its_submission_sends_the_text(
    demo: tuple[Demo, list[Flow]], page: httpx.Client
) -> None:
    voicemail = demo[0].slack.message(CHANNEL, flow(demo, "voicemail").messages[0]["ts"]) or {}
    text_back = next(
        element
        for block in voicemail["blocks"]
        for element in block.get("elements") or []
        if element.get("action_id") == "text_back"
    )
    clicked = page.post(
        "/click",
        json={
            "channel": CHANNEL,
            "ts": voicemail["ts"],
            "user": "U0ALICE",
            "action_id": "text_back",
            "value": text_back["value"],
        },
    )
    assert clicked.json() == {"ok": True, "status": 200}
    modal = demo[0].slack.wait_for(lambda: page.get("/state").json()["modal"])
    assert '<div class="modal-head">Send a text</div>' in modal
    assert 'data-block-id="sms_message" data-action-id="message"' in modal
    view_id = re.search(r'data-view-id="([^"]+)"', modal).group(1)  # type: ignore[union-attr]

    empty = page.post(
        "/submit", json={"view_id": view_id, "values": {"sms_message": {"message": "  "}}}
    )
    assert empty.json()["errors"]
    assert 'class="input-error"' in page.get("/state").json()["modal"]

    text = "Sent from the stand-in's modal"
    sent = page.post(
        "/submit", json={"view_id": view_id, "values": {"sms_message": {"message": text}}}
    )
    assert sent.json() == {"ok": True, "status": 200}
    demo[0].slack.wait_for(
        lambda: [
            r
            for r in demo[0].qtvoice.state.requests("POST", "/sms")
            if r.json and r.json.get("message") == text
        ]
    )
    assert page.get("/state").json()["modal"] == ""
    assert page.post("/close", json={"view_id": view_id}).status_code == 400


def test_a_saved_reply_picked_in_the_modals_menu_is_sent(
    demo: tuple[Demo, list[Flow]], page: httpx.Client
) -> None:
    # The demo saved the reply "hours"; Text back offers it in the modal's menu.
    missed = flow(demo, "missed-call").messages[0]
    text_back = next(
        element
        for block in missed["blocks"]
        for element in block.get("elements") or []
        if element.get("action_id") == "text_back"
    )
    page.post(
        "/click",
        json={
            "channel": CHANNEL,
            "ts": missed["ts"],
            "user": ALICE,
            "action_id": "text_back",
            "value": text_back["value"],
        },
    )
    modal = demo[0].slack.wait_for(lambda: page.get("/state").json()["modal"])
    assert '<select class="input" data-block-id="sms_saved" data-action-id="saved">' in modal
    assert '<option value="hours">' in modal
    view_id = re.search(r'data-view-id="([^"]+)"', modal).group(1)  # type: ignore[union-attr]
    sent_before = len(demo[0].qtvoice.state.requests("POST", "/sms"))

    sent = page.post(
        "/submit",
        json={
            "view_id": view_id,
            "values": {"sms_message": {"message": ""}, "sms_saved": {"saved": "hours"}},
        },
    )

    assert sent.json() == {"ok": True, "status": 200}
    texts = demo[0].slack.wait_for(
        lambda: demo[0].qtvoice.state.requests("POST", "/sms")[sent_before:]
    )
    assert (texts[0].json or {}).get("message") == HOURS


def test_the_home_tab_opens_on_the_page_and_an_admins_replay_delivers_a_failed_event(
    demo: tuple[Demo, list[Flow]], page: httpx.Client
) -> None:
    played, slack = demo[0], demo[0].slack
    # Slack refuses the message and its plain-text stand-in: parked as failed at once. Only
    # this caller's: the demo's other flows may be posting meanwhile.
    slack.fail_next("chat.postMessage", error="invalid_blocks", count=2, matching="555-0123")
    failed = played.send("call.missed", from_="+12675550123", to=MAIN_LINE)

    refused = slack.wait_for(
        lambda: len([c for c in slack.calls("chat.postMessage") if c.injected]) >= 2, timeout=30
    )

    def the_failure_in_the_admins_home() -> dict[str, Any] | None:
        # Opening the tab again until the parked delivery shows (it is parked just after).
        page.post("/home", json={"user": ALICE})
        home = (slack.views_published(ALICE) or [{}])[-1]
        if REPLAY_DELIVERY in str(home):
            return home
        time.sleep(0.3)
        return None

    home = slack.wait_for(the_failure_in_the_admins_home, timeout=30)
    drawn = page.get("/").text
    replay = next(
        element
        for block in home["blocks"]
        for element in [*(block.get("elements") or []), block.get("accessory") or {}]
        if element.get("action_id") == REPLAY_DELIVERY
    )
    pressed = page.post(
        "/home/click",
        json={"user": ALICE, "action_id": REPLAY_DELIVERY, "value": replay["value"]},
    )
    stranger = page.post(
        "/home/click", json={"user": "U0NOBODY", "action_id": REPLAY_DELIVERY, "value": "1"}
    )

    assert refused
    assert 'id="pane-home-U0ALICE"' in drawn
    assert "Delivery health" in drawn
    assert pressed.json() == {"ok": True, "status": 200}
    assert slack.wait_for(lambda: played._find(failed["id"]))
    assert stranger.status_code == 400


def test_the_caller_texts_stop_and_start_from_the_page(
    demo: tuple[Demo, list[Flow]], page: httpx.Client
) -> None:
    slack = demo[0].slack
    seen = len(slack.calls("chat.postMessage", ok=True))

    stopped = page.post("/text", json={"text": "STOP"})
    opted_out = slack.wait_for(
        lambda: [
            call
            for call in slack.calls("chat.postMessage", ok=True)[seen:]
            if "texted STOP" in str(call.args) or "opted out" in str(call.args)
        ]
    )
    started = page.post("/text", json={"text": "START"})
    opted_in = slack.wait_for(
        lambda: [
            call
            for call in slack.calls("chat.postMessage", ok=True)[seen:]
            if "START" in str(call.args) and call not in opted_out
        ]
    )

    assert stopped.json() == {"ok": True, "status": 200}
    assert started.json() == {"ok": True, "status": 200}
    assert opted_out
    assert opted_in
    assert page.post("/text", json={"text": "  "}).status_code == 400


def test_the_demos_voicemail_and_calls_agree_with_what_qtvoice_lists(
    demo: tuple[Demo, list[Flow]], page: httpx.Client
) -> None:
    played = demo[0]
    voicemails = played.qtvoice.state.voicemails()
    answer = played.driver.slash_command(
        "/qtvoice", "voicemails", user_id=ALICE, channel_id=COMMAND_CHANNEL
    )
    listed = played.slack.wait_for(lambda: played.slack.responses(answer.response_url_key))

    assert any("call me back" in str(v.get("transcription")) for v in voicemails)
    assert "call me back" in str(listed[-1])
    # The demo's /call (and the page's): answered and ended, never "initiated" for ever.
    calls = played.qtvoice.state.calls()
    assert [c for c in calls if c["to"] == CUSTOMER_NUMBER and c["status"] == "completed"]
    assert "initiated" not in {call["status"] for call in calls}


def test_the_demos_people_go_by_one_name_in_slack_and_qtvoice(
    demo: tuple[Demo, list[Flow]],
) -> None:
    played = demo[0]
    extensions = {e["email"]: e["name"] for e in played.qtvoice.state.extensions()}
    people = [user for user in played.slack.users() if not user.is_bot]

    assert people
    assert [extensions.get(user.email) for user in people] == [u.real_name for u in people]
    # Who a voicemail says left it is the contact it comes from.
    first_names = {c["phone"]: c["first_name"] for c in played.qtvoice.state.contacts()}
    for voicemail in played.qtvoice.state.voicemails():
        said = re.search(r"it's (\w+)", str(voicemail.get("transcription")))
        if said and voicemail["from"] in first_names:
            assert said.group(1) == first_names[voicemail["from"]], voicemail["transcription"]


def test_in_a_browser_the_page_redraws_and_its_button_and_composer_reach_the_bot(
    demo: tuple[Demo, list[Flow]], page: httpx.Client, chromium: str
) -> None:
    played, slack = demo[0], demo[0].slack
    phones = "document.querySelectorAll('.msg:not(.ephemeral)[data-channel=\"C0PHONES\"]').length"
    with DevTools(chromium) as browser:
        browser.open(str(page.base_url).rstrip("/") + "/")
        # The page draws what Slack holds as it polls: it catches up with every message,
        # including what the module's earlier tests sent and are still landing.
        slack.wait_for(lambda: browser.evaluate(phones) == len(slack.messages(CHANNEL)))
        shown = browser.evaluate(phones)

        played.send("call.missed", from_=CUSTOMER_NUMBER, to=MAIN_LINE)
        browser.wait_for(f"{phones} > {shown}")

        # Clicking a message names its thread by its first line, not by its author's badge.
        browser.evaluate(
            "[...document.querySelectorAll('#pane-C0PHONES > .messages > .msg')].pop()"
            ".querySelector('.block').click()"
        )
        assert browser.evaluate("document.getElementById('thread').textContent") == (
            "Replying in thread: 📵 Missed call from John Doe (Acme Inc) · (215) 555-1234"
        )

        browser.evaluate(
            "[...document.querySelectorAll('#pane-C0PHONES button[data-action-id=\"mark_handled\"]')]"
            ".pop().click()"
        )
        slack.wait_for(lambda: "Handled by <@U0ALICE>" in str(slack.messages(CHANNEL)))
        browser.wait_for("document.body.innerText.includes('Handled by @Alice Jones')")

        whispers = len(slack.ephemerals("U0ALICE"))
        browser.evaluate(
            "document.getElementById('text').value = '/qtvoice whoami';"
            "document.getElementById('composer').requestSubmit()"
        )
        slack.wait_for(lambda: len(slack.ephemerals("U0ALICE")) > whispers)
        browser.wait_for("document.getElementById('status').textContent.includes('HTTP 200')")
