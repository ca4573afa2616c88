"""Slash commands through real HTTP: Slack-signed commands in, the sandboxes record what happened.

Every answer arrives through the response URL and must be ephemeral; QTvoice's side is read
back from the sandbox's request log.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot.config import Settings
from bot.sandbox.qtvoice import ALICE_LINE, JANE_ROE, JOHN_DOE, STRANGER, QTvoiceSandbox
from bot.sandbox.slack import DEFAULT_USERS, SlackRecorder, SlackUser
from bot.sandbox.slack.driver import SlackRequest
from bot.sandbox.slack.team import APP_ID, TEAM_ID
from bot.slack.buttons import ButtonCodec, ButtonValue
from tests.conftest import ADMIN, BOT_TOKEN, NOTIFY_CHANNEL, SIGNING_SECRET, RunningBot, start_bot

CODEC = ButtonCodec.for_signing_secret(SIGNING_SECRET)


ACK_DEADLINE_SECONDS = 3.0


@pytest.fixture
def slack() -> Iterator[SlackRecorder]:
    """The default workspace plus the admin and a member whose profile has no email."""
    users = [
        *DEFAULT_USERS,
        SlackUser(ADMIN, "admin", "Ada Admin", "ada@example.com"),
        SlackUser("U0CAROL", "carol", "Carol Cole"),
    ]
    with SlackRecorder(bot_token=BOT_TOKEN, users=users) as recorder:
        yield recorder


@dataclass
class Slash:
    """Types slash commands as a Slack user and reads the bot's ephemeral answer."""

    bot: RunningBot
    recorder: SlackRecorder

    def __call__(self, text: str, *, command: str = "/qtvoice", user: str = "U0ALICE") -> str:
        return self.reply(text, command=command, user=user)["text"]

    def reply(
        self, text: str, *, command: str = "/qtvoice", user: str = "U0ALICE"
    ) -> dict[str, Any]:
        delivery = self.bot.slack.slash_command(command, text, user_id=user)
        assert delivery.status_code == 200
        key = delivery.response_url_key
        assert key is not None
        answer = self.recorder.wait_for(lambda: self.recorder.responses(key))[0]
        assert answer["response_type"] == "ephemeral"
        return answer


@pytest.fixture
def slash(bot: RunningBot, slack: SlackRecorder) -> Slash:
    return Slash(bot, slack)


def buttons(message: dict[str, Any], action_id: str) -> list[dict[str, Any]]:
    found = []
    for block in message.get("blocks") or []:
        for element in [*(block.get("elements") or []), block.get("accessory") or {}]:
            if element.get("action_id") == action_id:
                found.append(element)
    return found


def sent(qtvoice: QTvoiceSandbox, path: str) -> list[dict[str, Any]]:
    return [request.json for request in qtvoice.state.requests("POST", path)]


# help


def test_help_lists_every_everyday_command(slash: Slash) -> None:
    answer = slash("help")
    for usage in ("/call", "/sms", "/contact", "link", "unlink", "whoami", "voicemails"):
        assert usage in answer


def test_bare_qtvoice_shows_help(slash: Slash) -> None:
    assert "/call" in slash("")


def test_unknown_subcommand_gets_help_with_a_hint(slash: Slash) -> None:
    answer = slash("dance &lt;!channel&gt;")
    assert "I don't know `dance`" in answer
    assert "/sms" in answer


def test_admin_commands_are_listed_for_admins_only(slash: Slash) -> None:
    assert "route" not in slash("help")
    admin_help = slash("help", user=ADMIN)
    assert "/qtvoice route" in admin_help
    assert "`missed`" in admin_help


# call


def test_call_dials_from_the_users_extension(slash: Slash, qtvoice: QTvoiceSandbox) -> None:
    slash("link 101")

    answer = slash("call (215) 555-1234")

    assert sent(qtvoice, "/calls") == [{"to": JOHN_DOE, "extension_id": "ext_101"}]
    assert "(215) 555-1234" in answer
    assert "*101* (Alice Jones)" in answer


def test_call_alias_dials(slash: Slash, qtvoice: QTvoiceSandbox) -> None:
    slash("link 101")

    slash("215.555.9876", command="/call")

    assert sent(qtvoice, "/calls") == [{"to": JANE_ROE, "extension_id": "ext_101"}]


