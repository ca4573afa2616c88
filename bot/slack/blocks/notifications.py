"""Notifications and cards: domain objects in, Slack messages out (on `bot.slack.blocks.kit`).

Pure functions with no I/O and no clock (every time shown comes from the event itself), so
each message is pinned by a golden test. Two rules hold everywhere:

- Every string a caller or a contact record controls (names, companies, SMS text,
  transcripts, even a "number" QTvoice could not parse) goes through `escape_mrkdwn` before
  it reaches mrkdwn, in the blocks and in the notification `text` alike, so "<!channel>" in
  a text pings nobody and "<https://evil.example|your bank>" is no link.
- Every message stays within Block Kit's limits whatever the input: long texts are cut
  below the 3000-character section limit with an ellipsis, and lists are capped.

Layouts are meant to read on a phone: a short first line saying what happened and who, a
section with fields for the details, context blocks for secondary information.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from slack_sdk.models.blocks import ButtonElement

from bot import phone, phone_text
from bot.qtvoice.models import Call, Contact, ContactLookup, Sms, Voicemail
from bot.slack.blocks.kit import (
    ELLIPSIS,
    NUMBER_LIMIT,
    Block,
    Message,
    RenderContext,
    actions,
    button,
    clock,
    context,
    copied,
    display_number,
    escape_mrkdwn,
    field,
    format_duration,
    format_when,
    local_time,
    mention,
    one_line,
    section,
    shown_number,
)
from bot.slack.buttons import ButtonValue

CALL_BACK = "call_back"
TEXT_BACK = "text_back"
MARK_HANDLED = "mark_handled"
SMS_REPLY = "sms_reply"
CONTACT_CALL = "contact_call"
CONTACT_TEXT = "contact_text"
PICK_CONTACT = "pick_contact"
SAVE_CONTACT = "save_contact"
EDIT_CONTACT = "edit_contact"

CALL_ACTIONS_BLOCK = "call_actions"
NUMBER_ACTIONS_BLOCK = "number_actions"
HANDLED_BLOCK = "handled"

SECTION_TEXT_LIMIT = 3000
NAME_LIMIT = 80
NOTES_LIMIT = 300
SNIPPET_LIMIT = 150
URL_LIMIT = 2000
RECENT_CALLS_SHOWN = 5
PICKER_CHOICES_SHOWN = 10


_LIVE_STATES = {
    "call.incoming": ("🔔", "Ringing"),
    "call.answered": ("🟢", "On the call"),
    "call.completed": ("📴", "Ended"),
    "call.missed": ("📵", "Missed"),
}

_DELIVERY_STATES = {
    "queued": ("⏳", "Queued"),
    "sent": ("✓", "Sent"),
    "delivered": ("✓✓", "Delivered"),
    "failed": ("⚠️", "Failed"),
    "refused": ("🚫", "Not sent"),
}

_CONTACT_EVENT_TITLES = {
    "contact.created": "New contact",
    "contact.updated": "Contact updated",
}

_PICKER_QUESTIONS = {
    "call": ("Several contacts match. Who do you want to call?", "Call"),
    "sms": ("Several contacts match. Who do you want to text?", "Text"),
    "contact": ("Several contacts match. Which one do you want to see?", "Show"),
}
PICK_PURPOSES = tuple(_PICKER_QUESTIONS)

_THREAD_HINT = "Reply in this thread to text back · start with `note:` to keep it internal"
_EXPLICIT_HINT = (
    "Replies in this thread stay internal · start with `send:` (or press Reply) to text back"
)
_CANNOT_TEXT_HINT = (
    "📵 This sender can't receive texts (a short code or a sender name), so replies here stay"
    " internal."
)
_OPTED_OUT_HINT = (
    "🚫 This number texted STOP: replies here are not sent until it texts START. "
    "Messages starting with `note:` stay internal as always."
)


@dataclass(frozen=True)
class Caller:
    """The person on the other end: a number, and the contact it belongs to when known."""

    number: str | None
    name: str | None = None
    company: str | None = None
    contact_id: str | None = None

    @classmethod
    def of(cls, number: str | None, contact: Contact | None) -> Caller:
        """The caller behind `number`, named by their contact when the directory knows one."""
        if contact is None:
            return cls(number=number)
        return cls(
            number=number, name=contact.full_name, company=contact.company, contact_id=contact.id
        )

    def mrkdwn(self, ctx: RenderContext) -> str:
        """'*John Doe* (Acme Inc) · (215) 555-1234', escaped, the number masked if asked."""
        return self._render(ctx, bold=True)

    def label(self, ctx: RenderContext) -> str:
        """The same without formatting, for a notification's `text` (still escaped)."""
        return self._render(ctx, bold=False)

    def dialable(self, ctx: RenderContext) -> str | None:
        """The E.164 number to call or text back; None when withheld or unreadable."""
        return phone.parse(self.number, ctx.default_region) if self.number else None

    def _render(self, ctx: RenderContext, *, bold: bool) -> str:
        name = one_line(self.name, NAME_LIMIT)
        company = one_line(self.company, NAME_LIMIT)
        number = display_number(self.number, ctx)
        headline = name or company
        if headline is None:
            return _emphasis(number or "Unknown caller", bold=bold)
        rendered = _emphasis(headline, bold=bold)
        if name and company:
            rendered += f" ({company})"
        return f"{rendered} · {number}" if number else rendered


