"""Every button, clicked through real HTTP on the messages the bot really posted.

Missed calls and SMS threads come from webhooks the worker turns into messages; contact
cards and pickers from slash commands. Answers to the clicking user are read from the
response URL; QTvoice's side from the sandbox's request log.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, delete, update

from bot.sandbox.qtvoice import JANE_ROE, QTvoiceSandbox
from bot.sandbox.samples import CUSTOMER_NUMBER, MAIN_LINE
from bot.sandbox.slack import SlackRecorder
from bot.slack.buttons import ButtonCodec, ButtonValue
from bot.store.deliveries import PENDING
from bot.store.models import InboxEvent, OpenItem, PostedMessage, utcnow
from tests.conftest import NOTIFY_CHANNEL, SIGNING_SECRET, RunningBot
from tests.helpers.slack import answer, button, click, posted_message

CODEC = ButtonCodec.for_signing_secret(SIGNING_SECRET)


def calls_placed(qtvoice: QTvoiceSandbox) -> list[Any]:
    return [request.json for request in qtvoice.state.requests("POST", "/calls")]


def texts(qtvoice: QTvoiceSandbox) -> list[Any]:
    return [request.json for request in qtvoice.state.requests("POST", "/sms")]


@pytest.fixture
def missed_call(bot: RunningBot, slack: SlackRecorder) -> dict[str, Any]:
    assert bot.send("call.missed").status_code == 200
    return posted_message(slack, bot)


@pytest.fixture
def sms_thread(bot: RunningBot, slack: SlackRecorder) -> dict[str, Any]:
    assert bot.send("sms.received", message="Are you open today?").status_code == 200
    slack.wait_for(lambda: len(slack.messages(NOTIFY_CHANNEL)) >= 2)
    return slack.messages(NOTIFY_CHANNEL)[0]


def modal(slack: SlackRecorder) -> dict[str, Any]:
    return slack.wait_for(lambda: slack.views_opened("U0ALICE"))[-1]


def private_metadata(view: dict[str, Any]) -> dict[str, Any]:
    """The fields of a modal's metadata, once its seal is known to hold."""
    raw = view["private_metadata"]
    assert CODEC.decode(raw) is not None
    return {key: item for key, item in json.loads(raw).items() if key not in ("v", "s")}


# Call back


def test_call_back_dials_the_caller_from_the_clickers_extension(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox, missed_call: dict[str, Any]
) -> None:
    bot.link()

    told = answer(slack, click(bot, missed_call, "call_back"))

    assert calls_placed(qtvoice) == [{"to": CUSTOMER_NUMBER, "extension_id": "ext_101"}]
    assert "Calling (215) 555-1234" in told["text"]


def test_call_back_by_an_unlinked_user_says_how_to_link(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox, missed_call: dict[str, Any]
) -> None:
    told = answer(slack, click(bot, missed_call, "call_back", user="U0BOB"))

    assert "/qtvoice link" in told["text"]
    assert calls_placed(qtvoice) == []


def test_call_back_qtvoice_error_is_one_friendly_sentence(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox, missed_call: dict[str, Any]
) -> None:
    bot.link()
    qtvoice.state.fail_next("POST", "/calls", 403)

    told = answer(slack, click(bot, missed_call, "call_back"))

    assert told["text"] == (
        "⚠️ The bot's QTvoice API key doesn't have permission for that;"
        " please ask an admin to grant it."
    )


