"""`Telephony`'s rules against the QTvoice sandbox and a real (migrated) database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from bot.config import Settings
from bot.qtvoice.errors import QTvoiceError
from bot.runtime import Runtime
from bot.sandbox.qtvoice import ALICE_LINE, JANE_ROE, JOHN_DOE, QTvoiceSandbox
from bot.store.models import ExtensionLink, OptOut, OutboundText
from bot.telephony import MAX_SMS_LENGTH, Refusal, Telephony

pytestmark = pytest.mark.anyio

ALICE = "U0ALICE"


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    runtime = Runtime.create(settings.model_copy(update={"sms_per_minute": 2}))
    yield runtime
    await runtime.close()


@pytest.fixture
async def telephony(runtime: Runtime) -> Telephony:
    async with runtime.sessions() as session, session.begin():
        session.add(
            ExtensionLink(
                slack_user_id=ALICE,
                extension_id="ext_101",
                extension_number="101",
                extension_name="Alice Jones",
                phone_number=ALICE_LINE,
                linked_by=ALICE,
            )
        )
    return Telephony(runtime)


async def outbound_count(runtime: Runtime) -> int:
    async with runtime.sessions() as session:
        return await session.scalar(select(func.count()).select_from(OutboundText)) or 0


async def test_place_call_rings_the_linked_extension(
    telephony: Telephony, qtvoice: QTvoiceSandbox
) -> None:
    initiated = await telephony.place_call(ALICE, "215-555-1234")

    assert initiated.status == "initiated"
    [request] = qtvoice.state.requests("POST", "/calls")
    assert request.json == {"to": JOHN_DOE, "extension_id": "ext_101"}


async def test_unlinked_user_is_refused_with_how_to_link(
    telephony: Telephony, qtvoice: QTvoiceSandbox
) -> None:
    with pytest.raises(Refusal, match="/qtvoice link"):
        await telephony.place_call("U0NOBODY", JOHN_DOE)
    assert qtvoice.state.requests("POST", "/calls") == []


async def test_parse_number_refuses_what_is_not_a_number(telephony: Telephony) -> None:
    assert telephony.parse_number("(215) 555-9876") == JANE_ROE
    with pytest.raises(Refusal, match="doesn't look like a phone number"):
        telephony.parse_number("12")


async def test_send_text_uses_the_users_line_and_counts_it(
    telephony: Telephony, runtime: Runtime, qtvoice: QTvoiceSandbox
) -> None:
    sms = await telephony.send_text(ALICE, "2155551234", "  On my way  ")

    [request] = qtvoice.state.requests("POST", "/sms")
    assert request.json == {"to": JOHN_DOE, "message": "On my way", "from": ALICE_LINE}
    async with runtime.sessions() as session:
        row = await session.scalar(select(OutboundText))
    assert row is not None
    assert (row.sms_id, row.to, row.line) == (sms.id, JOHN_DOE, ALICE_LINE)


async def test_send_text_from_a_given_line(telephony: Telephony, qtvoice: QTvoiceSandbox) -> None:
    await telephony.send_text(ALICE, JOHN_DOE, "hi", line="+12155550100")

    assert qtvoice.state.requests("POST", "/sms")[0].json["from"] == "+12155550100"


async def test_send_text_refuses_an_opted_out_number(
    telephony: Telephony, runtime: Runtime, qtvoice: QTvoiceSandbox
) -> None:
    async with runtime.sessions() as session, session.begin():
        session.add(OptOut(phone=JOHN_DOE, keyword="STOP"))

    with pytest.raises(Refusal, match="opted out"):
        await telephony.send_text(ALICE, "215-555-1234", "hello")
    assert qtvoice.state.requests("POST", "/sms") == []


@pytest.mark.parametrize("message", ["", "   ", "x" * (MAX_SMS_LENGTH + 1)])
async def test_send_text_refuses_empty_or_too_long_text(
    telephony: Telephony, qtvoice: QTvoiceSandbox, message: str
) -> None:
    with pytest.raises(Refusal):
        await telephony.send_text(ALICE, JOHN_DOE, message)
    assert qtvoice.state.requests("POST", "/sms") == []


async def test_send_text_refuses_beyond_the_per_minute_limit(
    telephony: Telephony, qtvoice: QTvoiceSandbox
) -> None:
    await telephony.send_text(ALICE, JOHN_DOE, "one")
    await telephony.send_text(ALICE, JOHN_DOE, "two")

    with pytest.raises(Refusal, match="2 texts in the last minute"):
        await telephony.send_text(ALICE, JOHN_DOE, "three")
    assert len(qtvoice.state.requests("POST", "/sms")) == 2


async def test_text_qtvoice_refused_does_not_count(
    telephony: Telephony, runtime: Runtime, qtvoice: QTvoiceSandbox
) -> None:
    qtvoice.state.fail_next("POST", "/sms", 403)

    with pytest.raises(QTvoiceError):
        await telephony.send_text(ALICE, JOHN_DOE, "hello")

    assert await outbound_count(runtime) == 0


async def test_text_with_unknown_outcome_still_counts(
    telephony: Telephony, runtime: Runtime, qtvoice: QTvoiceSandbox
) -> None:
    qtvoice.state.fail_next("POST", "/sms", 500)

    with pytest.raises(QTvoiceError) as raised:
        await telephony.send_text(ALICE, JOHN_DOE, "hello")

    assert raised.value.outcome_unknown
    assert await outbound_count(runtime) == 1


async def test_find_contacts_searches_names(telephony: Telephony) -> None:
    found = await telephony.find_contacts("  john  ")

    assert {contact.full_name for contact in found} == {"John Doe", "John Smith"}
    assert await telephony.find_contacts("   ") == []
