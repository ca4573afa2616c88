"""Slash commands: `/qtvoice SUBCOMMAND …` and the aliases `/call`, `/sms` and `/contact`.

Every command is acknowledged at once, before anything slow: Slack gives up after three seconds
and QTvoice may take longer. The answer follows through the response URL, always ephemeral,
since it is for the person who typed the command; every mistake is one sentence saying what
to do instead.

Slack sends the command text with `&`, `<` and `>` escaped, and (the manifest sets
`should_escape`) mentions as `<@U123|name>` and channels as `<#C123|name>`. Mentions are read
where a subcommand takes one (link, unlink, route, unroute) and turned back into plain text
everywhere else, so a text typed as "a < b @ AT&T" is sent exactly so.

Button values this module puts in messages (compact JSON):

- `pick_contact` (several contacts match a name; answered by `bot.slack.actions`):
  {"n": "<the contact's E.164 number>", "p": "call" | "sms" | "contact"}, and for "sms" also
  "t": the text to send, at most 1000 characters.
- `link_extension` (the extension whose email matches the user's Slack email; answered here,
  as part of the link flow): {"x": "<extension id>"}.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from sqlalchemy import delete, func, select

from bot import phone
from bot.delivery import inbox
from bot.delivery.contacts import ContactDirectory
from bot.delivery.router import KIND_ALIASES, parse_kinds
from bot.qtvoice.errors import QTvoiceError
from bot.qtvoice.models import Contact, Extension, Voicemail
from bot.runtime import Runtime
from bot.slack import blocks
from bot.slack.blocks import Block, Line, Message, RenderContext, escape_mrkdwn
from bot.slack.rendering import shown_number
from bot.store.models import ExtensionLink, InboxEvent, Route, utcnow
from bot.telephony import HOW_TO_LINK, Refusal, Telephony

logger = logging.getLogger(__name__)

COMMAND = "/qtvoice"
#: Each alias is its subcommand of /qtvoice.
ALIASES = {"/call": "call", "/sms": "sms", "/contact": "contact"}
LINK_EXTENSION = "link_extension"

PICKED_TEXT_LIMIT = 1000
"""Longest text carried in a picker button: Slack allows 2000 characters per button value."""
BUTTON_VALUE_LIMIT = 2000
VOICEMAILS_SHOWN = 10
"""Three blocks each plus a divider stays under Slack's 50 blocks per message."""
EXTENSION_OFFERS_SHOWN = 5

SORRY = "Sorry, something went wrong on our side; please try again in a moment."
ADMINS_ONLY = "Only QTvoice admins can {what}; please ask one of them."

_USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_CHANNEL_MENTION = re.compile(r"<#([CG][A-Z0-9]+)(?:\|[^>]*)?>")
_SLACK_MARKUP = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
#: A name in straight or curly double quotes (Slack's clients often curl them), then the text.
_QUOTED_NAME = re.compile(
    r'^\s*["\u201c\u201d]([^"\u201c\u201d]+)["\u201c\u201d]\s*(.*)$', re.DOTALL
)
_NAME_THEN_COLON = re.compile(r"^\s*([^:\n]+?)\s*:\s*(.*)$", re.DOTALL)

HELP = """\
*QTvoice in Slack*
• `/call <number or name>`: QTvoice rings your extension, then dials them
• `/sms <number or name> <text>`: send a text (a name with spaces: `/sms "Jane Roe" On my way`)
• `/contact <number or name>`: the contact card with recent calls
• `/qtvoice link [extension]` · `unlink` · `whoami`: connect Slack to your QTvoice extension
• `/qtvoice voicemails`: your unread voicemails
• `/qtvoice help`: this list
Each of `call`, `sms` and `contact` also works as `/qtvoice call …`."""

