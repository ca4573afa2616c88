"""I'll take it and Remind me, clicked through real HTTP on the messages the bot posted.

Every copy of an item shows who took it, rebuilt from what the bot stored: a click's payload
(which a client could have tampered with) never decides what everyone sees.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.runtime import Runtime
from bot.sandbox.slack import SlackRecorder
from bot.store.models import Reminder
from tests.conftest import NOTIFY_CHANNEL, RunningBot
from tests.helpers.runtime import stored_items
from tests.helpers.slack import answer, button, click, posted_message

HANDLER = "U0HANDLER"


def blocks_text(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks") or [])


def ownership_note(message: dict[str, Any]) -> str | None:
    for block in message.get("blocks") or []:
        if block.get("block_id") == "ownership":
            return str(block["elements"][0]["text"])
    return None


def current(slack: SlackRecorder, posted: dict[str, Any]) -> dict[str, Any]:
    found = slack.message(NOTIFY_CHANNEL, posted["ts"])
    assert found is not None
    return found


async def stored_reminders(settings: Settings) -> list[Reminder]:
    runtime = Runtime.create(settings)
    try:
        async with runtime.sessions() as session:
            return list(await session.scalars(select(Reminder)))
    finally:
        await runtime.close()


def test_missed_calls_voicemails_and_new_conversations_can_be_taken(
    bot: RunningBot, slack: SlackRecorder
) -> None:
    bot.send("call.missed")
    bot.send("voicemail.new")
    bot.send("sms.received", message="Are you open?")

    slack.wait_for(lambda: len(slack.messages(NOTIFY_CHANNEL)) >= 4)
    parents = [m for m in slack.messages(NOTIFY_CHANNEL) if m.get("thread_ts") in (None, m["ts"])]
    assert len(parents) == 3
    for message in parents:
        assert button(message, "take_it")
        assert button(message, "remind_hour")
        assert button(message, "remind_morning")


def test_taking_shows_the_owner_to_everyone_and_keeps_the_other_buttons(
    bot: RunningBot, slack: SlackRecorder
) -> None:
    bot.send("call.missed")
    posted = posted_message(slack, bot)

    told = answer(slack, click(bot, posted, "take_it"))

    assert "It's yours" in told["text"]
    shown = slack.wait_for(
        lambda: ownership_note(current(slack, posted)) and current(slack, posted)
    )
    assert ownership_note(shown).startswith("🙋 Taken by <@U0ALICE>")
    for action in ("call_back", "text_back", "mark_handled", "take_it"):
        assert button(shown, action)


def test_taking_it_from_someone_says_who_had_it(bot: RunningBot, slack: SlackRecorder) -> None:
    bot.send("call.missed")
    posted = posted_message(slack, bot)
    answer(slack, click(bot, posted, "take_it", user="U0ALICE"))

    told = answer(slack, click(bot, posted, "take_it", user="U0BOB"))

    assert told["text"] == "🙋 It's yours now; <@U0ALICE> had it before."
    shown = slack.wait_for(
        lambda: "U0BOB" in (ownership_note(current(slack, posted)) or "") and current(slack, posted)
    )
    assert ownership_note(shown).startswith("🙋 Taken by <@U0BOB> (from <@U0ALICE>)")


def test_what_everyone_sees_comes_from_the_store_not_the_click(
    bot: RunningBot, slack: SlackRecorder
) -> None:
    bot.send("call.missed")
    posted = posted_message(slack, bot)
    tampered = {
        **posted,
        "blocks": [
            *posted["blocks"],
            {
                "type": "context",
                "block_id": "ownership",
                "elements": [{"type": "mrkdwn", "text": "<!channel> taken by nobody"}],
            },
        ],
    }

    answer(slack, click(bot, tampered, "take_it"))

    shown = slack.wait_for(
        lambda: ownership_note(current(slack, posted)) and current(slack, posted)
    )
    assert "<!channel>" not in blocks_text(shown)
    assert ownership_note(shown).startswith("🙋 Taken by <@U0ALICE>")


def test_mark_handled_closes_it_for_good(bot: RunningBot, slack: SlackRecorder) -> None:
    bot.send("call.missed")
    posted = posted_message(slack, bot)
    click(bot, posted, "mark_handled", user=HANDLER)
    slack.wait_for(lambda: '"block_id": "handled"' in blocks_text(current(slack, posted)))

    told = answer(slack, click(bot, posted, "take_it"))

    assert told["text"] == "That one is already handled. ✅"
    kinds = [block["type"] for block in current(slack, posted)["blocks"]]
    assert "actions" not in kinds


def test_handling_one_copy_closes_the_others(bot: RunningBot, slack: SlackRecorder) -> None:
    bot.link("U0ALICE", "101")  # the sample call is for ext_101: Alice also gets a DM
    bot.send("call.missed")
    posted = posted_message(slack, bot)
    dm = slack.wait_for(lambda: slack.messages("U0ALICE"))[-1]

    click(bot, posted, "mark_handled", user=HANDLER)

    slack.wait_for(
        lambda: "actions" not in [b["type"] for b in slack.messages("U0ALICE")[-1]["blocks"]]
    )
    assert slack.messages("U0ALICE")[-1]["ts"] == dm["ts"]


#: Long enough for a click on the channel copy to land while the DM copy is on its way.
DM_OPENS_AFTER_SECONDS = 1.5


def test_a_copy_still_on_its_way_at_the_click_shows_the_owner_once_it_lands(
    bot: RunningBot, slack: SlackRecorder
) -> None:
    """The worker rendered the DM copy before the click and posts it after: it must not stay
    "untaken" while the channel copy shows the owner."""
    bot.link("U0ALICE", "101")  # the sample call is for ext_101: Alice also gets a DM
    slack.delay("conversations.open", DM_OPENS_AFTER_SECONDS)
    bot.send("call.missed")
    posted = slack.wait_for(lambda: slack.messages(NOTIFY_CHANNEL))[-1]

    answer(slack, click(bot, posted, "take_it", user="U0BOB"))

    assert "<@U0BOB>" in (ownership_note(current(slack, posted)) or "")
    slack.wait_for(lambda: slack.messages("U0ALICE"))
    slack.wait_for(lambda: "<@U0BOB>" in (ownership_note(slack.messages("U0ALICE")[-1]) or ""))
    assert len(slack.messages("U0ALICE")) == 1


@pytest.mark.anyio
async def test_remind_me_in_an_hour_is_stored_for_the_clicking_user(
    bot: RunningBot, slack: SlackRecorder, settings: Settings
) -> None:
    bot.send("call.missed")
    posted = posted_message(slack, bot)

    told = answer(slack, click(bot, posted, "remind_hour", user="U0BOB"))

    assert told["text"].startswith("⏰ I'll remind you ")
    [reminder] = await stored_reminders(settings)
    [item] = await stored_items(settings)
    assert (reminder.slack_user_id, reminder.item_id, reminder.sent_at) == ("U0BOB", item.id, None)
    assert 59 * 60 < (reminder.due_at - reminder.created_at).total_seconds() <= 3600


def test_a_button_naming_no_item_gets_a_friendly_word(
    bot: RunningBot, slack: SlackRecorder
) -> None:
    delivery = bot.slack.block_action(
        "take_it", '{"i":"999999"}', channel_id=NOTIFY_CHANNEL, message_ts="1700000000.000100"
    )

    told = answer(slack, delivery)

    assert "isn't in my records" in told["text"]


def test_a_text_conversation_can_be_marked_handled(bot: RunningBot, slack: SlackRecorder) -> None:
    bot.send("sms.received", message="Are you open?")
    slack.wait_for(lambda: len(slack.messages(NOTIFY_CHANNEL)) >= 2)
    parent = slack.messages(NOTIFY_CHANNEL)[0]

    click(bot, parent, "mark_handled", user=HANDLER)

    closed = slack.wait_for(
        lambda: (
            '"block_id": "handled"' in blocks_text(current(slack, parent))
            and current(slack, parent)
        )
    )
    assert f"<@{HANDLER}>" in blocks_text(closed)
    assert "take_it" not in blocks_text(closed)


# A click's update that Slack rate-limits (issue 20 item 5)


@pytest.mark.parametrize(
    ("action_id", "landed", "shown"),
    [
        ("take_it", "🙋 Everyone can see you're on it now.", "Taken by <@U0ALICE>"),
        ("mark_handled", "✅ Everyone can see it's handled now.", "Handled by <@U0ALICE>"),
    ],
)
def test_a_click_slack_rate_limits_still_shows_and_the_clicker_hears_the_truth(
    bot: RunningBot, slack: SlackRecorder, action_id: str, landed: str, shown: str
) -> None:
    bot.send("call.missed")
    posted = posted_message(slack, bot)
    slack.fail_next("chat.update", status=429, retry_after=1)

    delivery = click(bot, posted, action_id)

    said = slack.wait_for(lambda: slack.responses(delivery.response_url_key)[1:] or None)
    first = slack.responses(delivery.response_url_key)[0]["text"]
    assert "slow down" in first
    assert "everyone can see" not in first.lower()
    assert said[0]["text"] == landed
    assert shown in blocks_text(current(slack, posted))
