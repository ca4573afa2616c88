"""Slack → phone: placing calls and sending texts on behalf of a Slack user.

Every Slack surface that dials or texts (slash commands, buttons, modals, thread replies) goes
through `Telephony`, so the rules are checked in one place: the user must have linked an
extension, the number must parse, an opted-out number is never texted, and nobody sends more
than `settings.sms_per_minute` texts a minute. A rule that says no raises `Refusal`, whose
message is one friendly, mrkdwn-safe sentence to show the user as it is. Errors from QTvoice
itself propagate as `QTvoiceError`; `bot.slack.sentences` words both for the user.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from sqlalchemy import delete, func, select, update

from bot import consent, phone
from bot.qtvoice.errors import QTvoiceError
from bot.qtvoice.events import Party, PartyKind
from bot.qtvoice.models import CallInitiated, Contact, Sms
from bot.runtime import Runtime
from bot.store import ownership
from bot.store.models import ExtensionLink, OpenItem, OutboundText, utcnow

MAX_SMS_LENGTH = 1600
"""Ten concatenated segments: the usual carrier ceiling for one message."""

RATE_WINDOW = timedelta(seconds=60)
CONTACT_SEARCH_LIMIT = 10
"""Matches worth showing as buttons; a person picks among a handful, not a directory."""

HOW_TO_LINK = (
    "You haven't linked a QTvoice extension yet: run `/qtvoice link <extension>`"
    " (for example `/qtvoice link 101`), or `/qtvoice link` to see the one matching your email."
)


class Refusal(Exception):
    """A request we decline, with one friendly sentence for the Slack user (mrkdwn-safe)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


#: Told of the items a call or text back took (`bot.slack.items.ItemCopies.show`).
TakenHook = Callable[[Sequence[OpenItem]], Awaitable[None]]


