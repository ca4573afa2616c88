"""`QTvoiceClient` against the QTvoice sandbox over real HTTP: paths, errors, retries, budget."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from bot.qtvoice.client import QTvoiceClient, RateLimit
from bot.qtvoice.errors import QTvoiceError
from bot.qtvoice.models import QTvoiceModel
from bot.sandbox.qtvoice import DEFAULT_READ_ONLY_KEY, QTvoiceSandbox
from bot.sandbox.server import free_port
from bot.slack.sentences import qtvoice_sentence

API_KEY = "qtv_client_test_key_5f2c9a"
JOHN_DOE = "+12155551234"
STRANGER = "+12155557777"
MAIN_LINE = "+12155550100"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def running_sandbox() -> Iterator[QTvoiceSandbox]:
    with QTvoiceSandbox(api_key=API_KEY) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(running_sandbox: QTvoiceSandbox) -> QTvoiceSandbox:
    running_sandbox.state.reset()
    return running_sandbox


@pytest.fixture
def slow_sandbox() -> Iterator[QTvoiceSandbox]:
    """A sandbox of its own, so a request still sleeping out a delay after the client gave up
    cannot land in the shared sandbox's data during a later test."""
    with QTvoiceSandbox(api_key=API_KEY) as sandbox:
        yield sandbox


def client_for(sandbox: QTvoiceSandbox, **options: Any) -> QTvoiceClient:
    """A client with backoff too short to slow the suite; `options` override any setting."""
    settings: dict[str, Any] = {"backoff_base": 0.001, **options}
    return QTvoiceClient(sandbox.url, settings.pop("api_key", API_KEY), **settings)


@pytest.fixture
async def qtvoice(sandbox: QTvoiceSandbox) -> AsyncIterator[QTvoiceClient]:
    async with client_for(sandbox) as client:
        yield client


def ids(items: list[Any]) -> list[str]:
    return [item.id for item in items]


def ids_of(records: list[dict[str, Any]]) -> list[str]:
    return [record["id"] for record in records]


# Every method hits the documented path with the documented parameters


@pytest.mark.anyio
async def test_list_calls_sends_every_filter_as_the_documented_query(
    qtvoice: QTvoiceClient, sandbox: QTvoiceSandbox
) -> None:
    page = await qtvoice.list_calls(
        page=1,
        limit=10,
        direction="inbound",
        status="missed",
        from_=STRANGER,
        to=MAIN_LINE,
        start_date=datetime(2000, 1, 1, tzinfo=UTC),
        end_date="2999-01-01T00:00:00+00:00",
    )

    (request,) = sandbox.state.requests("GET", "/calls")
    assert request.query == {
        "page": "1",
        "limit": "10",
        "direction": "inbound",
        "status": "missed",
        "from": STRANGER,
        "to": MAIN_LINE,
        "start_date": "2000-01-01T00:00:00+00:00",
        "end_date": "2999-01-01T00:00:00+00:00",
    }
    assert ids(page.data) == ["call_7"]


@pytest.mark.anyio
async def test_list_calls_leaves_out_filters_not_given(
    qtvoice: QTvoiceClient, sandbox: QTvoiceSandbox
) -> None:
    page = await qtvoice.list_calls()

    (request,) = sandbox.state.requests("GET", "/calls")
    assert request.query == {"page": "1", "limit": "50"}
    assert page.pagination.total == 9
    assert len(page.data) == 9


@pytest.mark.anyio
async def test_get_call_reads_one_call(qtvoice: QTvoiceClient, sandbox: QTvoiceSandbox) -> None:
    call = await qtvoice.get_call("call_2")

    assert sandbox.state.requests("GET", "/calls/call_2")
    assert (call.from_, call.duration, call.extension_id) == (JOHN_DOE, 145, "ext_101")
    assert call.call_sid is not None
    assert call.call_sid.startswith("CA")