ADMIN_HELP = """
*For admins*
• `/qtvoice link @someone 101` · `/qtvoice unlink @someone`
• `/qtvoice route <number or extension> #channel [kinds]`: send its events to a channel
  (kinds: {kinds}, or event names such as `call.missed`)
• `/qtvoice routes` · `/qtvoice unroute <number or extension> [#channel]`
• `/qtvoice status`: deliveries waiting and failed, last webhook, QTvoice API budget"""


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

    async def qtvoice(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        name, args = _split_first(command.get("text") or "")
        await commands.run(name.lower(), _invocation(command, args), respond)

    async def alias(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        subcommand = ALIASES[command["command"]]
        await commands.run(subcommand, _invocation(command, command.get("text") or ""), respond)

    async def link_extension(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        value = _button_value(body)
        user_id = str(body["user"]["id"])
        reply = await commands.answer(lambda: commands.link_offered(user_id, value))
        await _send(respond, reply)

    app.command(COMMAND)(qtvoice)
    for name in ALIASES:
        app.command(name)(alias)
    app.action(LINK_EXTENSION)(link_extension)


class SlashCommands:
    """Every subcommand, each taking an `Invocation` and answering with a message."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.telephony = Telephony(runtime)
        self.directory = ContactDirectory(runtime.qtvoice)
        self.ctx = RenderContext(
            timezone=self.settings.zone,
            default_region=self.settings.default_region,
            mask_numbers=self.settings.mask_numbers,
        )
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
            "help": self.help,
        }

    async def run(self, name: str, invocation: Invocation, respond: AsyncRespond) -> None:
        handler = self.subcommands.get(name or "help")
        if handler is None:
            reply = self._unknown(name, invocation)
        else:
            reply = await self.answer(lambda: handler(invocation))
        await _send(respond, reply)

    async def answer(self, work: Callable[[], Awaitable[Message]]) -> Message:
        """The reply to show: the work's own, or one friendly sentence when it failed."""
        try:
            return await work()
        except Refusal as refusal:
            return _say(refusal.message)
        except QTvoiceError as error:
            logger.info("slash command: %s", error)
            return _say(escape_mrkdwn(error.user_message))
        except Exception:
            # The edge of the app: a person is waiting, so they get a sentence, the log the trace.
            logger.exception("slash command failed")
            return _say(SORRY)

    # Calling, texting, contacts

    async def call(self, invocation: Invocation) -> Message:
        target = _plain(invocation.args).strip()
        if not target:
            raise Refusal("Who should I call? Try `/call 215-555-1234` or `/call John Doe`.")
        link = await self.telephony.require_link(invocation.user_id)
        party = await self._resolve(target, "call")
        if isinstance(party, Message):
            return party
        await self.telephony.place_call(invocation.user_id, party.number)
        return _say(
            f"📞 Calling {self._party(party)}: QTvoice rings your extension"
            f" {_extension_label(link)} first; pick up and it dials them."
            + self._main_number_only(target, "dials")
        )

    async def sms(self, invocation: Invocation) -> Message:
        target, text = _target_and_text(_plain(invocation.args), self.settings.default_region)
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
        return _say(
            f"✉️ Text sent to {self._party(party)}:\n{_quoted(text)}"
            + self._main_number_only(target, "texts")
        )

    async def contact(self, invocation: Invocation) -> Message:
        target = _plain(invocation.args).strip()
        if not target:
            raise Refusal("Whose card? Try `/contact 215-555-1234` or `/contact Acme`.")
        if phone.is_phone_like(target):
            number = self.telephony.parse_number(target)
            lookup = await self.runtime.qtvoice.lookup_contact(number)
            return blocks.contact_card(lookup, number, self.ctx)
        party = await self._resolve(target, "contact")
        if isinstance(party, Message):
            return party
        lookup = await self.runtime.qtvoice.lookup_contact(party.number)
        return blocks.contact_card(lookup, party.number, self.ctx)

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
                f"No contact matches “{_shown(target)}”; try another name, or type the number."
            )
        if not reachable:
            raise Refusal(f"No contact matching “{_shown(target)}” has a phone number in QTvoice.")
        if len(reachable) == 1:
            contact, number = reachable[0]
            return Party(number, contact.full_name or contact.company)
        return _picker([contact for contact, _ in reachable], purpose, self.ctx, text)

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
        return f"*{_shown(party.name)}* · {shown}" if party.name else f"*{shown}*"

    # Linking a Slack user to an extension

    async def link(self, invocation: Invocation) -> Message:
        subject, rest = self._subject(invocation, "link someone else")
        wanted = _plain(rest).strip()
        if not wanted:
            if subject != invocation.user_id:
                raise Refusal("Which extension? Try `/qtvoice link @someone 101`.")
            return await self._offer_by_email(invocation.user_id)
        extension = _find_extension(
            await self.runtime.qtvoice.list_extensions(), wanted, self.settings.default_region
        )
        if extension is None:
            raise Refusal(
                f"There's no extension “{_shown(wanted)}” in QTvoice; check the number"
                " (like `101`) or the id (like `ext_101`)."
            )
        return await self._link(subject, extension, linked_by=invocation.user_id)

    async def link_offered(self, user_id: str, value: dict[str, Any]) -> Message:
        """The link offer's button was clicked: link the extension it names, if it still exists."""
        extension_id = str(value.get("x") or "")
        extensions = await self.runtime.qtvoice.list_extensions()
        extension = next((ext for ext in extensions if ext.id == extension_id), None)
        if extension is None:
            raise Refusal(
                "That extension no longer exists in QTvoice; run `/qtvoice link` to look again."
            )
        return await self._link(user_id, extension, linked_by=user_id)

    async def _offer_by_email(self, user_id: str) -> Message:
        email = await self._slack_email(user_id)
        if email is None:
            raise Refusal(
                "I couldn't read your Slack email to find your extension; run"
                " `/qtvoice link <extension>` with your extension number, like `/qtvoice link 101`."
            )
        extensions = await self.runtime.qtvoice.list_extensions()
        matches = [ext for ext in extensions if ext.email and ext.email.casefold() == email]
        if not matches:
            raise Refusal(
                f"No QTvoice extension has your email ({_shown(email)}); run"
                " `/qtvoice link <extension>` with your extension number, like `/qtvoice link 101`."
            )
        return _link_offer(matches[:EXTENSION_OFFERS_SHOWN])

    async def _slack_email(self, user_id: str) -> str | None:
        try:
            answer = await self.runtime.slack.users_info(user=user_id)
        except SlackApiError as error:
            logger.warning("users.info failed: %s", error.response.get("error"))
            return None
        email = ((answer.get("user") or {}).get("profile") or {}).get("email")
        return email.casefold() if isinstance(email, str) and email else None

    async def _link(self, user_id: str, extension: Extension, *, linked_by: str) -> Message:
        link = ExtensionLink(
            slack_user_id=user_id,
            extension_id=extension.id,
            extension_number=extension.number,
            extension_name=extension.name,
            phone_number=_extension_phone(extension, self.settings.default_region),
            linked_by=linked_by,
            linked_at=utcnow(),
        )
        async with self.runtime.sessions() as session, session.begin():
            await session.merge(link)
        label = _extension_label(link)
        if user_id == linked_by:
            return _say(
                f"✅ You're linked to extension {label}. `/call` now rings it first,"
                " and its missed calls and voicemails reach you by direct message."
            )
        return _say(f"✅ <@{user_id}> is now linked to extension {label}.")

    async def unlink(self, invocation: Invocation) -> Message:
        subject, _ = self._subject(invocation, "unlink someone else")
        async with self.runtime.sessions() as session, session.begin():
            link = await session.get(ExtensionLink, subject)
            if link is not None:
                await session.delete(link)
        yourself = subject == invocation.user_id
        if link is None:
            return _say(
                "You weren't linked to an extension."
                if yourself
                else f"<@{subject}> wasn't linked."
            )
        label = _extension_label(link)
        if yourself:
            return _say(f"Done: you're no longer linked to extension {label}.")
        return _say(f"Done: <@{subject}> is no longer linked to extension {label}.")

    async def whoami(self, invocation: Invocation) -> Message:
        link = await self.telephony.link_of(invocation.user_id)
        role = " You're a QTvoice admin here." if self._is_admin(invocation.user_id) else ""
        if link is None:
            return _say(HOW_TO_LINK + role)
        line = ""
        if link.phone_number:
            line = f", line {phone.display(link.phone_number, self.settings.default_region)}"
        return _say(f"You're linked to extension {_extension_label(link)}{line}.{role}")

    def _subject(self, invocation: Invocation, what: str) -> tuple[str, str]:
        """Whose link a command is about (the caller, or an admin's `@someone`) and the rest."""
        mention = _USER_MENTION.match(invocation.args.strip())
        if mention is None:
            return invocation.user_id, invocation.args
        subject = mention.group(1)
        if subject != invocation.user_id:
            self._require_admin(invocation.user_id, what)
        return subject, invocation.args.strip()[mention.end() :]

    # Routes

    async def route(self, invocation: Invocation) -> Message:
        self._require_admin(invocation.user_id, "manage routes")
        before, channel, after = _around_channel(invocation.args)
        if channel is None or not before.strip():
            raise Refusal(
                "Name the number or extension, then the channel: "
                "`/qtvoice route 101 #support` or `/qtvoice route 215-555-0100 #sales sms`."
            )
        try:
            kinds = parse_kinds(_plain(after).split())
        except ValueError as error:
            raise Refusal(
                f"“{_shown(str(error))}” isn't an event kind I know; use any of"
                f" {_known_kinds()}, or an event name such as `call.missed`."
            ) from None
        target, label = await self._route_target(_plain(before).strip())
        stored_kinds = ",".join(kinds) if kinds else None
        async with self.runtime.sessions() as session, session.begin():
            existing = await session.scalar(
                select(Route).where(Route.target == target, Route.channel_id == channel)
            )
            if existing is None:
                session.add(
                    Route(
                        target=target,
                        channel_id=channel,
                        event_kinds=stored_kinds,
                        created_by=invocation.user_id,
                    )
                )
            else:
                existing.event_kinds = stored_kinds
        return _say(f"✅ {label} now goes to <#{channel}>: {_kinds_label(stored_kinds)}.")

    async def routes(self, invocation: Invocation) -> Message:
        self._require_admin(invocation.user_id, "see routes")
        async with self.runtime.sessions() as session:
            routes = (await session.scalars(select(Route).order_by(Route.target))).all()
        fallback = f"Everything else goes to <#{self.settings.notify_channel}>."
        if not routes:
            return _say(f"No routes yet. {fallback}")
        lines = [
            f"• {self._target_label(route.target)} → <#{route.channel_id}>:"
            f" {_kinds_label(route.event_kinds)}"
            for route in routes
        ]
        return _say("*Routes*\n" + "\n".join(lines) + f"\n{fallback}")

    async def unroute(self, invocation: Invocation) -> Message:
        self._require_admin(invocation.user_id, "manage routes")
        before, channel, _ = _around_channel(invocation.args)
        if not before.strip():
            raise Refusal(
                "Which route? Try `/qtvoice unroute 101` or `/qtvoice unroute 101 #support`."
            )
        target, label = await self._route_target(_plain(before).strip())
        statement = delete(Route).where(Route.target == target)
        if channel is not None:
            statement = statement.where(Route.channel_id == channel)
        async with self.runtime.sessions() as session, session.begin():
            removed = (await session.execute(statement)).rowcount
        where = f" to <#{channel}>" if channel else ""
        if not removed:
            return _say(f"There was no route for {label}{where}.")
        routes = "route" if removed == 1 else "routes"
        return _say(f"Done: removed {removed} {routes} for {label}{where}.")

    async def _route_target(self, typed: str) -> tuple[str, str]:
        """What a route is stored under (E.164 or extension id), and how to show it."""
        number = phone.parse(typed, self.settings.default_region)
        if number is not None:
            return number, self._target_label(number)
        extension = _find_extension(
            await self.runtime.qtvoice.list_extensions(), typed, self.settings.default_region
        )
        if extension is None:
            raise Refusal(
                f"“{_shown(typed)}” is neither a phone number nor an extension; use a number like"
                " `215-555-0100` or an extension like `101`."
            )
        return extension.id, f"Extension {_extension_label(extension)}"

    def _target_label(self, target: str) -> str:
        if target.startswith("+"):
            return phone.display(target, self.settings.default_region)
        return f"Extension `{_shown(target)}`"

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
            return _say("📭 No unread voicemails. Nice!")
        shown = mine[:VOICEMAILS_SHOWN]
        content: list[Block] = []
        for index, vm in enumerate(shown):
            content += [*await self._voicemail_blocks(vm, index), {"type": "divider"}]
        count = f"{len(mine)} unread voicemail" + ("" if len(mine) == 1 else "s")
        if len(mine) > len(shown):
            content.append(_context(f"The newest {len(shown)} of {count}."))
        return Message(text=f"📬 You have {count}.", blocks=content)

    async def _voicemail_blocks(self, vm: Voicemail, index: int) -> list[Block]:
        """The voicemail as notifications show it, minus Mark handled (this list is private)."""
        number = phone.normalize(vm.from_, self.settings.default_region) if vm.from_ else None
        async with self.runtime.sessions() as session:
            caller = await self.directory.caller(session, number)
        line = Line(number=vm.to, extension_id=vm.extension_id)
        rendered = blocks.voicemail(vm, caller, line, self.ctx).blocks
        kept: list[Block] = []
        for block in rendered:
            if block.get("type") == "actions":
                buttons = [
                    b for b in block["elements"] if b.get("action_id") != blocks.MARK_HANDLED
                ]
                if not buttons:
                    continue
                block = {**block, "elements": buttons}
            kept.append({**block, "block_id": f"{block.get('block_id')}_{index}"})
        return kept

    async def status(self, invocation: Invocation) -> Message:
        self._require_admin(invocation.user_id, "see the bot's status")
        async with self.runtime.sessions() as session:
            counts = await inbox.counts(session)
            last_webhook = await session.scalar(
                select(func.max(InboxEvent.received_at)).where(InboxEvent.source == "webhook")
            )
        lines = [
            "*QTvoice bridge status*",
            f"• Deliveries waiting: {counts.get(inbox.PENDING, 0)}"
            f" · failed: {counts.get(inbox.FAILED, 0)}",
            f"• Last webhook: {self._last_webhook_label(last_webhook)}",
            f"• QTvoice API budget: {self._rate_limit_label()}",
        ]
        if counts.get(inbox.FAILED):
            lines.append(
                "_List failed deliveries with `qtslack deliveries --failed`,"
                " retry one with `qtslack replay ID`._"
            )
        return _say("\n".join(lines))

    def _last_webhook_label(self, received_at: datetime | None) -> str:
        if received_at is None:
            return "none received yet"
        minutes = int((utcnow() - received_at).total_seconds() // 60)
        ago = "just now" if minutes < 1 else f"{minutes} min ago"
        return f"{blocks.format_when(received_at, self.ctx)} ({ago})"

    def _rate_limit_label(self) -> str:
        budget = self.runtime.qtvoice.rate_limit
        if budget is None or budget.remaining is None:
            return "not known yet (QTvoice reports it with each answer)"
        of_limit = f" of {budget.limit}" if budget.limit is not None else ""
        resets = round(budget.resets_in() / 60)
        return f"{budget.remaining}{of_limit} requests left, resets in {resets} min"

    async def help(self, invocation: Invocation) -> Message:
        return _say(self._help_text(invocation.user_id))

    def _help_text(self, user_id: str) -> str:
        if not self._is_admin(user_id):
            return HELP
        return HELP + ADMIN_HELP.format(kinds=_known_kinds())

    def _unknown(self, name: str, invocation: Invocation) -> Message:
        hint = f"I don't know `{_shown(_plain(name))}`; here's what I can do.\n\n"
        return _say(hint + self._help_text(invocation.user_id))

    # Permissions

    def _is_admin(self, user_id: str) -> bool:
        return user_id in self.settings.admin_user_ids

    def _require_admin(self, user_id: str, what: str) -> None:
        if not self._is_admin(user_id):
            raise Refusal(ADMINS_ONLY.format(what=what))


# Replies


async def _send(respond: AsyncRespond, reply: Message) -> None:
    """Answer through the response URL; a dead URL is logged, there is nobody else to tell."""
    try:
        await respond(text=reply.text, blocks=reply.blocks or None, response_type="ephemeral")
    except Exception:
        logger.exception("could not answer through the response URL")


def _say(text: str) -> Message:
    """A plain reply: text alone renders mrkdwn and has no block limits to mind."""
    return Message(text=text, blocks=[])


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _picker(
    contacts: Sequence[Contact], purpose: str, ctx: RenderContext, text: str | None
) -> Message:
    """`blocks.contact_picker`, with the text to send added to each button for "sms"."""
    picker = blocks.contact_picker(list(contacts), purpose, ctx)
    if text is None:
        return picker
    if len(text) > PICKED_TEXT_LIMIT:
        raise Refusal(
            f"Several contacts match and a text sent by picking one is limited to"
            f" {PICKED_TEXT_LIMIT} characters; send it to their number instead."
        )
    for block in picker.blocks:
        button = block.get("accessory")
        if button is None or button.get("action_id") != blocks.PICK_CONTACT:
            continue
        value = {**json.loads(button["value"]), "t": text}
        button["value"] = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        if len(button["value"]) > BUTTON_VALUE_LIMIT:
            raise Refusal(
                "That text is too long to send by picking a contact; send it to their number."
            )
    return picker


def _link_offer(extensions: Sequence[Extension]) -> Message:
    """A button per extension whose email matches the user's Slack email."""
    content: list[Block] = [
        {
            "type": "section",
            "block_id": "link_intro",
            "text": {"type": "mrkdwn", "text": "Your Slack email matches this QTvoice extension:"},
        }
    ]
    for index, extension in enumerate(extensions):
        button = {
            "type": "button",
            "action_id": LINK_EXTENSION,
            "style": "primary",
            "text": {"type": "plain_text", "text": "Link it to me"},
            "value": json.dumps({"x": extension.id}, separators=(",", ":")),
        }
        content.append(
            {
                "type": "section",
                "block_id": f"link_{index}",
                "text": {"type": "mrkdwn", "text": f"Extension {_extension_label(extension)}"},
                "accessory": button,
            }
        )
    content.append(_context("Not yours? Run `/qtvoice link <extension>` with your number."))
    return Message(
        text=f"Your Slack email matches extension {_extension_label(extensions[0])}.",
        blocks=content,
    )


# Reading what was typed


def _invocation(command: dict[str, Any], args: str) -> Invocation:
    return Invocation(
        user_id=str(command["user_id"]), channel_id=str(command.get("channel_id") or ""), args=args
    )


def _split_first(text: str) -> tuple[str, str]:
    """The first word and the rest, the rest's own spacing and line breaks kept."""
    parts = text.strip().split(maxsplit=1)
    if not parts:
        return "", ""
    return parts[0], parts[1] if len(parts) > 1 else ""


def _plain(slack_text: str) -> str:
    """Command text as the person typed it: mentions and links as shown, entities decoded."""

    def shown(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith("@"):
            return f"@{label or target[1:]}"
        if target.startswith("#"):
            return f"#{label or target[1:]}"
        if target.startswith("!"):
            return label or f"@{target[1:].split('^')[0]}"
        return label or target

    unwrapped = _SLACK_MARKUP.sub(shown, slack_text)
    return unwrapped.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _target_and_text(typed: str, region: str) -> tuple[str, str]:
    """Who to text and what, from `<number or name> <text>`.

    A number may be typed with spaces ("215 555 1234 hi"), so the longest run of leading words
    that reads as a valid number is taken, else the longest that looks like one (to be refused
    as a bad number). A name is one word, or quoted, or ended by a colon ("Jane Roe: hi").
    """
    quoted = _QUOTED_NAME.match(typed)
    if quoted:
        return quoted.group(1).strip(), quoted.group(2)
    words = typed.split()
    numbers = [" ".join(words[:end]) for end in range(len(words), 0, -1)]
    phone_like = [candidate for candidate in numbers if phone.is_phone_like(candidate)]
    if phone_like:
        valid = [candidate for candidate in phone_like if phone.parse(candidate, region)]
        number = (valid or phone_like)[0]
        return number, _after_words(typed, len(number.split()))
    named = _NAME_THEN_COLON.match(typed)
    if named and not phone.is_phone_like(named.group(1)):
        return named.group(1), named.group(2)
    return _split_first(typed)


def _after_words(text: str, count: int) -> str:
    """`text` without its first `count` words, the rest's own spacing kept."""
    skipped = re.match(rf"\s*(?:\S+\s*){{{count}}}", text)
    return text[skipped.end() :] if skipped else ""


def _around_channel(raw: str) -> tuple[str, str | None, str]:
    """The text before a `<#C…|name>` mention, the channel id, and the text after it."""
    mention = _CHANNEL_MENTION.search(raw)
    if mention is None:
        return raw, None, ""
    return raw[: mention.start()], mention.group(1), raw[mention.end() :]


def _button_value(body: dict[str, Any]) -> dict[str, Any]:
    actions = body.get("actions") or [{}]
    try:
        value = json.loads(actions[0].get("value") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# Showing things


def _shown(text: str | None) -> str:
    """Something a person or QTvoice typed, on one line and safe in mrkdwn."""
    return escape_mrkdwn(" ".join((text or "").split()))


def _quoted(text: str) -> str:
    return "\n".join(f"> {escape_mrkdwn(line)}" for line in text.strip().splitlines())


def _extension_label(extension: Extension | ExtensionLink) -> str:
    """'*101* (Alice Jones)', escaped; the id when the extension has no number."""
    if isinstance(extension, ExtensionLink):
        number, name, ext_id = (
            extension.extension_number,
            extension.extension_name,
            extension.extension_id,
        )
    else:
        number, name, ext_id = extension.number, extension.name, extension.id
    label = f"*{_shown(number or ext_id)}*"
    return f"{label} ({_shown(name)})" if name else label


def _extension_phone(extension: Extension, region: str) -> str | None:
    """The extension's own phone line in E.164, from whichever key QTvoice put it under."""
    extra = extension.model_extra or {}
    for candidate in (
        extra.get("phone"),
        extra.get("phoneNumber"),
        extra.get("phone_number"),
        extension.number,
    ):
        if isinstance(candidate, str) and (e164 := phone.parse(candidate, region)):
            return e164
    return None


def _find_extension(extensions: Sequence[Extension], typed: str, region: str) -> Extension | None:
    """The extension a person named by id ("ext_101"), number ("101") or phone line."""
    wanted = typed.strip().casefold()
    for extension in extensions:
        if extension.id.casefold() == wanted:
            return extension
    if not phone.is_phone_like(typed):
        return None
    digits = _digits(typed)
    line = phone.parse(typed, region)
    for extension in extensions:
        if extension.number and _digits(extension.number) == digits:
            return extension
        if line and line == _extension_phone(extension, region):
            return extension
    return None


def _digits(text: str) -> str:
    return "".join(char for char in text if char.isdigit())


def _known_kinds() -> str:
    return ", ".join(f"`{word}`" for word in KIND_ALIASES)


def _kinds_label(event_kinds: str | None) -> str:
    if not event_kinds:
        return "missed calls, voicemails and texts"
    return ", ".join(f"`{kind}`" for kind in event_kinds.split(","))