def test_call_back_shows_who_is_on_it_and_keeps_the_buttons(
    bot: RunningBot, slack: SlackRecorder, missed_call: dict[str, Any]
) -> None:
    """Calling back is taking it (issue 20): the message says by whom, and can still be
    called back, texted back or handled."""
    bot.link()

    answer(slack, click(bot, missed_call, "call_back"))

    def ownership(message: dict[str, Any]) -> str:
        notes = [b for b in message["blocks"] if b.get("block_id") == "ownership"]
        return json.dumps(notes)

    def buttons(message: dict[str, Any]) -> list[str]:
        return [
            element["action_id"]
            for block in message["blocks"]
            for element in block.get("elements") or []
            if element.get("type") == "button"
        ]

    now = slack.wait_for(lambda: slack.message(NOTIFY_CHANNEL, missed_call["ts"]))
    slack.wait_for(
        lambda: "<@U0ALICE>" in ownership(slack.message(NOTIFY_CHANNEL, missed_call["ts"]) or now)
    )
    assert {"call_back", "text_back", "mark_handled"} <= set(
        buttons(slack.message(NOTIFY_CHANNEL, missed_call["ts"]) or now)
    )
    assert len(slack.messages(NOTIFY_CHANNEL)) == 1


# Text back and Reply


def test_text_back_opens_the_sms_modal_for_the_caller_and_line(
    bot: RunningBot, slack: SlackRecorder, missed_call: dict[str, Any]
) -> None:
    bot.link()

    click(bot, missed_call, "text_back")

    view = modal(slack)
    assert view["callback_id"] == "sms_send"
    assert private_metadata(view) == {"n": CUSTOMER_NUMBER, "l": MAIN_LINE, "c": NOTIFY_CHANNEL}


def test_text_back_modal_shows_the_conversation_newest_last(
    bot: RunningBot, slack: SlackRecorder, missed_call: dict[str, Any]
) -> None:
    bot.link()

    click(bot, missed_call, "text_back")

    history = filled_in_history(slack)
    assert history.index("can you send over the quote?") < history.index(
        "on its way this afternoon"
    )


def filled_in_history(slack: SlackRecorder) -> str:
    """The modal's conversation once QTvoice's answer has been filled in."""

    def history() -> str:
        block = next(b for b in modal(slack)["blocks"] if b["block_id"] == "sms_history")
        text = str((block.get("text") or block["elements"][0])["text"])
        return text if "Recent messages" in text else ""

    return slack.wait_for(history)


def test_text_back_by_an_unlinked_user_opens_nothing(
    bot: RunningBot, slack: SlackRecorder, missed_call: dict[str, Any]
) -> None:
    told = answer(slack, click(bot, missed_call, "text_back", user="U0BOB"))

    assert "/qtvoice link" in told["text"]
    assert slack.views_opened() == []


def test_reply_opens_the_modal_for_the_threads_number_and_line(
    bot: RunningBot, slack: SlackRecorder, sms_thread: dict[str, Any]
) -> None:
    bot.link()

    click(bot, sms_thread, "sms_reply")

    metadata = private_metadata(modal(slack))
    assert (metadata["n"], metadata["l"]) == (CUSTOMER_NUMBER, MAIN_LINE)


def test_modal_slack_would_not_open_is_explained(
    bot: RunningBot, slack: SlackRecorder, missed_call: dict[str, Any]
) -> None:
    bot.link()
    slack.fail_next("views.open", error="expired_trigger_id")

    told = answer(slack, click(bot, missed_call, "text_back"))

    assert "press the button again" in told["text"]


# Mark handled

#: Slack user ids are upper-case letters and digits only; the note names only such an id.
HANDLER = "U0CAROL"


def test_mark_handled_shows_who_handled_it_and_removes_the_buttons(
    bot: RunningBot, slack: SlackRecorder, missed_call: dict[str, Any]
) -> None:
    click(bot, missed_call, "mark_handled", user=HANDLER)

    updated = slack.wait_for(
        lambda: [m for m in slack.messages(NOTIFY_CHANNEL) if m.get("edited")]
    )[0]
    kinds = [block["type"] for block in updated["blocks"]]
    assert "actions" not in kinds
    note = updated["blocks"][-1]["elements"][0]["text"]
    assert note.startswith(f"✅ Handled by <@{HANDLER}> at ")
    assert updated["text"] == missed_call["text"]