@pytest.mark.anyio
async def test_create_call_posts_to_and_extension_only(
    qtvoice: QTvoiceClient, sandbox: QTvoiceSandbox
) -> None:
    initiated = await qtvoice.create_call(JOHN_DOE, extension_id="ext_101")

    (request,) = sandbox.state.requests("POST", "/calls")
    assert request.json == {"to": JOHN_DOE, "extension_id": "ext_101"}
    assert initiated.status == "initiated"
    assert initiated.to == JOHN_DOE
    assert initiated.from_ == "+12155550101"


@pytest.mark.anyio
async def test_create_call_sends_caller_id_as_from(
    qtvoice: QTvoiceClient, sandbox: QTvoiceSandbox
) -> None:
    await qtvoice.create_call(JOHN_DOE, from_=MAIN_LINE)

    (request,) = sandbox.state.requests("POST", "/calls")
    assert request.json == {"to": JOHN_DOE, "from": MAIN_LINE}


@pytest.mark.anyio
async def test_list_sms_sends_filters(qtvoice: QTvoiceClient, sandbox: QTvoiceSandbox) -> None:
    page = await qtvoice.list_sms(direction="inbound", from_=JOHN_DOE, to=MAIN_LINE)

    (request,) = sandbox.state.requests("GET", "/sms")
    assert request.query == {
        "page": "1",
        "limit": "50",
        "direction": "inbound",
        "from": JOHN_DOE,
        "to": MAIN_LINE,
    }
    assert [sms.message for sms in page.data] == ["Hi, can you send over the quote?"]


@pytest.mark.anyio
async def test_send_sms_posts_to_message_and_from(
    qtvoice: QTvoiceClient, sandbox: QTvoiceSandbox
) -> None:
    sms = await qtvoice.send_sms(JOHN_DOE, "Your quote is attached.", from_=MAIN_LINE)

    (request,) = sandbox.state.requests("POST", "/sms")
    assert request.json == {"to": JOHN_DOE, "message": "Your quote is attached.", "from": MAIN_LINE}
    assert sms.id.startswith("sms_")
    assert (sms.message, sms.direction) == ("Your quote is attached.", "outbound")


@pytest.mark.anyio
async def test_list_contacts_sends_search_and_phone(
    qtvoice: QTvoiceClient, sandbox: QTvoiceSandbox
) -> None:
    page = await qtvoice.list_contacts(search="john", phone=JOHN_DOE)

    (request,) = sandbox.state.requests("GET", "/contacts")
    assert request.query == {"search": "john", "phone": JOHN_DOE, "page": "1", "limit": "50"}
    assert ids(page.data) == ["contact_1"]


@pytest.mark.anyio
async def test_search_contacts_returns_the_first_page_of_matches(
    qtvoice: QTvoiceClient, sandbox: QTvoiceSandbox
) -> None:
    contacts = await qtvoice.search_contacts("john")

    (request,) = sandbox.state.requests("GET", "/contacts")
    assert request.query == {"search": "john", "page": "1", "limit": "20"}
    assert sorted(contact.full_name or "" for contact in contacts) == ["John Doe", "John Smith"]


@pytest.mark.anyio
async def test_lookup_contact_reads_contact_and_recent_calls(
    qtvoice: QTvoiceClient, sandbox: QTvoiceSandbox
) -> None:
    lookup = await qtvoice.lookup_contact(JOHN_DOE)

    (request,) = sandbox.state.requests("GET", "/contacts/lookup")
    assert request.query == {"phone": JOHN_DOE}
    assert lookup.found is True
    assert lookup.contact is not None
    assert lookup.contact.company == "Acme Inc"
    assert ids(lookup.recent_calls)[0] == "call_9"


@pytest.mark.anyio
async def test_lookup_of_an_unknown_number_is_not_found(qtvoice: QTvoiceClient) -> None:
    lookup = await qtvoice.lookup_contact("+12155550000")

    assert lookup.found is False
    assert lookup.contact is None


@pytest.mark.anyio
async def test_create_contact_posts_only_the_fields_given(
    qtvoice: QTvoiceClient, sandbox: QTvoiceSandbox
) -> None:
    contact = await qtvoice.create_contact(first_name="Ada", phone="+12155550199")

    (request,) = sandbox.state.requests("POST", "/contacts")
    assert request.json == {"first_name": "Ada", "phone": "+12155550199"}
    assert contact.id.startswith("contact_")
    assert contact.full_name == "Ada"


