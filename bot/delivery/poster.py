"""Writes to Slack that happen once, whatever fails in between.

A post is recorded as intended (a `PostedMessage` row with no `ts`) before it is sent and as done
after. The message carries its identity in Slack message metadata. So when a worker finds an
intended post with no `ts`, because the process died or Slack's answer never came back (a
reset, an EOF, a proxy's 502, a timeout: every lost answer is "maybe posted"), it looks for the
message in the channel before posting: a post that did land is adopted, not repeated. It looks
in a narrow window of the channel, placed by Slack's clock (`SlackClock`), never ours: the
intent records Slack's time just before each attempt. Slack's `Retry-After` is stored per channel and honoured by every worker; each
process also paces the channels Slack has limited, so Slack rarely has to say no twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from bot.delivery.inbox import NotYet
from bot.slack.api_errors import (
    CONTENT_REFUSALS,
    DM_REFUSALS,
    describe,
    error_code,
    error_headers,
    error_status,
)
from bot.slack.blocks.kit import Message, escape_mrkdwn
from bot.slack.stored import landed_ref
from bot.store.db import dialect_insert
from bot.store.groupcommit import GroupCommit, R, V, Write
from bot.store.models import ChannelCooldown, PostedMessage, utcnow

logger = logging.getLogger(__name__)

METADATA_EVENT = "qtslack_message"
#: How far back to look for a post intended before intents recorded Slack's time (0011).
LOOKBACK = timedelta(minutes=2)
#: How much earlier than the Slack time recorded for an attempt its message may be stamped:
#: `SlackClock` lags Slack by its `Date` header's rounding (under a second) and the latency.
WINDOW_BEFORE = 3.0
#: How long after the Slack time recorded for it an attempt may still be sent: more than this
#: after, Slack's time is recorded again before sending (see `_send`).
SEND_WITHIN = 3.0
DEFAULT_RETRY_AFTER_SECONDS = 30
#: Slack "will generally allow an app to post 1 message per second to a specific channel",
#: granting "generous burst behavior" (https://api.slack.com/methods/chat.postMessage, Rate
#: limiting); how generous is not published. So a channel is not paced until Slack first
#: answers 429 there; from then on it is paced to that rate (a token bucket of POST_BURST
#: posts refilled at one per POST_INTERVAL), so Slack does not have to say no again, until
#: the channel has been quiet long enough to refill the bucket.
POST_INTERVAL = timedelta(seconds=1)
POST_BURST = 10
#: A post whose slot is this near waits for it in the worker; a later one is postponed.
NEAR = 2 * POST_INTERVAL
#: How long before its slot a postponed post is claimed again (less than NEAR).
CLAIM_AHEAD = NEAR / 2
#: How long a channel's stored cooldown, once read, is taken as it was. This process learns of
#: its own 429s at once; another process's cooldown it sees at most this late, and meanwhile
#: posts there at most once per delivery in flight (Slack then answers 429, which it honours).
#: Without it every post would read the table, to find it empty nearly always.
COOLDOWN_READ_EVERY = timedelta(seconds=1)
#: Messages per page of history read while looking for a post that landed: since 2025 Slack
#: gives apps that are not internal 15 messages a call, one call a minute
#: (https://docs.slack.dev/reference/methods/conversations.history, Rate limiting).
READ_BACK_PAGE_SIZE = 15
#: A post's answer can be lost for good, and Slack can still act on it, this many of the
#: client's timeouts after sending: the post, its plain-text stand-in, and a join in between.
WRITES_PER_POST = 3
#: chat.update's answers for a message that is no longer there (deleted by someone), or that
#: cannot be the bot's: such a message is posted anew.
GONE = frozenset({"message_not_found", "cant_update_message"})
#: The plain-text stand-in for a refused message is cut to Slack's recommended 4,000 characters
#: (chat.postMessage: "limit the number of characters in the text field to 4,000").
FALLBACK_TEXT_LIMIT = 4000


class SlackClock:
    """Slack's time as this process last heard it (a response's `Date` header), carried forward
    on the local monotonic clock: never the local wall clock, which may disagree with Slack's
    by minutes. It lags Slack by at most the header's rounding and the answer's latency.
    """

    def __init__(self) -> None:
        self._heard: tuple[float, float] | None = None

    def heard(self, headers: Mapping[str, Any]) -> None:
        """Learn Slack's time from an answer's headers (one without `Date` teaches nothing)."""
        date = next((value for name, value in headers.items() if name.lower() == "date"), None)
        if date is None:
            return
        try:
            when = parsedate_to_datetime(str(date)).timestamp()
        except (TypeError, ValueError):
            return
        self._heard = (when, time.monotonic())

    def now(self) -> float | None:
        """Slack's time now, in Unix seconds; None until an answer brought it."""
        if self._heard is None:
            return None
        slack, local = self._heard
        return slack + time.monotonic() - local


