"""The Slack sandbox: the recorder answers slack_sdk like Slack, the driver signs like Slack.

Every test talks real HTTP: slack_sdk's own `WebClient` calls the recorder; the driver posts to
a tiny app that checks signatures with slack_sdk's `SignatureVerifier` and parses bodies with
Bolt's `BoltRequest`, and finally to a real (sync) Bolt app that answers through the recorder.
One recorder serves the module; each test starts it afresh.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aiohttp
import anyio
import httpx
import pytest
from slack_bolt import Ack, App, Respond, Say
from slack_bolt.adapter.starlette import SlackRequestHandler
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.sandbox.server import BackgroundServer
from bot.sandbox.slack import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    DEFAULT_APP_TOKEN,
    DEFAULT_BOT_TOKEN,
    TEAM_ID,
    Delivery,
    SlackDriver,
    SlackRecorder,
    slack_signature,
)

SIGNING_SECRET = "sandbox-signing-secret"
GENERAL = "C0GENERAL"
AUTH = {"Authorization": f"Bearer {DEFAULT_BOT_TOKEN}"}


@pytest.fixture(scope="module")
def running_recorder() -> Iterator[SlackRecorder]:
    with SlackRecorder() as recorder:
        yield recorder


@pytest.fixture
def recorder(running_recorder: SlackRecorder) -> SlackRecorder:
    running_recorder.reset()
    return running_recorder


@pytest.fixture
def client(recorder: SlackRecorder) -> WebClient:
    return WebClient(token=DEFAULT_BOT_TOKEN, base_url=recorder.api_url)


def post(client: WebClient, text: str = "hello", **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("channel", GENERAL)
    return client.chat_postMessage(text=text, **kwargs).data  # type: ignore[return-value]


def button_message(value: str) -> list[dict[str, Any]]:
    button = {
        "type": "button",
        "action_id": "call_back",
        "text": {"type": "plain_text", "text": "Call back"},
        "value": value,
    }
    return [{"type": "actions", "block_id": "missed_call", "elements": [button]}]


# --- Web API: identity and people ----------------------------------------------------------


def test_auth_test_identifies_the_bot_and_its_scopes(client: WebClient) -> None:
    response = client.auth_test()

    assert (response["team_id"], response["user_id"], response["bot_id"]) == (
        TEAM_ID,
        BOT_USER_ID,
        BOT_ID,
    )
    assert "chat:write" in response.headers["x-oauth-scopes"]


def test_users_info_returns_a_configured_user(client: WebClient) -> None:
    user = client.users_info(user="U0ALICE")["user"]

    assert (user["name"], user["real_name"], user["tz"]) == (
        "alice",
        "Alice Jones",
        "America/New_York",
    )
    assert user["profile"]["email"] == "alice@example.com"


def test_users_info_of_a_stranger_is_user_not_found(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as caught:
        client.users_info(user="U0NOBODY")

    assert caught.value.response["error"] == "user_not_found"


def test_users_lookup_by_email_finds_the_user(client: WebClient) -> None:
    assert client.users_lookupByEmail(email="BOB@example.com")["user"]["id"] == "U0BOB"


def test_team_info_describes_the_workspace(client: WebClient) -> None:
    assert client.team_info()["team"]["id"] == TEAM_ID


# --- Web API: auth and protocol ------------------------------------------------------------


def test_wrong_token_is_invalid_auth(recorder: SlackRecorder) -> None:
    with pytest.raises(SlackApiError) as caught:
        WebClient(token="xoxb-wrong", base_url=recorder.api_url).auth_test()

    assert caught.value.response.status_code == 200
    assert caught.value.response["error"] == "invalid_auth"


def test_missing_token_is_not_authed(recorder: SlackRecorder) -> None:
    with pytest.raises(SlackApiError) as caught:
        WebClient(base_url=recorder.api_url).auth_test()

    assert caught.value.response["error"] == "not_authed"


def test_unknown_method_is_unknown_method(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as caught:
        client.api_call("chat.sing")

    assert caught.value.response["error"] == "unknown_method"


def test_form_posted_blocks_are_recorded_decoded(recorder: SlackRecorder) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    form = {"channel": GENERAL, "text": "hi", "blocks": json.dumps(blocks)}

    httpx.post(f"{recorder.api_url}chat.postMessage", data=form, headers=AUTH)

    assert recorder.calls("chat.postMessage")[0].args["blocks"] == blocks


def test_get_with_query_arguments_is_answered(recorder: SlackRecorder) -> None:
    response = httpx.get(
        f"{recorder.api_url}conversations.info", params={"channel": GENERAL}, headers=AUTH
    )

    assert response.json()["channel"]["name"] == "general"


def test_json_calls_record_their_method_args_and_headers(
    client: WebClient, recorder: SlackRecorder
) -> None:
    post(client, "hi", thread_ts=None)

    [call] = recorder.calls("chat.postMessage")
    assert call.args == {"channel": GENERAL, "text": "hi"}
    assert call.headers["content-type"].startswith("application/json")
    assert call.ok


# --- Web API: chat -------------------------------------------------------------------------


def test_post_message_returns_channel_ts_and_the_message(client: WebClient) -> None:
    response = post(client, "Missed call", metadata={"event_type": "t", "event_payload": {}})

    assert response["channel"] == GENERAL
    assert response["message"]["text"] == "Missed call"
    assert response["message"]["bot_id"] == BOT_ID
    assert response["message"]["ts"] == response["ts"]


def test_message_timestamps_strictly_increase(client: WebClient) -> None:
    stamps = [post(client, str(n))["ts"] for n in range(5)]

    assert stamps == sorted(stamps, key=float)
    assert len(set(stamps)) == 5
    assert all(len(ts.split(".")[1]) == 6 for ts in stamps)


def test_posting_to_a_user_id_lands_in_their_im(client: WebClient, recorder: SlackRecorder) -> None:
    response = post(client, "psst", channel="U0ALICE")

    assert response["channel"] == recorder.im_channel("U0ALICE")
    assert response["channel"].startswith("D")
    assert recorder.messages("U0ALICE")[0]["text"] == "psst"


def test_posting_to_a_channel_name_is_channel_not_found(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as caught:
        post(client, channel="#general")

    assert caught.value.response["error"] == "channel_not_found"


def test_posting_without_text_or_blocks_is_no_text(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as caught:
        client.api_call("chat.postMessage", json={"channel": GENERAL})

    assert caught.value.response["error"] == "no_text"


def test_section_text_over_3000_characters_is_invalid_blocks(client: WebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]

    with pytest.raises(SlackApiError) as caught:
        post(client, blocks=blocks)

    assert caught.value.response["error"] == "invalid_blocks"
    assert "/blocks/0/text/text" in caught.value.response["response_metadata"]["messages"][0]


def test_button_value_over_2000_characters_is_invalid_blocks(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as caught:
        post(client, blocks=button_message("9" * 2001))

    assert caught.value.response["error"] == "invalid_blocks"


def test_update_with_text_alone_replaces_the_text_and_removes_the_blocks(
    client: WebClient, recorder: SlackRecorder
) -> None:
    """chat.update's reference: "If the `text` argument is provided and `blocks` are not
    provided, the `blocks` will be removed"."""
    ts = post(client, "Voicemail: transcribing…", blocks=button_message("{}"))["ts"]

    client.chat_update(channel=GENERAL, ts=ts, text="Voicemail: hi there")

    [message] = recorder.messages(GENERAL)
    assert message["text"] == "Voicemail: hi there"
    assert not message["blocks"]
    assert message["edited"] is not None


