"""Slash commands: `/qtvoice SUBCOMMAND …` and the aliases `/call`, `/sms` and `/contact`.

Every command is acknowledged at once, before anything slow: Slack gives up after three seconds
and QTvoice may take longer. The answer follows through the response URL, always ephemeral,
since it is for the person who typed the command; every mistake is one sentence saying what
to do instead (`bot.slack.sentences`).

Each subcommand reads its text with `bot.slack.parsing` (mentions are read where a subcommand
takes one: link, unlink, route, unroute; everywhere else they are turned back into plain text,
so a text typed as "a < b @ AT&T" is sent exactly so), keeps routes with `bot.store.routes`,
and answers with a message from `bot.slack.blocks.replies`.

Buttons this module's answers carry (values in `bot.slack.buttons`): the contact picker's
`pick_contact` (answered by `bot.slack.listeners.actions`) and the link offer's
`link_extension` (answered here, as part of the link flow).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from slack_bolt.async_app import AsyncApp

from bot import phone
from bot.qtvoice.errors import QTvoiceError
from bot.qtvoice.models import Contact, Extension
from bot.runtime import Runtime
from bot.slack.blocks import health as health_blocks
from bot.slack.blocks import notifications
from bot.slack.blocks import replies as cards
from bot.slack.blocks import service as service_blocks
from bot.slack.blocks.kit import Message, escape_mrkdwn, is_user_id, shown_number
from bot.slack.blocks.notifications import Line
from bot.slack.health import DeliveryHealth
from bot.slack.history import History
from bot.slack.items import ItemCopies
from bot.slack.markup import plain_text, readable
from bot.slack.parsing import (
    ambiguous_readings,
    around_channel,
    extension_phone,
    find_extension,
    leading_mention,
    split_first,
    target_and_text,
)
from bot.slack.rendering import lookup_caller, render_context
from bot.slack.requests import Click, SlashCommand, on_click, on_command
from bot.slack.sentences import ADMINS_ONLY, SORRY, sentence
from bot.slack.service import Forget
from bot.slack.tell import Tell
from bot.store import incidents, links, routes
from bot.store import replies as saved_replies
from bot.store.models import ExtensionLink, utcnow
from bot.store.routes import KIND_ALIASES, parse_kinds
from bot.telephony import HOW_TO_LINK, Refusal, Telephony

logger = logging.getLogger(__name__)

COMMAND = "/qtvoice"
#: Each alias is its subcommand of /qtvoice.
ALIASES = {"/call": "call", "/sms": "sms", "/contact": "contact"}
REPLIES_USAGE = (
    "Admins add one with `/qtvoice replies add hours We're open 9-5, Mon-Fri`"
    " and remove it with `/qtvoice replies remove hours`."
)
VOICEMAILS_SHOWN = 10
"""Three blocks each plus a divider stays under Slack's 50 blocks per message."""
EXTENSION_OFFERS_SHOWN = 5

HELP = """\
*QTvoice in Slack*
• `/call <number or name>`: QTvoice rings your extension, then dials them
• `/sms <number or name> <text>`: send a text (a name with spaces: `/sms "Jane Roe" On my way`)
• `/contact <number or name>`: the contact card with recent calls
• `/qtvoice link [extension]` · `unlink` · `whoami`: connect Slack to your QTvoice extension
• `/qtvoice voicemails`: your unread voicemails
• `/qtvoice history <number or name>`: their calls, voicemails and texts, newest first
• `/qtvoice replies`: the saved replies the text forms offer
• `/qtvoice help`: this list
Each of `call`, `sms` and `contact` also works as `/qtvoice call …`."""

ADMIN_HELP = """
*For admins*
• `/qtvoice link @someone 101` · `/qtvoice unlink @someone`
• `/qtvoice route <number or extension> #channel [kinds]`: send its events to a channel
  (kinds: {kinds}, or event names such as `call.missed`)
• `/qtvoice routes` · `/qtvoice unroute <number or extension> [#channel]`
• `/qtvoice status`: deliveries waiting and failed, last webhook, webhooks refused,
  QTvoice API budget
• `/qtvoice replies add <name> <text>` · `/qtvoice replies remove <name>`: saved replies
• `/qtvoice forget <number>`: erase everything stored about a caller (asks first)"""


@dataclass(frozen=True)
class Invocation:
    """One slash command as typed: who, where, and the text after the subcommand (raw)."""

    user_id: str
    channel_id: str
    args: str