@dataclass(frozen=True)
class Line:
    """Which of our QTvoice lines (and extension) the call or text came to.

    Our own numbers are never masked: `MASK_NUMBERS` protects customers, not the business.
    """

    number: str | None
    extension_id: str | None = None
    extension_name: str | None = None

    def mrkdwn(self, ctx: RenderContext) -> str:
        """'(215) 555-0100 · Sales', escaped; also fine as plain text."""
        number = (
            one_line(phone.display(self.number, ctx.default_region), NUMBER_LIMIT)
            if self.number
            else None
        )
        parts = [part for part in (number, one_line(self.extension_name, NAME_LIMIT)) if part]
        return " · ".join(parts) or "Unknown line"


def caller_from_lookup(number: str | None, lookup: ContactLookup | None) -> Caller:
    """The caller as the contact lookup knows them; just the number when nobody matched."""
    if lookup is None or not lookup.found or lookup.contact is None:
        return Caller(number=number)
    contact = lookup.contact
    return Caller(
        number=number or contact.phone,
        name=contact.full_name,
        company=contact.company,
        contact_id=contact.id,
    )


def missed_call(call: Call, caller: Caller, line: Line, ctx: RenderContext) -> Message:
    """A missed call: who, which line, when; Call back, Text back and Mark handled."""
    summary = section(
        "call_summary",
        f"📵 Missed call from {caller.mrkdwn(ctx)}",
        _call_fields(line, call.created_at, ctx),
    )
    return Message(
        text=f"Missed call from {caller.label(ctx)}",
        blocks=[summary, _call_actions(caller, line, ctx)],
    )


def voicemail(vm: Voicemail, caller: Caller, line: Line, ctx: RenderContext) -> Message:
    """One voicemail: who, length, recording link, transcript (or that it is on its way)."""
    fields = _call_fields(line, vm.created_at, ctx)
    if vm.duration is not None:
        fields.append(field("Length", format_duration(vm.duration)))
    recording = _link(vm.recording_url, "▶ Listen")
    if recording:
        fields.append(field("Recording", recording))
    blocks = [
        section("voicemail_summary", f"📬 Voicemail from {caller.mrkdwn(ctx)}", fields),
        section("voicemail_transcript", _transcript_text(vm.transcription, ctx)),
        *number_actions(vm.transcription, caller, line, ctx),
        _call_actions(caller, line, ctx),
    ]
    text = f"Voicemail from {caller.label(ctx)}"
    if vm.duration is not None:
        text += f" ({format_duration(vm.duration)})"
    snippet = one_line(callers_words(vm.transcription or "", ctx), SNIPPET_LIMIT)
    if snippet:
        text += f": {snippet}"
    return Message(text=text, blocks=blocks)


def live_call(call: Call, event: str, caller: Caller, line: Line, ctx: RenderContext) -> Message:
    """The live call card, one per call, whose state follows the call.* events.

    Raises ValueError for an event that is not a call.incoming/answered/completed/missed.
    """
    if event not in _LIVE_STATES:
        raise ValueError(f"not a live call event: {event!r}")
    icon, state = _LIVE_STATES[event]
    if event == "call.answered":
        answered_by = one_line(line.extension_name or line.extension_id or call.extension_id, 40)
        if answered_by:
            state += f" with {answered_by}"
    elif event == "call.completed" and call.duration:
        state += f" · {format_duration(call.duration)}"
    direction = "Call to" if call.direction == "outbound" else "Call from"
    blocks = [
        section(
            "call_summary",
            f"{icon} *{state}*\n{direction} {caller.mrkdwn(ctx)}",
            _call_fields(line, call.created_at, ctx),
        )
    ]
    if event == "call.missed":
        blocks.append(_call_actions(caller, line, ctx))
    return Message(text=f"{state} — {direction.lower()} {caller.label(ctx)}", blocks=blocks)


