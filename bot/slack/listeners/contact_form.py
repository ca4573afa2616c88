"""Save contact and Edit: a modal of plain_text_inputs that writes the contact to QTvoice.

Save contact (on a missed call, voicemail or text conversation from a number with no
contact, and on a card that found nobody) opens an empty form for that number; Edit (on a
contact card) opens it filled in. Submitting checks the form first (a name or a company, a
well-formed email) and shows what is wrong on the fields themselves (`response_action:
errors`); then `POST /contacts` or `PUT /contacts/{id}` with the typed fields. QTvoice's
answer is what the bot learns at once: the contact directory caches it, and it is stored in
the inbox as the `contact.created` / `contact.updated` event it stands for (the webhook
QTvoice sends for it is then a duplicate), so the worker updates every open message about
the number exactly as for that webhook (`bot.delivery.renaming`).

Which number and contact a form writes travels in its private_metadata, sealed like a
button's value (`bot.slack.buttons`). Only people linked to an extension (and admins) may
write contacts.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import phone
from bot.directory import ContactDirectory
from bot.qtvoice.errors import QTvoiceError
from bot.qtvoice.events import EventRefused, KnownEvent, UnknownEvent, parse_envelope
from bot.qtvoice.models import Contact
from bot.runtime import Runtime
from bot.slack.api_errors import describe
from bot.slack.blocks.contact_form import CONTACT_MODAL, FIELDS, contact_modal
from bot.slack.blocks.kit import shown_number
from bot.slack.blocks.notifications import EDIT_CONTACT, SAVE_CONTACT, Caller
from bot.slack.buttons import ButtonCodec, ButtonValue
from bot.slack.rendering import lookup_contact, render_context
from bot.slack.requests import Click, ViewSubmission, on_click, on_view
from bot.slack.sentences import MODAL_NOT_OPENED, STALE_BUTTON, plain_sentence
from bot.slack.tell import Tell
from bot.telephony import Telephony

logger = logging.getLogger(__name__)

#: Stores an event the bot learned itself in the inbox (`bot.delivery.inbox.store_own`),
#: handed in by the web app: the Slack side never imports the delivery side.
Accept = Callable[[KnownEvent | UnknownEvent], Awaitable[bool]]

#: Something@somewhere.tld, no spaces: what a person means by an email; QTvoice checks the rest.
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
SUBMIT_ACK_BUDGET_SECONDS = 2.0
"""How long a submission may wait for QTvoice before answering Slack (which gives up after
three seconds): QTvoice's refusal can then still be shown on the form."""
NOT_LINKED = (
    "Only people linked to a QTvoice extension can save contacts:"
    " link yours with `/qtvoice link <extension>`."
)
EXPIRED = "This form has expired; close it and press the button again."


@dataclass(frozen=True)
class ContactTarget:
    """Whose contact a form writes: the number, the contact being edited (None: a new one),
    and where the form was opened from (for the confirmation)."""

    number: str
    contact_id: str | None = None
    channel: str | None = None

    def to_metadata(self, codec: ButtonCodec) -> str:
        """The form's private_metadata: this target, sealed."""
        value = ButtonValue(number=self.number, contact=self.contact_id, channel=self.channel)
        return codec.encode(value)

    @classmethod
    def from_metadata(cls, codec: ButtonCodec, raw: str) -> ContactTarget | None:
        """The target the bot wrote into a form; None for metadata it did not write."""
        value = codec.decode(raw)
        if value is None or value.number is None:
            return None
        return cls(value.number, value.contact, value.channel)


def form_values(submission: ViewSubmission) -> dict[str, str]:
    """What was typed in each field, stripped; a field left empty is absent."""
    typed = {name: submission.typed(name, name).strip() for name, *_ in FIELDS}
    return {name: value for name, value in typed.items() if value}


def form_errors(typed: dict[str, str]) -> dict[str, str]:
    """Each field's problem, as the modal shows it under the field; empty when none."""
    errors = {}
    if not any(typed.get(name) for name in ("first_name", "last_name", "company")):
        errors["first_name"] = "Give a first name, a last name or a company."
    if "email" in typed and not EMAIL.fullmatch(typed["email"]):
        errors["email"] = "That doesn't look like an email address (name@example.com)."
    return errors