@pytest.mark.parametrize(
    "typed",
    [
        "215\u2011555\u20111234",
        "215\u2013555\u20131234",
        "\uff12\uff11\uff15 \uff15\uff15\uff15 \uff11\uff12\uff13\uff14",
        "tel:215-555-1234",
    ],
)
def test_call_to_a_pasted_number_dials_it_rather_than_searching_names(
    slash: Slash, qtvoice: QTvoiceSandbox, typed: str
) -> None:
    slash("link \uff11\uff10\uff11")

    slash(typed, command="/call")

    assert sent(qtvoice, "/calls") == [{"to": JOHN_DOE, "extension_id": "ext_101"}]


def test_call_by_a_unique_name_dials_the_contact(slash: Slash, qtvoice: QTvoiceSandbox) -> None:
    slash("link 101")

    answer = slash("Jane Roe", command="/call")

    assert sent(qtvoice, "/calls")[0]["to"] == JANE_ROE
    assert "*Jane Roe*" in answer


def test_call_by_a_shared_name_offers_a_picker(slash: Slash, qtvoice: QTvoiceSandbox) -> None:
    slash("link 101")

    picker = slash.reply("John", command="/call")

    values = [CODEC.decode(button["value"]) for button in buttons(picker, "pick_contact")]
    assert ButtonValue(number=JOHN_DOE, purpose="call") in values
    assert len(values) == 2
    assert sent(qtvoice, "/calls") == []


def test_call_to_an_unknown_name_says_so(slash: Slash) -> None:
    slash("link 101")
    assert "No contact matches “Nobody Atall”" in slash("Nobody Atall", command="/call")


def test_unlinked_user_who_dials_is_told_how_to_link(slash: Slash, qtvoice: QTvoiceSandbox) -> None:
    answer = slash("2155551234", command="/call")

    assert "/qtvoice link" in answer
    assert sent(qtvoice, "/calls") == []


def test_bad_number_is_refused(slash: Slash, qtvoice: QTvoiceSandbox) -> None:
    slash("link 101")

    answer = slash("555-12", command="/call")

    assert "doesn't look like a phone number" in answer
    assert sent(qtvoice, "/calls") == []


def test_call_without_a_target_says_what_to_type(slash: Slash) -> None:
    assert "/call 215-555-1234" in slash("call")


@pytest.mark.parametrize(
    ("status", "sentence"),
    [
        (401, "rejected the bot's API key"),
        (403, "doesn't have permission"),
        (404, "couldn't find that"),
        (429, "busy right now"),
        (500, "may or may not have gone through"),
    ],
)
def test_qtvoice_error_becomes_one_friendly_sentence(
    slash: Slash, qtvoice: QTvoiceSandbox, status: int, sentence: str
) -> None:
    slash("link 101")
    qtvoice.state.fail_next("POST", "/calls", status, retry_after=120)

    answer = slash("2155551234", command="/call")

    assert sentence in answer
    assert "\n" not in answer


def test_slow_qtvoice_still_acks_within_three_seconds(
    bot: RunningBot, slack: SlackRecorder, slash: Slash, qtvoice: QTvoiceSandbox
) -> None:
    slash("link 101")
    qtvoice.state.delay("POST", "/calls", 10)
    try:
        started = time.monotonic()
        delivery = bot.slack.slash_command("/call", "2155551234")
        elapsed = time.monotonic() - started
    finally:
        qtvoice.state.clear_delays()

    assert delivery.status_code == 200
    assert elapsed < ACK_DEADLINE_SECONDS
    key = delivery.response_url_key
    assert key is not None
    slack.wait_for(lambda: slack.responses(key))


# sms


def test_sms_sends_the_text_and_shows_it_escaped(slash: Slash, qtvoice: QTvoiceSandbox) -> None:
    slash("link 101")

    # Slack escapes &, < and > in command text before sending it.
    answer = slash("sms 215 555 1234 Hi &lt;!channel&gt; &amp; co")

    assert sent(qtvoice, "/sms") == [
        {"to": JOHN_DOE, "message": "Hi <!channel> & co", "from": ALICE_LINE}
    ]
    assert "(215) 555-1234" in answer
    assert "Hi &lt;!channel&gt; &amp; co" in answer
    assert "<!channel>" not in answer


def test_sms_alias_keeps_the_texts_line_breaks(slash: Slash, qtvoice: QTvoiceSandbox) -> None:
    slash("link 101")

    slash("+12155559876 first line\nsecond line", command="/sms")

    assert sent(qtvoice, "/sms")[0]["message"] == "first line\nsecond line"


