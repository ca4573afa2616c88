"""The QTvoice sandbox speaks the documented API over real HTTP, and its test controls work.

One sandbox serves the whole module; every test starts from freshly seeded state.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.qtvoice.signing import signature_matches
from bot.sandbox.qtvoice import (
    DEFAULT_API_KEY,
    DEFAULT_READ_ONLY_KEY,
    QTvoiceSandbox,
    QTvoiceState,
    send_webhook,
)
from bot.sandbox.samples import EVENT_TYPES, sample_event
from bot.sandbox.server import BackgroundServer

WEBHOOK_SECRET = "whsec_test"


class WebhookReceiver:
    """A real HTTP endpoint that keeps every webhook's raw body and headers."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, dict[str, str]]] = []
        app = Starlette(routes=[Route("/hooks", self._receive, methods=["POST"])])
        self.server = BackgroundServer(app)
        self.url = f"{self.server.url}/hooks"

    async def _receive(self, request: Request) -> JSONResponse:
        self.received.append((await request.body(), dict(request.headers)))
        return JSONResponse({"ok": True})


@pytest.fixture(scope="module")
def running_sandbox() -> Iterator[QTvoiceSandbox]:
    with QTvoiceSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(running_sandbox: QTvoiceSandbox) -> QTvoiceSandbox:
    running_sandbox.state.reset()
    return running_sandbox


@pytest.fixture
def state(sandbox: QTvoiceSandbox) -> QTvoiceState:
    return sandbox.state


@pytest.fixture
def api(sandbox: QTvoiceSandbox) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
    with httpx.Client(base_url=sandbox.url, headers=headers, timeout=10) as client:
        yield client


