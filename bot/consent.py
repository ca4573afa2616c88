"""Opting out of texts and back in: which texts say STOP or START, and who has opted out.

The rule is the contract's ("What Slack sees", `shared/design/contract.md`): an inbound text
that is STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT or the phrase "opt out"
(any case, punctuation ignored) opts its sender out; START, YES or UNSTOP opts it back in.
The keyword lists are the CTIA's standard opt-out and opt-in words.

An opt-out is recorded at the door, in the transaction that accepts the `sms.received`
webhook (`record`), so it holds the moment QTvoice is answered 200, whatever Slack or the
worker is doing; the worker only tells the thread. The newest word decides, by when it was
said, not when it arrived. Each party (a phone number, a short code or
a sender id, see `bot.qtvoice.events.Party`) opts out on its own.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.qtvoice.events import KnownEvent, SmsEvent, UnknownEvent
from bot.store.models import ConsentWord, OptOut, utcnow

OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})
#: Longer texts are never a lone keyword; not reading them bounds the work on hostile input.
_LONGEST_KEYWORD_TEXT = 64

Database = AsyncSession | AsyncConnection


def opt_keyword(text: str | None) -> str | None:
    """The opt-out or opt-in keyword a whole text is, upper case (`"opt-out!"` is `OPTOUT`).

    Case, width (NFKC), spaces, punctuation, symbols and invisible characters (Unicode
    categories Z*, P*, S*, C*: `Stop.`, `¡STOP!`, `STOP 🛑`, `opt out`) are ignored. Any other
    letter or digit (`stop it`, `STOPPED`) makes it an ordinary text: None.
    """
    if not text or len(text) > _LONGEST_KEYWORD_TEXT:
        return None
    # Punctuation, symbols, spaces and invisible characters only separate words, and the
    # words are read together, so "opt out", "Opt-out" and "S.T.O.P." are keywords too.
    word = "".join(
        char
        for char in unicodedata.normalize("NFKC", text).upper()
        if unicodedata.category(char)[0] not in "PSZC"
    )
    return word if word in OPT_OUT_KEYWORDS or word in OPT_IN_KEYWORDS else None


def opts_out(keyword: str) -> bool:
    """Whether `keyword` (from `opt_keyword`) opts out; else it opts back in."""
    return keyword in OPT_OUT_KEYWORDS


def keyword_of(event: KnownEvent | UnknownEvent) -> str | None:
    """The opt-out or opt-in keyword an inbound text from a party consists of, else None."""
    if not isinstance(event, SmsEvent) or not event.inbound or event.customer is None:
        return None
    return opt_keyword(event.data.message)


async def record(db: Database, event: KnownEvent | UnknownEvent) -> str | None:
    """At the door: if `event` is an inbound STOP or START said after the party's last word,
    opt its sender out or in.

    Call it once per event inside the transaction that stores the event (the caller commits),
    with its session or connection; returns the keyword acted on, or None. The newest word
    decides, whatever the order of arrival (`said_at`): a word said before the party's last
    one (a late delivery, a captured START replayed once the inbox forgot it) changes
    nothing; of words said in the same second, the one that arrives last counts. On
    PostgreSQL the party's `ConsentWord` row is locked by the first of two concurrent words
    until it commits, so the second compares with it.
    """
    keyword = keyword_of(event)
    if keyword is None or not isinstance(event, SmsEvent) or event.customer is None:
        return None
    party = str(event.customer)
    dialect = (db.get_bind() if isinstance(db, AsyncSession) else db).dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = utcnow()
    word = insert(ConsentWord).values(party=party, keyword=keyword, said_at=said_at(event, now))
    newest = await db.scalar(
        word.on_conflict_do_update(
            index_elements=[ConsentWord.party],
            set_={"keyword": word.excluded.keyword, "said_at": word.excluded.said_at},
            where=ConsentWord.said_at <= word.excluded.said_at,
        ).returning(ConsentWord.party)
    )
    if newest is None:
        return None
    if opts_out(keyword):
        await db.execute(
            insert(OptOut)
            .values(phone=party, keyword=keyword, opted_out_at=now)
            .on_conflict_do_update(
                index_elements=[OptOut.phone], set_={"keyword": keyword, "opted_out_at": now}
            )
        )
    else:
        await db.execute(delete(OptOut).where(OptOut.phone == party))
    return keyword


def said_at(event: SmsEvent, received: datetime) -> datetime:
    """When the text was written: QTvoice's `createdAt`, else the webhook's `timestamp`,
    else when it was `received`."""
    return event.data.created_at or event.timestamp or received


async def superseded(db: AsyncSession, event: SmsEvent) -> bool:
    """Whether the party of `event` (an inbound STOP or START) has said a newer word since:
    then this one is not what holds, and the thread is not told it does."""
    if event.customer is None:
        return False
    newest = await db.get(ConsentWord, str(event.customer))
    return newest is not None and newest.said_at > said_at(event, utcnow())


async def is_opted_out(db: AsyncSession, party: str) -> bool:
    """Whether `party` (E.164, short code or sender id, as stored) has opted out of texts."""
    return await db.get(OptOut, party) is not None