def test_sms_to_a_quoted_name_texts_that_contact(slash: Slash, qtvoice: QTvoiceSandbox) -> None:
    slash("link 101")

    slash("“Jane Roe” See you Tuesday", command="/sms")

    assert sent(qtvoice, "/sms")[0]["to"] == JANE_ROE
    assert sent(qtvoice, "/sms")[0]["message"] == "See you Tuesday"


def test_sms_to_a_shared_name_carries_the_text_in_the_picker(
    slash: Slash, qtvoice: QTvoiceSandbox
) -> None:
    slash("link 101")

    picker = slash.reply("John: running late", command="/sms")

    values = [CODEC.decode(button["value"]) for button in buttons(picker, "pick_contact")]
    assert ButtonValue(number=JOHN_DOE, purpose="sms", text="running late") in values
    assert sent(qtvoice, "/sms") == []


def test_sms_whose_trailing_digits_could_belong_to_the_number_asks_which_reading(
    bot: RunningBot, slack: SlackRecorder, slash: Slash, qtvoice: QTvoiceSandbox
) -> None:
    """In variable-length plans "+49 30 1234567 20" is a number too: both readings are offered."""
    slash("link 101")

    question = slash.reply("+49 30 1234567 20 Minuten später", command="/sms")

    choices = {
        CODEC.decode(button["value"]): button for button in buttons(question, "pick_contact")
    }
    longer = ButtonValue(number="+4930123456720", purpose="sms", text="Minuten später")
    shorter = ButtonValue(number="+49301234567", purpose="sms", text="20 Minuten später")
    assert set(choices) == {longer, shorter}
    assert sent(qtvoice, "/sms") == []

    click = bot.slack.block_action(
        "pick_contact", choices[shorter]["value"], message_ts="1.0", message=question
    )

    assert click.status_code == 200
    slack.wait_for(lambda: sent(qtvoice, "/sms"))
    assert [(text["to"], text["message"]) for text in sent(qtvoice, "/sms")] == [
        ("+49301234567", "20 Minuten später")
    ]


def test_sms_whose_number_reads_one_way_only_is_sent_without_asking(
    slash: Slash, qtvoice: QTvoiceSandbox
) -> None:
    slash("link 101")

    slash("215 555 1234 20 minutes late", command="/sms")

    assert [(text["to"], text["message"]) for text in sent(qtvoice, "/sms")] == [
        (JOHN_DOE, "20 minutes late")
    ]


def test_sms_text_in_slack_markup_is_sent_as_typed(slash: Slash, qtvoice: QTvoiceSandbox) -> None:
    slash("link 101")

    slash("215 555 1234 :+1: <@U0BOB> has it &lt;3", command="/sms")

    assert [text["message"] for text in sent(qtvoice, "/sms")] == ["\U0001f44d bob has it <3"]


def test_sms_without_text_says_what_to_type(slash: Slash, qtvoice: QTvoiceSandbox) -> None:
    slash("link 101")

    assert "What should the text say?" in slash("2155551234", command="/sms")
    assert sent(qtvoice, "/sms") == []


def test_unlinked_user_who_texts_is_told_how_to_link(slash: Slash, qtvoice: QTvoiceSandbox) -> None:
    assert "/qtvoice link" in slash("2155551234 hello", command="/sms")
    assert sent(qtvoice, "/sms") == []


def test_number_that_texted_stop_cannot_be_texted(
    bot: RunningBot, slack: SlackRecorder, slash: Slash, qtvoice: QTvoiceSandbox
) -> None:
    slash("link 101")
    bot.send("sms.received", id="sms_stop", from_=STRANGER, message="STOP")
    slack.wait_for(lambda: any("STOP" in (m["text"] or "") for m in slack.messages(NOTIFY_CHANNEL)))

    answer = slash("215-555-7777 are you still there?", command="/sms")

    assert "opted out" in answer
    assert "START" in answer
    assert sent(qtvoice, "/sms") == []


def test_texts_beyond_the_per_minute_limit_are_refused(
    settings: Settings, slack: SlackRecorder, qtvoice: QTvoiceSandbox
) -> None:
    limited = settings.model_copy(update={"sms_per_minute": 2})
    running = start_bot(limited, slack, run_worker=False)
    try:
        slash = Slash(running, slack)
        slash("link 101")
        for attempt in range(2):
            assert "Text sent" in slash(f"2155551234 update {attempt}", command="/sms")

        answer = slash("2155551234 one more", command="/sms")
    finally:
        running.stop()

    assert "2 texts in the last minute" in answer
    assert len(sent(qtvoice, "/sms")) == 2