#: One clock per Web API client (per process): every poster on it knows Slack's time once one
#: answer brought it, not only the worker's (the scheduler's jobs make a poster per run).
_CLOCKS: weakref.WeakKeyDictionary[AsyncWebClient, SlackClock] = weakref.WeakKeyDictionary()


class ChannelCoolingDown(NotYet):
    """Slack asked us not to write to `channel` before `slot`.

    The event is tried again CLAIM_AHEAD before that: its slot is then NEAR, so it waits for
    it in the worker and posts the moment it comes, not when a claim next finds it due.
    """

    def __init__(self, channel: str, slot: datetime) -> None:
        super().__init__(f"Slack rate limit on {channel} until {slot:%H:%M:%S}", slot - CLAIM_AHEAD)
        self.channel = channel


@dataclass
class ChannelPace:
    """One channel's posting budget in this process; see POST_BURST."""

    refilled_at: datetime
    #: Paced since Slack's last 429 here, until the bucket is full again.
    paced: bool = False
    tokens: float = POST_BURST
    #: When Slack answered the last post here: while paced, the next post goes at least an
    #: interval after it.
    answered: datetime | None = None
    #: When the last post told to come back will: the next one comes an interval later.
    queue_tail: datetime = field(default_factory=utcnow)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def _refill(self, now: datetime) -> None:
        if now > self.refilled_at:
            earned = (now - self.refilled_at) / POST_INTERVAL
            self.tokens = min(POST_BURST, self.tokens + earned)
            self.refilled_at = now
        if self.tokens >= POST_BURST:
            self.paced = False

    def slot(self, now: datetime) -> datetime:
        """The earliest time the next post here may go."""
        self._refill(now)
        if not self.paced or self.tokens >= 1:
            return now
        return now + (1 - self.tokens) * POST_INTERVAL

    def take(self) -> None:
        if self.paced:
            self.tokens -= 1

    def empty_until(self, until: datetime, now: datetime) -> None:
        """Slack said to wait until `until`: the next post goes then, the one after 1 s later."""
        self._refill(now)
        self.paced = True
        self.tokens = min(self.tokens, 1 - (until - now) / POST_INTERVAL)


class NotInChannel(Exception):
    """The bot may not post in a private channel it was not invited to."""

    def __init__(self, channel: str) -> None:
        super().__init__(f"the bot is not in {channel}; invite it there with /invite @QTvoice")
        self.channel = channel


class Refused(Exception):
    """Slack refused a message's content for good, and its plain-text stand-in too.

    Sending it again cannot help, so the worker parks the event at once (never dropped:
    `deliveries --failed` shows it) instead of holding its conversation through retries.
    """


class DmRefused(Exception):
    """Slack will never open a DM with this user (deactivated, unknown, not a user id at all)."""

    def __init__(self, user_id: str) -> None:
        super().__init__(f"no DM with {mask_user(user_id)}")
        self.user_id = user_id


class Unreadable(Exception):
    """Slack's answer had no JSON body (a proxy's error page): a passing failure, like a 5xx."""


@dataclass(frozen=True)
class Intent:
    """A post about to be made: what it is (`kind`, `key`) and where, for `intend`."""

    kind: str
    key: str
    channel_id: str
    thread_ts: str | None
    state: dict[str, Any]
    #: Slack's time just before the attempt, a ts (`PostedMessage.attempted_ts`).
    attempted_ts: str


