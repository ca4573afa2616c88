"""The tables, as typed SQLAlchemy 2 models. Alembic's migrations create exactly these.

Every timestamp is stored as naive UTC and read back as aware UTC (`UTCDateTime`), so the same
code compares times on SQLite, which keeps no zone, and on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Names every constraint, so alembic can drop and alter them on SQLite's batch mode too.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime in Python, a naive UTC timestamp in the database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


#: An auto-incrementing 64-bit key; SQLite only auto-increments a plain INTEGER primary key.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class ExtensionLink(Base):
    """A Slack user's QTvoice extension: their calls come from it, their missed calls DM them."""

    __tablename__ = "extension_links"

    slack_user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    extension_id: Mapped[str] = mapped_column(String(64), index=True)
    extension_number: Mapped[str | None] = mapped_column(String(32))
    extension_name: Mapped[str | None] = mapped_column(String(255))
    phone_number: Mapped[str | None] = mapped_column(String(32))
    linked_by: Mapped[str] = mapped_column(String(32))
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)


class Route(Base):
    """Send events about one QTvoice number or extension to a channel, optionally some kinds only."""

    __tablename__ = "routes"
    __table_args__ = (UniqueConstraint("target", "channel_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    target: Mapped[str] = mapped_column(String(64), index=True)
    channel_id: Mapped[str] = mapped_column(String(32))
    #: Comma-separated event types; NULL means the default kinds (missed calls, voicemail, SMS).
    event_kinds: Mapped[str | None] = mapped_column(String(512))
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def kinds(self) -> frozenset[str] | None:
        return frozenset(self.event_kinds.split(",")) if self.event_kinds else None


class InboxEvent(Base):
    """One accepted QTvoice event, stored before the webhook is answered; the worker's queue.

    Three unique keys make storing idempotent: the delivery id (QTvoice's retries), the body's
    hash (the signed bytes replayed under new headers) and `dedupe_key`, the event kind and the
    object it is about (a redelivery under a new id, or the poller finding what a webhook
    already brought).
    """

    __tablename__ = "inbox"
    __table_args__ = (
        Index("ix_inbox_due", "state", "next_attempt_at"),
        Index("ix_inbox_ordering", "ordering_key", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(128))
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    body_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    delivery_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    #: Events with the same key are delivered one at a time, in arrival order.
    ordering_key: Mapped[str] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]]
    source: Mapped[str] = mapped_column(String(16), default="webhook")
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None]
    locked_by: Mapped[str | None] = mapped_column(String(128))
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime | None]


class VoicemailAlias(Base):
    """One name of a voicemail (`call:<call id>` or `vm:<voicemail id>`) and its one key.

    Written at the door in the transaction that stores the event naming it, never changed
    after, so every event of a voicemail, whichever of its ids it carries and in whatever
    order they come, is ordered and posted under one key (see `bot.delivery.identity`).
    """

    __tablename__ = "voicemail_aliases"

    alias: Mapped[str] = mapped_column(String(160), primary_key=True)
    #: Looked up by key too: which voicemail ids already name a voicemail (`identity`).
    voicemail_key: Mapped[str] = mapped_column(String(160), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


#: The `PostedMessage.kind` of a marker for a thread reply whose text is with QTvoice right now:
#: written by the Slack listener before it sends, read by the worker, so QTvoice's receipt for
#: that text waits for the reply's own record instead of posting a copy.
SENDING_REPLY = "sms_reply_sending"


class PostedMessage(Base):
    """A Slack message the bot posted (or a user's reply it acted on), found again to update it.

    A row is written with `ts` NULL just before a post and completed after it, so a worker that
    finds a NULL `ts` knows a post may have reached Slack unrecorded and checks before posting.
    """

    __tablename__ = "slack_messages"
    __table_args__ = (
        UniqueConstraint("kind", "key", "channel_id"),
        Index("ix_slack_messages_channel_ts", "channel_id", "ts"),
        # The App Home's newest conversations and replies, read newest first.
        Index("ix_slack_messages_kind_created", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(255))
    channel_id: Mapped[str] = mapped_column(String(32))
    ts: Mapped[str | None] = mapped_column(String(32))
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    #: What the message shows, merged across events, so it can be rendered again on update.
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Slack's time (a ts, by Slack's clock, not ours) just before the last attempt to post:
    #: the read-back looks for the message in a narrow window after it.
    attempted_ts: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ChannelCooldown(Base):
    """Slack told us to wait (429 `Retry-After`) before writing to this channel again.

    Kept in the database so that every worker process respects it, not just the one told.
    """

    __tablename__ = "channel_cooldowns"

    channel_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    not_before: Mapped[datetime]


class OptOut(Base):
    """A number that texted STOP: texting it is refused until it texts START."""

    __tablename__ = "opt_outs"

    phone: Mapped[str] = mapped_column(String(32), primary_key=True)
    keyword: Mapped[str] = mapped_column(String(16))
    opted_out_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConsentWord(Base):
    """The newest opt-out or opt-in word each party said (`keyword`), and when (`said_at`,
    QTvoice's time for the text): a word said before it changes nothing, however late it
    arrives (a delayed delivery, a captured webhook replayed). See `bot.consent.record`."""

    __tablename__ = "consent_words"

    party: Mapped[str] = mapped_column(String(32), primary_key=True)
    keyword: Mapped[str] = mapped_column(String(16))
    said_at: Mapped[datetime]


class CachedContact(Base):
    """The contact lookup for one number (found or not), so a burst of calls costs one request."""

    __tablename__ = "contact_cache"

    phone: Mapped[str] = mapped_column(String(32), primary_key=True)
    found: Mapped[bool]
    contact: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)