class ContactForm:
    def __init__(self, runtime: Runtime, accept: Accept) -> None:
        self.runtime = runtime
        self.accept = accept
        self.ctx = render_context(runtime.settings)
        self.telephony = Telephony(runtime)

    async def open(self, click: Click, tell: Tell) -> None:
        """Save contact or Edit was clicked: the form, at once (the trigger lives 3 s)."""
        value = self.ctx.buttons.decode(click.value)
        if value is None or value.number is None or click.trigger_id is None:
            await tell(STALE_BUTTON)
            return
        if not await self.telephony.acts_for_the_office(click.user_id):
            await tell(NOT_LINKED)
            return
        target = ContactTarget(value.number, value.contact, click.channel_id)
        contact = None
        if target.contact_id:
            number = phone.normalize(target.number, self.runtime.settings.default_region)
            contact = await lookup_contact(self.runtime, number)
        metadata = target.to_metadata(self.ctx.buttons)
        view = contact_modal(metadata, shown_number(target.number, self.ctx), contact)
        try:
            await tell.client.views_open(trigger_id=click.trigger_id, view=view)
        except SlackApiError as error:
            logger.warning("contact form not opened: %s", describe(error))
            await tell(MODAL_NOT_OPENED)

    async def submit(
        self, submission: ViewSubmission, ack: AsyncAck, client: AsyncWebClient
    ) -> None:
        user = submission.user_id
        target = ContactTarget.from_metadata(self.ctx.buttons, submission.private_metadata)
        if target is None:
            await ack(response_action="errors", errors={"first_name": EXPIRED})
            return
        if not await self.telephony.acts_for_the_office(user):
            await ack(response_action="errors", errors={"first_name": NOT_LINKED})
            return
        typed = form_values(submission)
        errors = form_errors(typed)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        tell = Tell(client, user, target.channel)
        saving = asyncio.ensure_future(self._save(target, typed))
        try:
            contact = await asyncio.wait_for(asyncio.shield(saving), SUBMIT_ACK_BUDGET_SECONDS)
        except TimeoutError:
            await ack()  # QTvoice is slow: close the form now, say how it went when it answers
            await self._report(tell, target, saving)
            return
        except QTvoiceError as error:
            await ack(response_action="errors", errors={"first_name": plain_sentence(error)})
            return
        await ack()
        await self._saved(tell, target, contact)

    async def _save(self, target: ContactTarget, typed: dict[str, str]) -> Contact:
        """Write to QTvoice, then learn QTvoice's answer: the directory and the inbox."""
        qtvoice = self.runtime.qtvoice
        # Editing sends every field, "" for one emptied: QTvoice keeps what it is not sent.
        blank = "" if target.contact_id else None
        first, last, company, email, notes = (typed.get(name, blank) for name, *_ in FIELDS)
        if target.contact_id:
            contact = await qtvoice.update_contact(
                target.contact_id,
                first_name=first,
                last_name=last,
                company=company,
                email=email,
                notes=notes,
            )
            event_type = "contact.updated"
        else:
            contact = await qtvoice.create_contact(
                phone=target.number,
                first_name=first,
                last_name=last,
                company=company,
                email=email,
                notes=notes,
            )
            event_type = "contact.created"
        region = self.runtime.settings.default_region
        number = phone.normalize(contact.phone or target.number, region)
        async with self.runtime.sessions() as session:
            directory = ContactDirectory(qtvoice, self.runtime.settings.contact_sync_minutes)
            await directory.remember(session, number, contact)
        data = contact.model_dump(mode="json", by_alias=True, exclude_none=True)
        data.setdefault("phone", number)
        try:
            event = parse_envelope({"event": event_type, "data": data}, default_region=region)
        except EventRefused as refused:
            logger.warning("saved contact not shown in Slack: %s", refused.reason)
            return contact
        await self.accept(event)
        self.runtime.inbox_changed.set()
        return contact

    async def _report(
        self, tell: Tell, target: ContactTarget, saving: asyncio.Future[Contact]
    ) -> None:
        try:
            contact = await saving
        except QTvoiceError as error:
            await tell(f"⚠️ Contact not saved: {plain_sentence(error)}")
            return
        await self._saved(tell, target, contact)

    async def _saved(self, tell: Tell, target: ContactTarget, contact: Contact) -> None:
        await tell(f"📇 Saved {Caller.of(target.number, contact).mrkdwn(self.ctx)}.")


def register(app: AsyncApp, runtime: Runtime, accept: Accept) -> None:
    """Save contact and Edit, and the form's submission."""
    form = ContactForm(runtime, accept)
    for opening in (SAVE_CONTACT, EDIT_CONTACT):
        app.action(opening)(on_click(form.open))
    app.view(CONTACT_MODAL)(on_view(form.submit))