def test_qtvoice_error_on_sms_becomes_one_sentence(slash: Slash, qtvoice: QTvoiceSandbox) -> None:
    slash("link 101")
    qtvoice.state.fail_next("POST", "/sms", 403)

    assert "doesn't have permission" in slash("2155551234 hello", command="/sms")


# contact


def test_contact_by_number_shows_the_card_with_call_and_text(slash: Slash) -> None:
    card = slash.reply("contact 215-555-1234")

    assert "John Doe" in card["text"]
    assert CODEC.decode(buttons(card, "contact_call")[0]["value"]) == ButtonValue(number=JOHN_DOE)
    assert buttons(card, "contact_text")


def test_contact_alias_by_name_shows_the_card(slash: Slash, qtvoice: QTvoiceSandbox) -> None:
    card = slash.reply("Globex", command="/contact")

    assert "Jane Roe" in card["text"]
    assert qtvoice.state.requests("GET", "/contacts/lookup")


def test_contact_by_a_shared_name_offers_a_picker(slash: Slash) -> None:
    picker = slash.reply("John", command="/contact")

    values = [CODEC.decode(button["value"]) for button in buttons(picker, "pick_contact")]
    assert all(value is not None and value.purpose == "contact" for value in values)
    assert len(values) == 2


def test_contact_for_a_number_nobody_has_says_so(slash: Slash) -> None:
    assert "No contact found" in slash("2155550000", command="/contact")


# link, unlink, whoami


def test_link_by_extension_id(slash: Slash) -> None:
    assert "You're linked to extension *102* (Bob Smith)" in slash("link ext_102", user="U0BOB")
    assert "*102* (Bob Smith), line (215) 555-0102" in slash("whoami", user="U0BOB")


def test_link_by_extension_number_then_dial(slash: Slash, qtvoice: QTvoiceSandbox) -> None:
    slash("link <@U0ALICE> 100", user=ADMIN)
    slash("2155551234", command="/call")
    assert sent(qtvoice, "/calls")[0]["extension_id"] == "ext_100"


def dms(slack: SlackRecorder, user: str) -> list[str]:
    """The texts of the direct messages the bot sent `user`."""
    return [message["text"] for message in slack.messages(slack.im_channel(user))]


def test_linking_yourself_to_an_extension_someone_holds_is_refused_naming_them(
    slash: Slash, slack: SlackRecorder
) -> None:
    slash("link 102", user="U0BOB")

    answer = slash("link 102")

    assert "<@U0BOB>" in answer
    assert "haven't linked" in slash("whoami")
    assert "*102*" in slash("whoami", user="U0BOB")


def test_linking_yourself_to_an_extension_that_is_not_yours_is_refused_naming_an_admin(
    slash: Slash,
) -> None:
    """Extension 102's email is Bob's, not Alice's: only an admin may give it to her."""
    answer = slash("link 102")

    assert f"<@{ADMIN}>" in answer
    assert "haven't linked" in slash("whoami")


def test_an_admin_linking_someone_to_a_held_extension_tells_its_holder(
    slash: Slash, slack: SlackRecorder
) -> None:
    slash("link 102", user="U0BOB")

    assert "is now linked" in slash("link <@U0ALICE> 102", user=ADMIN)

    told = slack.wait_for(lambda: dms(slack, "U0BOB"))
    assert "<@U0ALICE>" in told[0]
    assert "*102*" in told[0]
    assert f"<@{ADMIN}>" in told[0]
    assert "*102*" in slack.wait_for(lambda: dms(slack, "U0ALICE"))[0]


def test_an_admin_unlinking_someone_tells_them(slash: Slash, slack: SlackRecorder) -> None:
    slash("link 102", user="U0BOB")

    slash("unlink <@U0BOB>", user=ADMIN)

    told = slack.wait_for(lambda: dms(slack, "U0BOB"))
    assert "no longer linked" in told[0]
    assert f"<@{ADMIN}>" in told[0]