class SlackEventSeen(Base):
    """A Slack event already acted on: Slack retries an event (same `event_id`) when we are slow."""

    __tablename__ = "slack_events_seen"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class OutboundText(Base):
    """A text a Slack user sent through the bot: for the per-user rate limit and its status."""

    __tablename__ = "outbound_texts"
    __table_args__ = (Index("ix_outbound_texts_user_sent", "slack_user_id", "sent_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slack_user_id: Mapped[str] = mapped_column(String(32))
    sms_id: Mapped[str | None] = mapped_column(String(128), index=True)
    line: Mapped[str | None] = mapped_column(String(32))
    to: Mapped[str] = mapped_column(String(32))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


class OpenItem(Base):
    """A missed call, voicemail or new text conversation that someone has to get back to.

    Its Slack messages are the `PostedMessage` rows of the same `kind` and `key`; `message` is
    the notification as rendered without its ownership, so every copy can be rebuilt from
    what is stored here (who took it, who handled it) and never from a click's payload.
    """

    __tablename__ = "open_items"
    __table_args__ = (
        UniqueConstraint("kind", "key"),
        Index("ix_open_items_waiting", "escalated_at", "handled_at", "taken_at", "arrived_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(255))
    #: Our line and extension it came to, and the customer's number (E.164 when it parses).
    line: Mapped[str | None] = mapped_column(String(32))
    extension_id: Mapped[str | None] = mapped_column(String(128))
    party: Mapped[str | None] = mapped_column(String(64))
    #: The text conversation (`SmsEvent.conversation_key`) a text item belongs to: the item of
    #: its first text, and one per text that came after the latest was handled.
    conversation: Mapped[str | None] = mapped_column(String(255), index=True)
    message: Mapped[dict[str, Any]] = mapped_column(default=dict)
    arrived_at: Mapped[datetime] = mapped_column(index=True)
    taken_by: Mapped[str | None] = mapped_column(String(32))
    taken_from: Mapped[str | None] = mapped_column(String(32))
    taken_at: Mapped[datetime | None]
    #: Who handed it to `taken_by` with Assign… (None when `taken_by` took it themselves).
    assigned_by: Mapped[str | None] = mapped_column(String(32))
    handled_by: Mapped[str | None] = mapped_column(String(32))
    handled_at: Mapped[datetime | None]
    #: When its escalation was posted (or found posted).
    escalated_at: Mapped[datetime | None]
    #: The process posting its escalation, and when that claim runs out: a process that died
    #: mid-post holds it no longer than that, then the next tick posts it or adopts the post.
    #: A claim given back (nothing to post in yet) leaves no process and the next tick's time.
    escalation_claimed_by: Mapped[str | None] = mapped_column(String(128))
    escalation_claimed_until: Mapped[datetime | None]


class Reminder(Base):
    """'Remind me': a direct message to `slack_user_id` about an item at `due_at`."""

    __tablename__ = "reminders"
    __table_args__ = (Index("ix_reminders_due", "sent_at", "due_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slack_user_id: Mapped[str] = mapped_column(String(32))
    item_id: Mapped[int] = mapped_column(BigId, ForeignKey("open_items.id", ondelete="CASCADE"))
    due_at: Mapped[datetime]
    #: When it was sent (or found sent), or dropped because its item was handled meanwhile.
    sent_at: Mapped[datetime | None]
    #: The process sending it, and when that claim runs out (see `OpenItem`'s escalation).
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PlacedCall(Base):
    """A call a Slack user placed through the bot (`/call`, Call back): a caller called back."""

    __tablename__ = "placed_calls"
    __table_args__ = (Index("ix_placed_calls_to_placed", "to", "placed_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slack_user_id: Mapped[str] = mapped_column(String(32))
    to: Mapped[str] = mapped_column(String(32))
    call_id: Mapped[str | None] = mapped_column(String(128))
    placed_at: Mapped[datetime] = mapped_column(default=utcnow)


class JobRun(Base):
    """The last run of a scheduled job that finished, by when it started.

    Everything that happened before `started_at` was seen by that run: the reconcile poller
    starts its next window there, and the contact directory is fresh while it is recent.
    """

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    started_at: Mapped[datetime]


class WebhookRefusal(Base):
    """Webhooks the door refused, counted by kind and hour: what admins see of them.

    Never the request: `kind` comes from a fixed set (`bot.qtvoice.webhooks`) and `last_detail`
    is the bot's own words about the latest one ("412 s old"). One row per kind and hour keeps
    the table small whatever a flood sends; `bot.store.refusals` writes and reads it.
    """

    __tablename__ = "webhook_refusals"

    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
    last_seen: Mapped[datetime] = mapped_column(index=True)
    last_detail: Mapped[str | None] = mapped_column(String(64))


class SavedReply(Base):
    """A text an admin saved under a short name (`/qtvoice replies add NAME TEXT`), offered
    in the Text back and Reply modals."""

    __tablename__ = "saved_replies"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Incident(Base):
    """Something an operator must hear about (`bot.store.incidents.KINDS`), from start to end.

    `open_kind` is the kind while the incident is open and NULL once it ended: its unique
    index lets one incident of a kind be open at a time, whichever leader (or two, for a
    moment, at a takeover) sees the trouble. The admins' DMs about it are `PostedMessage`
    rows (`incident_start`/`incident_end`, key the incident id), posted exactly once.
    """

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    open_kind: Mapped[str | None] = mapped_column(String(32), unique=True)
    #: The bot's own words ("3 deliveries parked"), never caller content.
    detail: Mapped[str] = mapped_column(String(255))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    closed_at: Mapped[datetime | None]
    #: When every admin had the start (and end) DM: the notifier stops looking at it then.
    start_told_at: Mapped[datetime | None]
    end_told_at: Mapped[datetime | None]
