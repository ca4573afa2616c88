"""Save contact and Edit: a modal of plain_text_inputs that writes the contact to QTvoice.

Save contact (on a missed call, voicemail or text conversation from a number with no
contact, and on a card that found nobody) opens an empty form for that number; Edit (on a
contact card) opens it filled in. Submitting checks the form first (a name or a company, a
well-formed email) and shows what is wrong on the fields themselves (`response_action:
errors`); then `POST /contacts` or `PUT /contacts/{id}`. QTvoice's answer is what the bot
learns at once: the contact directory caches it, and it is stored in the inbox as the
`contact.created` / `contact.updated` event it stands for (the webhook QTvoice sends for it
is then a duplicate), so the worker updates every open message about the number exactly as
for that webhook (`bot.delivery.renaming`).

Only people linked to an extension (and admins) may write contacts.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import phone
from bot.directory import ContactDirectory
from bot.qtvoice.errors import QTvoiceError
from bot.qtvoice.events import EventRefused, KnownEvent, UnknownEvent, parse_envelope
from bot.qtvoice.models import Contact
from bot.runtime import Runtime
from bot.slack import blocks
from bot.slack.actions import MODAL_NOT_OPENED, STALE_BUTTON, Click
from bot.slack.api_errors import describe
from bot.slack.rendering import lookup_contact, render_context, section, shown_number
from bot.slack.sentences import plain_sentence
from bot.slack.views import whisper
from bot.telephony import Telephony

logger = logging.getLogger(__name__)

Ack = Callable[..., Awaitable[Any]]
Respond = Callable[..., Awaitable[Any]]
#: Stores an event the bot learned itself in the inbox (`bot.delivery.inbox.store_own`),
#: passed in by the web app: the Slack side never imports the delivery side.
Accept = Callable[[KnownEvent | UnknownEvent], Awaitable[bool]]

CONTACT_MODAL = "contact_save"
#: The form's fields, in QTvoice's order: (block_id, action_id and QTvoice's field name,
#: label, longest, multiline).
FIELDS = (
    ("first_name", "First name", 80, False),
    ("last_name", "Last name", 80, False),
    ("company", "Company", 120, False),
    ("email", "Email", 254, False),
    ("notes", "Notes", 1000, True),
)
#: Something@somewhere.tld, no spaces: what a person means by an email; QTvoice checks the rest.
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
SUBMIT_ACK_BUDGET_SECONDS = 2.0
NOT_LINKED = (
    "Only people linked to a QTvoice extension can save contacts:"
    " link yours with `/qtvoice link <extension>`."
)


@dataclass(frozen=True)
class ContactTarget:
    """Whose contact a form writes: the number, the contact being edited (None: a new one),
    and where the form was opened from (for the confirmation)."""

    number: str
    contact_id: str | None = None
    channel: str | None = None

    def to_metadata(self) -> str:
        fields = {"n": self.number, "c": self.contact_id, "ch": self.channel}
        return json.dumps({k: v for k, v in fields.items() if v}, separators=(",", ":"))

    @classmethod
    def from_metadata(cls, raw: str | None) -> ContactTarget | None:
        try:
            fields = json.loads(raw or "")
        except ValueError:
            return None
        if not isinstance(fields, dict) or not isinstance(fields.get("n"), str):
            return None
        texts = {key: value for key, value in fields.items() if isinstance(value, str) and value}
        return cls(texts["n"], texts.get("c"), texts.get("ch"))


def contact_modal(target: ContactTarget, shown: str, contact: Contact | None) -> dict[str, Any]:
    """The form, filled in from `contact` when editing; `shown` is the number as shown."""
    verb = "Edit" if target.contact_id else "Save"
    inputs = []
    for name, label, longest, multiline in FIELDS:
        element: dict[str, Any] = {
            "type": "plain_text_input",
            "action_id": name,
            "max_length": longest,
            "multiline": multiline,
        }
        current = getattr(contact, name, None) if contact is not None else None
        if isinstance(current, str) and current:
            element["initial_value"] = current[:longest]
        inputs.append(
            {
                "type": "input",
                "block_id": name,
                "optional": True,
                "label": {"type": "plain_text", "text": label},
                "element": element,
            }
        )
    return {
        "type": "modal",
        "callback_id": CONTACT_MODAL,
        "title": {"type": "plain_text", "text": f"{verb} contact"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": target.to_metadata(),
        "blocks": [section("contact_number", f"📇 {shown}"), *inputs],
    }


def form_values(view: dict[str, Any]) -> dict[str, str]:
    """What was typed in each field, stripped; a field left empty is absent."""
    values = (view.get("state") or {}).get("values") or {}
    typed = {}
    for name, *_ in FIELDS:
        value = ((values.get(name) or {}).get(name) or {}).get("value")
        if isinstance(value, str) and value.strip():
            typed[name] = value.strip()
    return typed


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

    async def open(
        self, ack: Ack, body: dict[str, Any], client: AsyncWebClient, respond: Respond
    ) -> None:
        """Save contact or Edit was clicked: the form, at once (the trigger lives 3 s)."""
        await ack()
        click = Click.of(body)
        user, number, channel = click.user, click.number, click.channel
        if not number or not click.trigger_id:
            await whisper(client, user, STALE_BUTTON, channel=channel)
            return
        if not await self.telephony.acts_for_the_office(user):
            await whisper(client, user, NOT_LINKED, channel=channel)
            return
        target = ContactTarget(number, click.value.get("c"), channel)
        contact = None
        if target.contact_id:
            normalized = phone.normalize(number, self.runtime.settings.default_region)
            contact = await lookup_contact(self.runtime, normalized)
        view = contact_modal(target, shown_number(number, self.ctx), contact)
        try:
            await client.views_open(trigger_id=click.trigger_id, view=view)
        except SlackApiError as error:
            logger.warning("contact form not opened: %s", describe(error))
            await whisper(client, user, MODAL_NOT_OPENED, channel=channel)

    async def submit(
        self, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        user = body["user"]["id"]
        target = ContactTarget.from_metadata(view.get("private_metadata"))
        if target is None or not await self.telephony.acts_for_the_office(user):
            await ack(response_action="errors", errors={"first_name": NOT_LINKED})
            return
        typed = form_values(view)
        errors = form_errors(typed)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        saving = asyncio.ensure_future(self._save(target, typed))
        try:
            contact = await asyncio.wait_for(asyncio.shield(saving), SUBMIT_ACK_BUDGET_SECONDS)
        except TimeoutError:
            await ack()  # QTvoice is slow: close the form now, say how it went when it answers
            await self._report(client, user, target, saving)
            return
        except QTvoiceError as error:
            await ack(response_action="errors", errors={"first_name": plain_sentence(error)})
            return
        await ack()
        await self._saved(client, user, target, contact)

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
        number = phone.normalize(
            contact.phone or target.number, self.runtime.settings.default_region
        )
        async with self.runtime.sessions() as session:
            directory = ContactDirectory(qtvoice, self.runtime.settings.contact_sync_minutes)
            await directory.remember(session, number, contact)
        data = contact.model_dump(mode="json", by_alias=True, exclude_none=True)
        data.setdefault("phone", number)
        try:
            event = parse_envelope(
                {"event": event_type, "data": data},
                default_region=self.runtime.settings.default_region,
            )
        except EventRefused as refused:
            logger.warning("saved contact not shown in Slack: %s", refused.reason)
            return contact
        await self.accept(event)
        self.runtime.inbox_changed.set()
        return contact

    async def _report(
        self,
        client: AsyncWebClient,
        user: str,
        target: ContactTarget,
        saving: asyncio.Future[Contact],
    ) -> None:
        try:
            contact = await saving
        except QTvoiceError as error:
            await whisper(
                client,
                user,
                f"⚠️ Contact not saved: {plain_sentence(error)}",
                channel=target.channel,
            )
            return
        await self._saved(client, user, target, contact)

    async def _saved(
        self, client: AsyncWebClient, user: str, target: ContactTarget, contact: Contact
    ) -> None:
        caller = blocks.Caller.of(target.number, contact)
        await whisper(client, user, f"📇 Saved {caller.mrkdwn(self.ctx)}.", channel=target.channel)


def register(app: AsyncApp, runtime: Runtime, accept: Accept) -> None:
    """Save contact and Edit, and the form's submission."""
    form = ContactForm(runtime, accept)
    for opening in (blocks.SAVE_CONTACT, blocks.EDIT_CONTACT):
        app.action(opening)(form.open)
    app.view(CONTACT_MODAL)(form.submit)