@dataclass(frozen=True)
class Party:
    """Who to call or text: an E.164 number, and the contact's name when found by name."""

    number: str
    name: str | None = None


Subcommand = Callable[[Invocation], Awaitable[Message]]


def register(app: AsyncApp, runtime: Runtime) -> None:
    """Attach /qtvoice, its aliases and the link offer's button to the Bolt app."""
    commands = SlashCommands(runtime)

    async def command(typed: SlashCommand, tell: Tell) -> None:
        subcommand = ALIASES.get(typed.command)
        if subcommand is None:
            subcommand, args = split_first(typed.text)
        else:
            args = typed.text
        invocation = Invocation(typed.user_id, typed.channel_id, args)
        await commands.run(subcommand.lower(), invocation, tell)

    async def link_extension(click: Click, tell: Tell) -> None:
        value = commands.ctx.buttons.decode(click.value)
        extension_id = value.extension if value is not None else None
        await tell.message(
            await commands.answer(lambda: commands.link_offered(click.user_id, extension_id))
        )

    for name in (COMMAND, *ALIASES):
        app.command(name)(on_command(command))
    app.action(cards.LINK_EXTENSION)(on_click(link_extension))


class SlashCommands:
    """Every subcommand, each taking an `Invocation` and answering with a message."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.telephony = Telephony(runtime, on_taken=ItemCopies(runtime).show)
        self.ctx = render_context(self.settings)
        self.forget = Forget(runtime)
        self.subcommands: dict[str, Subcommand] = {
            "call": self.call,
            "sms": self.sms,
            "text": self.sms,
            "contact": self.contact,
            "link": self.link,
            "unlink": self.unlink,
            "whoami": self.whoami,
            "route": self.route,
            "routes": self.routes,
            "unroute": self.unroute,
            "voicemails": self.voicemails,
            "status": self.status,
            "history": self.history,
            "replies": self.replies,
            "help": self.help,
            "forget": lambda invocation: self.forget.ask(invocation.user_id, invocation.args),
        }

    async def run(self, name: str, invocation: Invocation, tell: Tell) -> None:
        handler = self.subcommands.get(name or "help")
        if handler is None:
            reply = self._unknown(name, invocation)
        else:
            reply = await self.answer(lambda: handler(invocation))
        await tell.message(reply)

    async def answer(self, work: Callable[[], Awaitable[Message]]) -> Message:
        """The reply to show: the work's own, or one friendly sentence when it failed."""
        try:
            return await work()
        except Refusal as refusal:
            return cards.say(sentence(refusal))
        except QTvoiceError as error:
            logger.info("slash command: %s", error)
            return cards.say(sentence(error))
        except Exception:
            # The edge of the app: a person is waiting, so they get a sentence, the log the trace.
            logger.exception("slash command failed")
            return cards.say(SORRY)

    # Calling, texting, contacts

    async def call(self, invocation: Invocation) -> Message:
        target = plain_text(invocation.args).strip()
        if not target:
            raise Refusal("Who should I call? Try `/call 215-555-1234` or `/call John Doe`.")
        link = await self.telephony.require_link(invocation.user_id)
        party = await self._resolve(target, "call")
        if isinstance(party, Message):
            return party
        await self.telephony.place_call(invocation.user_id, party.number)
        return cards.say(
            f"📞 Calling {self._party(party)}: QTvoice rings your extension"
            f" {cards.extension_label(link)} first; pick up and it dials them."
            + self._main_number_only(target, "dials")
        )

    async def sms(self, invocation: Invocation) -> Message:
        region, people = self.settings.default_region, self.runtime.people
        if readings := ambiguous_readings(invocation.args, region):
            await self.telephony.require_link(invocation.user_id)
            texts = [(number, await readable(text, people)) for number, text in readings]
            return cards.number_readings(texts, self.ctx)
        target, typed = target_and_text(invocation.args, region)
        target, text = plain_text(target), await readable(typed, people)
        if not target:
            raise Refusal("Who should I text? Try `/sms 215-555-1234 On my way`.")
        if not text.strip():
            raise Refusal(
                f"What should the text say? Put it after the number: `/sms {escape_mrkdwn(target)}"
                " On my way`."
            )
        await self.telephony.require_link(invocation.user_id)
        party = await self._resolve(target, "sms", text=text)
        if isinstance(party, Message):
            return party
        await self.telephony.send_text(invocation.user_id, party.number, text)
        return cards.say(
            f"✉️ Text sent to {self._party(party)}:\n{cards.quoted(text)}"
            + self._main_number_only(target, "texts")
        )

    async def contact(self, invocation: Invocation) -> Message:
        target = plain_text(invocation.args).strip()
        if not target:
            raise Refusal("Whose card? Try `/contact 215-555-1234` or `/contact Acme`.")
        if phone.is_phone_like(target):
            number = self.telephony.parse_number(target)
            lookup = await self.runtime.qtvoice.lookup_contact(number)
            return notifications.contact_card(lookup, number, self.ctx)
        party = await self._resolve(target, "contact")
        if isinstance(party, Message):
            return party
        lookup = await self.runtime.qtvoice.lookup_contact(party.number)
        return notifications.contact_card(lookup, party.number, self.ctx)

    async def _resolve(
        self, target: str, purpose: str, *, text: str | None = None
    ) -> Party | Message:
        """The number typed, or the one contact the words name, or a picker among several."""
        if phone.is_phone_like(target):
            return Party(self.telephony.parse_number(target))
        contacts = await self.telephony.find_contacts(target)
        reachable = [(contact, number) for contact in contacts if (number := self._number(contact))]
        if not contacts:
            raise Refusal(
                f"No contact matches “{cards.shown(target)}”; try another name, or type the number."
            )
        if not reachable:
            raise Refusal(
                f"No contact matching “{cards.shown(target)}” has a phone number in QTvoice."
            )
        if len(reachable) == 1:
            contact, number = reachable[0]
            return Party(number, contact.full_name or contact.company)
        choices = [contact for contact, _ in reachable]
        if text is not None:
            return cards.picker_carrying_text(choices, self.ctx, text)
        return notifications.contact_picker(choices, purpose, self.ctx)

    def _main_number_only(self, typed: str, verb: str) -> str:
        """A plain word when the number was typed with an extension QTvoice cannot reach."""
        extension = phone.extension(typed, self.settings.default_region)
        if extension is None:
            return ""
        return (
            f"\n☎️ QTvoice {verb} the main number only: it has no way to reach extension"
            f" {escape_mrkdwn(extension)}, so ask for it once you're through."
        )

    def _number(self, contact: Contact) -> str | None:
        return phone.parse(contact.phone, self.settings.default_region) if contact.phone else None

    def _party(self, party: Party) -> str:
        shown = shown_number(party.number, self.ctx)  # masked when MASK_NUMBERS
        return f"*{cards.shown(party.name)}* · {shown}" if party.name else f"*{shown}*"

    # Linking a Slack user to an extension

    async def link(self, invocation: Invocation) -> Message:
        subject, rest = self._subject(invocation, "link someone else")
        _require_user_id(subject)
        wanted = plain_text(rest).strip()
        if not wanted:
            if subject != invocation.user_id:
                raise Refusal("Which extension? Try `/qtvoice link @someone 101`.")
            return await self._offer_by_email(invocation.user_id)
        extension = find_extension(
            await self.runtime.qtvoice.list_extensions(), wanted, self.settings.default_region
        )
        if extension is None:
            raise Refusal(
                f"There's no extension “{cards.shown(wanted)}” in QTvoice; check the number"
                " (like `101`) or the id (like `ext_101`)."
            )
        return await self._link(subject, extension, linked_by=invocation.user_id)

    async def link_offered(self, user_id: str, extension_id: str | None) -> Message:
        """The link offer's button was clicked: link the extension it names, if it still exists
        (None: a button the bot did not write, which names none)."""
        _require_user_id(user_id)
        extensions = await self.runtime.qtvoice.list_extensions()
        extension = next((ext for ext in extensions if ext.id == extension_id), None)
        if extension is None:
            raise Refusal(
                "That extension no longer exists in QTvoice; run `/qtvoice link` to look again."
            )
        return await self._link(user_id, extension, linked_by=user_id)

    async def _offer_by_email(self, user_id: str) -> Message:
        person = await self.runtime.people.get(user_id)
        email = person.email.casefold() if person is not None and person.email else None
        if email is None:
            raise Refusal(
                "I couldn't read your Slack email to find your extension; run"
                " `/qtvoice link <extension>` with your extension number, like `/qtvoice link 101`."
            )
        extensions = await self.runtime.qtvoice.list_extensions()
        matches = [ext for ext in extensions if ext.email and ext.email.casefold() == email]
        if not matches:
            raise Refusal(
                f"No QTvoice extension has your email ({cards.shown(email)}); run"
                " `/qtvoice link <extension>` with your extension number, like `/qtvoice link 101`."
            )
        return cards.link_offer(matches[:EXTENSION_OFFERS_SHOWN], self.ctx)

    async def _link(self, user_id: str, extension: Extension, *, linked_by: str) -> Message:
        """Link `user_id` as `linked_by` may (`bot.store.links.verdict`); everyone else who
        holds the extension, and the person linked by someone else, hear of it by DM."""
        person = await self.runtime.people.get(user_id)
        link = ExtensionLink(
            slack_user_id=user_id,
            extension_id=extension.id,
            extension_number=extension.number,
            extension_name=extension.name,
            phone_number=extension_phone(extension, self.settings.default_region),
            linked_by=linked_by,
            linked_at=utcnow(),
        )
        label = cards.extension_label(link)
        async with self.runtime.sessions() as session, session.begin():
            holders = await links.holders(session, extension.id)
            allowed = links.verdict(
                subject=user_id,
                by_admin=self._is_admin(linked_by),
                holders=holders,
                extension_email=extension.email,
                slack_email=person.email if person is not None else None,
            )
            if allowed is not links.Verdict.ALLOWED:
                raise Refusal(self._link_refused(allowed, label, holders))
            await links.save(session, link)
        for holder in holders:
            if holder not in (user_id, linked_by):
                await self._tell(
                    holder,
                    f"🔗 <@{linked_by}> linked <@{user_id}> to extension {label}, which you hold"
                    " too: they now also get its missed calls and voicemails.",
                )
        if user_id == linked_by:
            return cards.say(
                f"✅ You're linked to extension {label}. `/call` now rings it first,"
                " and its missed calls and voicemails reach you by direct message."
            )
        await self._tell(
            user_id,
            f"🔗 <@{linked_by}> linked you to extension {label}: `/call` rings it first, and"
            " its missed calls and voicemails reach you here.",
        )
        return cards.say(f"✅ <@{user_id}> is now linked to extension {label}.")

    def _link_refused(self, verdict: links.Verdict, label: str, holders: list[str]) -> str:
        admins = self._admins()
        if verdict is links.Verdict.HELD:
            held_by = ", ".join(f"<@{holder}>" for holder in holders)
            return (
                f"Extension {label} is linked to {held_by}. Ask them to run `/qtvoice unlink`"
                f" first, or ask {admins} to link you to it as well."
            )
        return (
            f"Extension {label} has another email in QTvoice than your Slack email, so only"
            f" an admin can link you to it: ask {admins}."
        )

    def _admins(self) -> str:
        """Whom to ask for what only admins may do."""
        admins = self.settings.admin_user_ids
        if not admins:
            return "whoever runs this app (no admin is set: `ADMIN_USER_IDS`)"
        return "an admin (" + ", ".join(f"<@{admin}>" for admin in admins) + ")"

    async def _tell(self, user_id: str, text: str) -> None:
        """A direct message to `user_id` about a change to their link."""
        await Tell(self.runtime.slack, user_id)(text)

    async def unlink(self, invocation: Invocation) -> Message:
        subject, _ = self._subject(invocation, "unlink someone else")
        async with self.runtime.sessions() as session, session.begin():
            link = await links.remove(session, subject)
        yourself = subject == invocation.user_id
        if link is None:
            return cards.say(
                "You weren't linked to an extension."
                if yourself
                else f"<@{subject}> wasn't linked."
            )
        label = cards.extension_label(link)
        if yourself:
            return cards.say(f"Done: you're no longer linked to extension {label}.")
        await self._tell(
            subject,
            f"🔗 <@{invocation.user_id}> unlinked you from extension {label}: you're no longer"
            " linked to it, and its calls no longer reach you here.",
        )
        return cards.say(f"Done: <@{subject}> is no longer linked to extension {label}.")

    async def whoami(self, invocation: Invocation) -> Message:
        link = await self.telephony.link_of(invocation.user_id)
        role = " You're a QTvoice admin here." if self._is_admin(invocation.user_id) else ""
        if link is None:
            return cards.say(HOW_TO_LINK + role)
        line = ""
        if link.phone_number:
            line = f", line {phone.display(link.phone_number, self.settings.default_region)}"
        return cards.say(f"You're linked to extension {cards.extension_label(link)}{line}.{role}")

    def _subject(self, invocation: Invocation, what: str) -> tuple[str, str]:
        """Whose link a command is about (the caller, or an admin's `@someone`) and the rest."""
        subject, rest = leading_mention(invocation.args)
        if subject is None:
            return invocation.user_id, rest
        if subject != invocation.user_id:
            self._require_admin(invocation.user_id, what)
        return subject, rest

    # Routes

    async def route(self, invocation: Invocation) -> Message:
        self._require_admin(invocation.user_id, "manage routes")
        before, channel, after = around_channel(invocation.args)
        if channel is None or not before.strip():
            raise Refusal(
                "Name the number or extension, then the channel: "
                "`/qtvoice route 101 #support` or `/qtvoice route 215-555-0100 #sales sms`."
            )
        try:
            kinds = parse_kinds(plain_text(after).split())
        except ValueError as error:
            raise Refusal(
                f"“{cards.shown(str(error))}” isn't an event kind I know; use any of"
                f" {_known_kinds()}, or an event name such as `call.missed`."
            ) from None
        target, label = await self._route_target(plain_text(before).strip())
        async with self.runtime.sessions() as session, session.begin():
            route = await routes.save_route(
                session, target, channel, kinds, created_by=invocation.user_id
            )
            stored_kinds = route.event_kinds
        return cards.say(f"✅ {label} now goes to <#{channel}>: {cards.kinds_label(stored_kinds)}.")

    async def routes(self, invocation: Invocation) -> Message:
        self._require_admin(invocation.user_id, "see routes")
        async with self.runtime.sessions() as session:
            saved = await routes.all_routes(session)
        fallback = f"Everything else goes to <#{self.settings.notify_channel}>."
        if not saved:
            return cards.say(f"No routes yet. {fallback}")
        lines = [
            f"• {self._target_label(route.target)} → <#{route.channel_id}>:"
            f" {cards.kinds_label(route.event_kinds)}"
            for route in saved
        ]
        return cards.say("*Routes*\n" + "\n".join(lines) + f"\n{fallback}")

    async def unroute(self, invocation: Invocation) -> Message:
        self._require_admin(invocation.user_id, "manage routes")
        before, channel, _ = around_channel(invocation.args)
        if not before.strip():
            raise Refusal(
                "Which route? Try `/qtvoice unroute 101` or `/qtvoice unroute 101 #support`."
            )
        target, label = await self._route_target(plain_text(before).strip())
        async with self.runtime.sessions() as session, session.begin():
            removed = await routes.remove_routes(session, target, channel)
        where = f" to <#{channel}>" if channel else ""
        if not removed:
            return cards.say(f"There was no route for {label}{where}.")
        noun = "route" if removed == 1 else "routes"
        return cards.say(f"Done: removed {removed} {noun} for {label}{where}.")

    async def _route_target(self, typed: str) -> tuple[str, str]:
        """What a route is stored under (E.164 or extension id), and how to show it."""
        number = phone.parse(typed, self.settings.default_region)
        if number is not None:
            return number, self._target_label(number)
        extension = find_extension(
            await self.runtime.qtvoice.list_extensions(), typed, self.settings.default_region
        )
        if extension is None:
            raise Refusal(
                f"“{cards.shown(typed)}” is neither a phone number nor an extension; use a number like"
                " `215-555-0100` or an extension like `101`."
            )
        return extension.id, f"Extension {cards.extension_label(extension)}"

    def _target_label(self, target: str) -> str:
        if target.startswith("+"):
            return phone.display(target, self.settings.default_region)
        return f"Extension `{cards.shown(target)}`"

    # Voicemails, status, help

    async def voicemails(self, invocation: Invocation) -> Message:
        link = await self.telephony.require_link(invocation.user_id)
        page = await self.runtime.qtvoice.list_voicemails(is_read=False)
        mine = [
            vm
            for vm in page.data
            if vm.extension_id is None or vm.extension_id == link.extension_id
        ]
        if not mine:
            return cards.say("📭 No unread voicemails. Nice!")
        shown = []
        for vm in mine[:VOICEMAILS_SHOWN]:
            caller = await lookup_caller(self.runtime, vm.from_)
            line = Line(number=vm.to, extension_id=vm.extension_id)
            shown.append(notifications.voicemail(vm, caller, line, self.ctx))
        return cards.voicemail_list(shown, unread=len(mine))

    async def status(self, invocation: Invocation) -> Message:
        self._require_admin(invocation.user_id, "see the bot's status")
        health = await DeliveryHealth(self.runtime).read(failed_shown=0)
        async with self.runtime.sessions() as session:
            open_incidents = await incidents.open_now(session)
        last_webhook = health_blocks.last_webhook_label(health.last_webhook, utcnow(), self.ctx)
        lines = [
            "*QTvoice bridge status*",
            *(service_blocks.open_incident(incident, self.ctx) for incident in open_incidents),
            f"• Deliveries waiting: {health.waiting} · failed: {health.failed_count}",
            f"• Last webhook: {last_webhook}",
            f"• QTvoice API budget: {self._rate_limit_label()}",
            health_blocks.refused_text(health.refused, self.ctx),
        ]
        if health.failed_count:
            lines.append(
                "_Replay failed deliveries from the App Home, or list them with"
                " `qtslack deliveries --failed` and retry one with `qtslack replay ID`._"
            )
        return cards.say("\n".join(lines))

    def _rate_limit_label(self) -> str:
        budget = self.runtime.qtvoice.rate_limit
        if budget is None or budget.remaining is None:
            return "not known yet (QTvoice reports it with each answer)"
        of_limit = f" of {budget.limit}" if budget.limit is not None else ""
        resets = round(budget.resets_in() / 60)
        return f"{budget.remaining}{of_limit} requests left, resets in {resets} min"

    async def replies(self, invocation: Invocation) -> Message:
        """`replies` lists the saved replies; `replies add NAME TEXT` and `replies remove
        NAME` (admins) manage them."""
        action, rest = split_first(invocation.args)
        action = action.lower()
        if action in ("add", "remove"):
            self._require_admin(invocation.user_id, "manage saved replies")
            name, text = split_first(rest)
            try:
                async with self.runtime.sessions() as session:
                    if action == "add":
                        saved = await saved_replies.save(
                            session, name, plain_text(text), invocation.user_id
                        )
                        return cards.say(f"✅ Saved reply `{cards.shown(saved.name)}`.")
                    removed = await saved_replies.remove(session, saved_replies.reply_name(name))
            except saved_replies.ReplyRefused as refused:
                raise Refusal(str(refused)) from None
            shown = cards.shown(plain_text(name))
            return cards.say(
                f"Removed the saved reply `{shown}`." if removed else f"No saved reply `{shown}`."
            )
        if action:
            raise Refusal(REPLIES_USAGE)
        async with self.runtime.sessions() as session:
            listed = await saved_replies.all_replies(session)
        if not listed:
            return cards.say("No saved replies yet. " + REPLIES_USAGE)
        lines = [f"• `{cards.shown(saved.name)}`: {cards.shown(saved.text)}" for saved in listed]
        return cards.say("*Saved replies* (offered when you text back)\n" + "\n".join(lines))

    async def history(self, invocation: Invocation) -> Message:
        return await History(self.runtime, self.ctx).show(plain_text(invocation.args))

    async def help(self, invocation: Invocation) -> Message:
        return cards.say(self._help_text(invocation.user_id))

    def _help_text(self, user_id: str) -> str:
        if not self._is_admin(user_id):
            return HELP
        return HELP + ADMIN_HELP.format(kinds=_known_kinds())

    def _unknown(self, name: str, invocation: Invocation) -> Message:
        hint = f"I don't know `{cards.shown(plain_text(name))}`; here's what I can do.\n\n"
        return cards.say(hint + self._help_text(invocation.user_id))

    # Permissions

    def _is_admin(self, user_id: str) -> bool:
        return user_id in self.settings.admin_user_ids

    def _require_admin(self, user_id: str, what: str) -> None:
        if not self._is_admin(user_id):
            raise Refusal(ADMINS_ONLY.format(what=what))


# Reading what was typed


def _require_user_id(user_id: str) -> None:
    """Refuse to link anything but a Slack user id: a link is a DM destination, and Slack
    cannot open a DM with anything else."""
    if not is_user_id(user_id):
        raise Refusal("That isn't a Slack user I can link; mention them, like `@someone`.")


def _known_kinds() -> str:
    return ", ".join(f"`{word}`" for word in KIND_ALIASES)