async def intend(connection: AsyncConnection, intents: list[Intent]) -> list[PostedMessage | None]:
    """Record posts as intended (no `ts` yet), one statement for the lot, in the caller's
    transaction; for each, its new row, or None when it was recorded before (by an earlier
    attempt: it may have landed). A new row comes back detached, to `Session.add`."""
    rows = await connection.execute(
        dialect_insert(connection, PostedMessage)
        .on_conflict_do_nothing()
        .returning(*PostedMessage.__table__.columns),
        [
            {
                "kind": intent.kind,
                "key": intent.key,
                "channel_id": intent.channel_id,
                "thread_ts": intent.thread_ts,
                "state": intent.state,
                "attempted_ts": intent.attempted_ts,
            }
            for intent in intents
        ],
    )
    new = {(row.kind, row.key, row.channel_id): row for row in rows}
    refs: list[PostedMessage | None] = []
    for intent in intents:
        row = new.pop((intent.kind, intent.key, intent.channel_id), None)
        ref = None if row is None else PostedMessage(**row._mapping)
        if ref is not None:
            make_transient_to_detached(ref)
        refs.append(ref)
    return refs


async def landed(connection: AsyncConnection, posts: list[tuple[int, str]]) -> list[None]:
    """Record where posts landed, `(PostedMessage id, ts)` each, in the caller's transaction."""
    await connection.execute(
        update(PostedMessage)
        .where(PostedMessage.id == bindparam("posted_id"))
        .values(ts=bindparam("landed_ts")),
        [{"posted_id": posted_id, "landed_ts": ts} for posted_id, ts in posts],
    )
    return [None] * len(posts)


async def attempted(
    connection: AsyncConnection, attempts: list[tuple[int, str, bool]]
) -> list[None]:
    """Record Slack's time before another attempt at posts, `(PostedMessage id, Slack ts,
    forget the old ts)` each, in the caller's transaction; a ts is forgotten when the message
    was deleted from Slack and is posted anew."""
    for posted_id, slack_ts, forget in attempts:
        values: dict[str, Any] = {"attempted_ts": slack_ts}
        if forget:
            values["ts"] = None
        await connection.execute(
            update(PostedMessage).where(PostedMessage.id == posted_id).values(**values)
        )
    return [None] * len(attempts)


async def cooldowns(connection: AsyncConnection, limited: list[str]) -> list[datetime | None]:
    """When the stored cooldown of each channel (or user) ends; None where there is none."""
    rows = await connection.execute(
        select(ChannelCooldown.channel_id, ChannelCooldown.not_before).where(
            ChannelCooldown.channel_id.in_(set(limited))
        )
    )
    ends: dict[str, datetime] = {row.channel_id: row.not_before for row in rows}
    return [ends.get(channel) for channel in limited]