@pytest.fixture
def read_only_api(sandbox: QTvoiceSandbox) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {DEFAULT_READ_ONLY_KEY}"}
    with httpx.Client(base_url=sandbox.url, headers=headers, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    hooks = WebhookReceiver()
    with hooks.server:
        yield hooks


def ids(response: httpx.Response) -> list[str]:
    return [item["id"] for item in response.json()["data"]]


# --- auth ------------------------------------------------------------------------------


def test_bearer_key_is_accepted(api: httpx.Client) -> None:
    assert api.get("/extensions").status_code == 200


def test_apikey_scheme_is_accepted(sandbox: QTvoiceSandbox) -> None:
    response = httpx.get(
        f"{sandbox.url}/extensions", headers={"Authorization": f"ApiKey {DEFAULT_API_KEY}"}
    )

    assert response.status_code == 200


def test_missing_key_is_unauthorized(sandbox: QTvoiceSandbox) -> None:
    response = httpx.get(f"{sandbox.url}/calls")

    assert response.status_code == 401
    assert response.json() == {"error": "Invalid API key", "code": "UNAUTHORIZED"}


def test_wrong_key_is_unauthorized(sandbox: QTvoiceSandbox) -> None:
    response = httpx.get(f"{sandbox.url}/calls", headers={"Authorization": "Bearer qtv_nope"})

    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHORIZED"


def test_read_only_key_can_read(read_only_api: httpx.Client) -> None:
    assert read_only_api.get("/contacts").status_code == 200


def test_read_only_key_cannot_write(read_only_api: httpx.Client, state: QTvoiceState) -> None:
    response = read_only_api.post("/sms", json={"to": "+12155551234", "message": "hi"})

    assert response.status_code == 403
    assert response.json() == {"error": "Missing required permission", "code": "FORBIDDEN"}
    assert all(sms["status"] != "queued" for sms in state.sms())


# --- lists, pagination and filters -----------------------------------------------------


def test_list_has_data_and_pagination(api: httpx.Client) -> None:
    body = api.get("/calls").json()

    assert len(body["data"]) == 9
    assert body["pagination"] == {"page": 1, "limit": 50, "total": 9, "totalPages": 1}


def test_second_page_continues_the_first(api: httpx.Client) -> None:
    first = api.get("/calls", params={"limit": 4}).json()
    second = api.get("/calls", params={"limit": 4, "page": 2}).json()

    assert second["pagination"] == {"page": 2, "limit": 4, "total": 9, "totalPages": 3}
    assert {c["id"] for c in first["data"]}.isdisjoint(c["id"] for c in second["data"])


def test_limit_is_capped_at_100(api: httpx.Client, state: QTvoiceState) -> None:
    for _ in range(120):
        state.add_call("+12155551234", "+12155550100")

    body = api.get("/calls", params={"limit": 500}).json()

    assert len(body["data"]) == 100
    assert body["pagination"]["limit"] == 100
    assert body["pagination"]["totalPages"] == 2


def test_calls_are_newest_first(api: httpx.Client) -> None:
    created = [call["createdAt"] for call in api.get("/calls").json()["data"]]

    assert created == sorted(created, reverse=True)


def test_calls_filter_by_status(api: httpx.Client) -> None:
    assert ids(api.get("/calls", params={"status": "missed"})) == ["call_7", "call_6", "call_4"]


def test_calls_filter_by_direction(api: httpx.Client) -> None:
    assert ids(api.get("/calls", params={"direction": "outbound"})) == ["call_6", "call_3"]


def test_calls_filter_by_caller_whatever_the_number_format(api: httpx.Client) -> None:
    response = api.get("/calls", params={"from": "(215) 555-1234"})

    assert ids(response) == ["call_9", "call_5", "call_2"]


def test_calls_filter_by_date_range(api: httpx.Client, state: QTvoiceState) -> None:
    state.reset(seed=False)
    for days_ago in (5, 3, 1):
        state.add_call(
            "+12155551234",
            "+12155550100",
            created_at=datetime.now(UTC) - timedelta(days=days_ago),
            call_id=f"call_{days_ago}d",
        )
    start = (datetime.now(UTC) - timedelta(days=4)).isoformat()
    end = (datetime.now(UTC) - timedelta(days=2)).isoformat()

    response = api.get("/calls", params={"start_date": start, "end_date": end})

    assert ids(response) == ["call_3d"]


@pytest.mark.parametrize(
    "params",
    [
        {"direction": "sideways"},
        {"status": "ringing"},
        {"page": "0"},
        {"limit": "many"},
        {"start_date": "last tuesday"},
        {"from": "unknown"},
    ],
)
def test_invalid_call_filter_is_bad_request(api: httpx.Client, params: dict[str, str]) -> None:
    response = api.get("/calls", params=params)

    assert response.status_code == 400
    assert response.json()["code"] == "BAD_REQUEST"


def test_sms_filter_by_direction(api: httpx.Client) -> None:
    assert ids(api.get("/sms", params={"direction": "inbound"})) == ["sms_3", "sms_1"]


def test_voicemails_filter_by_read_status(api: httpx.Client) -> None:
    assert ids(api.get("/voicemails", params={"is_read": "false"})) == ["vm_3", "vm_2"]


def test_extensions_are_listed(api: httpx.Client) -> None:
    extensions = api.get("/extensions").json()["data"]

    assert extensions[0] == {
        "id": "ext_100",
        "number": "100",
        "name": "Front Desk",
        "phone": "+12155550100",
        "email": "frontdesk@example.com",
    }
    assert [e["id"] for e in extensions] == ["ext_100", "ext_101", "ext_102"]


# --- calls -----------------------------------------------------------------------------


def test_get_call_returns_it(api: httpx.Client) -> None:
    call = api.get("/calls/call_5").json()

    assert call["status"] == "voicemail"
    assert call["voicemailId"] == "vm_2"


def test_unknown_call_is_not_found(api: httpx.Client) -> None:
    response = api.get("/calls/call_nope")

    assert response.status_code == 404
    assert response.json() == {"error": "Call not found", "code": "NOT_FOUND"}


def test_click_to_call_is_initiated_from_the_extension(api: httpx.Client) -> None:
    response = api.post("/calls", json={"to": "+12155551234", "extension_id": "ext_101"})

    assert response.status_code == 201
    body = response.json()
    assert body["id"].startswith("call_")
    assert body | {"id": None} == {
        "id": None,
        "status": "initiated",
        "from": "+12155550101",
        "to": "+12155551234",
        "message": "Call initiation requested",
    }


def test_click_to_call_appears_in_the_history(api: httpx.Client) -> None:
    call_id = api.post("/calls", json={"to": "+12155551234"}).json()["id"]

    call = api.get(f"/calls/{call_id}").json()

    assert (call["direction"], call["status"], call["from"]) == (
        "outbound",
        "initiated",
        "+12155550100",
    )


def test_click_to_call_to_unknown_extension_is_not_found(api: httpx.Client) -> None:
    response = api.post("/calls", json={"to": "+12155551234", "extension_id": "ext_999"})

    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"


def test_click_to_call_without_to_is_bad_request(api: httpx.Client) -> None:
    response = api.post("/calls", json={"extension_id": "ext_101"})

    assert response.status_code == 400
    assert response.json() == {"error": "to is required", "code": "BAD_REQUEST"}


# --- sms -------------------------------------------------------------------------------


def test_sent_sms_is_queued_from_the_main_line(api: httpx.Client) -> None:
    response = api.post("/sms", json={"to": "+12155551234", "message": "On my way"})

    assert response.status_code == 201
    sms = response.json()
    assert (sms["from"], sms["to"], sms["message"]) == ("+12155550100", "+12155551234", "On my way")
    assert (sms["direction"], sms["status"]) == ("outbound", "queued")


def test_sms_without_message_is_bad_request(api: httpx.Client) -> None:
    response = api.post("/sms", json={"to": "+12155551234"})

    assert response.status_code == 400
    assert response.json() == {"error": "message is required", "code": "BAD_REQUEST"}


def test_sms_to_a_non_e164_number_is_bad_request(api: httpx.Client) -> None:
    response = api.post("/sms", json={"to": "555-1234", "message": "hi"})

    assert response.status_code == 400


def test_malformed_json_is_bad_request(api: httpx.Client) -> None:
    response = api.post("/sms", content=b'{"to": ', headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert response.json() == {"error": "Request body is not valid JSON", "code": "BAD_REQUEST"}


def test_json_that_is_not_an_object_is_bad_request(api: httpx.Client) -> None:
    response = api.post("/sms", json=["+12155551234", "hi"])

    assert response.status_code == 400


# --- contacts --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("john", ["contact_1", "contact_3"]),
        ("John Doe", ["contact_1"]),
        ("globex", ["contact_2"]),
        ("john@acme", ["contact_1"]),
    ],
)
def test_contacts_search_name_company_and_email(
    api: httpx.Client, search: str, expected: list[str]
) -> None:
    assert ids(api.get("/contacts", params={"search": search})) == expected


