"""The App Home: what a linked and an unlinked person see when they open the Home tab.

Each test opens the Home tab as Slack reports it (an app_home_opened event) and reads the view
the bot published to the Slack sandbox.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from bot.sandbox.qtvoice import ALICE_LINE, BOB_LINE, JANE_ROE, STRANGER, QTvoiceSandbox
from bot.sandbox.samples import CUSTOMER_NUMBER, MAIN_LINE
from bot.sandbox.slack import SlackRecorder
from bot.slack.app_home import HOME_CONVERSATIONS_SHOWN
from bot.slack.buttons import ButtonCodec, ButtonValue
from tests.conftest import BOT_TOKEN, NOTIFY_CHANNEL, SIGNING_SECRET, RunningBot
from tests.helpers.slack import answer, click, home_blocks

CODEC = ButtonCodec.for_signing_secret(SIGNING_SECRET)


@pytest.fixture
def linked(bot: RunningBot, slack: SlackRecorder) -> None:
    bot.link()


def home_of(bot: RunningBot, slack: SlackRecorder, user: str = "U0ALICE") -> str:
    """The App Home as JSON text, to look for what it shows."""
    return json.dumps(home_blocks(bot, slack, user), ensure_ascii=False)


def button_values(blocks: list[Any], action_id: str) -> list[str]:
    """The values (as sent, sealed) of the `action_id` buttons, top to bottom."""
    return [
        element["value"]
        for block in blocks
        for element in block.get("elements") or []
        if element.get("action_id") == action_id
    ]


@pytest.fixture
def alices_calls(qtvoice: QTvoiceSandbox) -> None:
    qtvoice.state.add_call(JANE_ROE, ALICE_LINE, status="missed", extension_id="ext_101")
    qtvoice.state.add_voicemail(
        STRANGER, ALICE_LINE, extension_id="ext_101", transcription="Call me <!here>"
    )


def test_home_of_an_unlinked_user_says_how_to_link(bot: RunningBot, slack: SlackRecorder) -> None:
    home = home_of(bot, slack)

    assert "/qtvoice link 101" in home
    assert "call_back" not in home
    assert "Missed calls" not in home


def test_home_shows_the_users_extension(
    bot: RunningBot, slack: SlackRecorder, linked: None
) -> None:
    assert "Your extension: *101* · Alice Jones" in home_of(bot, slack)


def test_home_lists_the_users_missed_calls_with_buttons(
    bot: RunningBot, slack: SlackRecorder, linked: None, alices_calls: None
) -> None:
    blocks = home_blocks(bot, slack)

    assert "*Jane Roe* (Globex)" in json.dumps(blocks)
    alice = ButtonValue(number=JANE_ROE, line=ALICE_LINE)
    assert alice in map(CODEC.decode, button_values(blocks, "call_back"))
    assert alice in map(CODEC.decode, button_values(blocks, "text_back"))


def test_home_leaves_out_the_users_own_unanswered_outgoing_calls(
    bot: RunningBot, slack: SlackRecorder
) -> None:
    # The seeded office has Bob's call to a stranger that nobody picked up (status missed):
    # his own call, not a missed one, and Call back would have rung his own line.
    bot.link("U0BOB", "102")

    blocks = home_blocks(bot, slack, "U0BOB")

    shown = {block.get("block_id") for block in blocks}
    assert "missed_none" in shown
    assert "missed_0" not in shown
    called = [CODEC.decode(value) for value in button_values(blocks, "call_back")]
    assert BOB_LINE not in [value.number for value in called if value]


def test_home_lists_unread_voicemails_escaped(
    bot: RunningBot, slack: SlackRecorder, linked: None, alices_calls: None
) -> None:
    home = home_of(bot, slack)

    assert "Call me &lt;!here&gt;" in home
    assert "<!here>" not in home


def test_home_leaves_out_other_extensions_calls(
    bot: RunningBot, slack: SlackRecorder, linked: None
) -> None:
    home = home_of(bot, slack)

    assert "(215) 555-7777" not in home
    assert "Nothing here" in home


def test_home_lists_open_text_conversations_with_a_reply_button(
    bot: RunningBot, slack: SlackRecorder, linked: None
) -> None:
    bot.send("sms.received", message="Hello from John")
    parent = slack.wait_for(lambda: slack.messages(NOTIFY_CHANNEL))[0]

    blocks = home_blocks(bot, slack)

    home = json.dumps(blocks)
    assert "*John Doe* (Acme Inc)" in home
    assert [CODEC.decode(value) for value in button_values(blocks, "sms_reply")] == [
        ButtonValue(number=CUSTOMER_NUMBER, line=MAIN_LINE)
    ]
    assert f"archives/{NOTIFY_CHANNEL}/p{parent['ts'].replace('.', '')}" in home


def test_home_survives_a_qtvoice_error(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox, linked: None
) -> None:
    qtvoice.state.fail_next("GET", "/calls", 403)

    home = home_of(bot, slack)

    assert "doesn't have permission" in home
    assert "Unread voicemails" in home


def test_messages_tab_opened_publishes_nothing(bot: RunningBot, slack: SlackRecorder) -> None:
    event = {"type": "app_home_opened", "user": "U0ALICE", "channel": "DU_ALICE", "tab": "messages"}

    assert bot.slack.event(event).status_code == 200

    time.sleep(0.5)
    assert slack.views_published("U0ALICE") == []


def test_call_back_from_the_home_tab_dials_and_answers_by_dm(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox, linked: None, alices_calls: None
) -> None:
    value = button_values(home_blocks(bot, slack), "call_back")[0]

    delivery = bot.slack.home_action("call_back", value)

    assert delivery.status_code == 200
    placed = slack.wait_for(lambda: qtvoice.state.requests("POST", "/calls"))
    assert placed[0].json["to"] == JANE_ROE
    assert placed[0].json["extension_id"] == "ext_101"
    dm = slack.wait_for(lambda: slack.messages(slack.im_channel("U0ALICE")))
    assert "Calling" in dm[-1]["text"]


def test_text_back_from_the_home_tab_opens_the_sms_modal(
    bot: RunningBot, slack: SlackRecorder, linked: None, alices_calls: None
) -> None:
    value = button_values(home_blocks(bot, slack), "text_back")[0]

    bot.slack.home_action("text_back", value)

    opened = slack.wait_for(lambda: slack.views_opened("U0ALICE"))
    assert opened[-1]["callback_id"] == "sms_send"


def test_home_lists_what_i_took_and_my_reminders(
    bot: RunningBot, slack: SlackRecorder, linked: None
) -> None:
    bot.send("call.missed")
    bot.send("voicemail.new", from_="+12675550100")
    slack.wait_for(lambda: len(slack.messages(NOTIFY_CHANNEL)) == 2)
    # Two callers' posts in one channel may land in either order: only one caller's are ordered.
    later, taken = sorted(slack.messages(NOTIFY_CHANNEL), key=lambda m: "Missed call" in m["text"])
    answer(slack, click(bot, taken, "take_it"))
    answer(slack, click(bot, later, "remind_morning"))

    shown = {block.get("block_id"): block for block in home_blocks(bot, slack)}

    mine = shown["home_taken"]["text"]["text"]
    assert "Missed call from John Doe (Acme Inc)" in mine
    reminders = shown["home_reminders"]["text"]["text"]
    assert "Voicemail from (267) 555-0100" in reminders
    assert "9:00 AM" in reminders  # no BUSINESS_HOURS: tomorrow at nine


def test_home_says_how_to_take_and_be_reminded_when_there_is_nothing(
    bot: RunningBot, slack: SlackRecorder, linked: None
) -> None:
    shown = {block.get("block_id"): block for block in home_blocks(bot, slack)}

    assert "I'll take it" in shown["home_taken"]["text"]["text"]
    assert "Remind me" in shown["home_reminders"]["text"]["text"]


def test_a_home_published_meanwhile_is_not_overwritten_by_an_older_render(
    bot: RunningBot, slack: SlackRecorder, linked: None
) -> None:
    home_blocks(bot, slack)
    seen = slack.views_published("U0ALICE")[-1]
    # Another process publishes a newer Home between this opening and the bot's answer.
    newer = httpx.post(
        f"{slack.api_url}views.publish",
        headers={"Authorization": f"Bearer {BOT_TOKEN}"},
        json={"user_id": "U0ALICE", "view": {"type": "home", "blocks": []}},
    ).json()["view"]
    before = len(slack.calls("views.publish"))
    opened = {"type": "app_home_opened", "user": "U0ALICE", "channel": "DU0ALICE", "tab": "home"}
    assert bot.slack.event({**opened, "view": seen}).status_code == 200

    slack.wait_for(lambda: len(slack.calls("views.publish")) >= before + 2)
    *_, refused, again = slack.calls("views.publish")
    assert refused.args["hash"] == seen["hash"] != newer["hash"]
    assert refused.error == "hash_conflict"
    assert again.ok
    assert "hash" not in again.args  # rendered again from what is stored now
    assert slack.views_published("U0ALICE")[-1]["blocks"]  # the Home, read afresh, is shown


def test_home_lists_the_conversations_with_the_latest_activity_first(
    bot: RunningBot, slack: SlackRecorder, linked: None
) -> None:
    """A reply in an old conversation brings it back to the top; only the newest few show."""
    numbers = [f"+1415555{index:04d}" for index in range(HOME_CONVERSATIONS_SHOWN + 2)]
    for count, number in enumerate(numbers, start=1):
        bot.send("sms.received", from_=number, message=f"Hello {count}")
        slack.wait_for(lambda count=count: len(slack.messages(NOTIFY_CHANNEL)) == 2 * count)
    bot.send("sms.received", from_=numbers[0], message="Still there?")
    slack.wait_for(lambda: any("Still there?" in m["text"] for m in slack.messages(NOTIFY_CHANNEL)))

    blocks = home_blocks(bot, slack)

    shown = [CODEC.decode(value).number for value in button_values(blocks, "sms_reply")]
    assert shown == [numbers[0], *reversed(numbers[-HOME_CONVERSATIONS_SHOWN + 1 :])]