class SlackPoster:
    def __init__(self, slack: AsyncWebClient, *, group: GroupCommit | None = None) -> None:
        """`group` commits what posts record (`intend`, `landed`) with other deliveries'
        writes (the worker's); without it each is committed in the post's own session."""
        self.slack = slack
        self.group = group
        self._dm_channels: dict[str, str] = {}
        self._dm_refused: set[str] = set()
        self._pace: dict[str, ChannelPace] = {}
        #: Each channel's stored cooldown end (None: none) and when it was read.
        self._cooldowns: dict[str, tuple[datetime, datetime | None]] = {}
        self.clock = _CLOCKS.setdefault(slack, SlackClock())
        #: Where a read-back that Slack rate-limited got to, by PostedMessage id: the window
        #: still to read, so asking again goes on from there.
        self._reading: dict[int, tuple[str, str | None]] = {}

    async def dm_channel(self, session: AsyncSession, user_id: str) -> str:
        """The IM channel with a user, opened once per process.

        Raises `DmRefused` when Slack will never open it (`DM_REFUSALS`), logging that once per
        user and process; any other failure raises as it came, to be retried.
        """
        if user_id in self._dm_refused:
            raise DmRefused(user_id)
        if user_id not in self._dm_channels:
            try:
                response = await self._call(session, user_id, "conversations_open", users=user_id)
            except SlackApiError as error:
                code = error_code(error)
                if code not in DM_REFUSALS:
                    raise
                if user_id in self._dm_refused:
                    # A concurrent delivery asked at the same time and has already said so.
                    raise DmRefused(user_id) from None
                self._dm_refused.add(user_id)
                logger.warning(
                    "Slack will not open a DM with the user linked as %s (%s); their copies are"
                    " skipped, the channels still get every event: fix the link with"
                    " /qtvoice unlink, then /qtvoice link",
                    mask_user(user_id),
                    code,
                )
                raise DmRefused(user_id) from None
            self._dm_channels[user_id] = response["channel"]["id"]
        return self._dm_channels[user_id]

    async def find(
        self, session: AsyncSession, kind: str, key: str, channel: str
    ) -> PostedMessage | None:
        return await session.scalar(
            select(PostedMessage).where(
                PostedMessage.kind == kind,
                PostedMessage.key == key,
                PostedMessage.channel_id == channel,
            )
        )

    async def post_once(
        self,
        session: AsyncSession,
        *,
        kind: str,
        key: str,
        channel: str,
        message: Message,
        thread_ts: str | None = None,
        state: Mapping[str, Any] | None = None,
        broadcast: bool = False,
    ) -> PostedMessage:
        """Post `message` unless this (kind, key) is already in `channel`; the stored ref.

        A reply in `thread_ts` is also shown in the channel when `broadcast`. Once a slot in
        the channel is near, the post is recorded as intended (`intend`, a statement that
        yields to an earlier record) and committed before waiting for that slot, so the post
        goes the moment it may. Raises `ChannelCoolingDown`, having written nothing, when no
        slot is near (even for a message posted before: the delivery then waits like any
        other in that channel).
        """
        slot = await self._slot(session, channel)
        now = await self._slack_now(session)
        intent = Intent(kind, key, channel, thread_ts, dict(state or {}), now)
        ref = await self._commit(session, intend, intent)
        if ref is not None:
            session.add(ref)
        else:
            ref = await self.find(session, kind, key, channel)
            assert ref is not None, "a posted message was deleted"
            if ref.ts is not None:
                return ref
            landed = await self._find_landed(session, ref)
            if landed is not None:
                logger.info("adopted %s %s already in %s", kind, key, channel)
                await self._landed(session, ref, landed)
                # What landed may predate what we know now (a transcript that came since).
                await self.update(session, ref, message)
                return ref
            await self._attempt(session, ref)
        await self._send(session, ref, slot, message, broadcast)
        return ref

    async def _send(
        self,
        session: AsyncSession,
        ref: PostedMessage,
        slot: datetime,
        message: Message,
        broadcast: bool,
    ) -> None:
        """Post `ref`'s message at `slot` and record where it landed. Its Slack time is
        recorded again first if waiting for the slot took longer than SEND_WITHIN, so the
        read-back's window always holds the post."""
        async with self._turn(ref.channel_id, slot):
            now = self.clock.now()
            if (
                ref.attempted_ts is None
                or now is None
                or now - float(ref.attempted_ts) > SEND_WITHIN
            ):
                await self._attempt(session, ref)
            response = await self._post(
                session, ref.channel_id, ref.thread_ts, broadcast, f"{ref.kind}:{ref.key}", message
            )
        await self._landed(session, ref, str(response["ts"]))

    async def _attempt(
        self, session: AsyncSession, ref: PostedMessage, *, forget: bool = False
    ) -> None:
        """Record durably Slack's time before another attempt at `ref`'s post (forgetting its
        ts when `forget`: the message is gone from Slack)."""
        now = await self._slack_now(session)
        await self._commit(session, attempted, (ref.id, now, forget))
        set_committed_value(ref, "attempted_ts", now)
        if forget:
            set_committed_value(ref, "ts", None)

    async def _slack_now(self, session: AsyncSession) -> str:
        """Slack's time now as a ts; asked of Slack (auth.test) when no answer brought it yet.

        Slack always sends `Date`; a stand-in that does not gets the local clock.
        """
        if self.clock.now() is None:
            await self._call(session, "auth.test", "auth_test")
        now = self.clock.now()
        return f"{time.time() if now is None else now:.6f}"

    async def _post(
        self,
        session: AsyncSession,
        channel: str,
        thread_ts: str | None,
        broadcast: bool,
        ref: str,
        message: Message,
    ) -> Any:
        """chat.postMessage, joining a public channel the bot is not in first; Slack's answer."""
        post = {
            "channel": channel,
            "thread_ts": thread_ts,
            "reply_broadcast": broadcast or None,
            "metadata": {"event_type": METADATA_EVENT, "event_payload": {"ref": ref}},
            "unfurl_links": False,
            "unfurl_media": False,
        }
        try:
            return await self._write(session, "chat_postMessage", post, message)
        except SlackApiError as error:
            if error_code(error) != "not_in_channel":
                raise
        await self._join(session, channel)
        return await self._write(session, "chat_postMessage", post, message)

    async def _landed(self, session: AsyncSession, ref: PostedMessage, ts: str) -> None:
        """Record durably that `ref`'s message is in Slack at `ts`."""
        await self._commit(session, landed, (ref.id, ts))
        set_committed_value(ref, "ts", ts)

    async def _commit(self, session: AsyncSession, write: Write[V, R], value: V) -> R:
        """Do `write` for `value` and commit it: with other deliveries' writes when this poster
        has `group`, else in `session`, with whatever it holds."""
        if self.group is not None:
            return await self.group.run(write, value, session=session)
        [result] = await write(await session.connection(), [value])
        await session.commit()
        return result

    async def post_each(
        self, session: AsyncSession, *, kind: str, key: str, messages: Mapping[str, Message]
    ) -> int:
        """A scheduled job's messages, one per channel, each posted once (`post_once`); how
        many are in Slack. One that Slack refuses or makes wait is logged and left for the
        job's next run."""
        posted = 0
        for channel, message in messages.items():
            try:
                await self.post_once(session, kind=kind, key=key, channel=channel, message=message)
            except (SlackApiError, NotYet) as error:
                logger.warning("%s for %s not posted: %s", kind, channel, error)
                await session.rollback()
                continue
            posted += 1
        return posted

    async def update(
        self,
        session: AsyncSession,
        ref: PostedMessage,
        message: Message,
        state: Mapping[str, Any] | None = None,
    ) -> None:
        """Show `message` in place of a posted one (chat.update is idempotent).

        When the message is no longer there (someone deleted it: `GONE`), it is posted anew,
        once, like any post (`post_once`), and its new ts remembered.
        """
        target = {
            "channel": ref.channel_id,
            "ts": ref.ts,
            "metadata": {
                "event_type": METADATA_EVENT,
                "event_payload": {"ref": f"{ref.kind}:{ref.key}"},
            },
        }
        try:
            await self._write(session, "chat_update", target, message)
        except SlackApiError as error:
            code = error_code(error)
            if code not in GONE:
                raise
            logger.info(
                "%s %s is gone from %s (%s); posting it anew",
                ref.kind,
                ref.key,
                ref.channel_id,
                code,
            )
            slot = await self._slot(session, ref.channel_id)
            await self._attempt(session, ref, forget=True)
            await self._send(session, ref, slot, message, broadcast=False)
        if state is not None:
            ref.state = dict(state)
        ref.updated_at = utcnow()
        await session.commit()

    async def react(self, session: AsyncSession, channel: str, ts: str, name: str) -> None:
        """Add a reaction; one that is already there counts as added."""
        try:
            await self._call(
                session, channel, "reactions_add", channel=channel, timestamp=ts, name=name
            )
        except SlackApiError as error:
            if error_code(error) != "already_reacted":
                raise

    async def _write(
        self, session: AsyncSession, method: str, target: Mapping[str, Any], message: Message
    ) -> Any:
        """chat.postMessage or chat.update of `message` at `target` (channel, ts, metadata…).

        When Slack refuses the content itself (`CONTENT_REFUSALS`: bad blocks, too long, …)
        the message goes again in its simpler layout when it has one, else as its plain fallback text, escaped and cut to
        `FALLBACK_TEXT_LIMIT`; if Slack refuses that too, `Refused` is raised.
        """
        channel = str(target["channel"])
        try:
            return await self._call(session, channel, method, **target, **message.as_kwargs())
        except SlackApiError as error:
            code = error_code(error)
            if code not in CONTENT_REFUSALS:
                raise
            if message.simpler is not None:
                logger.warning(
                    "Slack refused a message in %s (%s); sending its simpler layout", channel, code
                )
                return await self._write(session, method, target, message.simpler)
            logger.warning(
                "Slack refused a message in %s (%s); sending it as plain text", channel, code
            )
        try:
            return await self._call(
                session, channel, method, **target, text=plain_fallback(message.text)
            )
        except SlackApiError as error:
            code = error_code(error)
            if code not in CONTENT_REFUSALS:
                raise
            raise Refused(
                f"Slack refused the message and its plain text in {channel}: {code}"
            ) from None

    async def _join(self, session: AsyncSession, channel: str) -> None:
        """Join a public channel the bot was routed to but not invited into.

        Being a member also brings the channel's thread replies to the bot. A private
        channel cannot be joined: the error says what an admin has to do.
        """
        try:
            await self._call(session, channel, "conversations_join", channel=channel)
        except SlackApiError as error:
            raise NotInChannel(channel) from error
        logger.info("joined %s to post there", channel)

    async def _slot(self, session: AsyncSession, channel: str) -> datetime:
        """Take a posting slot in `channel`: when the post may go; ChannelCoolingDown when no
        slot is near.

        A post whose slot is NEAR waits for it (`_turn`); any other is told to come back at
        the end of the channel's queue, so a backlog is spread over the coming seconds and
        each event is asked to wait about once. Taken before a post is recorded as intended,
        so a wait leaves nothing half done.
        """
        now = utcnow()
        not_before = await self._stored_cooldown(session, channel, now)
        pace = self._pace.setdefault(channel, ChannelPace(now))
        if not_before is not None and not_before > now:
            pace.empty_until(not_before, now)
        slot = pace.slot(now)
        if slot - now > NEAR:
            until = max(pace.queue_tail, slot)
            pace.queue_tail = until + POST_INTERVAL
            raise ChannelCoolingDown(channel, until)
        pace.take()
        return slot

    @contextlib.asynccontextmanager
    async def _turn(self, channel: str, slot: datetime) -> AsyncIterator[None]:
        """Wait for `slot`, then post. While the channel is paced, one post at a time, each an
        interval after Slack answered the last: then no two reach Slack closer than that,
        however late each one's sleep ends."""
        pace = self._pace[channel]
        async with pace.lock if pace.paced else contextlib.nullcontext():
            if pace.paced and pace.answered is not None:
                slot = max(slot, pace.answered + POST_INTERVAL)
            await asyncio.sleep((slot - utcnow()).total_seconds())
            try:
                yield
            finally:
                pace.answered = utcnow()

    async def _not_cooling(self, session: AsyncSession, limited: str, now: datetime) -> None:
        """Raise `ChannelCoolingDown` while Slack's wait for `limited` lasts; commits `session`,
        so no connection is held while Slack answers."""
        not_before = await self._stored_cooldown(session, limited, now)
        await session.commit()
        if not_before is not None and not_before > now:
            raise ChannelCoolingDown(limited, not_before)

    async def _stored_cooldown(
        self, session: AsyncSession, limited: str, now: datetime
    ) -> datetime | None:
        """When the wait Slack gave for `limited` (any process was told) ends; None if none.

        Read again once COOLDOWN_READ_EVERY has passed since the last read, by one caller
        (the others go by what was known meanwhile). A read commits `session`: no connection
        is held while the caller waits for its slot or for Slack.
        """
        known = self._cooldowns.get(limited)
        if known is not None and now - known[0] < COOLDOWN_READ_EVERY:
            return known[1]
        self._cooldowns[limited] = (now, None if known is None else known[1])
        if self.group is not None:
            stored = await self.group.run(cooldowns, limited, session=session)
        else:
            cooldown = await session.get(ChannelCooldown, limited, populate_existing=True)
            await session.commit()
            stored = cooldown.not_before if cooldown is not None else None
        # A 429 this process was given while the read was on its way is kept.
        told = [self._cooldowns[limited][1], stored]
        not_before = max((until for until in told if until is not None), default=None)
        self._cooldowns[limited] = (now, not_before)
        return not_before

    async def _find_landed(self, session: AsyncSession, ref: PostedMessage) -> str | None:
        """The ts of this ref's message if an earlier attempt did post it, else None.

        Reads one narrow window of the channel (or thread), placed by Slack's own time
        recorded before the attempt, READ_BACK_PAGE_SIZE messages a call, matched on
        metadata. Slack rate-limiting it raises `ChannelCoolingDown`: not known yet, never
        "not posted"; asked again, it goes on where it stopped.
        """
        # While Slack has the channel wait, the post is not retried: nor is it read back.
        await self._not_cooling(session, ref.channel_id, utcnow())
        where: dict[str, Any] = {"channel": ref.channel_id}
        if ref.thread_ts:
            method, where["ts"] = "conversations_replies", ref.thread_ts
        else:
            method = "conversations_history"
        oldest, latest = self._reading.get(ref.id) or self._window(ref)
        wanted = f"{ref.kind}:{ref.key}"
        while True:
            self._reading[ref.id] = (oldest, latest)
            response = await self._call(
                session,
                method,
                method,
                **where,
                oldest=oldest,
                latest=latest,
                include_all_metadata=True,
                limit=READ_BACK_PAGE_SIZE,
            )
            messages: list[dict[str, Any]] = response.get("messages") or []
            found = next((m["ts"] for m in messages if landed_ref(m) == wanted), None)
            if found is not None or not messages or not response.get("has_more"):
                del self._reading[ref.id]
                return None if found is None else str(found)
            # The rest of the window: history pages go back in time, replies forward.
            if method == "conversations_history":
                latest = min((str(m["ts"]) for m in messages), key=float)
            else:
                oldest = max((str(m["ts"]) for m in messages), key=float)

    def _window(self, ref: PostedMessage) -> tuple[str, str | None]:
        """Where `ref`'s message is if it landed: `(oldest, latest)` ts, by Slack's clock.

        From WINDOW_BEFORE before the Slack time recorded for the attempt to as long after as
        the post may have taken (SEND_WITHIN, then WRITES_PER_POST of the client's timeouts).
        A post intended before Slack's time was recorded looks back LOOKBACK from its intent.
        """
        if ref.attempted_ts is None:
            return f"{(ref.created_at - LOOKBACK).timestamp():.6f}", None
        at = float(ref.attempted_ts)
        after = SEND_WITHIN + WRITES_PER_POST * self.slack.timeout + WINDOW_BEFORE
        return f"{at - WINDOW_BEFORE:.6f}", f"{at + after:.6f}"

    async def _call(self, session: AsyncSession, limited: str, method: str, /, **args: Any) -> Any:
        """One Web API call, within the stored rate limit of the `limited` channel, user or
        method (a read-back's, whose limit is the app's); Slack's answer teaches `clock`."""
        now = utcnow()
        await self._not_cooling(session, limited, now)
        try:
            response = await getattr(self.slack, method)(**args)
        except SlackApiError as error:
            self.clock.heard(error_headers(error))
            if error_status(error) == 429:
                until = now + timedelta(seconds=_retry_after(error_headers(error)))
                self._pace.setdefault(limited, ChannelPace(now)).empty_until(until, now)
                self._cooldowns[limited] = (now, until)
                await _store_cooldown(session, limited, until)
                raise ChannelCoolingDown(limited, until) from None
            if error_code(error) is None:
                raise Unreadable(describe(error)) from None
            raise
        self.clock.heard(response.headers)
        return response


