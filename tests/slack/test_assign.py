"""Assign…: a linked person hands a caller to someone, through real HTTP. Everyone sees
"assigned to @x by @y", the assignee gets a DM with the same buttons, and the escalation is
off as if they had taken it; an unlinked person cannot hand callers out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.config import Settings
from bot.delivery.followup import escalate
from bot.sandbox.slack import SlackRecorder
from bot.store.models import utcnow
from tests.conftest import NOTIFY_CHANNEL, RunningBot
from tests.helpers.runtime import run
from tests.helpers.slack import answer, posted_message, replies

pytestmark = pytest.mark.anyio

BOB_DM = "DU0BOB"


def assign(bot: RunningBot, message: dict[str, Any], to: str, *, by: str = "U0ALICE") -> Any:
    return bot.slack.pick_user(
        "assign_to", to, user_id=by, channel_id=NOTIFY_CHANNEL, message_ts=message["ts"]
    )


async def test_an_assignment_shows_for_everyone_dms_the_assignee_and_cancels_escalation(
    bot: RunningBot, slack: SlackRecorder, settings: Settings
) -> None:
    bot.link()
    bot.send("call.missed")
    parent = posted_message(slack, bot)

    told = answer(slack, assign(bot, parent, "U0BOB"))

    assert "Assigned to <@U0BOB>" in told["text"]
    shown = slack.wait_for(
        lambda: (
            "Assigned to" in str(slack.message(NOTIFY_CHANNEL, parent["ts"]))
            and slack.message(NOTIFY_CHANNEL, parent["ts"])
        )
    )
    assert "🙋 Assigned to <@U0BOB> by <@U0ALICE>" in str(shown["blocks"])
    [dm] = slack.messages(BOB_DM)
    assert "<@U0ALICE> assigned this to you" in str(dm["blocks"])
    assert {"take_it", "mark_handled", "call_back"} <= actions_of(dm)
    # Its escalation's time, played here: the running bot's leader only sees it in 15 minutes.
    assert await run(settings, escalate, utcnow() + timedelta(minutes=20)) == 0
    assert replies(slack, parent) == []


async def test_an_unlinked_person_cannot_assign(bot: RunningBot, slack: SlackRecorder) -> None:
    bot.send("call.missed")
    parent = posted_message(slack, bot)

    told = answer(slack, assign(bot, parent, "U0BOB"))

    assert "link yours with `/qtvoice link" in told["text"]
    assert "Assigned" not in str(slack.message(NOTIFY_CHANNEL, parent["ts"]))
    assert slack.messages(BOB_DM) == []


async def test_the_assignees_dm_follows_the_item_when_it_is_handled(
    bot: RunningBot, slack: SlackRecorder
) -> None:
    bot.link()
    bot.send("call.missed")
    parent = posted_message(slack, bot)
    answer(slack, assign(bot, parent, "U0BOB"))
    dm = slack.wait_for(lambda: slack.messages(BOB_DM))[0]

    bot.slack.block_action(
        "mark_handled", '{"i":"1"}', user_id="U0BOB", channel_id=BOB_DM, message_ts=dm["ts"]
    )

    slack.wait_for(lambda: "Handled by <@U0BOB>" in str(slack.message(BOB_DM, dm["ts"])))
    slack.wait_for(
        lambda: "Handled by <@U0BOB>" in str(slack.message(NOTIFY_CHANNEL, parent["ts"]))
    )


def actions_of(message: dict[str, Any]) -> set[str]:
    return {
        str(element.get("action_id"))
        for block in message["blocks"]
        for element in block.get("elements") or []
    }