def sms_thread_parent(
    caller: Caller, line: Line, ctx: RenderContext, *, opted_out: bool = False
) -> Message:
    """The message that opens the thread of one text conversation (a number and a line)."""
    blocks = [
        section(
            "sms_thread",
            f"💬 Text conversation with {caller.mrkdwn(ctx)}\non line {line.mrkdwn(ctx)}",
        )
    ]
    number = caller.dialable(ctx)
    if opted_out:
        blocks.append(context("sms_hint", _OPTED_OUT_HINT))
    elif caller.number and not number:
        blocks.append(context("sms_hint", _CANNOT_TEXT_HINT))
    else:
        blocks.append(context("sms_hint", _EXPLICIT_HINT if ctx.explicit_replies else _THREAD_HINT))
        if number:
            blocks.append(_reply_actions(caller, number, line, ctx))
    return Message(
        text=f"Text conversation with {caller.label(ctx)} on line {line.mrkdwn(ctx)}",
        blocks=blocks,
    )


def sms_reopened(
    sms: Sms, caller: Caller, line: Line, handled_by: str | None, ctx: RenderContext
) -> Message:
    """A text that came after its conversation was handled (by `handled_by`): posted in the
    thread and to the channel, as a caller to take again; the ownership buttons are added
    by `ownership_blocks` like on any item."""
    who = mention(handled_by)
    after = f"after {who} handled it" if who else "after it was handled"
    blocks = [
        section("sms_reopened", f"💬 {caller.mrkdwn(ctx)} wrote again, {after}"),
        section("sms_body", _message_text(sms.message, ctx)),
        *number_actions(sms.message, caller, line, ctx),
    ]
    number = caller.dialable(ctx)
    if number:
        blocks.append(_reply_actions(caller, number, line, ctx))
    snippet = one_line(callers_words(sms.message or "", ctx), SNIPPET_LIMIT) or "(empty message)"
    return Message(text=f"{caller.label(ctx)} wrote again: {snippet}", blocks=blocks)


def _reply_actions(caller: Caller, number: str, line: Line, ctx: RenderContext) -> Block:
    """Reply (a modal that texts `number` from the line) for a text conversation, and Save
    contact while the number has no contact."""
    target = ButtonValue(number=number, line=line.number, extension=line.extension_id)
    buttons = [button("Reply", SMS_REPLY, target, ctx, style="primary")]
    if caller.contact_id is None:
        buttons.append(button("Save contact", SAVE_CONTACT, ButtonValue(number=number), ctx))
    return actions("sms_actions", buttons)


def number_actions(
    words: str | None, caller: Caller, line: Line, ctx: RenderContext
) -> list[Block]:
    """Call and Text buttons for the numbers written in a text or spoken in a transcript
    (`phone_text.offered`: at most three, never the caller's own), one actions block each,
    so the buttons are Call back's and Text back's and dial exactly that number. The label
    shows the number as the message does (masked under `MASK_NUMBERS`)."""
    found = phone_text.offered(words, ctx.default_region, besides=caller.dialable(ctx))
    rows = []
    for index, number in enumerate(found):
        target = ButtonValue(number=number, line=line.number, extension=line.extension_id)
        shown = shown_number(number, ctx)
        rows.append(
            actions(
                f"{NUMBER_ACTIONS_BLOCK}_{index}",
                [
                    button(f"📞 Call {shown}", CALL_BACK, target, ctx),
                    button(f"💬 Text {shown}", TEXT_BACK, target, ctx),
                ],
            )
        )
    return rows