@pytest.mark.anyio
async def test_update_contact_puts_only_the_changed_fields(
    qtvoice: QTvoiceClient, sandbox: QTvoiceSandbox
) -> None:
    contact = await qtvoice.update_contact("contact_1", company="Acme Corp")

    (request,) = sandbox.state.requests("PUT", "/contacts/contact_1")
    assert request.json == {"company": "Acme Corp"}
    assert (contact.full_name, contact.company) == ("John Doe", "Acme Corp")


@pytest.mark.anyio
async def test_delete_contact_deletes_it(qtvoice: QTvoiceClient, sandbox: QTvoiceSandbox) -> None:
    assert await qtvoice.delete_contact("contact_2") is None

    assert sandbox.state.requests("DELETE", "/contacts/contact_2")
    assert "contact_2" not in ids_of(sandbox.state.contacts())


@pytest.mark.anyio
async def test_list_voicemails_sends_is_read_as_a_boolean_word(
    qtvoice: QTvoiceClient, sandbox: QTvoiceSandbox
) -> None:
    page = await qtvoice.list_voicemails(is_read=False, from_=JOHN_DOE)

    (request,) = sandbox.state.requests("GET", "/voicemails")
    assert request.query == {"is_read": "false", "from": JOHN_DOE, "page": "1", "limit": "50"}
    assert ids(page.data) == ["vm_2"]
    assert page.data[0].transcription is not None


@pytest.mark.anyio
async def test_list_extensions_reads_every_extension(qtvoice: QTvoiceClient) -> None:
    extensions = await qtvoice.list_extensions()

    assert [(e.id, e.number, e.name) for e in extensions] == [
        ("ext_100", "100", "Front Desk"),
        ("ext_101", "101", "Alice Jones"),
        ("ext_102", "102", "Bob Smith"),
    ]


@pytest.mark.anyio
async def test_list_extensions_walks_every_page(
    qtvoice: QTvoiceClient, sandbox: QTvoiceSandbox
) -> None:
    for number in range(200, 320):
        sandbox.state.add_extension(str(number), f"Desk {number}")

    extensions = await qtvoice.list_extensions()

    assert len(extensions) == 123
    pages = [request.query["page"] for request in sandbox.state.requests("GET", "/extensions")]
    assert pages == ["1", "2"]


@pytest.mark.anyio
async def test_api_key_is_sent_as_a_bearer_token(
    qtvoice: QTvoiceClient, sandbox: QTvoiceSandbox
) -> None:
    await qtvoice.list_extensions()

    (request,) = sandbox.state.requests("GET", "/extensions")
    assert request.headers["authorization"] == f"Bearer {API_KEY}"


# Iterating over every page


@pytest.mark.anyio
async def test_iter_calls_walks_every_page_in_order(
    qtvoice: QTvoiceClient, sandbox: QTvoiceSandbox
) -> None:
    everything = await qtvoice.list_calls(limit=100)

    walked = [call async for call in qtvoice.iter_calls(page_size=4)]

    assert ids(walked) == ids(everything.data)
    pages = [(r.query["page"], r.query["limit"]) for r in sandbox.state.requests("GET", "/calls")]
    assert pages == [("1", "100"), ("1", "4"), ("2", "4"), ("3", "4")]


IterFactory = Callable[[QTvoiceClient], AsyncIterator[QTvoiceModel]]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("walk", "path", "expected_query", "expected_ids"),
    [
        (
            lambda client: client.iter_sms(direction="inbound", page_size=1),
            "/sms",
            {"direction": "inbound"},
            ["sms_3", "sms_1"],
        ),
        (
            lambda client: client.iter_contacts(search="john", page_size=1),
            "/contacts",
            {"search": "john"},
            ["contact_1", "contact_3"],
        ),
        (
            lambda client: client.iter_voicemails(is_read=False, page_size=1),
            "/voicemails",
            {"is_read": "false"},
            ["vm_3", "vm_2"],
        ),
    ],
    ids=["sms", "contacts", "voicemails"],
)
async def test_iterators_send_their_filters_with_every_page(
    qtvoice: QTvoiceClient,
    sandbox: QTvoiceSandbox,
    walk: IterFactory,
    path: str,
    expected_query: dict[str, str],
    expected_ids: list[str],
) -> None:
    walked = [item async for item in walk(qtvoice)]

    assert ids(walked) == expected_ids
    requests = sandbox.state.requests("GET", path)
    assert [request.query["page"] for request in requests] == ["1", "2"]
    for request in requests:
        assert expected_query.items() <= request.query.items()