def test_mark_handled_twice_keeps_one_note(
    bot: RunningBot, slack: SlackRecorder, missed_call: dict[str, Any]
) -> None:
    click(bot, missed_call, "mark_handled")
    slack.wait_for(lambda: slack.calls("chat.update"))
    handled = slack.messages(NOTIFY_CHANNEL)[-1]

    bot.slack.block_action(
        "mark_handled", "{}", user_id=HANDLER, channel_id=NOTIFY_CHANNEL, message_ts=handled["ts"]
    )

    slack.wait_for(lambda: len(slack.calls("chat.update")) == 2)
    notes = [b for b in slack.messages(NOTIFY_CHANNEL)[-1]["blocks"] if b["block_id"] == "handled"]
    assert len(notes) == 1
    assert f"<@{HANDLER}>" in notes[0]["elements"][0]["text"]


def test_transcript_after_mark_handled_keeps_it_handled(
    bot: RunningBot, slack: SlackRecorder
) -> None:
    voicemail = bot.send("voicemail.new", transcription=None)
    posted = posted_message(slack, bot)
    click(bot, posted, "mark_handled", user=HANDLER)
    slack.wait_for(lambda: slack.calls("chat.update", ok=True))

    data = json.loads(voicemail.request.content)["data"]
    bot.send("voicemail.transcribed", id=data["id"], callId=data["callId"], transcription="Call me")

    def shows_transcript() -> dict[str, Any] | None:
        message = slack.message(NOTIFY_CHANNEL, posted["ts"])
        return message if message and "Call me" in json.dumps(message["blocks"]) else None

    final = slack.wait_for(shows_transcript)
    assert "actions" not in [block["type"] for block in final["blocks"]]
    assert f"Handled by <@{HANDLER}>" in json.dumps(final["blocks"])


# Contact cards


@pytest.fixture
def contact_card(bot: RunningBot, slack: SlackRecorder) -> dict[str, Any]:
    bot.link()
    return bot.command("/contact", "215-555-9876")


def test_contact_card_call_dials_the_contact(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox, contact_card: dict[str, Any]
) -> None:
    click(bot, contact_card, "contact_call", channel="C0GENERAL")

    slack.wait_for(lambda: calls_placed(qtvoice))
    assert calls_placed(qtvoice) == [{"to": JANE_ROE, "extension_id": "ext_101"}]


def test_contact_card_text_opens_the_modal_without_a_fixed_line(
    bot: RunningBot, slack: SlackRecorder, contact_card: dict[str, Any]
) -> None:
    click(bot, contact_card, "contact_text", channel="C0GENERAL")

    assert private_metadata(modal(slack)) == {"n": JANE_ROE, "c": "C0GENERAL"}


# Contact picker


def test_picking_a_contact_to_call_dials_them(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox
) -> None:
    bot.link()
    picker = bot.command("/call", "John")
    chosen = CODEC.decode(button(picker, "pick_contact")["value"])
    assert chosen is not None

    click(bot, picker, "pick_contact", channel="C0GENERAL")

    slack.wait_for(lambda: calls_placed(qtvoice))
    assert calls_placed(qtvoice) == [{"to": chosen.number, "extension_id": "ext_101"}]


def test_picking_a_contact_to_text_sends_the_typed_text(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox
) -> None:
    bot.link()
    picker = bot.command("/sms", "John See you at 3")

    told = answer(slack, click(bot, picker, "pick_contact", channel="C0GENERAL"))

    assert texts(qtvoice)[0]["message"] == "See you at 3"
    assert "Text sent" in told["text"]


def test_picking_a_contact_to_see_shows_their_card(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox
) -> None:
    picker = bot.command("/contact", "John")

    told = answer(slack, click(bot, picker, "pick_contact", channel="C0GENERAL"))

    assert told["text"].startswith("Contact: ")
    assert button(told, "contact_call")
    assert qtvoice.state.requests("GET", "/contacts/lookup")