def test_the_link_offer_is_refused_once_someone_else_holds_the_extension(
    bot: RunningBot, slack: SlackRecorder, slash: Slash
) -> None:
    slash.reply("link")
    offer = slack.ephemerals("U0ALICE")[-1]
    [button] = buttons(offer, "link_extension")
    slash("link <@U0BOB> 101", user=ADMIN)

    click = bot.slack.block_action(
        "link_extension", button["value"], message_ts=offer["ts"], message=offer
    )

    key = click.response_url_key
    assert key is not None
    assert "<@U0BOB>" in slack.wait_for(lambda: slack.responses(key))[0]["text"]
    assert "haven't linked" in slash("whoami")


def test_link_to_an_unknown_extension_is_refused(slash: Slash) -> None:
    assert "There's no extension “999”" in slash("link 999")
    assert "haven't linked" in slash("whoami")


def test_link_without_argument_offers_the_extension_matching_the_email(
    bot: RunningBot, slack: SlackRecorder, slash: Slash
) -> None:
    slash.reply("link")
    offer = slack.ephemerals("U0ALICE")[-1]
    [button] = buttons(offer, "link_extension")
    assert CODEC.decode(button["value"]) == ButtonValue(extension="ext_101")

    click = bot.slack.block_action(
        "link_extension", button["value"], message_ts=offer["ts"], message=offer
    )

    assert click.status_code == 200
    key = click.response_url_key
    assert key is not None
    confirmation = slack.wait_for(lambda: slack.responses(key))[0]
    assert "You're linked to extension *101*" in confirmation["text"]
    assert "*101* (Alice Jones)" in slash("whoami")


def test_link_without_argument_and_no_email_says_what_to_type(slash: Slash) -> None:
    assert "/qtvoice link <extension>" in slash("link", user="U0CAROL")


def test_admin_links_someone_else(slash: Slash) -> None:
    answer = slash("link <@U0BOB|bob> 102", user=ADMIN)

    assert "<@U0BOB> is now linked to extension *102*" in answer
    assert "*102* (Bob Smith)" in slash("whoami", user="U0BOB")


def test_non_admin_cannot_link_someone_else(slash: Slash) -> None:
    assert "Only QTvoice admins" in slash("link <@U0BOB|bob> 101")
    assert "haven't linked" in slash("whoami", user="U0BOB")


@pytest.mark.parametrize("user_id", ["215-555-0123 x45", "u0alice", "C0GENERAL", "U", ""])
def test_link_refuses_what_is_not_a_slack_user_id(slash: Slash, user_id: str) -> None:
    answer = slash("link 101", user=user_id)

    assert "isn't a Slack user I can link" in answer
    assert "haven't linked" in slash("whoami", user=user_id)


def test_unlink_removes_the_link(slash: Slash) -> None:
    slash("link 101")

    assert "no longer linked to extension *101*" in slash("unlink")
    assert "haven't linked" in slash("whoami")


def test_unlink_when_not_linked_says_so(slash: Slash) -> None:
    assert "weren't linked" in slash("unlink")


# routes


def test_route_routes_unroute_round_trip(slash: Slash) -> None:
    added = slash("route 101 <#C0SUPPORT|support> missed voicemail", user=ADMIN)
    assert "<#C0SUPPORT>" in added
    assert "`call.missed`" in added

    listed = slash("routes", user=ADMIN)
    assert "Extension `ext_101` → <#C0SUPPORT>" in listed

    assert "removed 1 route for Extension *101*" in slash("unroute 101", user=ADMIN)
    assert "No routes yet" in slash("routes", user=ADMIN)


def test_route_by_number_is_stored_in_e164(slash: Slash) -> None:
    slash("route (215) 555-0100 <#C0GENERAL|general>", user=ADMIN)

    listed = slash("routes", user=ADMIN)

    assert "(215) 555-0100 → <#C0GENERAL>: missed calls, voicemails and texts" in listed


def test_routed_event_reaches_the_routes_channel(
    bot: RunningBot, slack: SlackRecorder, slash: Slash
) -> None:
    slash("route ext_101 <#C0SUPPORT|support> missed", user=ADMIN)

    bot.send("call.missed", id="call_routed", extensionId="ext_101")

    slack.wait_for(lambda: slack.messages("C0SUPPORT"))
    assert slack.messages(NOTIFY_CHANNEL) == []


def test_route_with_an_unknown_kind_names_the_valid_words(slash: Slash) -> None:
    answer = slash("route 101 <#C0SUPPORT|support> faxes", user=ADMIN)

    assert "“faxes” isn't an event kind" in answer
    assert "`missed`" in answer
    assert "No routes yet" in slash("routes", user=ADMIN)


