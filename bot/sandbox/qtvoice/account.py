"""The sandbox's QTvoice account: where its API lives, its keys, and the office it is seeded with.

The office is small and a few days into using QTvoice: three extensions, three contacts, one
unknown caller, and a history of calls, voicemails and texts timed relative to now.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.sandbox.qtvoice.state import QTvoiceState

API_PREFIX = "/api/v1"
DEFAULT_API_KEY = "qtv_test_key"
DEFAULT_READ_ONLY_KEY = "qtv_read_only_key"

# The seeded office's people: its staff's direct lines, its contacts, one unknown caller.
ALICE_LINE, BOB_LINE = "+12155550101", "+12155550102"
JOHN_DOE, JANE_ROE, JOHN_SMITH = "+12155551234", "+12155559876", "+442071234567"
STRANGER = "+12155557777"


def seed_office(state: QTvoiceState) -> None:
    """A small office a few days into using QTvoice, timed relative to now."""
    now = datetime.now(UTC).replace(microsecond=0)
    _seed_directory(state)
    _seed_calls(state, now)
    _seed_texts(state, now)


def _seed_directory(state: QTvoiceState) -> None:
    state.add_extension("100", "Front Desk", phone=state.main_line, email="frontdesk@example.com")
    state.add_extension("101", "Alice Jones", phone=ALICE_LINE, email="alice@example.com")
    state.add_extension("102", "Bob Smith", phone=BOB_LINE, email="bob@example.com")

    state.add_contact(
        "John",
        "Doe",
        company="Acme Inc",
        email="john@acme.com",
        phone=JOHN_DOE,
        notes="VIP customer",
        contact_id="contact_1",
    )
    state.add_contact("Jane", "Roe", company="Globex", phone=JANE_ROE, contact_id="contact_2")
    state.add_contact("John", "Smith", company="Initech", phone=JOHN_SMITH, contact_id="contact_3")


def _seed_calls(state: QTvoiceState, now: datetime) -> None:
    """Nine calls over four days: each status and direction, three of them voicemails."""
    state.add_voicemail(
        JANE_ROE,
        ALICE_LINE,
        duration=21,
        is_read=True,
        extension_id="ext_101",
        transcription="Hi Alice, it's Jane from Globex, just confirming Tuesday. Bye!",
        created_at=now - timedelta(days=4),
        voicemail_id="vm_1",
        call_id="call_1",
    )
    state.add_call(
        JOHN_DOE,
        state.main_line,
        duration=145,
        extension_id="ext_101",
        created_at=now - timedelta(days=3),
        call_id="call_2",
    )
    state.add_call(
        ALICE_LINE,
        JANE_ROE,
        direction="outbound",
        duration=320,
        extension_id="ext_101",
        created_at=now - timedelta(days=2),
        call_id="call_3",
    )
    state.add_call(
        JANE_ROE,
        state.main_line,
        status="missed",
        extension_id="ext_100",
        created_at=now - timedelta(days=1),
        call_id="call_4",
    )
    state.add_voicemail(
        JOHN_DOE,
        BOB_LINE,
        duration=42,
        extension_id="ext_102",
        transcription="Hi Bob, it's John from Acme. Could you call me back about the quote? Thanks.",
        created_at=now - timedelta(hours=20),
        voicemail_id="vm_2",
        call_id="call_5",
    )
    state.add_call(
        BOB_LINE,
        STRANGER,
        direction="outbound",
        status="missed",
        extension_id="ext_102",
        created_at=now - timedelta(hours=6),
        call_id="call_6",
    )
    state.add_call(
        STRANGER,
        state.main_line,
        status="missed",
        extension_id="ext_100",
        created_at=now - timedelta(hours=5),
        call_id="call_7",
    )
    state.add_voicemail(
        JOHN_SMITH,
        state.main_line,
        duration=18,
        extension_id="ext_100",
        created_at=now - timedelta(hours=2),
        voicemail_id="vm_3",
        call_id="call_8",
    )
    state.add_call(
        JOHN_DOE,
        ALICE_LINE,
        duration=95,
        extension_id="ext_101",
        created_at=now - timedelta(minutes=30),
        call_id="call_9",
    )


def _seed_texts(state: QTvoiceState, now: datetime) -> None:
    state.add_sms(
        JOHN_DOE,
        state.main_line,
        "Hi, can you send over the quote?",
        created_at=now - timedelta(days=1),
        sms_id="sms_1",
    )
    state.add_sms(
        state.main_line,
        JOHN_DOE,
        "Sure, it's on its way this afternoon.",
        direction="outbound",
        created_at=now - timedelta(hours=23),
        sms_id="sms_2",
    )
    state.add_sms(
        STRANGER,
        state.main_line,
        "Is the office open on Saturday?",
        created_at=now - timedelta(hours=3),
        sms_id="sms_3",
    )