def mask_user(user_id: str) -> str:
    """A stored Slack user id fit for a log: its first three characters (`U0A…`), since a
    link made before ids were checked may hold anything, even a phone number."""
    return user_id[:3] + "…" if len(user_id) > 3 else user_id


def plain_fallback(text: str) -> str:
    """A message's fallback text fit to stand alone: escaped once, at most `FALLBACK_TEXT_LIMIT`.

    The text is rendered mrkdwn, so its entities are undone first and the whole escaped again:
    nothing caller-controlled can turn into markup, and nothing is escaped twice. It is cut on
    the raw text, so an entity is never split.
    """
    raw = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()
    escaped = escape_mrkdwn(raw)
    while len(escaped) > FALLBACK_TEXT_LIMIT:
        raw = raw[: len(raw) - (len(escaped) - FALLBACK_TEXT_LIMIT) - 1]
        escaped = escape_mrkdwn(raw) + "…"
    return escaped or "(message not shown)"


def _retry_after(headers: Mapping[str, Any]) -> float:
    for name, value in headers.items():
        if name.lower() == "retry-after":
            try:
                return max(float(value), 1.0)
            except (TypeError, ValueError):
                break
    return DEFAULT_RETRY_AFTER_SECONDS


async def _store_cooldown(session: AsyncSession, channel: str, until: datetime) -> None:
    """Remember Slack's wait for `channel`, keeping the later one; safe against a concurrent 429."""
    await session.execute(
        dialect_insert(session, ChannelCooldown)
        .values(channel_id=channel, not_before=until)
        .on_conflict_do_nothing()
    )
    await session.execute(
        update(ChannelCooldown)
        .where(ChannelCooldown.channel_id == channel, ChannelCooldown.not_before < until)
        .values(not_before=until)
    )
    await session.commit()
