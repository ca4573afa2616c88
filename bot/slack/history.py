"""`/qtvoice history <number or name>`: a party's calls, voicemails and texts, newest first.

Read from QTvoice, not from what the bot happened to post: five requests (calls from and to
the number, its voicemails, texts from and to it), one page of each. A name is looked up in
the contacts; several matches are listed with their numbers to type instead.
"""

from __future__ import annotations

from bot import phone
from bot.runtime import Runtime
from bot.slack.blocks.history import history_card
from bot.slack.blocks.kit import Message, RenderContext, escape_mrkdwn
from bot.telephony import Refusal, Telephony

PAGE = 20


class History:
    def __init__(self, runtime: Runtime, ctx: RenderContext) -> None:
        self.runtime = runtime
        self.telephony = Telephony(runtime)
        self.ctx = ctx

    async def show(self, typed: str) -> Message:
        """The history of the number typed, or of the one contact the words name.

        Raises `Refusal` (one friendly sentence) for no target, an unreadable number, or
        names matching nobody or several; `QTvoiceError` from QTvoice propagates.
        """
        target = " ".join(typed.split())
        if not target:
            raise Refusal("Whose history? Try `/qtvoice history 215-555-1234` or a name.")
        number, name = await self._party(target)
        qtvoice = self.runtime.qtvoice
        calls = [
            *(await qtvoice.list_calls(from_=number, limit=PAGE)).data,
            *(await qtvoice.list_calls(to=number, limit=PAGE)).data,
        ]
        voicemails = (await qtvoice.list_voicemails(from_=number, limit=PAGE)).data
        texts = [
            *(await qtvoice.list_sms(from_=number, limit=PAGE)).data,
            *(await qtvoice.list_sms(to=number, limit=PAGE)).data,
        ]
        return history_card(number, name, calls, voicemails, texts, self.ctx)

    async def _party(self, target: str) -> tuple[str, str | None]:
        if phone.is_phone_like(target):
            return self.telephony.parse_number(target), None
        region = self.runtime.settings.default_region
        contacts = await self.telephony.find_contacts(target)
        reachable = [
            (contact, number)
            for contact in contacts
            if contact.phone and (number := phone.parse(contact.phone, region))
        ]
        if not reachable:
            raise Refusal(
                f"No contact with a phone number matches “{escape_mrkdwn(target[:80])}”;"
                " try another name, or type the number."
            )
        if len(reachable) > 1:
            choices = ", ".join(
                f"{escape_mrkdwn(contact.full_name or contact.company or 'Unnamed')}"
                f" ({phone.display(number, region)})"
                for contact, number in reachable[:5]
            )
            raise Refusal(f"Several contacts match: {choices}. Run it again with the number.")
        contact, number = reachable[0]
        return number, contact.full_name or contact.company