def test_update_of_an_unknown_ts_is_message_not_found(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as caught:
        client.chat_update(channel=GENERAL, ts="1700000000.000100", text="x")

    assert caught.value.response["error"] == "message_not_found"


def test_update_of_a_persons_message_is_cant_update_message(
    client: WebClient, recorder: SlackRecorder
) -> None:
    typed = recorder.post_as_user(GENERAL, "mine", user_id="U0ALICE")

    with pytest.raises(SlackApiError) as caught:
        client.chat_update(channel=GENERAL, ts=typed["ts"], text="x")

    assert caught.value.response["error"] == "cant_update_message"


def test_delete_removes_the_message(client: WebClient, recorder: SlackRecorder) -> None:
    ts = post(client)["ts"]

    client.chat_delete(channel=GENERAL, ts=ts)

    assert recorder.messages(GENERAL) == []


def test_post_ephemeral_returns_message_ts_and_keeps_it_apart(
    client: WebClient, recorder: SlackRecorder
) -> None:
    response = client.chat_postEphemeral(channel=GENERAL, user="U0BOB", text="only you")

    assert response["message_ts"] == recorder.ephemerals("U0BOB")[0]["ts"]
    assert recorder.messages(GENERAL) == []


def test_permalink_points_at_the_message(client: WebClient) -> None:
    ts = post(client)["ts"]

    permalink = client.chat_getPermalink(channel=GENERAL, message_ts=ts)["permalink"]

    assert permalink.endswith(f"/archives/{GENERAL}/p{ts.replace('.', '')}")


# --- Web API: conversations ----------------------------------------------------------------


def test_conversations_open_gives_each_user_a_stable_im(client: WebClient) -> None:
    first = client.conversations_open(users="U0ALICE")
    again = client.conversations_open(users="U0ALICE")
    other = client.conversations_open(users="U0BOB")

    assert first["channel"]["id"] == again["channel"]["id"] != other["channel"]["id"]
    assert again["already_open"] is True


def test_conversations_info_of_an_im_names_its_user(client: WebClient) -> None:
    channel = client.conversations_open(users="U0BOB")["channel"]["id"]

    info = client.conversations_info(channel=channel)["channel"]

    assert info["is_im"] is True
    assert info["user"] == "U0BOB"


def test_history_is_newest_first_within_oldest_and_latest(client: WebClient) -> None:
    stamps = [post(client, str(n))["ts"] for n in range(5)]

    history = client.conversations_history(channel=GENERAL, oldest=stamps[0], latest=stamps[4])

    assert [m["text"] for m in history["messages"]] == ["3", "2", "1"]
    assert history["response_metadata"] == {"next_cursor": ""}


def test_history_pages_through_limit_with_a_cursor(client: WebClient) -> None:
    for n in range(5):
        post(client, str(n))

    first = client.conversations_history(channel=GENERAL, limit=3)
    rest = client.conversations_history(
        channel=GENERAL, limit=3, cursor=first["response_metadata"]["next_cursor"]
    )

    assert [m["text"] for m in first["messages"]] == ["4", "3", "2"]
    assert first["has_more"] is True
    assert [m["text"] for m in rest["messages"]] == ["1", "0"]
    assert rest["has_more"] is False


def test_history_shows_metadata_only_when_asked(client: WebClient) -> None:
    metadata = {"event_type": "qtvoice_call", "event_payload": {"call_id": "call_1"}}
    post(client, metadata=metadata)

    plain = client.conversations_history(channel=GENERAL)["messages"][0]
    detailed = client.conversations_history(channel=GENERAL, include_all_metadata=True)

    assert "metadata" not in plain
    assert detailed["messages"][0]["metadata"] == metadata


def test_history_leaves_thread_replies_out(client: WebClient) -> None:
    parent = post(client, "parent")["ts"]
    post(client, "reply", thread_ts=parent)

    messages = client.conversations_history(channel=GENERAL)["messages"]

    assert [m["text"] for m in messages] == ["parent"]
    assert messages[0]["reply_count"] == 1


def test_replies_return_the_parent_then_its_replies(client: WebClient) -> None:
    parent = post(client, "SMS from +12155551234")["ts"]
    post(client, "first", thread_ts=parent)
    post(client, "second", thread_ts=parent)
    post(client, "elsewhere")

    replies = client.conversations_replies(channel=GENERAL, ts=parent)["messages"]

    assert [m["text"] for m in replies] == ["SMS from +12155551234", "first", "second"]


def test_replies_of_an_unknown_ts_are_thread_not_found(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as caught:
        client.conversations_replies(channel=GENERAL, ts="1700000000.000100")

    assert caught.value.response["error"] == "thread_not_found"


# --- Web API: reactions and views ----------------------------------------------------------


def test_reacting_twice_is_already_reacted(client: WebClient, recorder: SlackRecorder) -> None:
    ts = post(client)["ts"]
    client.reactions_add(channel=GENERAL, timestamp=ts, name="white_check_mark")

    with pytest.raises(SlackApiError) as caught:
        client.reactions_add(channel=GENERAL, timestamp=ts, name="white_check_mark")

    assert caught.value.response["error"] == "already_reacted"
    assert recorder.messages(GENERAL)[0]["reactions"][0]["count"] == 1


def test_removing_an_absent_reaction_is_no_reaction(client: WebClient) -> None:
    ts = post(client)["ts"]

    with pytest.raises(SlackApiError) as caught:
        client.reactions_remove(channel=GENERAL, timestamp=ts, name="eyes")

    assert caught.value.response["error"] == "no_reaction"


def modal(title: str = "Reply by SMS") -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "sms_reply",
        "title": {"type": "plain_text", "text": title},
        "blocks": [],
    }


def test_views_open_returns_the_view_with_an_id(client: WebClient, recorder: SlackRecorder) -> None:
    trigger_id = recorder.new_trigger_id("U0ALICE")

    view = client.views_open(trigger_id=trigger_id, view=modal())["view"]

    assert view["id"].startswith("V")
    assert recorder.views_opened("U0ALICE")[0]["callback_id"] == "sms_reply"


def test_views_open_without_a_slack_trigger_is_invalid_trigger_id(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as caught:
        client.views_open(trigger_id="made-up", view=modal())

    assert caught.value.response["error"] == "invalid_trigger_id"


def test_a_trigger_opens_only_one_view(client: WebClient, recorder: SlackRecorder) -> None:
    trigger_id = recorder.new_trigger_id()
    client.views_open(trigger_id=trigger_id, view=modal())

    with pytest.raises(SlackApiError) as caught:
        client.views_open(trigger_id=trigger_id, view=modal())

    assert caught.value.response["error"] == "exchanged_trigger_id"


def test_modal_title_over_24_characters_is_invalid_arguments(
    client: WebClient, recorder: SlackRecorder
) -> None:
    with pytest.raises(SlackApiError) as caught:
        client.views_open(trigger_id=recorder.new_trigger_id(), view=modal("x" * 25))

    assert caught.value.response["error"] == "invalid_arguments"


def test_views_update_changes_the_opened_view(client: WebClient, recorder: SlackRecorder) -> None:
    opened = client.views_open(trigger_id=recorder.new_trigger_id(), view=modal())["view"]

    client.views_update(view_id=opened["id"], view=modal("Sent"))

    assert recorder.views_opened()[0]["title"]["text"] == "Sent"


def test_views_update_of_an_unknown_view_is_not_found(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as caught:
        client.views_update(view_id="V_NONE", view=modal())

    assert caught.value.response["error"] == "not_found"


def test_views_publish_keeps_each_users_app_home(
    client: WebClient, recorder: SlackRecorder
) -> None:
    home = {"type": "home", "blocks": [{"type": "divider"}]}

    client.views_publish(user_id="U0ALICE", view=home)

    assert recorder.views_published("U0ALICE")[0]["type"] == "home"
    assert recorder.views_published("U0BOB") == []


# --- fault injection -----------------------------------------------------------------------


def test_rate_limit_reaches_the_client_with_retry_after(
    client: WebClient, recorder: SlackRecorder
) -> None:
    recorder.fail_next("chat.postMessage", status=429, retry_after=7)

    with pytest.raises(SlackApiError) as caught:
        post(client)

    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "7"
    assert caught.value.response["error"] == "ratelimited"


def test_server_error_reaches_the_client(client: WebClient, recorder: SlackRecorder) -> None:
    recorder.fail_next("chat.postMessage", status=503)

    with pytest.raises(SlackApiError) as caught:
        post(client)

    assert caught.value.response.status_code == 503


def test_injected_error_is_ok_false_with_that_error(
    client: WebClient, recorder: SlackRecorder
) -> None:
    recorder.fail_next("chat.postMessage", error="channel_not_found")

    with pytest.raises(SlackApiError) as caught:
        post(client)

    assert caught.value.response.status_code == 200
    assert caught.value.response["error"] == "channel_not_found"


def test_failed_calls_are_recorded_but_change_nothing(
    client: WebClient, recorder: SlackRecorder
) -> None:
    recorder.fail_next("chat.postMessage", status=500)

    with pytest.raises(SlackApiError):
        post(client)

    [call] = recorder.calls("chat.postMessage")
    assert call.injected
    assert not call.ok
    assert recorder.messages(GENERAL) == []


def test_a_fault_covers_count_calls_then_slack_recovers(
    client: WebClient, recorder: SlackRecorder
) -> None:
    recorder.fail_next("*", status=500, count=2)

    for _ in range(2):
        with pytest.raises(SlackApiError):
            post(client)
    post(client)

    assert [call.ok for call in recorder.calls()] == [False, False, True]


def test_delay_answers_late(client: WebClient, recorder: SlackRecorder) -> None:
    recorder.delay("auth.test", 0.3)
    started = time.monotonic()

    client.auth_test()

    assert time.monotonic() - started >= 0.3


# --- response_url and waiting --------------------------------------------------------------


def test_response_url_records_json_posts(recorder: SlackRecorder) -> None:
    url = recorder.response_url("cmd1")

    httpx.post(url, json={"text": "Calling +12155551234…"})

    assert recorder.responses("cmd1") == [{"text": "Calling +12155551234…"}]
    assert recorder.ephemerals()[0]["text"] == "Calling +12155551234…"


def test_response_url_replace_original_updates_the_message(
    client: WebClient, recorder: SlackRecorder
) -> None:
    ts = post(client, "Missed call")["ts"]
    url = recorder.response_url("act1", channel=GENERAL, message_ts=ts)

    httpx.post(url, json={"replace_original": True, "text": "Missed call (handled)"})

    assert recorder.messages(GENERAL)[0]["text"] == "Missed call (handled)"


def test_response_url_refuses_a_sixth_post(recorder: SlackRecorder) -> None:
    url = recorder.response_url("cmd1")
    for n in range(5):
        httpx.post(url, json={"text": str(n)})

    refused = httpx.post(url, json={"text": "again"})

    assert refused.json()["error"] == "used_url"
    assert len(recorder.responses("cmd1")) == 5


def test_wait_for_returns_what_the_predicate_found(
    client: WebClient, recorder: SlackRecorder
) -> None:
    post(client, "found")

    assert recorder.wait_for(lambda: recorder.messages(GENERAL)[0])["text"] == "found"


def test_wait_for_timeout_lists_the_recorded_calls(
    client: WebClient, recorder: SlackRecorder
) -> None:
    post(client, "Missed call from Jane")

    with pytest.raises(AssertionError) as caught:
        recorder.wait_for(lambda: recorder.calls("chat.update"), timeout=0.1)

    assert "condition not met within 0.1s" in str(caught.value)
    assert "chat.postMessage -> ok channel='C0GENERAL'" in str(caught.value)


def test_wait_for_timeout_says_what_each_response_url_was_told(recorder: SlackRecorder) -> None:
    httpx.post(recorder.response_url("act1"), json={"text": "This button is out of date."})

    with pytest.raises(AssertionError) as caught:
        recorder.wait_for(lambda: recorder.calls("chat.update"), timeout=0.1)

    assert "response_url act1 <- 'This button is out of date.'" in str(caught.value)


def test_reset_forgets_calls_and_messages(client: WebClient, recorder: SlackRecorder) -> None:
    post(client)

    recorder.reset()

    assert recorder.calls() == []
    assert recorder.messages(GENERAL) == []


# --- the driver ----------------------------------------------------------------------------


def echo_app() -> Starlette:
    """Stands in for the bot: says whether Slack's signature checks out, echoes the body."""
    verifier = SignatureVerifier(SIGNING_SECRET)

    async def events(request: Request) -> JSONResponse:
        body = await request.body()
        headers = dict(request.headers)
        return JSONResponse(
            {
                "valid": verifier.is_valid_request(body, headers),
                "body": body.decode(),
                "headers": headers,
            }
        )

    return Starlette(routes=[Route("/slack/events", events, methods=["POST"])])


@pytest.fixture(scope="module")
def bot_url() -> Iterator[str]:
    with BackgroundServer(echo_app()) as server:
        yield server.url


@pytest.fixture
def driver(bot_url: str, recorder: SlackRecorder) -> Iterator[SlackDriver]:
    with SlackDriver(bot_url, SIGNING_SECRET, recorder) as driver:
        yield driver


def received(delivery: Delivery) -> dict[str, Any]:
    """What the bot got: the body as Bolt parses it, and whether the signature verified."""
    assert delivery.response is not None
    echo = delivery.response.json()
    bolt = BoltRequest(body=echo["body"], headers=echo["headers"])
    return {"valid": echo["valid"], "payload": bolt.body, "headers": echo["headers"]}


def test_slack_signature_verifies_with_slack_sdk() -> None:
    body = b'{"type":"event_callback"}'
    timestamp = str(int(time.time()))

    signature = slack_signature(SIGNING_SECRET, timestamp, body)

    assert SignatureVerifier(SIGNING_SECRET).is_valid(body, timestamp, signature)


def test_slash_command_is_a_signed_form_like_slacks(driver: SlackDriver) -> None:
    delivery = driver.slash_command("/call", "+12155551234")

    got = received(delivery)
    assert got["valid"]
    assert got["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert {k: got["payload"][k] for k in ("command", "text", "user_id", "channel_name")} == {
        "command": "/call",
        "text": "+12155551234",
        "user_id": "U0ALICE",
        "channel_name": "general",
    }
    assert got["payload"]["response_url"] == delivery.response_url


def test_each_slash_command_gets_its_own_response_url(driver: SlackDriver) -> None:
    first = driver.slash_command("/qtvoice", "help")
    second = driver.slash_command("/qtvoice", "help")

    assert first.response_url_key != second.response_url_key


def test_slash_command_trigger_opens_a_modal(
    driver: SlackDriver, client: WebClient, recorder: SlackRecorder
) -> None:
    delivery = driver.slash_command("/sms", "")

    client.views_open(trigger_id=delivery.trigger_id, view=modal())

    assert len(recorder.views_opened("U0ALICE")) == 1


def test_block_action_carries_the_posted_buttons_block_and_message(
    driver: SlackDriver, client: WebClient
) -> None:
    ts = post(client, "Missed call", blocks=button_message('{"n":"+12155551234"}'))["ts"]

    got = received(
        driver.block_action("call_back", '{"n":"+12155551234"}', channel_id=GENERAL, message_ts=ts)
    )

    payload = got["payload"]
    assert got["valid"]
    assert payload["type"] == "block_actions"
    assert payload["actions"][0]["block_id"] == "missed_call"
    assert payload["actions"][0]["value"] == '{"n":"+12155551234"}'
    assert payload["container"] == {
        "type": "message",
        "message_ts": ts,
        "channel_id": GENERAL,
        "is_ephemeral": False,
    }
    assert payload["message"]["text"] == "Missed call"


def test_view_submission_carries_the_opened_view_and_values(
    driver: SlackDriver, client: WebClient, recorder: SlackRecorder
) -> None:
    opened = client.views_open(
        trigger_id=recorder.new_trigger_id("U0ALICE"),
        view={**modal(), "private_metadata": '{"n":"+12155551234"}'},
    )["view"]

    got = received(driver.view_submission("sms_reply", {"text_block": {"text": "On my way"}}))

    view = got["payload"]["view"]
    assert got["payload"]["type"] == "view_submission"
    assert view["id"] == opened["id"]
    assert view["private_metadata"] == '{"n":"+12155551234"}'
    assert view["state"]["values"]["text_block"]["text"]["value"] == "On my way"


def test_event_is_an_event_callback_envelope(driver: SlackDriver) -> None:
    delivery = driver.event({"type": "member_joined_channel", "user": "U0BOB"}, event_id="Ev1")

    got = received(delivery)
    assert got["valid"]
    assert got["payload"]["type"] == "event_callback"
    assert got["payload"]["event_id"] == "Ev1"
    assert got["payload"]["authorizations"][0]["user_id"] == BOT_USER_ID
    assert "x-slack-retry-num" not in got["headers"]


def test_redelivery_repeats_the_event_with_retry_headers(driver: SlackDriver) -> None:
    first = driver.event({"type": "member_joined_channel", "user": "U0BOB"})

    retry = received(driver.redeliver(first, retry_num=1))

    assert retry["valid"]
    assert retry["payload"]["event_id"] == first.event_id
    assert retry["headers"]["x-slack-retry-num"] == "1"
    assert retry["headers"]["x-slack-retry-reason"] == "http_timeout"


def test_message_in_thread_joins_the_thread_and_is_sent_as_an_event(
    driver: SlackDriver, client: WebClient, recorder: SlackRecorder
) -> None:
    parent = post(client, "SMS thread")["ts"]

    got = received(driver.message_in_thread(GENERAL, parent, "Be there at 5"))

    event = got["payload"]["event"]
    assert (event["type"], event["thread_ts"], event["user"]) == ("message", parent, "U0ALICE")
    assert event["channel_type"] == "channel"
    assert recorder.thread(GENERAL, parent)[-1]["ts"] == event["ts"]


def test_app_home_opened_names_the_users_im(driver: SlackDriver, recorder: SlackRecorder) -> None:
    event = received(driver.app_home_opened("U0BOB"))["payload"]["event"]

    assert (event["type"], event["user"], event["tab"]) == ("app_home_opened", "U0BOB", "home")
    assert event["channel"] == recorder.im_channel("U0BOB")


def test_a_forged_signature_does_not_verify(driver: SlackDriver) -> None:
    response = driver.send(b"{}", "application/json", signature="v0=" + "0" * 64)

    assert response.json()["valid"] is False


# --- Bolt itself accepts what the driver sends and talks to the recorder -------------------


def bolt_app(recorder: SlackRecorder) -> Starlette:
    """A minimal Bolt app, wired the way a bot would be, to prove the two sandboxes fit Bolt."""
    bolt = App(
        client=WebClient(token=DEFAULT_BOT_TOKEN, base_url=recorder.api_url),
        signing_secret=SIGNING_SECRET,
    )

    @bolt.command("/call")
    def call(ack: Ack, respond: Respond) -> None:
        ack("Dialing…")
        respond("Call placed")

    @bolt.action("call_back")
    def call_back(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        client.chat_update(channel=body["channel"]["id"], ts=body["message"]["ts"], text="Done")

    @bolt.view("sms_reply")
    def sms_reply(ack: Ack) -> None:
        ack()

    @bolt.event("message")
    def message(event: dict[str, Any], say: Say) -> None:
        say(text=f"heard: {event['text']}", thread_ts=event["thread_ts"])

    handler = SlackRequestHandler(bolt)
    return Starlette(routes=[Route("/slack/events", handler.handle, methods=["POST"])])


@pytest.fixture(scope="module")
def bolt_url(running_recorder: SlackRecorder) -> Iterator[str]:
    with BackgroundServer(bolt_app(running_recorder)) as server:
        yield server.url


@pytest.fixture
def bolt_driver(bolt_url: str, recorder: SlackRecorder) -> Iterator[SlackDriver]:
    with SlackDriver(bolt_url, SIGNING_SECRET, recorder) as driver:
        yield driver


def test_bolt_acks_a_slash_command_and_responds_through_its_url(
    bolt_driver: SlackDriver, recorder: SlackRecorder
) -> None:
    delivery = bolt_driver.slash_command("/call", "+12155551234")

    assert delivery.response is not None
    assert delivery.response.status_code == 200
    assert delivery.response.text == "Dialing…"
    key = str(delivery.response_url_key)
    assert recorder.wait_for(lambda: recorder.responses(key))[0]["text"] == "Call placed"


def test_bolt_handles_a_button_click_on_a_posted_message(
    bolt_driver: SlackDriver, client: WebClient, recorder: SlackRecorder
) -> None:
    ts = post(client, "Missed call", blocks=button_message("{}"))["ts"]

    delivery = bolt_driver.block_action("call_back", "{}", channel_id=GENERAL, message_ts=ts)

    assert delivery.status_code == 200
    recorder.wait_for(lambda: recorder.messages(GENERAL)[0]["text"] == "Done")


def test_bolt_acks_a_view_submission(bolt_driver: SlackDriver) -> None:
    delivery = bolt_driver.view_submission("sms_reply", {"text_block": {"text": "hi"}})

    assert delivery.status_code == 200


def test_bolt_hears_a_thread_reply_and_answers_in_the_thread(
    bolt_driver: SlackDriver, client: WebClient, recorder: SlackRecorder
) -> None:
    parent = post(client, "SMS thread")["ts"]

    bolt_driver.message_in_thread(GENERAL, parent, "Be there at 5")

    recorder.wait_for(
        lambda: recorder.thread(GENERAL, parent)[-1]["text"] == "heard: Be there at 5"
    )


def test_a_removed_channel_is_not_found_by_any_method(
    recorder: SlackRecorder, client: WebClient
) -> None:
    recorder.remove_channel("C0GONE")

    for call in (
        lambda: client.conversations_info(channel="C0GONE"),
        lambda: client.chat_postMessage(channel="C0GONE", text="hi"),
    ):
        with pytest.raises(SlackApiError) as refused:
            call()
        assert refused.value.response["error"] == "channel_not_found"


def test_conversations_info_shows_membership_and_hides_private_channels_from_outsiders(
    recorder: SlackRecorder, client: WebClient
) -> None:
    recorder.remove_bot_from("C0GENERAL")
    recorder.remove_bot_from("G0SECRET")

    assert client.conversations_info(channel="C0GENERAL")["channel"]["is_member"] is False
    assert client.conversations_info(channel="C0SUPPORT")["channel"]["is_member"] is True
    with pytest.raises(SlackApiError) as refused:
        client.conversations_info(channel="G0SECRET")
    assert refused.value.response["error"] == "channel_not_found"


def test_granted_scopes_come_back_in_the_x_oauth_scopes_header(
    recorder: SlackRecorder, client: WebClient
) -> None:
    recorder.grant_scopes(["chat:write", "commands"])

    assert client.auth_test().headers["x-oauth-scopes"] == "chat:write,commands"


# --- Socket Mode: slack_sdk's own aiohttp client against the recorder's websocket ----------


def test_apps_connections_open_takes_only_the_app_token(recorder: SlackRecorder) -> None:
    client = WebClient(base_url=recorder.api_url)

    url = client.apps_connections_open(app_token=DEFAULT_APP_TOKEN)["url"]

    assert url.startswith(f"{recorder.socket_mode.url}/link/?ticket=")
    for token, error in [
        (DEFAULT_BOT_TOKEN, "not_allowed_token_type"),
        ("xapp-1-x", "invalid_auth"),
    ]:
        with pytest.raises(SlackApiError) as refused:
            client.apps_connections_open(app_token=token)
        assert refused.value.response["error"] == error


@contextlib.asynccontextmanager
async def socket_client(
    recorder: SlackRecorder, answer: Callable[[SocketModeRequest], SocketModeResponse | None]
) -> AsyncIterator[list[dict[str, Any]]]:
    """slack_sdk's aiohttp Socket Mode client, connected; `answer` builds each ack. Yields the
    messages it received."""
    received: list[dict[str, Any]] = []
    client = SocketModeClient(
        app_token=DEFAULT_APP_TOKEN, web_client=AsyncWebClient(base_url=recorder.api_url)
    )

    async def note(client: Any, message: dict[str, Any], raw: str | None) -> None:
        received.append(message)

    async def ack(client: Any, request: SocketModeRequest) -> None:
        response = answer(request)
        if response is not None:
            await client.send_socket_mode_response(response)

    client.message_listeners.append(note)
    client.socket_mode_request_listeners.append(ack)
    await client.connect()
    try:
        yield received
    finally:
        await client.close()


@pytest.mark.anyio
async def test_a_socket_mode_client_is_greeted_and_its_acks_are_recorded(
    recorder: SlackRecorder,
) -> None:
    def ephemeral(request: SocketModeRequest) -> SocketModeResponse:
        return SocketModeResponse(request.envelope_id, {"text": f"got {request.type}"})

    async with socket_client(recorder, ephemeral) as received:
        payload = {"command": "/qtvoice", "text": "help"}
        ack = await anyio.to_thread.run_sync(
            lambda: recorder.socket_mode.push("slash_commands", payload)
        )

    assert received[0]["type"] == "hello"
    assert received[0]["connection_info"] == {"app_id": APP_ID}
    envelope = received[1]
    assert envelope["type"] == "slash_commands"
    assert envelope["payload"] == payload
    assert envelope["accepts_response_payload"] is True
    assert ack is not None
    assert ack.envelope_id == envelope["envelope_id"]
    assert ack.payload == {"text": "got slash_commands"}
    assert ack.on_time
    assert recorder.socket_mode.acks() == [ack]
    assert recorder.socket_mode.unacked() == []


@pytest.mark.anyio
async def test_an_ack_naming_another_envelope_leaves_the_envelope_unacked(
    recorder: SlackRecorder,
) -> None:
    """Three real seconds: Slack's deadline is what is being checked."""

    def wrong_id(request: SocketModeRequest) -> SocketModeResponse:
        return SocketModeResponse("not-" + request.envelope_id)

    async with socket_client(recorder, wrong_id):
        event = {"type": "event_callback", "event": {"type": "app_mention"}}
        ack = await anyio.to_thread.run_sync(lambda: recorder.socket_mode.push("events_api", event))

    assert ack is None
    assert [e["payload"] for e in recorder.socket_mode.unacked()] == [event]
    assert len(recorder.socket_mode.unmatched()) == 1


@pytest.mark.anyio
async def test_a_socket_mode_url_admits_one_connection(recorder: SlackRecorder) -> None:
    url = WebClient(base_url=recorder.api_url).apps_connections_open(app_token=DEFAULT_APP_TOKEN)
    async with aiohttp.ClientSession() as session, session.ws_connect(url["url"]) as first:
        hello = await first.receive_json()
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(url["url"])

    assert hello["type"] == "hello"
    assert refused.value.status == 401
    assert recorder.socket_mode.refused_connections == 1


# -- files: the external upload slack_sdk's files_upload_v2 makes


def test_files_upload_v2_lands_the_file_in_the_thread_once(
    client: WebClient, recorder: SlackRecorder
) -> None:
    parent = post(client, "voicemail")

    uploaded = client.files_upload_v2(
        content=b"ID3 audio", filename="a.mp3", channel=GENERAL, thread_ts=parent["ts"]
    )

    file_id = uploaded["files"][0]["id"]
    [reply] = recorder.thread(GENERAL, parent["ts"])[1:]
    assert [file["id"] for file in reply["files"]] == [file_id]
    assert recorder.uploaded(file_id) == b"ID3 audio"
    shares = client.files_info(file=file_id)["file"]["shares"]
    assert list(shares["public"]) == [GENERAL]
    with pytest.raises(SlackApiError, match="file_already_completed"):
        client.files_completeUploadExternal(files=[{"id": file_id}], channel_id=GENERAL)


def test_a_lost_answer_still_does_the_call(client: WebClient, recorder: SlackRecorder) -> None:
    recorder.lose_answer("chat.postMessage")

    with pytest.raises(SlackApiError):
        post(client, "landed anyway")

    assert [m["text"] for m in recorder.messages(GENERAL)] == ["landed anyway"]


def test_a_refused_block_type_is_invalid_blocks(client: WebClient, recorder: SlackRecorder) -> None:
    recorder.refuse_block_type("table")

    with pytest.raises(SlackApiError, match="invalid_blocks"):
        post(client, blocks=[{"type": "table", "rows": []}])
    assert post(client, blocks=[{"type": "divider"}])["ok"]
