"""The HTTP side: the Starlette app, the gate every request passes, and each endpoint's handler.

The gate applies the checks in the order a real API does: record, authenticate, charge the
rate limit, injected delay and fault, route, permission, body. Handlers then read their
parameters with `queries` and answer from `QTvoiceState`; an `ApiError` raised anywhere
becomes the doc's error body in one place.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.sandbox.qtvoice.account import API_PREFIX
from bot.sandbox.qtvoice.errors import ApiError, error_response, rate_limited
from bot.sandbox.qtvoice.queries import (
    CONTACT_FIELDS,
    Predicate,
    boolean_param,
    choice_param,
    contact_fields,
    created_between,
    date_param,
    direction_and_numbers,
    field_is,
    newest_first,
    number_is,
    only_digits,
    optional_phone,
    optional_string,
    page_of,
    phone_param,
    required_phone,
    required_string,
    same_number,
    searchable_text,
    select,
)
from bot.sandbox.qtvoice.state import QTvoiceState, RecordedRequest
from bot.sandbox.qtvoice.webhooks import report_call_end, report_carrier_updates
from bot.sandbox.samples import iso_timestamp

MAX_SMS_LENGTH = 1600
"""Ten concatenated SMS segments, the usual carrier ceiling for one message."""
RECENT_CALLS_IN_LOOKUP = 5

CALL_STATUSES = ("completed", "missed", "voicemail", "initiated")
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class ApiRequest:
    """One authenticated request as the handlers see it.

    `body` is the JSON object sent, `{}` when there was none; `params` are the path's.
    """

    method: str
    path: str
    query: dict[str, str]
    body: dict[str, Any]
    key: str
    params: dict[str, str] = field(default_factory=dict)


Handler = Callable[[ApiRequest], Response]


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


def _api_path(url_path: str) -> str | None:
    """`/api/v1/calls/` -> `/calls`, as paths are recorded and routed; None outside the API."""
    if url_path != API_PREFIX and not url_path.startswith(f"{API_PREFIX}/"):
        return None
    return url_path.removeprefix(API_PREFIX).rstrip("/") or "/"


def _presented_key(authorization: str | None) -> str | None:
    """The key from `Bearer <key>` or `ApiKey <key>` (scheme in any case), else None."""
    scheme, _, key = (authorization or "").strip().partition(" ")
    if scheme.lower() not in {"bearer", "apikey"}:
        return None
    return key.strip() or None


async def _read_body(request: Request) -> tuple[Any, str | None]:
    """(the parsed JSON body or None, why it is unusable or None)."""
    raw = await request.body()
    if request.method not in WRITE_METHODS or not raw.strip():
        return None, None
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return None, "Request body is not valid JSON"
    if not isinstance(body, dict):
        return body, "Request body must be a JSON object"
    return body, None


class QTvoiceApi:
    """One Starlette endpoint that checks, records and dispatches every request."""

    def __init__(self, state: QTvoiceState) -> None:
        self.state = state
        self._routes = [
            self._route("GET", "/calls", self.list_calls),
            self._route("POST", "/calls", self.initiate_call),
            self._route("GET", "/calls/(?P<call_id>[^/]+)", self.get_call),
            self._route("GET", "/sms", self.list_sms),
            self._route("POST", "/sms", self.send_sms),
            self._route("GET", "/contacts", self.list_contacts),
            self._route("POST", "/contacts", self.create_contact),
            self._route("GET", "/contacts/lookup", self.lookup_contact),
            self._route("GET", "/contacts/(?P<contact_id>[^/]+)", self.get_contact),
            self._route("PUT", "/contacts/(?P<contact_id>[^/]+)", self.update_contact),
            self._route("PATCH", "/contacts/(?P<contact_id>[^/]+)", self.update_contact),
            self._route("DELETE", "/contacts/(?P<contact_id>[^/]+)", self.delete_contact),
            self._route("GET", "/voicemails", self.list_voicemails),
            self._route("GET", "/extensions", self.list_extensions),
            self._route("GET", "/recordings/(?P<name>[^/]+)", self.get_recording),
        ]
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        self.app = Starlette(routes=[Route("/{path:path}", self.handle, methods=methods)])

    @staticmethod
    def _route(method: str, pattern: str, handler: Handler) -> _Route:
        return _Route(method, re.compile(pattern), handler)

    # -- the gate -------------------------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        method, path = request.method, _api_path(request.url.path)
        query = dict(request.query_params)
        body, body_error = await _read_body(request)
        headers = {name.lower(): value for name, value in request.headers.items()}
        recorded_path = request.url.path if path is None else path
        self.state.record(RecordedRequest(method, recorded_path, query, body, headers))
        if path is None:
            # Served anyway, a base URL missing /api/v1 would hide the bot's misconfiguration.
            return error_response(404, f"No route for {method} {request.url.path}")

        key = _presented_key(request.headers.get("authorization"))
        if key is None or key not in {self.state.api_key, self.state.read_only_key}:
            return error_response(401)
        budget = self.state.spend(key)
        if budget.allowed:
            fields = body if isinstance(body, dict) else {}
            response = await self._serve(ApiRequest(method, path, query, fields, key), body_error)
        else:
            response = rate_limited(budget.reset_in)
        response.headers.update(budget.headers())
        return response

    async def _serve(self, request: ApiRequest, body_error: str | None) -> Response:
        await self.state.wait_out_delay(request.method, request.path)
        fault = self.state.take_fault(request.method, request.path)
        if fault is not None:
            if fault.status == 429:
                return rate_limited(fault.retry_after)
            return error_response(fault.status)
        matched = self._match(request.method, request.path)
        if matched is None:
            return error_response(404, f"No route for {request.method} {API_PREFIX}{request.path}")
        handler, params = matched
        if request.method in WRITE_METHODS and request.key != self.state.api_key:
            return error_response(403)
        if body_error is not None:
            return error_response(400, body_error)
        try:
            return handler(replace(request, params=params))
        except ApiError as error:
            return error_response(error.status, error.message)

    def _match(self, method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
        for route in self._routes:
            found = route.pattern.fullmatch(path)
            if found and route.method == method:
                return route.handler, found.groupdict()
        return None

    # -- calls ----------------------------------------------------------------------------

    def list_calls(self, request: ApiRequest) -> Response:
        query = request.query
        predicates = direction_and_numbers(query)
        status = choice_param(query, "status", CALL_STATUSES)
        if status:
            predicates.append(field_is("status", status))
        start, end = date_param(query, "start_date"), date_param(query, "end_date")
        if start or end:
            predicates.append(created_between(start, end))
        calls = select(newest_first(self.state.calls()), predicates)
        return JSONResponse(page_of(calls, query))

    def initiate_call(self, request: ApiRequest) -> Response:
        """Click-to-call: QTvoice rings the extension, then dials `to`."""
        to = required_phone(request.body, "to")
        caller_id = optional_phone(request.body, "from")
        extension_id = optional_string(request.body, "extension_id")
        extension = self._find(self.state.data.extensions, extension_id) if extension_id else None
        if extension_id and extension is None:
            raise ApiError(404, "Extension not found")
        from_ = caller_id or (extension or {}).get("phone") or self.state.main_line
        call = self.state.add_call(
            from_, to, direction="outbound", status="initiated", extension_id=extension_id
        )
        initiated = {
            "id": call["id"],
            "status": "initiated",
            "from": from_,
            "to": to,
            "message": "Call initiation requested",
        }
        call_ends = None
        if self.state.webhook_url and self.state.webhook_secret:
            call_ends = BackgroundTask(report_call_end, self.state, call["id"])
        return JSONResponse(initiated, status_code=201, background=call_ends)

    def get_call(self, request: ApiRequest) -> Response:
        return JSONResponse(self._get(self.state.data.calls, request.params["call_id"], "Call"))

    # -- sms ------------------------------------------------------------------------------

    def list_sms(self, request: ApiRequest) -> Response:
        predicates = direction_and_numbers(request.query)
        messages = select(newest_first(self.state.sms()), predicates)
        return JSONResponse(page_of(messages, request.query))

    def send_sms(self, request: ApiRequest) -> Response:
        to = required_phone(request.body, "to")
        message = required_string(request.body, "message")
        from_ = optional_phone(request.body, "from") or self.state.main_line
        if len(message) > MAX_SMS_LENGTH:
            raise ApiError(400, f"message must be at most {MAX_SMS_LENGTH} characters")
        sms = self.state.add_sms(from_, to, message, direction="outbound", status="queued")
        carrier_updates = None
        if self.state.webhook_url and self.state.webhook_secret:
            carrier_updates = BackgroundTask(report_carrier_updates, self.state, sms["id"])
        return JSONResponse(sms, status_code=201, background=carrier_updates)

    # -- contacts -------------------------------------------------------------------------

    def list_contacts(self, request: ApiRequest) -> Response:
        predicates: list[Predicate] = []
        search = request.query.get("search", "").strip().lower()
        if search:
            predicates.append(lambda contact: search in searchable_text(contact))
        # A search, unlike a lookup, matches part of a number: "555-1234" finds +12155551234.
        phone = request.query.get("phone")
        if phone is not None:
            digits = only_digits(phone)
            if not digits:
                raise ApiError(400, "phone must be a phone number")
            predicates.append(lambda contact: digits in only_digits(contact.get("phone") or ""))
        contacts = select(self.state.contacts(), predicates)
        return JSONResponse(page_of(contacts, request.query))

    def lookup_contact(self, request: ApiRequest) -> Response:
        """Screen pop: the contact with this number and their latest calls."""
        digits = phone_param(request.query, "phone")
        if digits is None:
            raise ApiError(400, "phone is required")
        contact = next(
            (c for c in self.state.contacts() if same_number(c.get("phone"), digits)), None
        )
        recent_calls: list[dict[str, Any]] = []
        if contact is not None:
            either_end = [number_is("from", digits), number_is("to", digits)]
            recent_calls = [
                call
                for call in newest_first(self.state.calls())
                if any(is_party(call) for is_party in either_end)
            ][:RECENT_CALLS_IN_LOOKUP]
        lookup = {"found": contact is not None, "contact": contact, "recent_calls": recent_calls}
        return JSONResponse(lookup)

    def create_contact(self, request: ApiRequest) -> Response:
        fields = contact_fields(request.body)
        if not any(fields.get(name) for name in ("first_name", "last_name", "phone")):
            raise ApiError(400, "first_name, last_name or phone is required")
        contact = self.state.add_contact(**fields)
        return JSONResponse(contact, status_code=201)

    def get_contact(self, request: ApiRequest) -> Response:
        contact_id = request.params["contact_id"]
        return JSONResponse(self._get(self.state.data.contacts, contact_id, "Contact"))

    def update_contact(self, request: ApiRequest) -> Response:
        """PUT and PATCH alike change only the fields sent; `null` clears one."""
        changes = contact_fields(request.body)
        if not changes:
            raise ApiError(400, f"send at least one of: {', '.join(CONTACT_FIELDS)}")
        with self.state.lock:
            contact = self.state.data.contacts.get(request.params["contact_id"])
            if contact is None:
                raise ApiError(404, "Contact not found")
            contact.update(changes, updatedAt=iso_timestamp())
            return JSONResponse(dict(contact))

    def delete_contact(self, request: ApiRequest) -> Response:
        contact_id = request.params["contact_id"]
        with self.state.lock:
            if self.state.data.contacts.pop(contact_id, None) is None:
                raise ApiError(404, "Contact not found")
        return JSONResponse({"id": contact_id, "deleted": True})

    # -- voicemails and extensions --------------------------------------------------------

    def list_voicemails(self, request: ApiRequest) -> Response:
        predicates: list[Predicate] = []
        is_read = boolean_param(request.query, "is_read")
        if is_read is not None:
            predicates.append(field_is("isRead", is_read))
        caller = phone_param(request.query, "from")
        if caller:
            predicates.append(number_is("from", caller))
        voicemails = select(newest_first(self.state.voicemails()), predicates)
        return JSONResponse(page_of(voicemails, request.query))

    def list_extensions(self, request: ApiRequest) -> Response:
        return JSONResponse(page_of(self.state.extensions(), request.query))

    def get_recording(self, request: ApiRequest) -> Response:
        """A recording's audio, for whoever holds the API key (a recording link needs a login)."""
        audio = self.state.recording(request.params["name"])
        if audio is None:
            raise ApiError(404, "Recording not found")
        return Response(audio, media_type="audio/mpeg")

    # -- shared ---------------------------------------------------------------------------

    def _find(self, collection: dict[str, dict[str, Any]], item_id: str) -> dict[str, Any] | None:
        with self.state.lock:
            item = collection.get(item_id)
            return dict(item) if item is not None else None

    def _get(
        self, collection: dict[str, dict[str, Any]], item_id: str, kind: str
    ) -> dict[str, Any]:
        item = self._find(collection, item_id)
        if item is None:
            raise ApiError(404, f"{kind} not found")
        return item