# Every documented error becomes a QTvoiceError


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "BAD_REQUEST"),
        (401, "UNAUTHORIZED"),
        (403, "FORBIDDEN"),
        (404, "NOT_FOUND"),
        (429, "RATE_LIMITED"),
        (500, "SERVER_ERROR"),
    ],
)
async def test_documented_error_answer_raises_its_status_and_code(
    sandbox: QTvoiceSandbox, status: int, code: str
) -> None:
    sandbox.state.fail_next("GET", "/calls", status)

    async with client_for(sandbox, max_retries=0) as qtvoice:
        with pytest.raises(QTvoiceError) as raised:
            await qtvoice.list_calls()

    assert (raised.value.status, raised.value.code) == (status, code)


@pytest.mark.anyio
async def test_rejected_key_raises_unauthorized_without_retrying(sandbox: QTvoiceSandbox) -> None:
    async with client_for(sandbox, api_key="qtv_revoked_key") as qtvoice:
        with pytest.raises(QTvoiceError) as raised:
            await qtvoice.list_calls()

    assert (raised.value.status, raised.value.code) == (401, "UNAUTHORIZED")
    assert raised.value.message == "Invalid API key"
    assert len(sandbox.state.requests("GET", "/calls")) == 1


@pytest.mark.anyio
async def test_key_without_write_permission_raises_forbidden(sandbox: QTvoiceSandbox) -> None:
    async with client_for(sandbox, api_key=DEFAULT_READ_ONLY_KEY) as qtvoice:
        with pytest.raises(QTvoiceError) as raised:
            await qtvoice.send_sms(JOHN_DOE, "hello")

    assert (raised.value.status, raised.value.code) == (403, "FORBIDDEN")


@pytest.mark.anyio
async def test_unknown_call_raises_not_found(qtvoice: QTvoiceClient) -> None:
    with pytest.raises(QTvoiceError) as raised:
        await qtvoice.get_call("call_missing")

    assert (raised.value.status, raised.value.code) == (404, "NOT_FOUND")
    assert raised.value.message == "Call not found"


@pytest.mark.anyio
async def test_invalid_number_raises_bad_request_with_qtvoice_reason(
    qtvoice: QTvoiceClient,
) -> None:
    with pytest.raises(QTvoiceError) as raised:
        await qtvoice.send_sms("215-555", "hello")

    assert (raised.value.status, raised.value.code) == (400, "BAD_REQUEST")
    assert "E.164" in qtvoice_sentence(raised.value)


# Retries


@pytest.mark.anyio
async def test_rate_limited_request_is_retried_after_retry_after(
    qtvoice: QTvoiceClient, sandbox: QTvoiceSandbox
) -> None:
    sandbox.state.fail_next("GET", "/calls", 429, retry_after=1)
    started = time.monotonic()

    page = await qtvoice.list_calls()

    assert time.monotonic() - started >= 0.95
    assert len(page.data) == 9
    assert len(sandbox.state.requests("GET", "/calls")) == 2


@pytest.mark.anyio
async def test_retry_after_longer_than_a_person_should_wait_fails_at_once(
    qtvoice: QTvoiceClient, sandbox: QTvoiceSandbox
) -> None:
    sandbox.state.fail_next("GET", "/calls", 429, retry_after=30)
    started = time.monotonic()

    with pytest.raises(QTvoiceError) as raised:
        await qtvoice.list_calls()

    assert time.monotonic() - started < 1
    assert raised.value.code == "RATE_LIMITED"
    assert raised.value.retry_after == 30
    assert len(sandbox.state.requests("GET", "/calls")) == 1