def sms_inbound(sms: Sms, caller: Caller, ctx: RenderContext, line: Line | None = None) -> Message:
    """An incoming text, posted in its conversation's thread (on `line`: the numbers written
    in it are called and texted from there)."""
    line = line or Line(number=None)
    meta = f"📥 {short_name(caller, ctx)}"
    if sms.created_at:
        meta += f" · {format_when(sms.created_at, ctx)}"
    blocks = [
        section("sms_body", _message_text(sms.message, ctx)),
        context("sms_meta", meta),
        *number_actions(sms.message, caller, line, ctx),
    ]
    snippet = one_line(callers_words(sms.message or "", ctx), SNIPPET_LIMIT) or "(empty message)"
    return Message(text=f"{caller.label(ctx)}: {snippet}", blocks=blocks)


def sms_outbound(
    sms: Sms,
    status: str,
    ctx: RenderContext,
    *,
    sent_by: str | None = None,
    reason: str | None = None,
) -> Message:
    """An outgoing text in its thread with its delivery state.

    `status` is "queued", "sent", "delivered", "failed" or "refused" (never handed to
    QTvoice, e.g. opted out; `reason` says why); anything else is shown as it is.
    `sent_by` is a Slack user id, shown as a mention only when it has the shape of one,
    so a stored value can never smuggle in `<!channel>`.
    """
    icon, state = _DELIVERY_STATES.get(status.lower(), ("•", one_line(status, 30) or "Unknown"))
    status_text = f"{icon} {state}"
    if reason:
        status_text += f": {one_line(reason, NOTES_LIMIT)}"
    parts = [f"📤 {status_text}"]
    sender = mention(sent_by)
    if sender:
        parts.append(f"by {sender}" if status.lower() == "refused" else f"sent by {sender}")
    if sms.created_at:
        parts.append(format_when(sms.created_at, ctx))
    blocks = [
        section("sms_body", _message_text(sms.message, ctx)),
        context("sms_status", " · ".join(parts)),
    ]
    snippet = one_line(callers_words(sms.message or "", ctx), SNIPPET_LIMIT) or "(empty message)"
    return Message(text=f"Text {state.lower()}: {snippet}", blocks=blocks)


def opt_out_notice(caller: Caller, opted_out: bool, keyword: str, ctx: RenderContext) -> Message:
    """Says a number opted out of texts (STOP and friends) or back in (START, YES, UNSTOP)."""
    word = one_line(keyword.upper(), 20) or ("STOP" if opted_out else "START")
    if opted_out:
        icon, outcome = "🚫", "is opted out: texts to this number are refused until it texts START."
    else:
        icon, outcome = "✅", "opted back in: texting this number works again."
    body = f"{icon} {caller.mrkdwn(ctx)} texted *{word}* and {outcome}"
    text = f"{caller.label(ctx)} texted {word} and {outcome}"
    return Message(text=text, blocks=[section("opt_out", body)])


def contact_card(lookup: ContactLookup, number: str | None, ctx: RenderContext) -> Message:
    """The answer to /contact: who it is, how to reach them, their last calls, Call and Text,
    and Edit (Save contact when the number has none)."""
    contact = lookup.contact if lookup.found else None
    number = number or (contact.phone if contact else None)
    shown_number = display_number(number, ctx)
    if contact is None:
        text = f"No contact found for {shown_number}" if shown_number else "No contact found"
        blocks = [section("contact_summary", f"👤 {text}")]
    else:
        blocks = _contact_summary(contact, shown_number)
        text = f"Contact: {_contact_as_caller(contact, number).label(ctx)}"
    if contact is not None or lookup.recent_calls:
        blocks.append(section("contact_calls", _recent_calls_text(lookup.recent_calls, ctx)))
    dialable = phone.parse(number, ctx.default_region) if number else None
    if dialable:
        target = ButtonValue(number=dialable)
        buttons = [
            button("Call", CONTACT_CALL, target, ctx, style="primary"),
            button("Text", CONTACT_TEXT, target, ctx),
        ]
        if contact is not None:
            edit = ButtonValue(number=dialable, contact=contact.id)
            buttons.append(button("Edit", EDIT_CONTACT, edit, ctx))
        else:
            buttons.append(button("Save contact", SAVE_CONTACT, target, ctx))
        blocks.append(actions("contact_actions", buttons))
    return Message(text=text, blocks=blocks)


