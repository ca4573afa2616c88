"""Which voicemail an event is about, whichever of its ids it names, and the keys that follow.

Every other identity is a pure property of the typed event (`bot.qtvoice.events`). A
voicemail's is not: `call.voicemail` names the call (and maybe `voicemailId`),
`voicemail.new` the voicemail (and maybe `callId`), `voicemail.transcribed` perhaps only the
voicemail. So each name an event gives (`call:<id>`, `vm:<id>`) is remembered in
`voicemail_aliases`, at the door, in the transaction that stores the event:

- the event's key is the key already remembered for its own voicemail id; else the key of its
  call's id, unless another voicemail id already names that voicemail (ids are not unique:
  two voicemails may name one call id, `0` or a phone number, and a voicemail's own id
  decides which it is); else its own (`VoicemailEvent.own_voicemail_key`);
- its names not yet remembered are remembered under that key; a name is never re-pointed.

So reading the key back at delivery gives what the door decided, and every event of one
voicemail shares one ordering key (delivered one at a time, oldest first) and one message.
Two events that share no id before a third links them (a transcript naming only the
voicemail, before anything names both) stay two messages: nothing could have told them apart.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.qtvoice.events import KnownEvent, UnknownEvent, VoicemailEvent
from bot.store.models import VoicemailAlias


async def voicemail_key(session: AsyncSession, event: VoicemailEvent) -> str:
    """The key of the voicemail `event` is about (its Slack message's and its order's)."""
    key, _ = await _resolve(session, event)
    return key


async def remember_voicemail(session: AsyncSession, event: VoicemailEvent) -> str:
    """Add the event's new aliases to `session` (the caller commits); the voicemail's key.

    Two events naming one new voicemail stored at once both try to add its alias: one of
    the transactions fails on the primary key, and storing it again finds the alias.
    """
    key, unknown = await _resolve(session, event)
    session.add_all(VoicemailAlias(alias=alias, voicemail_key=key) for alias in unknown)
    return key


async def remember(session: AsyncSession, event: KnownEvent | UnknownEvent) -> str:
    """At the door: remember what identifies `event` beyond itself; its ordering key.

    Events with one ordering key are delivered one at a time, oldest first.
    """
    if isinstance(event, VoicemailEvent):
        return f"voicemail:{await remember_voicemail(session, event)}"
    return event.ordering_key


async def _resolve(session: AsyncSession, event: VoicemailEvent) -> tuple[str, list[str]]:
    aliases = event.voicemail_aliases
    rows = await session.execute(
        select(VoicemailAlias.alias, VoicemailAlias.voicemail_key).where(
            VoicemailAlias.alias.in_(aliases)
        )
    )
    known: dict[str, str] = dict(rows.all())
    key = known.get(event.own_alias or "")
    if key is None and event.call_alias in known:
        by_call = known[event.call_alias]
        if event.own_alias is None or not await _has_another_voicemail(session, by_call, event):
            key = by_call
    if key is None:
        key = event.own_voicemail_key
    return key, [alias for alias in aliases if alias not in known]


async def _has_another_voicemail(session: AsyncSession, key: str, event: VoicemailEvent) -> bool:
    """Whether a voicemail id other than `event`'s already names the voicemail of `key`."""
    other = await session.scalar(
        select(VoicemailAlias.alias)
        .where(
            VoicemailAlias.voicemail_key == key,
            VoicemailAlias.alias.startswith("vm:"),
            VoicemailAlias.alias != event.own_alias,
        )
        .limit(1)
    )
    return other is not None