@pytest.mark.anyio
async def test_background_request_waits_longer_than_a_person_would(
    sandbox: QTvoiceSandbox,
) -> None:
    sandbox.state.fail_next("GET", "/calls", 429, retry_after=1)

    async with client_for(sandbox, foreground_max_wait=0.5, background_max_wait=5) as qtvoice:
        page = await qtvoice.list_calls(background=True)

    assert len(page.data) == 9
    assert len(sandbox.state.requests("GET", "/calls")) == 2


@pytest.mark.anyio
async def test_read_is_retried_after_two_server_errors(
    qtvoice: QTvoiceClient, sandbox: QTvoiceSandbox
) -> None:
    sandbox.state.fail_next("GET", "/calls", 500, count=2)

    page = await qtvoice.list_calls()

    assert len(page.data) == 9
    assert len(sandbox.state.requests("GET", "/calls")) == 3


@pytest.mark.anyio
async def test_server_errors_beyond_max_retries_raise(sandbox: QTvoiceSandbox) -> None:
    sandbox.state.fail_next("GET", "/calls", 502, count=5)

    async with client_for(sandbox, max_retries=2) as qtvoice:
        with pytest.raises(QTvoiceError) as raised:
            await qtvoice.list_calls()

    assert (raised.value.status, raised.value.code) == (502, "SERVER_ERROR")
    assert len(sandbox.state.requests("GET", "/calls")) == 3


@pytest.mark.anyio
async def test_sms_is_not_resent_after_a_server_error(
    qtvoice: QTvoiceClient, sandbox: QTvoiceSandbox
) -> None:
    sandbox.state.fail_next("POST", "/sms", 500)

    with pytest.raises(QTvoiceError) as raised:
        await qtvoice.send_sms(JOHN_DOE, "Your quote is attached.")

    assert raised.value.status == 500
    assert raised.value.outcome_unknown is True
    assert len(sandbox.state.requests("POST", "/sms")) == 1


@pytest.mark.anyio
async def test_call_is_not_redialed_after_a_server_error(
    qtvoice: QTvoiceClient, sandbox: QTvoiceSandbox
) -> None:
    sandbox.state.fail_next("POST", "/calls", 503)

    with pytest.raises(QTvoiceError) as raised:
        await qtvoice.create_call(JOHN_DOE, extension_id="ext_101")

    assert raised.value.outcome_unknown is True
    assert len(sandbox.state.requests("POST", "/calls")) == 1


@pytest.mark.anyio
async def test_rate_limited_sms_is_retried_and_sent_once(
    qtvoice: QTvoiceClient, sandbox: QTvoiceSandbox
) -> None:
    sandbox.state.fail_next("POST", "/sms", 429, retry_after=0)

    await qtvoice.send_sms(JOHN_DOE, "Your quote is attached.")

    assert len(sandbox.state.requests("POST", "/sms")) == 2
    sent = [sms for sms in sandbox.state.sms() if sms["message"] == "Your quote is attached."]
    assert len(sent) == 1


@pytest.mark.anyio
async def test_slow_read_raises_timeout_after_retries(slow_sandbox: QTvoiceSandbox) -> None:
    slow_sandbox.state.delay("GET", "/calls", 5)

    async with client_for(slow_sandbox, timeout=0.2, max_retries=1) as qtvoice:
        with pytest.raises(QTvoiceError) as raised:
            await qtvoice.list_calls()

    assert (raised.value.status, raised.value.code) == (504, "TIMEOUT")
    assert raised.value.outcome_unknown is False
    assert len(slow_sandbox.state.requests("GET", "/calls")) == 2


@pytest.mark.anyio
async def test_time_spent_on_a_slow_answer_counts_against_a_persons_patience(
    slow_sandbox: QTvoiceSandbox,
) -> None:
    slow_sandbox.state.delay("GET", "/calls", 5)

    async with client_for(slow_sandbox, timeout=0.3, foreground_max_wait=0.2) as qtvoice:
        with pytest.raises(QTvoiceError) as raised:
            await qtvoice.list_calls()

    assert raised.value.code == "TIMEOUT"
    assert len(slow_sandbox.state.requests("GET", "/calls")) == 1