def test_contacts_search_by_phone(api: httpx.Client) -> None:
    assert ids(api.get("/contacts", params={"phone": "2071234567"})) == ["contact_3"]


def test_lookup_finds_the_contact_and_recent_calls(api: httpx.Client) -> None:
    lookup = api.get("/contacts/lookup", params={"phone": "+12155551234"}).json()

    assert lookup["found"] is True
    assert lookup["contact"]["id"] == "contact_1"
    assert [call["id"] for call in lookup["recent_calls"]] == ["call_9", "call_5", "call_2"]


def test_lookup_matches_a_national_number(api: httpx.Client) -> None:
    lookup = api.get("/contacts/lookup", params={"phone": "215-555-9876"}).json()

    assert lookup["contact"]["id"] == "contact_2"


def test_lookup_of_unknown_number_is_not_found(api: httpx.Client) -> None:
    response = api.get("/contacts/lookup", params={"phone": "+12155557777"})

    assert response.status_code == 200
    assert response.json() == {"found": False, "contact": None, "recent_calls": []}


def test_lookup_without_phone_is_bad_request(api: httpx.Client) -> None:
    assert api.get("/contacts/lookup").status_code == 400


def test_created_contact_can_be_read_back(api: httpx.Client) -> None:
    created = api.post(
        "/contacts", json={"first_name": "Dana", "last_name": "Scully", "phone": "+12155554321"}
    )

    assert created.status_code == 201
    contact = api.get(f"/contacts/{created.json()['id']}").json()
    assert (contact["first_name"], contact["phone"]) == ("Dana", "+12155554321")


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_update_changes_only_the_fields_sent(api: httpx.Client, method: str) -> None:
    response = api.request(method, "/contacts/contact_1", json={"company": "Acme Corp"})

    assert response.status_code == 200
    contact = api.get("/contacts/contact_1").json()
    assert (contact["company"], contact["email"]) == ("Acme Corp", "john@acme.com")