def test_a_button_with_an_unreadable_value_says_it_is_out_of_date(
    bot: RunningBot, slack: SlackRecorder
) -> None:
    delivery = bot.slack.block_action(
        "call_back", "not json", channel_id=NOTIFY_CHANNEL, message_ts="1700000000.000100"
    )

    assert "out of date" in answer(slack, delivery)["text"]


PREMIUM = "+19005550123"
"""A +1 900 number: premium rate, and never one the bot put on a button."""


def forged_values(message: dict[str, Any], action_id: str) -> list[str]:
    """Values naming `PREMIUM` for the `action_id` button of `message`, every way a client
    could forge one: the old unsealed JSON, the bot's own sealed value with the number
    swapped, and a value sealed under another key."""
    sealed = json.loads(button(message, action_id)["value"])
    other = ButtonCodec.for_signing_secret("not our signing secret")
    return [
        json.dumps({"n": PREMIUM, "l": MAIN_LINE}),
        json.dumps({**sealed, "n": PREMIUM}),
        other.encode(ButtonValue(number=PREMIUM, line=MAIN_LINE)),
    ]


@pytest.mark.parametrize("action_id", ["call_back", "text_back"])
def test_a_forged_click_naming_a_number_the_bot_never_wrote_dials_nothing(
    bot: RunningBot,
    slack: SlackRecorder,
    qtvoice: QTvoiceSandbox,
    missed_call: dict[str, Any],
    action_id: str,
) -> None:
    bot.link()

    for forged in forged_values(missed_call, action_id):
        delivery = bot.slack.block_action(
            action_id,
            forged,
            channel_id=NOTIFY_CHANNEL,
            message_ts=missed_call["ts"],
            message=missed_call,
        )
        assert delivery.status_code == 200
        assert "out of date" in answer(slack, delivery)["text"]

    assert calls_placed(qtvoice) == []
    assert slack.views_opened("U0ALICE") == []


def test_a_forged_pick_naming_a_number_the_bot_never_wrote_dials_or_texts_nothing(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox
) -> None:
    bot.link()
    picker = bot.command("/sms", "John on my way")
    sealed = json.loads(button(picker, "pick_contact")["value"])
    forged = [
        json.dumps({"n": PREMIUM, "p": "call"}),
        json.dumps({**sealed, "n": PREMIUM, "p": "call"}),
        json.dumps({**sealed, "n": PREMIUM}),
    ]

    for value in forged:
        delivery = bot.slack.block_action(
            "pick_contact",
            value,
            channel_id="C0GENERAL",
            message_ts="1700000000.000200",
            message=picker,
        )
        assert "out of date" in answer(slack, delivery)["text"]

    assert calls_placed(qtvoice) == []
    assert texts(qtvoice) == []


def test_the_same_click_with_the_value_the_bot_wrote_does_dial(
    bot: RunningBot, qtvoice: QTvoiceSandbox, slack: SlackRecorder, missed_call: dict[str, Any]
) -> None:
    """The control for the forged clicks above: the unchanged value is dialed."""
    bot.link()

    answer(slack, click(bot, missed_call, "call_back"))

    assert calls_placed(qtvoice) == [{"to": CUSTOMER_NUMBER, "extension_id": "ext_101"}]


FORGED_BLOCKS = [
    {
        "type": "section",
        "block_id": "call_summary",
        "text": {"type": "mrkdwn", "text": "<!channel> wire $5,000 to <https://evil.example|us>"},
    },
    {
        "type": "actions",
        "block_id": "call_actions",
        "elements": [
            {
                "type": "button",
                "action_id": "mark_handled",
                "text": {"type": "plain_text", "text": "Mark handled"},
                "value": "{}",
            }
        ],
    },
]