@pytest.mark.anyio
async def test_sms_is_not_resent_after_a_read_timeout(slow_sandbox: QTvoiceSandbox) -> None:
    slow_sandbox.state.delay("POST", "/sms", 5)

    async with client_for(slow_sandbox, timeout=0.2) as qtvoice:
        with pytest.raises(QTvoiceError) as raised:
            await qtvoice.send_sms(JOHN_DOE, "hello")

    assert (raised.value.status, raised.value.code) == (504, "TIMEOUT")
    assert raised.value.outcome_unknown is True
    assert len(slow_sandbox.state.requests("POST", "/sms")) == 1


@pytest.mark.anyio
async def test_unreachable_qtvoice_raises_unavailable_and_nothing_was_sent() -> None:
    url = f"http://127.0.0.1:{free_port()}/api/v1"

    async with QTvoiceClient(url, API_KEY, max_retries=1, backoff_base=0.001) as qtvoice:
        with pytest.raises(QTvoiceError) as raised:
            await qtvoice.send_sms(JOHN_DOE, "hello")

    assert (raised.value.status, raised.value.code) == (503, "UNAVAILABLE")
    assert raised.value.outcome_unknown is False


# The hourly budget


@pytest.mark.anyio
async def test_rate_limit_headers_are_read_from_every_answer(qtvoice: QTvoiceClient) -> None:
    assert qtvoice.rate_limit is None

    await qtvoice.list_extensions()

    budget = qtvoice.rate_limit
    assert budget is not None
    assert (budget.limit, budget.remaining) == (1000, 999)
    assert 3590 < budget.resets_in() <= 3600


@pytest.mark.anyio
async def test_rate_limit_headers_are_read_from_error_answers_too(
    qtvoice: QTvoiceClient, sandbox: QTvoiceSandbox
) -> None:
    sandbox.state.set_rate_limit(limit=100, remaining=40)

    with pytest.raises(QTvoiceError):
        await qtvoice.get_call("call_missing")

    assert qtvoice.rate_limit is not None
    assert qtvoice.rate_limit.remaining == 39


@pytest.mark.anyio
async def test_background_request_inside_the_reserve_is_refused_without_a_request(
    qtvoice: QTvoiceClient, sandbox: QTvoiceSandbox
) -> None:
    sandbox.state.set_rate_limit(limit=100, remaining=11, reset_in=600)
    await qtvoice.list_extensions()
    sandbox.state.clear_requests()

    with pytest.raises(QTvoiceError) as raised:
        await qtvoice.list_calls(background=True)

    assert (raised.value.status, raised.value.code) == (429, "BUDGET_RESERVED")
    assert raised.value.retry_after is not None
    assert 590 < raised.value.retry_after <= 600
    assert sandbox.state.requests() == []


@pytest.mark.anyio
async def test_foreground_request_inside_the_reserve_still_goes_out(
    qtvoice: QTvoiceClient, sandbox: QTvoiceSandbox
) -> None:
    sandbox.state.set_rate_limit(limit=100, remaining=11, reset_in=600)
    await qtvoice.list_extensions()

    page = await qtvoice.list_calls()

    assert len(page.data) == 9


@pytest.mark.anyio
async def test_background_request_outside_the_reserve_goes_out(
    qtvoice: QTvoiceClient, sandbox: QTvoiceSandbox
) -> None:
    sandbox.state.set_rate_limit(limit=100, remaining=12, reset_in=600)
    await qtvoice.list_extensions()

    page = await qtvoice.list_calls(background=True)

    assert len(page.data) == 9


def test_reserve_is_held_until_the_window_resets() -> None:
    budget = RateLimit(limit=100, remaining=5, reset_at=1000.0)

    assert budget.in_reserve(0.1, now=999.0) is True
    assert budget.in_reserve(0.1, now=1000.0) is False