def test_route_without_a_channel_says_what_to_type(slash: Slash) -> None:
    assert "/qtvoice route 101 #support" in slash("route 101", user=ADMIN)


def test_route_to_an_unknown_target_is_refused(slash: Slash) -> None:
    assert "neither a phone number nor an extension" in slash(
        "route 999 <#C0SUPPORT|support>", user=ADMIN
    )


def test_unroute_of_a_missing_route_says_so(slash: Slash) -> None:
    assert "There was no route" in slash("unroute 101", user=ADMIN)


@pytest.mark.parametrize("text", ["route 101 <#C0SUPPORT|support>", "routes", "unroute 101"])
def test_non_admin_cannot_manage_routes(slash: Slash, text: str) -> None:
    assert "Only QTvoice admins" in slash(text)


# voicemails


def test_voicemails_lists_the_users_unread_ones(slash: Slash, qtvoice: QTvoiceSandbox) -> None:
    qtvoice.state.add_voicemail(STRANGER, ALICE_LINE, transcription="Call me <!here>")
    slash("link 102", user="U0BOB")

    listing = slash.reply("voicemails", user="U0BOB")

    shown = json.dumps(listing["blocks"])
    assert "You have 2 unread voicemails" in listing["text"]
    assert "Hi Bob, it's John from Acme" in shown
    assert "&lt;!here&gt;" in shown
    assert "Front Desk" not in shown
    assert buttons(listing, "call_back")
    assert not buttons(listing, "mark_handled")


def test_voicemails_when_none_are_unread(slash: Slash) -> None:
    slash("link 101")
    assert "No unread voicemails" in slash("voicemails")


def test_voicemails_for_an_unlinked_user_says_how_to_link(slash: Slash) -> None:
    assert "/qtvoice link" in slash("voicemails")


# status


def test_status_shows_deliveries_last_webhook_and_api_budget(
    bot: RunningBot, slack: SlackRecorder, slash: Slash
) -> None:
    bot.send("call.missed", id="call_status")
    slack.wait_for(lambda: slack.messages(NOTIFY_CHANNEL))
    slash("contact 2155551234")  # any QTvoice answer reports the budget

    def once_finished() -> str | None:
        # The worker marks the delivery done a moment after its message reaches Slack.
        answer = slash("status", user=ADMIN)
        return answer if "Deliveries waiting: 0" in answer else None

    answer = slack.wait_for(once_finished)

    assert "Deliveries waiting: 0 · failed: 0" in answer
    assert "Last webhook:" in answer
    assert "none received yet" not in answer
    assert "requests left" in answer


def test_status_is_for_admins_only(slash: Slash) -> None:
    assert "Only QTvoice admins" in slash("status")


def test_a_response_url_that_cannot_be_reached_is_one_warning_not_a_traceback(
    bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    # Slack's response URLs expire; a signed command may also carry one nobody listens on.
    form = {
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "channel_id": "C0GENERAL",
        "user_id": "U0ALICE",
        "user_name": "alice",
        "command": "/qtvoice",
        "text": "help",
        "response_url": "http://127.0.0.1:9/commands/dead",
        "trigger_id": "1.2.3",
    }
    with caplog.at_level("WARNING"):
        delivery = bot.slack.deliver(SlackRequest("slash_commands", form))
        assert delivery.status_code == 200
        deadline = time.monotonic() + 10
        while "response URL" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)

    [warning] = [record for record in caplog.records if "response URL" in record.getMessage()]
    assert warning.exc_info is None
    assert "Traceback" not in caplog.text


def test_a_command_under_way_when_the_bot_stops_is_answered_before_it_stops(
    settings: Settings, slack: SlackRecorder, qtvoice: QTvoiceSandbox
) -> None:
    """Bolt runs the listener after the ack, in a task nothing awaits: stopping must let it
    finish, not cancel it (and drop its database connection open)."""
    bot = start_bot(settings, slack)
    try:
        bot.link()
        qtvoice.state.delay("POST", "/calls", 1.0)
        asked = bot.slack.slash_command("/call", "215.555.9876", user_id="U0ALICE")
        assert asked.status_code == 200
        slack.wait_for(lambda: qtvoice.state.requests("POST", "/calls"))  # under way
    finally:
        bot.stop()
    key = asked.response_url_key
    assert key is not None
    assert "Calling" in slack.responses(key)[0]["text"]