@pytest.mark.parametrize("event", ["call.missed", "voicemail.new"])
def test_mark_handled_rebuilds_the_message_from_the_store_not_the_click(
    bot: RunningBot, slack: SlackRecorder, event: str
) -> None:
    assert bot.send(event).status_code == 200
    genuine = posted_message(slack, bot)
    forged = {**genuine, "text": "<!channel> forged", "blocks": FORGED_BLOCKS}

    click(bot, forged, "mark_handled", user=HANDLER)

    [update] = slack.wait_for(lambda: slack.calls("chat.update"))
    sent = json.dumps({"text": update.args["text"], "blocks": update.args["blocks"]})
    assert "<!channel>" not in sent
    assert "evil.example" not in sent
    assert update.args["text"] == genuine["text"]
    assert update.args["blocks"][:-1] == [
        block for block in genuine["blocks"] if block["type"] != "actions"
    ]


def test_mark_handled_on_a_message_the_bot_did_not_post_changes_nothing(
    bot: RunningBot, slack: SlackRecorder
) -> None:
    stranger = slack.post_as_user(NOTIFY_CHANNEL, "hello", user_id="U0BOB")
    message = {**stranger, "blocks": FORGED_BLOCKS}

    delivery = click(bot, message, "mark_handled", user=HANDLER)

    assert "out of date" in answer(slack, delivery)["text"]
    assert slack.calls("chat.update") == []


def test_mark_handled_on_a_post_whose_worker_died_before_recording_it_closes_it(
    bot: RunningBot, slack: SlackRecorder, missed_call: dict[str, Any], db: Engine
) -> None:
    """Slack answered the post, then its worker died before writing down where it landed: the
    message is the bot's all the same, known by the identity Slack keeps with it."""
    with db.begin() as connection:
        connection.execute(update(PostedMessage).values(ts=None))
        connection.execute(
            update(InboxEvent).values(
                state=PENDING, locked_by="died:1:abc", locked_until=utcnow() + timedelta(hours=1)
            )
        )

    delivery = click(bot, missed_call, "mark_handled", user=HANDLER)

    [update_call] = slack.wait_for(lambda: slack.calls("chat.update", ok=True))
    assert update_call.args["ts"] == missed_call["ts"]
    assert f"Handled by <@{HANDLER}>" in json.dumps(update_call.args["blocks"])
    assert slack.responses(delivery.response_url_key) == []


def test_mark_handled_on_a_missed_call_posted_before_its_data_was_kept(
    bot: RunningBot, slack: SlackRecorder, missed_call: dict[str, Any], db: Engine
) -> None:
    """Refs stored before missed calls kept their data render from the stored webhook."""
    with db.begin() as connection:
        connection.execute(update(PostedMessage).values(state={}))

    click(bot, {**missed_call, "blocks": FORGED_BLOCKS}, "mark_handled", user=HANDLER)

    [update_call] = slack.wait_for(lambda: slack.calls("chat.update", ok=True))
    assert update_call.args["text"] == missed_call["text"]
    assert "<!channel>" not in json.dumps(update_call.args["blocks"])


def test_mark_handled_on_a_message_of_no_item_that_slack_rate_limits_still_closes_it(
    bot: RunningBot, slack: SlackRecorder, missed_call: dict[str, Any], db: Engine
) -> None:
    """Issue 20 item 5, on the path for a message posted before items were kept."""
    with db.begin() as connection:
        connection.execute(delete(OpenItem))
    slack.fail_next("chat.update", status=429, retry_after=1)

    delivery = click(bot, missed_call, "mark_handled", user=HANDLER)

    said = slack.wait_for(lambda: slack.responses(delivery.response_url_key)[1:] or None)
    assert "slow down" in slack.responses(delivery.response_url_key)[0]["text"]
    assert said[0]["text"] == "✅ Everyone can see it's handled now."
    [update_call] = slack.calls("chat.update", ok=True)
    assert f"Handled by <@{HANDLER}>" in json.dumps(update_call.args["blocks"])