def test_budget_without_a_known_limit_holds_nothing_back() -> None:
    assert RateLimit(limit=None, remaining=0, reset_at=1000.0).in_reserve(0.1, now=0) is False


@pytest.mark.anyio
async def test_reset_sent_as_a_unix_time_is_read_as_that_moment() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        reset = str(int(time.time()) + 120)
        headers = {"X-RateLimit-Limit": "1000", "X-RateLimit-Remaining": "7"}
        return httpx.Response(
            200, json={"data": []}, headers={**headers, "X-RateLimit-Reset": reset}
        )

    transport = httpx.MockTransport(answer)
    async with QTvoiceClient("http://qtvoice.test/api/v1", API_KEY, transport=transport) as qtvoice:
        await qtvoice.list_extensions()

    assert qtvoice.rate_limit is not None
    assert 115 < qtvoice.rate_limit.resets_in() <= 120


# Answers QTvoice should never send, read as errors rather than crashes


@pytest.mark.anyio
async def test_success_answer_that_is_not_json_raises_bad_response() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, text="<html>ok</html>"))
    async with QTvoiceClient("http://qtvoice.test/api/v1", API_KEY, transport=transport) as qtvoice:
        with pytest.raises(QTvoiceError) as raised:
            await qtvoice.send_sms(JOHN_DOE, "hello")

    assert (raised.value.status, raised.value.code) == (502, "BAD_RESPONSE")
    assert raised.value.outcome_unknown is True


@pytest.mark.anyio
async def test_error_answer_without_the_documented_body_gets_the_documented_code() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(403, text="Forbidden"))
    async with QTvoiceClient("http://qtvoice.test/api/v1", API_KEY, transport=transport) as qtvoice:
        with pytest.raises(QTvoiceError) as raised:
            await qtvoice.list_calls()

    assert (raised.value.status, raised.value.code, raised.value.message) == (
        403,
        "FORBIDDEN",
        "Forbidden",
    )


# The key stays secret


@pytest.mark.anyio
async def test_api_key_is_absent_from_client_repr_and_str(sandbox: QTvoiceSandbox) -> None:
    async with client_for(sandbox) as qtvoice:
        assert API_KEY not in repr(qtvoice)
        assert API_KEY not in str(qtvoice)


@pytest.mark.anyio
async def test_api_key_is_absent_from_errors(sandbox: QTvoiceSandbox) -> None:
    wrong_key = "qtv_wrong_but_still_secret"
    async with client_for(sandbox, api_key=wrong_key) as qtvoice:
        with pytest.raises(QTvoiceError) as raised:
            await qtvoice.list_calls()

    for text in (str(raised.value), repr(raised.value), qtvoice_sentence(raised.value)):
        assert wrong_key not in text


@pytest.mark.anyio
async def test_api_key_echoed_back_by_qtvoice_is_redacted_from_the_error() -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        body = {"error": f"Key {API_KEY} is invalid", "code": "UNAUTHORIZED"}
        return httpx.Response(401, json=body)

    transport = httpx.MockTransport(echo)
    async with QTvoiceClient("http://qtvoice.test/api/v1", API_KEY, transport=transport) as qtvoice:
        with pytest.raises(QTvoiceError) as raised:
            await qtvoice.list_calls()

    assert API_KEY not in str(raised.value)
    assert API_KEY not in repr(raised.value)


@pytest.mark.anyio
async def test_requests_are_logged_without_the_key(
    qtvoice: QTvoiceClient, sandbox: QTvoiceSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.state.fail_next("GET", "/calls", 500)

    with caplog.at_level(logging.DEBUG):
        await qtvoice.list_calls()

    assert "QTvoice GET /calls -> 200" in caplog.text
    assert "retry 1" in caplog.text
    assert API_KEY not in caplog.text


# Owning the HTTP client


@pytest.mark.anyio
async def test_shared_http_client_is_left_open_for_its_owner(sandbox: QTvoiceSandbox) -> None:
    async with httpx.AsyncClient() as shared:
        async with QTvoiceClient(sandbox.url, API_KEY, http_client=shared) as qtvoice:
            await qtvoice.list_extensions()

        assert not shared.is_closed