class Telephony:
    """The rules and the QTvoice requests behind every call and text started from Slack.

    Calling or texting a number back takes every item about it nobody took yet, by the person
    who did (`bot.store.ownership.take_waiting`), and `on_taken` shows that in Slack.
    """

    def __init__(self, runtime: Runtime, *, on_taken: TakenHook | None = None) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.on_taken = on_taken

    async def link_of(self, user_id: str) -> ExtensionLink | None:
        async with self.runtime.sessions() as session:
            return await session.get(ExtensionLink, user_id)

    async def acts_for_the_office(self, user_id: str) -> bool:
        """Whether `user_id` may act on callers for everyone (assign them, write contacts):
        people linked to an extension, and admins."""
        if user_id in self.settings.admin_user_ids:
            return True
        return await self.link_of(user_id) is not None

    async def require_link(self, user_id: str) -> ExtensionLink:
        link = await self.link_of(user_id)
        if link is None:
            raise Refusal(HOW_TO_LINK)
        return link

    def parse_number(self, text: str) -> str:
        """The E.164 form of a typed number; `Refusal` when it is not a valid number.

        A short code (`72345`) or a sender id (`ACMEBANK`), which can text us but not be
        texted or called (QTvoice's `POST /sms` and `POST /calls` take a phone number), is
        refused saying so.
        """
        region = self.settings.default_region
        e164 = phone.parse(text, region)
        if e164 is None:
            # Only as typed: "555-12" is a mistyped number, not the short code 55512.
            party = Party.read(text, region)
            party = party if party == text.strip() else None
            # A party is digits, or letters, digits and ` &.'_-`: only `&` is mrkdwn.
            shown = party.replace("&", "&amp;") if party is not None else ""
            if party is not None and party.kind is PartyKind.SHORT_CODE:
                raise Refusal(
                    f"“{shown}” is a short code, and QTvoice can only text or"
                    " call phone numbers, so it can't be reached from here. (If you meant a"
                    " phone number, add the area code.)"
                )
            if party is not None and party.kind is PartyKind.SENDER_ID:
                raise Refusal(
                    f"“{shown}” is a sender name, not a phone number: it can"
                    " send texts but can't receive them, so there is nothing to text back."
                )
            raise Refusal(
                "That doesn't look like a phone number; try it with the area code,"
                " like `215-555-1234`, or with the country code, like `+44 20 7123 4567`."
            )
        return e164

    async def place_call(self, user_id: str, to: str) -> CallInitiated:
        """Click-to-call: QTvoice rings the user's extension, then dials `to`.

        The call is remembered, so the daily digest counts the caller as called back.
        """
        link = await self.require_link(user_id)
        number = self.parse_number(to)
        call = await self.runtime.qtvoice.create_call(number, extension_id=link.extension_id)
        async with self.runtime.sessions() as session:
            await ownership.record_placed_call(session, user_id, number, call.id)
        await self._reached(user_id, number)
        return call

    async def send_text(
        self, user_id: str, to: str, message: str, *, line: str | None = None
    ) -> Sms:
        """Send `message` to `to` from `line` (else the user's own line, else QTvoice's default).

        The text is counted against the user's per-minute allowance before it is sent, so two
        texts sent at the same moment cannot both slip under the limit; a text QTvoice
        certainly did not send is taken off the count again.
        """
        number = self.parse_number(to)
        link = await self.require_link(user_id)
        text = message.strip()
        if not text:
            raise Refusal("There's nothing to send; add the text after the number.")
        if len(text) > MAX_SMS_LENGTH:
            raise Refusal(
                f"That text is {len(text)} characters; please keep it to {MAX_SMS_LENGTH}."
            )
        await self._refuse_opted_out(number)
        sender = line or link.phone_number
        reservation = await self._reserve_text(user_id, number, sender)
        try:
            sms = await self.runtime.qtvoice.send_sms(number, text, from_=sender)
        except QTvoiceError as error:
            if not error.outcome_unknown:
                await self._release_text(reservation)
            raise
        await self._confirm_text(reservation, sms)
        await self._reached(user_id, number)
        return sms

    async def _reached(self, user_id: str, number: str) -> None:
        """`user_id` called or texted `number` back: what waited for it is theirs now."""
        async with self.runtime.sessions() as session:
            taken = await ownership.take_waiting(session, number, user_id, utcnow())
        if taken and self.on_taken is not None:
            await self.on_taken(taken)

    async def find_contacts(self, words: str) -> list[Contact]:
        """Contacts matching a name, company or email, best first."""
        query = " ".join(words.split())
        if not query:
            return []
        return await self.runtime.qtvoice.search_contacts(query, limit=CONTACT_SEARCH_LIMIT)

    async def _refuse_opted_out(self, number: str) -> None:
        async with self.runtime.sessions() as session:
            opted_out = await consent.is_opted_out(session, number)
        if opted_out:
            # Said in threads too, where MASK_NUMBERS shows the customer's number masked.
            region = self.settings.default_region
            shown = (
                phone.mask(number) if self.settings.mask_numbers else phone.display(number, region)
            )
            raise Refusal(
                f"{shown} has opted out of texts"
                " (they replied STOP), so it can't be texted until they reply START."
            )

    async def _reserve_text(self, user_id: str, to: str, line: str | None) -> int:
        """Count the text against the user's allowance; `Refusal` when it is used up."""
        limit = self.settings.sms_per_minute
        async with self.runtime.sessions() as session, session.begin():
            recent = await session.scalar(
                select(func.count())
                .select_from(OutboundText)
                .where(
                    OutboundText.slack_user_id == user_id,
                    OutboundText.sent_at > utcnow() - RATE_WINDOW,
                )
            )
            if (recent or 0) >= limit:
                raise Refusal(
                    f"You've sent {limit} texts in the last minute, the most allowed;"
                    " please wait a minute and send it again."
                )
            row = OutboundText(slack_user_id=user_id, to=to, line=line)
            session.add(row)
            await session.flush()
            return row.id

    async def _release_text(self, reservation: int) -> None:
        async with self.runtime.sessions() as session, session.begin():
            await session.execute(delete(OutboundText).where(OutboundText.id == reservation))

    async def _confirm_text(self, reservation: int, sms: Sms) -> None:
        async with self.runtime.sessions() as session, session.begin():
            await session.execute(
                update(OutboundText)
                .where(OutboundText.id == reservation)
                .values(sms_id=sms.id, line=sms.from_ or OutboundText.line)
            )
