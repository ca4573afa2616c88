"""The QTvoice event types the bot knows, by family.

Names only: which events exist and which go together. Where an event goes is
`bot.delivery.router`'s business; what a route may ask for is `bot.store.routes`'.
"""

from __future__ import annotations

CALL_LIVE = ("call.incoming", "call.answered", "call.completed")
CALL_EVENTS = (*CALL_LIVE, "call.missed", "call.voicemail")
VOICEMAIL_EVENTS = ("call.voicemail", "voicemail.new", "voicemail.transcribed")
SMS_EVENTS = ("sms.received", "sms.sent", "sms.delivered")
CONTACT_EVENTS = ("contact.created", "contact.updated")
KNOWN_EVENTS = frozenset((*CALL_EVENTS, *VOICEMAIL_EVENTS, *SMS_EVENTS, *CONTACT_EVENTS))

#: Kinds posted to NOTIFY_CHANNEL when no route claims them; the rest only where a route asks.
DEFAULT_ON = frozenset(
    {"call.missed", "call.voicemail", "voicemail.new", "voicemail.transcribed", *SMS_EVENTS}
)
