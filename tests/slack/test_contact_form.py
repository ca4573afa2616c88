"""Save contact and Edit, through real HTTP: the modal, its checks shown on the form, the
contact written to the QTvoice sandbox, and every copy of the messages about that number
renamed the way a contact.created webhook renames them."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.sandbox.qtvoice import STRANGER, QTvoiceSandbox
from bot.sandbox.samples import CUSTOMER_NUMBER
from bot.sandbox.slack import Delivery, SlackRecorder
from bot.slack.listeners.contact_form import form_errors
from tests.conftest import NOTIFY_CHANNEL, RunningBot
from tests.helpers.slack import click, posted_message

DM = "DU0ALICE"


def open_form(
    bot: RunningBot,
    slack: SlackRecorder,
    message: dict[str, Any],
    action: str,
    channel: str = NOTIFY_CHANNEL,
) -> dict[str, Any]:
    click(bot, message, action, channel=channel)
    return slack.wait_for(
        lambda: [v for v in slack.views_opened("U0ALICE") if v["callback_id"] == "contact_save"]
    )[-1]


def submit(bot: RunningBot, **fields: str) -> Delivery:
    return bot.slack.view_submission(
        "contact_save", {name: {name: value} for name, value in fields.items()}
    )


def errors_of(delivery: Delivery) -> dict[str, str]:
    body = delivery.response.json()
    assert body["response_action"] == "errors"
    return dict(body["errors"])


def test_a_contact_saved_from_a_missed_call_reaches_qtvoice_and_renames_every_copy(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox
) -> None:
    bot.link()
    bot.send("call.missed", id="call_unknown", from_=STRANGER, extensionId="ext_101")
    message = posted_message(slack, bot)
    slack.wait_for(lambda: slack.messages(DM))
    open_form(bot, slack, message, "save_contact")

    delivery = submit(
        bot,
        first_name="Sam",
        last_name="Stone <!here>",
        company="Stone & Co",
        email="sam@stone.example",
        notes="Wants a quote",
    )

    assert delivery.status_code == 200
    assert not delivery.response.content or "errors" not in delivery.response.json()
    [created] = qtvoice.state.requests("POST", "/contacts")
    assert created.json == {
        "first_name": "Sam",
        "last_name": "Stone <!here>",
        "company": "Stone & Co",
        "email": "sam@stone.example",
        "phone": STRANGER,
        "notes": "Wants a quote",
    }
    for channel in (NOTIFY_CHANNEL, DM):
        renamed = slack.wait_for(
            lambda channel=channel: (
                "Sam Stone" in slack.messages(channel)[0]["text"] and slack.messages(channel)[0]
            )
        )
        assert "Sam Stone &lt;!here&gt;" in renamed["text"]
        assert "save_contact" not in str(renamed["blocks"])


def test_a_malformed_email_and_no_name_are_shown_on_the_form(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox
) -> None:
    bot.link()
    bot.send("call.missed", from_=STRANGER)
    open_form(bot, slack, posted_message(slack, bot), "save_contact")

    errors = errors_of(submit(bot, email="not an email"))

    assert set(errors) == {"first_name", "email"}
    assert qtvoice.state.requests("POST", "/contacts") == []


def test_an_unlinked_person_cannot_save_a_contact(bot: RunningBot, slack: SlackRecorder) -> None:
    bot.send("call.missed", from_=STRANGER)
    click(bot, posted_message(slack, bot), "save_contact")

    told = slack.wait_for(lambda: slack.ephemerals("U0ALICE"))
    assert "/qtvoice link" in told[0]["text"]
    assert not [v for v in slack.views_opened("U0ALICE") if v["callback_id"] == "contact_save"]


def test_edit_on_a_contact_card_fills_the_form_and_updates_the_contact(
    bot: RunningBot, slack: SlackRecorder, qtvoice: QTvoiceSandbox
) -> None:
    bot.link()
    card = bot.command("/contact", CUSTOMER_NUMBER)
    form = open_form(bot, slack, card, "edit_contact", channel="C0GENERAL")
    first = next(b for b in form["blocks"] if b["block_id"] == "first_name")
    assert first["element"]["initial_value"] == "John"

    submit(bot, first_name="Johnny", last_name="Doe", company="Acme Inc")

    [update] = qtvoice.state.requests("PUT", "/contacts/contact_1")
    assert update.json["first_name"] == "Johnny"
    assert update.json["email"] == ""  # emptied on the form: cleared in QTvoice
    assert qtvoice.state.contacts()[0]["first_name"] == "Johnny"


@given(st.text(max_size=60))
def test_an_email_with_a_space_or_without_an_at_is_never_accepted(email: str) -> None:
    errors = form_errors({"first_name": "Sam", "email": email})
    if any(char.isspace() for char in email) or "@" not in email:
        assert "email" in errors