def contact_event(contact: Contact, event: str, ctx: RenderContext) -> Message:
    """A contact created or changed in QTvoice (posted only where a route asks for it).

    Raises ValueError for an event other than contact.created/contact.updated.
    """
    if event not in _CONTACT_EVENT_TITLES:
        raise ValueError(f"not a contact event: {event!r}")
    title = _CONTACT_EVENT_TITLES[event]
    who = _contact_as_caller(contact, contact.phone)
    blocks = [section("contact_event", f"👤 {title}: {who.mrkdwn(ctx)}")]
    email = one_line(contact.email, NAME_LIMIT)
    if email:
        blocks.append(context("contact_email", f"✉️ {email}"))
    return Message(text=f"{title}: {who.label(ctx)}", blocks=blocks)


def contact_picker(
    contacts: list[Contact], purpose: str, ctx: RenderContext, *, text: str | None = None
) -> Message:
    """Several contacts matched a name: one Call/Text/Show button per contact with a number.

    Each choice is its own section with the button as accessory, because action_ids must be
    unique within a block and every button here shares "pick_contact". Shows at most ten;
    raises ValueError for a purpose other than "call", "sms" or "contact". For "sms", `text`
    is the text each button sends (at most `buttons.TEXT_LIMIT` characters).
    """
    if purpose not in _PICKER_QUESTIONS:
        raise ValueError(f"unknown purpose {purpose!r}; expected one of {PICK_PURPOSES}")
    question, button_label = _PICKER_QUESTIONS[purpose]
    choices = [
        (contact, e164)
        for contact in contacts
        if contact.phone and (e164 := phone.parse(contact.phone, ctx.default_region))
    ]
    if not choices:
        nobody = "No matching contact has a phone number."
        return Message(text=nobody, blocks=[section("pick_intro", nobody)])
    blocks = [section("pick_intro", question)]
    for index, (contact, e164) in enumerate(choices[:PICKER_CHOICES_SHOWN]):
        value = ButtonValue(number=e164, purpose=purpose, text=text)
        choice = button(button_label, PICK_CONTACT, value, ctx)
        who = _contact_as_caller(contact, e164).mrkdwn(ctx)
        blocks.append(section(f"pick_{index}", who, accessory=choice))
    if len(choices) > PICKER_CHOICES_SHOWN:
        more = (
            f"Showing {PICKER_CHOICES_SHOWN} of {len(choices)} matches: "
            "type more of the name to narrow it down."
        )
        blocks.append(context("pick_more", more))
    return Message(text=f"{len(choices)} contacts match: pick one", blocks=blocks)


def handled(blocks: list[Block], user_id: str, when: datetime, ctx: RenderContext) -> list[Block]:
    """The message's blocks closed out: buttons gone, '✅ Handled by <@U…> at 3:52 PM' added.

    Returns new blocks and leaves the given ones alone. Handling twice replaces the
    earlier note. A `user_id` that is not shaped like a Slack id is left out of the note.
    """
    kept = [
        copied(block)
        for block in blocks
        if block.get("type") != "actions" and block.get("block_id") != HANDLED_BLOCK
    ]
    handler = mention(user_id)
    who = f" by {handler}" if handler else ""
    kept.append(context(HANDLED_BLOCK, f"✅ Handled{who} at {clock(local_time(when, ctx))}"))
    return kept


def _call_actions(caller: Caller, line: Line, ctx: RenderContext) -> Block:
    """Call back, Text back (when the number can be dialled) and Mark handled."""
    number = caller.dialable(ctx)
    target = ButtonValue(number=number, line=line.number, extension=line.extension_id)
    buttons: list[ButtonElement] = []
    if number:
        buttons.append(button("Call back", CALL_BACK, target, ctx, style="primary"))
        buttons.append(button("Text back", TEXT_BACK, target, ctx))
    buttons.append(button("Mark handled", MARK_HANDLED, target, ctx))
    if number and caller.contact_id is None:
        buttons.append(button("Save contact", SAVE_CONTACT, ButtonValue(number=number), ctx))
    return actions(CALL_ACTIONS_BLOCK, buttons)


def _call_fields(line: Line, when: datetime | None, ctx: RenderContext) -> list[str]:
    fields = [field("Line", line.mrkdwn(ctx))]
    if when is not None:
        fields.append(field("When", format_when(when, ctx)))
    return fields