def test_deleted_contact_is_gone(api: httpx.Client) -> None:
    assert api.delete("/contacts/contact_2").json() == {"id": "contact_2", "deleted": True}

    assert api.get("/contacts/contact_2").status_code == 404


def test_unknown_route_is_not_found_json(api: httpx.Client) -> None:
    response = api.get("/recordings")

    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"


def test_path_outside_the_api_prefix_is_not_found(sandbox: QTvoiceSandbox) -> None:
    base = sandbox.url.removesuffix("/api/v1")

    response = httpx.get(f"{base}/calls", headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"})

    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"


# --- rate limit ------------------------------------------------------------------------


def test_rate_limit_headers_count_down(api: httpx.Client) -> None:
    first = api.get("/extensions").headers
    second = api.get("/extensions").headers

    assert first["X-RateLimit-Limit"] == "1000"
    assert (first["X-RateLimit-Remaining"], second["X-RateLimit-Remaining"]) == ("999", "998")
    assert 3590 <= int(first["X-RateLimit-Reset"]) <= 3600


def test_error_responses_carry_rate_limit_headers(api: httpx.Client) -> None:
    assert "X-RateLimit-Remaining" in api.get("/calls/call_nope").headers


def test_exhausted_budget_is_rate_limited(api: httpx.Client, state: QTvoiceState) -> None:
    state.set_rate_limit(limit=2, reset_in=120)
    api.get("/extensions")
    api.get("/extensions")

    response = api.get("/extensions")

    assert response.status_code == 429
    assert response.json() == {"error": "Rate limit exceeded", "code": "RATE_LIMITED"}
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert 119 <= int(response.headers["Retry-After"]) <= 120


def test_budget_refills_when_the_window_resets(api: httpx.Client, state: QTvoiceState) -> None:
    state.set_rate_limit(remaining=0, reset_in=0)

    response = api.get("/extensions")

    assert response.status_code == 200
    assert response.headers["X-RateLimit-Remaining"] == "999"


def test_each_key_has_its_own_budget(
    api: httpx.Client, read_only_api: httpx.Client, state: QTvoiceState
) -> None:
    state.set_rate_limit(remaining=0, key=DEFAULT_API_KEY)

    assert api.get("/extensions").status_code == 429
    assert read_only_api.get("/extensions").status_code == 200


# --- faults and delays -----------------------------------------------------------------


def test_fail_next_answers_the_documented_error_once(
    api: httpx.Client, state: QTvoiceState
) -> None:
    state.fail_next("POST", "/sms", 500)
    body = {"to": "+12155551234", "message": "hi"}

    failed = api.post("/sms", json=body)
    retried = api.post("/sms", json=body)

    assert failed.status_code == 500
    assert failed.json() == {"error": "Internal server error", "code": "SERVER_ERROR"}
    assert retried.status_code == 201


def test_fail_next_matches_method_and_path_prefix(api: httpx.Client, state: QTvoiceState) -> None:
    state.fail_next("GET", "/contacts", 404, count=2)

    assert api.get("/calls").status_code == 200
    assert api.get("/contacts/lookup", params={"phone": "+12155551234"}).status_code == 404
    assert api.get("/contacts").status_code == 404
    assert api.get("/contacts").status_code == 200


def test_injected_429_carries_retry_after(api: httpx.Client, state: QTvoiceState) -> None:
    state.fail_next("GET", "/calls", 429, retry_after=7)

    response = api.get("/calls")

    assert response.status_code == 429
    assert response.json()["code"] == "RATE_LIMITED"
    assert response.headers["Retry-After"] == "7"


def test_fail_next_refuses_an_undocumented_status(state: QTvoiceState) -> None:
    with pytest.raises(ValueError, match="418"):
        state.fail_next("GET", "/calls", 418)


def test_delay_slows_matching_requests_only(api: httpx.Client, state: QTvoiceState) -> None:
    state.delay("GET", "/extensions", 0.5)

    started = time.monotonic()
    api.get("/calls")
    undelayed = time.monotonic() - started
    api.get("/extensions")
    delayed = time.monotonic() - started - undelayed

    assert undelayed < 0.5 <= delayed


def test_clear_delays_releases_waiting_requests(api: httpx.Client, state: QTvoiceState) -> None:
    state.delay("GET", "/extensions", 30)
    answered: list[httpx.Response] = []
    waiting = threading.Thread(target=lambda: answered.append(api.get("/extensions")))
    started = time.monotonic()
    waiting.start()
    time.sleep(0.2)

    state.clear_delays()
    waiting.join(timeout=10)

    assert answered[0].status_code == 200
    assert time.monotonic() - started < 5


# --- recording -------------------------------------------------------------------------


def test_requests_are_recorded_without_the_api_prefix(
    api: httpx.Client, state: QTvoiceState
) -> None:
    api.post("/calls", params={"dry": "no"}, json={"to": "+12155551234"})

    [recorded] = state.requests("POST", "/calls")

    assert recorded.query == {"dry": "no"}
    assert recorded.json == {"to": "+12155551234"}
    assert recorded.headers["authorization"] == f"Bearer {DEFAULT_API_KEY}"


def test_requests_filter_by_method_and_path(api: httpx.Client, state: QTvoiceState) -> None:
    api.get("/calls")
    api.get("/sms")
    api.get("/calls/call_1")

    assert [r.path for r in state.requests("GET")] == ["/calls", "/sms", "/calls/call_1"]
    assert [r.path for r in state.requests(path="/calls")] == ["/calls"]


# --- webhooks --------------------------------------------------------------------------


def test_sent_webhook_signature_verifies(receiver: WebhookReceiver) -> None:
    envelope = sample_event("call.missed")

    response = send_webhook(receiver.url, envelope, WEBHOOK_SECRET, delivery_id="dlv_1")

    assert response.status_code == 200
    body, headers = receiver.received[-1]
    assert signature_matches(body, headers["x-qtvoice-signature"], [WEBHOOK_SECRET])
    assert headers["x-qtvoice-delivery-id"] == "dlv_1"
    assert abs(int(headers["x-qtvoice-timestamp"]) - time.time()) < 5


def test_sms_sent_through_the_api_reports_sent_then_delivered(
    receiver: WebhookReceiver,
) -> None:
    receiver.received.clear()
    with QTvoiceSandbox(webhook_url=receiver.url, webhook_secret=WEBHOOK_SECRET) as sandbox:
        headers = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
        sent = httpx.post(
            f"{sandbox.url}/sms", json={"to": "+12155551234", "message": "hi"}, headers=headers
        ).json()
        sandbox.state.wait_for_webhooks(2)

    events = [json.loads(body) for body, _ in receiver.received]
    assert [(e["event"], e["data"]["id"]) for e in events] == [
        ("sms.sent", sent["id"]),
        ("sms.delivered", sent["id"]),
    ]


def test_sms_webhooks_are_off_by_default(api: httpx.Client, state: QTvoiceState) -> None:
    api.post("/sms", json={"to": "+12155551234", "message": "hi"})

    with pytest.raises(TimeoutError):
        state.wait_for_webhooks(1, timeout=0.3)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_sample_event_is_a_full_envelope_with_an_id(event_type: str) -> None:
    envelope = sample_event(event_type)

    assert envelope["event"] == event_type
    assert envelope["timestamp"].endswith("Z")
    assert envelope["data"]["id"]


def test_sample_events_have_fresh_ids() -> None:
    assert sample_event("sms.received")["data"]["id"] != sample_event("sms.received")["data"]["id"]


def test_sample_event_takes_overrides_with_from_underscore() -> None:
    data = sample_event("sms.received", from_="+12155559876", message="STOP")["data"]

    assert (data["from"], data["message"]) == ("+12155559876", "STOP")


def test_there_are_twelve_event_types() -> None:
    assert len(EVENT_TYPES) == 12


def test_unknown_sample_event_type_is_refused() -> None:
    with pytest.raises(ValueError, match=r"call\.exploded"):
        sample_event("call.exploded")


def test_a_recording_is_served_only_with_the_key(
    sandbox: QTvoiceSandbox, state: QTvoiceState, api: httpx.Client
) -> None:
    path = state.add_recording("vm_1.mp3", b"ID3 audio")

    assert api.get("/recordings/vm_1.mp3").content == b"ID3 audio"
    assert api.get("/recordings/vm_2.mp3").status_code == 404
    assert httpx.get(sandbox.url.removesuffix("/api/v1") + path).status_code == 401
