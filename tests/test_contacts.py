"""The local copy of QTvoice's contact directory: screen pops without spending the budget."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, delete, select

from bot.config import Settings
from bot.directory import ContactDirectory, sync_contacts
from bot.runtime import Runtime
from bot.sandbox.qtvoice import QTvoiceSandbox
from bot.sandbox.qtvoice.state import RecordedRequest
from bot.sandbox.samples import CUSTOMER_NUMBER
from bot.sandbox.slack import SlackRecorder
from bot.store.models import CachedContact, utcnow
from tests.conftest import NOTIFY_CHANNEL, start_bot

pytestmark = pytest.mark.anyio


@pytest.fixture
def synced(settings: Settings) -> Settings:
    return settings.model_copy(update={"contact_sync_minutes": 60})


async def copy_directory(settings: Settings) -> int:
    runtime = Runtime.create(settings)
    try:
        return await sync_contacts(runtime, utcnow())
    finally:
        await runtime.close()


def lookups(qtvoice: QTvoiceSandbox) -> list[RecordedRequest]:
    return qtvoice.state.requests("GET", "/contacts/lookup")


async def test_the_copy_takes_every_contact_a_hundred_a_page(
    synced: Settings, qtvoice: QTvoiceSandbox
) -> None:
    for n in range(250):
        qtvoice.state.add_contact(f"Client{n}", "Test", phone=f"+1215556{n:04d}")
    known = len(qtvoice.state.contacts())
    qtvoice.state.clear_requests()

    copied = await copy_directory(synced)

    pages = qtvoice.state.requests("GET", "/contacts")
    assert copied == known
    assert len(pages) == -(-known // 100)
    assert all(request.query.get("limit") == "100" for request in pages)


async def test_fifty_unknown_callers_cost_no_request_once_the_copy_is_fresh(
    synced: Settings, qtvoice: QTvoiceSandbox, slack: SlackRecorder
) -> None:
    await copy_directory(synced)
    qtvoice.state.clear_requests()
    bot = start_bot(synced, slack)
    try:
        for n in range(50):
            assert bot.send("call.missed", from_=f"+1267555{n:04d}").status_code == 200
        bot.send("call.missed", from_=CUSTOMER_NUMBER)
        slack.wait_for(lambda: len(slack.messages(NOTIFY_CHANNEL)) == 51, timeout=30)
    finally:
        bot.stop()

    assert qtvoice.state.requests() == []
    named = [m["text"] for m in slack.messages(NOTIFY_CHANNEL) if "John Doe" in m["text"]]
    assert len(named) == 1


async def test_a_stale_copy_falls_back_to_lookups(
    synced: Settings, qtvoice: QTvoiceSandbox
) -> None:
    runtime = Runtime.create(synced)
    try:
        await sync_contacts(runtime, utcnow() - timedelta(hours=3))
        qtvoice.state.clear_requests()
        async with runtime.sessions() as session:
            found = await ContactDirectory(runtime.qtvoice, 60).contact(session, "+12675550001")
    finally:
        await runtime.close()

    assert found is None
    assert len(lookups(qtvoice)) == 1


async def test_a_contact_deleted_in_qtvoice_leaves_the_copy(
    synced: Settings, qtvoice: QTvoiceSandbox
) -> None:
    gone = qtvoice.state.add_contact("Gone", "Soon", phone="+12155559999")
    await copy_directory(synced)
    qtvoice.state.data.contacts.pop(gone["id"])

    runtime = Runtime.create(synced)
    try:
        await sync_contacts(runtime, utcnow() + timedelta(hours=1))  # the next hour's copy
    finally:
        await runtime.close()

    runtime = Runtime.create(synced)
    try:
        directory = ContactDirectory(runtime.qtvoice, 60)
        async with runtime.sessions() as session:
            deleted = await directory.contact(session, "+12155559999")
            kept = await directory.contact(session, CUSTOMER_NUMBER)
    finally:
        await runtime.close()
    assert deleted is None
    assert kept is not None
    assert kept.full_name == "John Doe"


async def test_a_copy_made_moments_ago_is_not_made_again(
    synced: Settings, qtvoice: QTvoiceSandbox
) -> None:
    await copy_directory(synced)
    qtvoice.state.clear_requests()

    assert await copy_directory(synced) == 0
    assert qtvoice.state.requests() == []


async def test_a_number_forgotten_by_another_process_meanwhile_is_cached_again(
    settings: Settings, db: Engine
) -> None:
    # The cache row this session read goes (the prune, an erasure) before it writes its own
    # answer: the write is an upsert, not an UPDATE of a row that is no longer there.
    runtime = Runtime.create(settings)
    try:
        directory = ContactDirectory(runtime.qtvoice)
        async with runtime.sessions() as session:
            assert await directory.contact(session, CUSTOMER_NUMBER) is not None
            read = await session.get(CachedContact, CUSTOMER_NUMBER)  # the row this one saw
            assert read is not None
            with db.begin() as connection:
                connection.execute(delete(CachedContact))
            await directory.remember(session, CUSTOMER_NUMBER, None)
    finally:
        await runtime.close()
    with db.connect() as connection:
        assert connection.execute(select(CachedContact.found)).scalars().all() == [False]