def _contact_summary(contact: Contact, shown_number: str | None) -> list[Block]:
    name = one_line(contact.full_name, NAME_LIMIT) or "Unnamed contact"
    company = one_line(contact.company, NAME_LIMIT)
    headline = f"👤 *{name}*" + (f"\n{company}" if company else "")
    fields = [field("Phone", shown_number)] if shown_number else []
    email = one_line(contact.email, NAME_LIMIT)
    if email:
        fields.append(field("Email", email))
    blocks = [section("contact_summary", headline, fields)]
    notes = one_line(contact.notes, NOTES_LIMIT)
    if notes:
        blocks.append(context("contact_notes", f"📝 {notes}"))
    return blocks


def _contact_as_caller(contact: Contact, number: str | None) -> Caller:
    """A contact rendered like a caller; the email or a placeholder stands in for no name."""
    return Caller(
        number=number,
        name=contact.full_name or contact.email or "Unnamed contact",
        company=contact.company,
        contact_id=contact.id,
    )


def _recent_calls_text(calls: list[Call], ctx: RenderContext) -> str:
    if not calls:
        return "*Recent calls*\n_None yet._"
    lines = [_recent_call_line(call, ctx) for call in calls[:RECENT_CALLS_SHOWN]]
    return "*Recent calls*\n" + "\n".join(lines)


def _recent_call_line(call: Call, ctx: RenderContext) -> str:
    """'↙ Completed · 2:00 · Mon, Jan 15 at 10:30 AM EST' (↙ inbound, ↗ outbound)."""
    arrow = {"inbound": "↙", "outbound": "↗"}.get(call.direction or "", "•")
    status = one_line((call.status or "").strip().capitalize(), 30) or "Call"
    parts = [f"{arrow} {status}"]
    if call.duration:
        parts.append(format_duration(call.duration))
    if call.created_at is not None:
        parts.append(format_when(call.created_at, ctx))
    return " · ".join(parts)


def _transcript_text(transcription: str | None, ctx: RenderContext) -> str:
    header = "*Transcript*\n"
    if transcription is None:
        return header + "_Transcribing…_"
    if not transcription.strip():
        return header + "_No words were recognised._"
    return header + _quote(callers_words(transcription, ctx), SECTION_TEXT_LIMIT - len(header))


def _message_text(message: str | None, ctx: RenderContext) -> str:
    if not message or not message.strip():
        return "_(empty message)_"
    return _quote(callers_words(message, ctx), SECTION_TEXT_LIMIT)


def callers_words(words: str, ctx: RenderContext) -> str:
    """A text or transcript as shown: with `MASK_NUMBERS`, the numbers in it masked too (a
    caller who says their number in a voicemail is not shown whole). Escaped later."""
    if not ctx.mask_numbers:
        return words
    return phone_text.masked(words, ctx.default_region)


def _quote(text: str, limit: int) -> str:
    """`text` escaped as a block quote, cut with an ellipsis to fit in `limit` characters.

    The cut is made on the raw text and the result escaped again, so it can never split
    an entity such as `&amp;` in half; the longest prefix that fits is found by bisection
    (the rendered length only grows with the prefix).
    """
    raw = text.strip()
    quoted = _quote_lines(raw)
    if len(quoted) <= limit:
        return quoted
    shortest, longest = 0, len(raw)
    while shortest < longest:
        middle = (shortest + longest + 1) // 2
        if len(_quote_lines(raw[:middle].rstrip())) + len(ELLIPSIS) <= limit:
            shortest = middle
        else:
            longest = middle - 1
    return _quote_lines(raw[:shortest].rstrip()) + ELLIPSIS


def _quote_lines(raw: str) -> str:
    return "\n".join(f"> {escape_mrkdwn(line)}" for line in raw.splitlines())


def short_name(caller: Caller, ctx: RenderContext) -> str:
    """Just the name (or the number): inside a thread the parent already says the rest."""
    short = one_line(caller.name, NAME_LIMIT) or display_number(caller.number, ctx)
    return f"*{short}*" if short else "*Unknown caller*"


def _link(url: str | None, label: str) -> str | None:
    """A mrkdwn link to an http(s) URL; None for other schemes or anything malformed.

    A `|` would end the URL part of `<url|label>` early, so it is percent-encoded.
    """
    if not url:
        return None
    url = url.strip()
    if len(url) > URL_LIMIT or any(char.isspace() or not char.isprintable() for char in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return f"<{escape_mrkdwn(url).replace('|', '%7C')}|{label}>"


def _emphasis(text: str, *, bold: bool) -> str:
    return f"*{text}*" if bold else text
