"""A local QTvoice: the documented REST API over real HTTP, plus signed webhooks.

The demo and every bot test point the bot's real QTvoice client at this server instead of
https://test.qtvoice.com, so what is exercised is the bot's HTTP code itself. It speaks the
API exactly as the QTvoice doc describes it (paths under `/api/v1`, `Bearer` or `ApiKey`
auth, `{"data", "pagination"}` lists, `{"error", "code"}` errors, hourly rate-limit headers)
and fills the doc's gaps the way the shared domain spec decides.

Tests steer it through `QTvoiceState`: seed or add data, shrink the rate limit, make the next
request fail or every matching request slow, and read back every request the bot made.

    with QTvoiceSandbox() as qtvoice:
        qtvoice.state.fail_next("POST", "/sms", 500)
        ...  # point the bot at qtvoice.url with key qtvoice.api_key
        assert qtvoice.state.requests("POST", "/sms")
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.qtvoice.signing import sign
from bot.sandbox.samples import MAIN_LINE, fresh_id, iso_timestamp
from bot.sandbox.server import BackgroundServer

API_PREFIX = "/api/v1"
DEFAULT_API_KEY = "qtv_test_key"
DEFAULT_READ_ONLY_KEY = "qtv_read_only_key"

DEFAULT_RATE_LIMIT = 1000
"""Requests per key per window: the doc's "1,000 requests per hour"."""
RATE_WINDOW_SECONDS = 3600

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
MAX_SMS_LENGTH = 1600
"""Ten concatenated SMS segments, the usual carrier ceiling for one message."""
RECENT_CALLS_IN_LOOKUP = 5
WEBHOOK_TIMEOUT_SECONDS = 10.0

DIRECTIONS = ("inbound", "outbound")
CALL_STATUSES = ("completed", "missed", "voicemail", "initiated")
CONTACT_FIELDS = ("first_name", "last_name", "company", "email", "phone", "notes")
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

ERRORS: dict[int, tuple[str, str]] = {
    400: ("BAD_REQUEST", "Invalid request parameters"),
    401: ("UNAUTHORIZED", "Invalid API key"),
    403: ("FORBIDDEN", "Missing required permission"),
    404: ("NOT_FOUND", "Resource not found"),
    429: ("RATE_LIMITED", "Rate limit exceeded"),
    500: ("SERVER_ERROR", "Internal server error"),
}
"""The doc's error table: status -> (code, default message)."""

E164 = re.compile(r"\+[1-9]\d{6,14}")

# The seeded office's people: its staff's direct lines, its contacts, one unknown caller.
ALICE_LINE, BOB_LINE = "+12155550101", "+12155550102"
JOHN_DOE, JANE_ROE, JOHN_SMITH = "+12155551234", "+12155559876", "+442071234567"
STRANGER = "+12155557777"


# --- records that tests read back ------------------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the sandbox received it.

    `path` is without the `/api/v1` prefix (a path outside the API is kept whole).
    """

    method: str
    path: str
    query: dict[str, str]
    json: Any
    headers: dict[str, str]


@dataclass(frozen=True)
class WebhookDelivery:
    """One webhook the sandbox sent on its own: the receiver's status, or why it failed."""

    event: str
    url: str
    status_code: int | None
    error: str | None


@dataclass(frozen=True)
class RateStatus:
    """Where a key's budget stands after one request; becomes the X-RateLimit-* headers."""

    allowed: bool
    limit: int
    remaining: int
    reset_in: int

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_in),
        }


@dataclass
class _RateWindow:
    limit: int
    remaining: int
    resets_at: float


@dataclass
class _Fault:
    method: str
    path_prefix: str
    status: int
    count: int
    retry_after: int


@dataclass(frozen=True)
class _Delay:
    method: str
    path_prefix: str
    seconds: float


@dataclass
class SandboxData:
    """Every QTvoice object the sandbox holds, by id, in insertion order.

    Plain JSON-ready dicts in the API's own shapes, so a response is just a copy.
    Touch them only while holding `QTvoiceState.lock`.
    """

    extensions: dict[str, dict[str, Any]] = field(default_factory=dict)
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    voicemails: dict[str, dict[str, Any]] = field(default_factory=dict)
    sms: dict[str, dict[str, Any]] = field(default_factory=dict)

    def clear(self) -> None:
        # In place: handlers hold references to these dicts across a test's reset().
        for collection in (self.extensions, self.contacts, self.calls, self.voicemails, self.sms):
            collection.clear()


# --- phone numbers ---------------------------------------------------------------------


def phone_digits(number: str) -> str:
    """The digits of a number, a 10-digit one read as North American (`1` prepended).

    So `+1 (215) 555-1234`, `2155551234` and `+12155551234` all compare equal, which is
    what a screen pop needs whichever way the number was typed.
    """
    digits = only_digits(number)
    return f"1{digits}" if len(digits) == 10 else digits


def only_digits(number: str) -> str:
    return "".join(character for character in number if character.isdigit())


def _same_number(stored: str | None, digits: str) -> bool:
    return stored is not None and phone_digits(stored) == digits


# --- the state -------------------------------------------------------------------------


class QTvoiceState:
    """The sandbox's data and test controls, shared by the server thread and the test.

    Every method takes `lock`, so a test may call them while the server is answering.
    """

    def __init__(
        self,
        api_key: str = DEFAULT_API_KEY,
        read_only_key: str | None = DEFAULT_READ_ONLY_KEY,
        *,
        main_line: str = MAIN_LINE,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        seed: bool = True,
    ) -> None:
        self.lock = threading.Lock()
        self.api_key = api_key
        self.read_only_key = read_only_key
        self.main_line = main_line
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.data = SandboxData()
        self._webhooks_changed = threading.Condition(self.lock)
        self._requests: list[RecordedRequest] = []
        self._faults: list[_Fault] = []
        self._delays: list[_Delay] = []
        self._delays_released = threading.Event()
        self._rate_windows: dict[str, _RateWindow] = {}
        self._webhook_deliveries: list[WebhookDelivery] = []
        self.reset(seed=seed)

    def reset(self, *, seed: bool = True) -> None:
        """Back to a fresh sandbox: seed data (or none), no faults, full rate budgets."""
        with self.lock:
            self.data.clear()
            self._requests.clear()
            self._faults.clear()
            self._release_delays()
            self._rate_windows.clear()
            self._webhook_deliveries.clear()
        if seed:
            self._seed()

    # -- data -----------------------------------------------------------------------------

    def add_extension(
        self,
        number: str,
        name: str,
        *,
        phone: str | None = None,
        email: str | None = None,
        extension_id: str | None = None,
    ) -> dict[str, Any]:
        extension = {
            "id": extension_id or f"ext_{number}",
            "number": number,
            "name": name,
            "phone": phone,
            "email": email,
        }
        return self._store(self.data.extensions, extension)

    def add_contact(
        self,
        first_name: str | None = None,
        last_name: str | None = None,
        *,
        company: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        notes: str | None = None,
        contact_id: str | None = None,
    ) -> dict[str, Any]:
        now = iso_timestamp()
        contact = {
            "id": contact_id or fresh_id("contact"),
            "first_name": first_name,
            "last_name": last_name,
            "company": company,
            "email": email,
            "phone": phone,
            "notes": notes,
            "createdAt": now,
            "updatedAt": now,
        }
        return self._store(self.data.contacts, contact)

    def add_call(
        self,
        from_: str,
        to: str,
        *,
        direction: str = "inbound",
        status: str = "completed",
        duration: int = 0,
        created_at: datetime | None = None,
        extension_id: str | None = None,
        voicemail_id: str | None = None,
        call_id: str | None = None,
    ) -> dict[str, Any]:
        """A call in the history; answer/end times and recording follow from `status`."""
        call_id = call_id or fresh_id("call")
        created = (created_at or datetime.now(UTC)).replace(microsecond=0)
        answered_at, ended_at = _call_times(status, created, duration)
        recording = (
            f"{voicemail_id or call_id}.mp3" if status in {"completed", "voicemail"} else None
        )
        call = {
            "id": call_id,
            "callSid": f"CA{uuid.uuid4().hex}",
            "from": from_,
            "to": to,
            "direction": direction,
            "status": status,
            "duration": duration,
            "recordingUrl": f"https://recordings.qtvoice.com/{recording}" if recording else None,
            "createdAt": iso_timestamp(created),
            "answeredAt": iso_timestamp(answered_at) if answered_at else None,
            "endedAt": iso_timestamp(ended_at) if ended_at else None,
            "extensionId": extension_id,
            "voicemailId": voicemail_id,
        }
        return self._store(self.data.calls, call)

    def add_voicemail(
        self,
        from_: str,
        to: str,
        *,
        duration: int = 30,
        transcription: str | None = None,
        is_read: bool = False,
        created_at: datetime | None = None,
        extension_id: str | None = None,
        voicemail_id: str | None = None,
        call_id: str | None = None,
    ) -> dict[str, Any]:
        """A voicemail and the inbound call (status `voicemail`) that left it."""
        voicemail_id = voicemail_id or fresh_id("vm")
        created = (created_at or datetime.now(UTC)).replace(microsecond=0)
        call = self.add_call(
            from_,
            to,
            status="voicemail",
            duration=duration,
            created_at=created,
            extension_id=extension_id,
            voicemail_id=voicemail_id,
            call_id=call_id,
        )
        voicemail = {
            "id": voicemail_id,
            "callId": call["id"],
            "from": from_,
            "to": to,
            "duration": duration,
            "recordingUrl": call["recordingUrl"],
            "transcription": transcription,
            "isRead": is_read,
            "extensionId": extension_id,
            "createdAt": iso_timestamp(created),
        }
        return self._store(self.data.voicemails, voicemail)

    def add_sms(
        self,
        from_: str,
        to: str,
        message: str,
        *,
        direction: str = "inbound",
        status: str | None = None,
        created_at: datetime | None = None,
        sms_id: str | None = None,
    ) -> dict[str, Any]:
        """A text; `status` defaults to `received` inbound and `delivered` outbound."""
        sms = {
            "id": sms_id or fresh_id("sms"),
            "from": from_,
            "to": to,
            "message": message,
            "direction": direction,
            "status": status or ("received" if direction == "inbound" else "delivered"),
            "createdAt": iso_timestamp(created_at),
        }
        return self._store(self.data.sms, sms)

    def set_sms_status(self, sms_id: str, status: str) -> dict[str, Any] | None:
        """The text with its new status, or None when it no longer exists."""
        with self.lock:
            sms = self.data.sms.get(sms_id)
            if sms is None:
                return None
            sms["status"] = status
            return dict(sms)

    def extensions(self) -> list[dict[str, Any]]:
        return self._snapshot(self.data.extensions)

    def contacts(self) -> list[dict[str, Any]]:
        return self._snapshot(self.data.contacts)

    def calls(self) -> list[dict[str, Any]]:
        return self._snapshot(self.data.calls)

    def voicemails(self) -> list[dict[str, Any]]:
        return self._snapshot(self.data.voicemails)

    def sms(self) -> list[dict[str, Any]]:
        return self._snapshot(self.data.sms)

    def _store(self, collection: dict[str, dict[str, Any]], item: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            collection[item["id"]] = item
            return dict(item)

    def _snapshot(self, collection: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(item) for item in collection.values()]

    # -- rate limit -----------------------------------------------------------------------

    def set_rate_limit(
        self,
        limit: int | None = None,
        remaining: int | None = None,
        reset_in: float | None = None,
        *,
        key: str | None = None,
    ) -> None:
        """Reshape one key's budget (the main key by default).

        A new `limit` alone also refills `remaining`; `reset_in` is seconds from now.
        """
        with self.lock:
            window = self._window(key or self.api_key, time.monotonic())
            if limit is not None:
                window.limit = limit
                window.remaining = limit
            if remaining is not None:
                window.remaining = remaining
            if reset_in is not None:
                window.resets_at = time.monotonic() + reset_in

    def spend(self, key: str) -> RateStatus:
        """Charge one request to `key`; `allowed` is False once its budget is used up."""
        with self.lock:
            now = time.monotonic()
            window = self._window(key, now)
            allowed = window.remaining > 0
            if allowed:
                window.remaining -= 1
            return RateStatus(
                allowed=allowed,
                limit=window.limit,
                remaining=window.remaining,
                # Rounded first so float noise cannot turn a whole 3600 s into 3601.
                reset_in=max(0, math.ceil(round(window.resets_at - now, 3))),
            )

    def _window(self, key: str, now: float) -> _RateWindow:
        window = self._rate_windows.get(key)
        if window is None:
            window = _RateWindow(DEFAULT_RATE_LIMIT, DEFAULT_RATE_LIMIT, now + RATE_WINDOW_SECONDS)
            self._rate_windows[key] = window
        elif now >= window.resets_at:
            window.remaining = window.limit
            window.resets_at = now + RATE_WINDOW_SECONDS
        return window

    # -- faults and delays ----------------------------------------------------------------

    def fail_next(
        self, method: str, path_prefix: str, status: int, count: int = 1, *, retry_after: int = 1
    ) -> None:
        """The next `count` matching requests get the doc's error body for `status`.

        `path_prefix` is matched against the path without `/api/v1`; `method` may be `*`.
        A 429 carries `Retry-After: retry_after`.
        """
        if status not in ERRORS and status < 500:
            raise ValueError(f"no documented QTvoice error for status {status}")
        prefix = path_prefix.removeprefix(API_PREFIX)
        fault = _Fault(method.upper(), prefix, status, count, retry_after)
        with self.lock:
            self._faults.append(fault)

    def take_fault(self, method: str, path: str) -> _Fault | None:
        """The first fault armed for this request, used up by one."""
        with self.lock:
            for fault in self._faults:
                if _applies(fault.method, fault.path_prefix, method, path):
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def clear_faults(self) -> None:
        with self.lock:
            self._faults.clear()

    def delay(self, method: str, path_prefix: str, seconds: float) -> None:
        """Every matching request waits `seconds` before it is answered, until cleared."""
        with self.lock:
            prefix = path_prefix.removeprefix(API_PREFIX)
            self._delays.append(_Delay(method.upper(), prefix, seconds))

    def clear_delays(self) -> None:
        """Drop every delay and release the requests that are waiting one out right now."""
        with self.lock:
            self._release_delays()

    def _release_delays(self) -> None:
        self._delays.clear()
        self._delays_released.set()
        self._delays_released = threading.Event()

    async def wait_out_delay(self, method: str, path: str) -> None:
        """Sleep for the longest delay that applies, or until `clear_delays()` releases it.

        Releasable so that stopping the sandbox never waits for a slow-response test's delay.
        """
        with self.lock:
            seconds = max(
                (
                    d.seconds
                    for d in self._delays
                    if _applies(d.method, d.path_prefix, method, path)
                ),
                default=0.0,
            )
            released = self._delays_released
        if seconds > 0:
            await asyncio.to_thread(released.wait, seconds)

    # -- recording ------------------------------------------------------------------------

    def record(self, request: RecordedRequest) -> None:
        with self.lock:
            self._requests.append(request)

    def requests(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        """Requests received so far, oldest first; `path` (no `/api/v1`) must match exactly."""
        with self.lock:
            return [
                request
                for request in self._requests
                if (method is None or request.method == method.upper())
                and (path is None or request.path == path)
            ]

    def clear_requests(self) -> None:
        with self.lock:
            self._requests.clear()

    # -- webhooks the sandbox sends itself ------------------------------------------------

    def record_webhook_delivery(self, delivery: WebhookDelivery) -> None:
        with self._webhooks_changed:
            self._webhook_deliveries.append(delivery)
            self._webhooks_changed.notify_all()

    def webhook_deliveries(self) -> list[WebhookDelivery]:
        with self.lock:
            return list(self._webhook_deliveries)

    def wait_for_webhooks(self, count: int, timeout: float = 5.0) -> list[WebhookDelivery]:
        """Block until at least `count` webhooks were sent; TimeoutError if they never are."""
        with self._webhooks_changed:
            arrived = self._webhooks_changed.wait_for(
                lambda: len(self._webhook_deliveries) >= count, timeout
            )
            if not arrived:
                raise TimeoutError(
                    f"{len(self._webhook_deliveries)} of {count} webhooks sent in {timeout}s"
                )
            return list(self._webhook_deliveries)

    # -- seed -----------------------------------------------------------------------------

    def _seed(self) -> None:
        """A small office a few days into using QTvoice, timed relative to now."""
        now = datetime.now(UTC).replace(microsecond=0)
        self._seed_directory()
        self._seed_calls(now)
        self._seed_texts(now)

    def _seed_directory(self) -> None:
        self.add_extension("100", "Front Desk", phone=self.main_line, email="frontdesk@example.com")
        self.add_extension("101", "Alice Jones", phone=ALICE_LINE, email="alice@example.com")
        self.add_extension("102", "Bob Smith", phone=BOB_LINE, email="bob@example.com")

        self.add_contact(
            "John",
            "Doe",
            company="Acme Inc",
            email="john@acme.com",
            phone=JOHN_DOE,
            notes="VIP customer",
            contact_id="contact_1",
        )
        self.add_contact("Jane", "Roe", company="Globex", phone=JANE_ROE, contact_id="contact_2")
        self.add_contact(
            "John", "Smith", company="Initech", phone=JOHN_SMITH, contact_id="contact_3"
        )

    def _seed_calls(self, now: datetime) -> None:
        """Nine calls over four days: each status and direction, three of them voicemails."""
        self.add_voicemail(
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
        self.add_call(
            JOHN_DOE,
            self.main_line,
            duration=145,
            extension_id="ext_101",
            created_at=now - timedelta(days=3),
            call_id="call_2",
        )
        self.add_call(
            ALICE_LINE,
            JANE_ROE,
            direction="outbound",
            duration=320,
            extension_id="ext_101",
            created_at=now - timedelta(days=2),
            call_id="call_3",
        )
        self.add_call(
            JANE_ROE,
            self.main_line,
            status="missed",
            extension_id="ext_100",
            created_at=now - timedelta(days=1),
            call_id="call_4",
        )
        self.add_voicemail(
            JOHN_DOE,
            BOB_LINE,
            duration=42,
            extension_id="ext_102",
            transcription="Hi Bob, it's John from Acme. Could you call me back about the "
            "quote? Thanks.",
            created_at=now - timedelta(hours=20),
            voicemail_id="vm_2",
            call_id="call_5",
        )
        self.add_call(
            BOB_LINE,
            STRANGER,
            direction="outbound",
            status="missed",
            extension_id="ext_102",
            created_at=now - timedelta(hours=6),
            call_id="call_6",
        )
        self.add_call(
            STRANGER,
            self.main_line,
            status="missed",
            extension_id="ext_100",
            created_at=now - timedelta(hours=5),
            call_id="call_7",
        )
        self.add_voicemail(
            JOHN_SMITH,
            self.main_line,
            duration=18,
            extension_id="ext_100",
            created_at=now - timedelta(hours=2),
            voicemail_id="vm_3",
            call_id="call_8",
        )
        self.add_call(
            JOHN_DOE,
            ALICE_LINE,
            duration=95,
            extension_id="ext_101",
            created_at=now - timedelta(minutes=30),
            call_id="call_9",
        )

    def _seed_texts(self, now: datetime) -> None:
        self.add_sms(
            JOHN_DOE,
            self.main_line,
            "Hi, can you send over the quote?",
            created_at=now - timedelta(days=1),
            sms_id="sms_1",
        )
        self.add_sms(
            self.main_line,
            JOHN_DOE,
            "Sure, it's on its way this afternoon.",
            direction="outbound",
            created_at=now - timedelta(hours=23),
            sms_id="sms_2",
        )
        self.add_sms(
            STRANGER,
            self.main_line,
            "Is the office open on Saturday?",
            created_at=now - timedelta(hours=3),
            sms_id="sms_3",
        )


def _call_times(
    status: str, created: datetime, duration: int
) -> tuple[datetime | None, datetime | None]:
    """(answeredAt, endedAt) as QTvoice reports them for a call in this status."""
    if status == "completed":
        answered = created + timedelta(seconds=5)
        return answered, answered + timedelta(seconds=duration)
    if status == "missed":
        return None, created + timedelta(seconds=25)
    if status == "voicemail":
        return None, created + timedelta(seconds=20 + duration)
    return None, None


def _api_path(url_path: str) -> str | None:
    """`/api/v1/calls/` -> `/calls`, as paths are recorded and routed; None outside the API."""
    if url_path != API_PREFIX and not url_path.startswith(f"{API_PREFIX}/"):
        return None
    return url_path.removeprefix(API_PREFIX).rstrip("/") or "/"


def _applies(rule_method: str, rule_prefix: str, method: str, path: str) -> bool:
    return rule_method in {"*", method} and path.startswith(rule_prefix)


# --- request parsing -------------------------------------------------------------------


class ApiError(Exception):
    """An answer in the doc's error shape; the code follows from the status."""

    def __init__(self, status: int, message: str | None = None) -> None:
        self.status = status
        self.message = message or _error_code_and_message(status)[1]
        super().__init__(self.message)


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


def _page_and_limit(query: dict[str, str]) -> tuple[int, int]:
    page = _positive_int(query, "page", 1)
    return page, min(_positive_int(query, "limit", DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE)


def _positive_int(query: dict[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ApiError(400, f"{name} must be a positive integer")
    return int(raw)


def _choice(query: dict[str, str], name: str, allowed: Iterable[str]) -> str | None:
    value = query.get(name)
    if value is not None and value not in allowed:
        raise ApiError(400, f"{name} must be one of: {', '.join(allowed)}")
    return value


def _date(query: dict[str, str], name: str) -> datetime | None:
    raw = query.get(name)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be an ISO 8601 date or date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _boolean(query: dict[str, str], name: str) -> bool | None:
    raw = query.get(name)
    if raw is None:
        return None
    if raw.lower() in {"true", "1"}:
        return True
    if raw.lower() in {"false", "0"}:
        return False
    raise ApiError(400, f"{name} must be true or false")


def _phone_query(query: dict[str, str], name: str) -> str | None:
    """The digits of a phone-number filter (see `phone_digits`)."""
    raw = query.get(name)
    if raw is None:
        return None
    digits = phone_digits(raw)
    if not digits:
        raise ApiError(400, f"{name} must be a phone number")
    return digits


def _optional_string(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"{name} must be a string")
    return value


def _required_string(body: dict[str, Any], name: str) -> str:
    value = _optional_string(body, name)
    if value is None:
        raise ApiError(400, f"{name} is required")
    return value


def _optional_phone(body: dict[str, Any], name: str) -> str | None:
    value = _optional_string(body, name)
    return None if value is None else _e164(value, name)


def _required_phone(body: dict[str, Any], name: str) -> str:
    return _e164(_required_string(body, name), name)


def _e164(value: str, name: str) -> str:
    """QTvoice dials and texts E.164 only; anything else is the caller's bug, so a 400."""
    if not E164.fullmatch(value):
        raise ApiError(400, f"{name} must be an E.164 phone number such as +12155551234")
    return value


# --- filtering and paging --------------------------------------------------------------

Predicate = Callable[[dict[str, Any]], bool]


def _field_is(key: str, value: object) -> Predicate:
    return lambda item: item.get(key) == value


def _number_is(key: str, digits: str) -> Predicate:
    return lambda item: _same_number(item.get(key), digits)


def _created_between(start: datetime | None, end: datetime | None) -> Predicate:
    def within(item: dict[str, Any]) -> bool:
        created = datetime.fromisoformat(item["createdAt"])
        return (start is None or created >= start) and (end is None or created <= end)

    return within


def _select(items: list[dict[str, Any]], predicates: list[Predicate]) -> list[dict[str, Any]]:
    return [item for item in items if all(predicate(item) for predicate in predicates)]


def _newest_first(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Every createdAt is written by iso_timestamp, so the strings sort as the instants do.
    return sorted(items, key=lambda item: item["createdAt"], reverse=True)


def _page_of(items: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
    page, limit = _page_and_limit(query)
    start = (page - 1) * limit
    return {
        "data": items[start : start + limit],
        "pagination": {
            "page": page,
            "limit": limit,
            "total": len(items),
            "totalPages": math.ceil(len(items) / limit),
        },
    }


# --- responses -------------------------------------------------------------------------


def _error_code_and_message(status: int) -> tuple[str, str]:
    return ERRORS.get(status, ERRORS[500])


def error_response(status: int, message: str | None = None) -> JSONResponse:
    """The doc's error body, `{"error": ..., "code": ...}`, for `status`."""
    code, default_message = _error_code_and_message(status)
    return JSONResponse({"error": message or default_message, "code": code}, status_code=status)


def _rate_limited(retry_after: int) -> JSONResponse:
    response = error_response(429)
    response.headers["Retry-After"] = str(retry_after)
    return response


def _presented_key(authorization: str | None) -> str | None:
    """The key from `Bearer <key>` or `ApiKey <key>` (scheme in any case), else None."""
    scheme, _, key = (authorization or "").strip().partition(" ")
    if scheme.lower() not in {"bearer", "apikey"}:
        return None
    return key.strip() or None


# --- the API ---------------------------------------------------------------------------

Handler = Callable[[ApiRequest], Response]


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


class QTvoiceApi:
    """The HTTP side: one Starlette endpoint that checks, records and dispatches every request.

    Every request goes through the same gate in the order a real API applies it: record,
    authenticate, charge the rate limit, injected delay and fault, route, permission, body.
    """

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
        ]
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        self.app = Starlette(routes=[Route("/{path:path}", self.handle, methods=methods)])

    @staticmethod
    def _route(method: str, pattern: str, handler: Handler) -> _Route:
        return _Route(method, re.compile(pattern), handler)

    async def handle(self, request: Request) -> Response:
        method, path = request.method, _api_path(request.url.path)
        query = dict(request.query_params)
        body, body_error = await self._read_body(request)
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
            response = _rate_limited(budget.reset_in)
        response.headers.update(budget.headers())
        return response

    async def _serve(self, request: ApiRequest, body_error: str | None) -> Response:
        await self.state.wait_out_delay(request.method, request.path)
        fault = self.state.take_fault(request.method, request.path)
        if fault is not None:
            if fault.status == 429:
                return _rate_limited(fault.retry_after)
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

    @staticmethod
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

    def _match(self, method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
        for route in self._routes:
            found = route.pattern.fullmatch(path)
            if found and route.method == method:
                return route.handler, found.groupdict()
        return None

    # -- calls ----------------------------------------------------------------------------

    def list_calls(self, request: ApiRequest) -> Response:
        query = request.query
        predicates = self._direction_and_numbers(query)
        status = _choice(query, "status", CALL_STATUSES)
        if status:
            predicates.append(_field_is("status", status))
        start, end = _date(query, "start_date"), _date(query, "end_date")
        if start or end:
            predicates.append(_created_between(start, end))
        calls = _select(_newest_first(self.state.calls()), predicates)
        return JSONResponse(_page_of(calls, query))

    def initiate_call(self, request: ApiRequest) -> Response:
        """Click-to-call: QTvoice rings the extension, then dials `to`."""
        to = _required_phone(request.body, "to")
        caller_id = _optional_phone(request.body, "from")
        extension_id = _optional_string(request.body, "extension_id")
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
        return JSONResponse(initiated, status_code=201)

    def get_call(self, request: ApiRequest) -> Response:
        return JSONResponse(self._get(self.state.data.calls, request.params["call_id"], "Call"))

    # -- sms ------------------------------------------------------------------------------

    def list_sms(self, request: ApiRequest) -> Response:
        predicates = self._direction_and_numbers(request.query)
        messages = _select(_newest_first(self.state.sms()), predicates)
        return JSONResponse(_page_of(messages, request.query))

    def send_sms(self, request: ApiRequest) -> Response:
        to = _required_phone(request.body, "to")
        message = _required_string(request.body, "message")
        from_ = _optional_phone(request.body, "from") or self.state.main_line
        if len(message) > MAX_SMS_LENGTH:
            raise ApiError(400, f"message must be at most {MAX_SMS_LENGTH} characters")
        sms = self.state.add_sms(from_, to, message, direction="outbound", status="queued")
        carrier_updates = None
        if self.state.webhook_url and self.state.webhook_secret:
            carrier_updates = BackgroundTask(self._report_carrier_updates, sms["id"])
        return JSONResponse(sms, status_code=201, background=carrier_updates)

    def _report_carrier_updates(self, sms_id: str) -> None:
        """Play the carrier's part after the response: `sms.sent`, then `sms.delivered`.

        Starlette runs this in a worker thread once the response is out, as QTvoice only
        learns of these states after it has answered the API call.
        """
        url, secret = self.state.webhook_url, self.state.webhook_secret
        if not url or not secret:
            return
        for status in ("sent", "delivered"):
            sms = self.state.set_sms_status(sms_id, status)
            if sms is None:
                return
            event = f"sms.{status}"
            envelope = {"event": event, "timestamp": iso_timestamp(), "data": sms}
            try:
                response = send_webhook(url, envelope, secret)
            except httpx.HTTPError as error:
                delivery = WebhookDelivery(event, url, None, f"{type(error).__name__}: {error}")
            else:
                delivery = WebhookDelivery(event, url, response.status_code, None)
            self.state.record_webhook_delivery(delivery)

    # -- contacts -------------------------------------------------------------------------

    def list_contacts(self, request: ApiRequest) -> Response:
        predicates: list[Predicate] = []
        search = request.query.get("search", "").strip().lower()
        if search:
            predicates.append(lambda contact: search in _searchable_text(contact))
        # A search, unlike a lookup, matches part of a number: "555-1234" finds +12155551234.
        phone = request.query.get("phone")
        if phone is not None:
            digits = only_digits(phone)
            if not digits:
                raise ApiError(400, "phone must be a phone number")
            predicates.append(lambda contact: digits in only_digits(contact.get("phone") or ""))
        contacts = _select(self.state.contacts(), predicates)
        return JSONResponse(_page_of(contacts, request.query))

    def lookup_contact(self, request: ApiRequest) -> Response:
        """Screen pop: the contact with this number and their latest calls."""
        digits = _phone_query(request.query, "phone")
        if digits is None:
            raise ApiError(400, "phone is required")
        contact = next(
            (c for c in self.state.contacts() if _same_number(c.get("phone"), digits)), None
        )
        recent_calls: list[dict[str, Any]] = []
        if contact is not None:
            either_end = [_number_is("from", digits), _number_is("to", digits)]
            recent_calls = [
                call
                for call in _newest_first(self.state.calls())
                if any(is_party(call) for is_party in either_end)
            ][:RECENT_CALLS_IN_LOOKUP]
        lookup = {"found": contact is not None, "contact": contact, "recent_calls": recent_calls}
        return JSONResponse(lookup)

    def create_contact(self, request: ApiRequest) -> Response:
        fields = _contact_fields(request.body)
        if not any(fields.get(name) for name in ("first_name", "last_name", "phone")):
            raise ApiError(400, "first_name, last_name or phone is required")
        contact = self.state.add_contact(**fields)
        return JSONResponse(contact, status_code=201)

    def get_contact(self, request: ApiRequest) -> Response:
        contact_id = request.params["contact_id"]
        return JSONResponse(self._get(self.state.data.contacts, contact_id, "Contact"))

    def update_contact(self, request: ApiRequest) -> Response:
        """PUT and PATCH alike change only the fields sent; `null` clears one."""
        changes = _contact_fields(request.body)
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
        is_read = _boolean(request.query, "is_read")
        if is_read is not None:
            predicates.append(_field_is("isRead", is_read))
        caller = _phone_query(request.query, "from")
        if caller:
            predicates.append(_number_is("from", caller))
        voicemails = _select(_newest_first(self.state.voicemails()), predicates)
        return JSONResponse(_page_of(voicemails, request.query))

    def list_extensions(self, request: ApiRequest) -> Response:
        return JSONResponse(_page_of(self.state.extensions(), request.query))

    # -- shared ---------------------------------------------------------------------------

    @staticmethod
    def _direction_and_numbers(query: dict[str, str]) -> list[Predicate]:
        """The `direction`, `from` and `to` filters that calls and texts share."""
        predicates: list[Predicate] = []
        direction = _choice(query, "direction", DIRECTIONS)
        if direction:
            predicates.append(_field_is("direction", direction))
        for end in ("from", "to"):
            digits = _phone_query(query, end)
            if digits:
                predicates.append(_number_is(end, digits))
        return predicates

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


def _searchable_text(contact: dict[str, Any]) -> str:
    """Name, company and email in one lowercase string, so "john doe" matches the full name."""
    parts = (contact.get(name) for name in ("first_name", "last_name", "company", "email"))
    return " ".join(part for part in parts if part).lower()


def _contact_fields(body: dict[str, Any]) -> dict[str, str | None]:
    """The contact fields present in a request body, each a string or null."""
    fields: dict[str, str | None] = {}
    for name in CONTACT_FIELDS:
        if name in body:
            fields[name] = (
                _optional_phone(body, name) if name == "phone" else _optional_string(body, name)
            )
    return fields


# --- webhooks --------------------------------------------------------------------------


def send_webhook(
    url: str,
    envelope: dict[str, Any],
    secret: str,
    *,
    delivery_id: str | None = None,
    timestamp: int | str | None = None,
) -> httpx.Response:
    """POST one webhook the way QTvoice does: JSON body signed with `secret`.

    `delivery_id` and `timestamp` (unix seconds) default to fresh values; pass them to
    replay a delivery or to send a stale one.
    """
    body = json.dumps(envelope, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "QTvoice-Webhooks/1.0",
        "X-QTvoice-Signature": sign(body, secret),
        "X-QTvoice-Timestamp": str(int(time.time()) if timestamp is None else timestamp),
        "X-QTvoice-Delivery-ID": delivery_id or fresh_id("dlv"),
    }
    return httpx.post(url, content=body, headers=headers, timeout=WEBHOOK_TIMEOUT_SECONDS)


# --- the sandbox -----------------------------------------------------------------------


class QTvoiceSandbox:
    """A QTvoice API on a free loopback port; `url` is the base to give the bot's client.

    With `webhook_url` and `webhook_secret` (also settable later on `state`), a sent text
    is followed by signed `sms.sent` and `sms.delivered` webhooks to that URL.
    """

    def __init__(
        self,
        api_key: str = DEFAULT_API_KEY,
        *,
        read_only_key: str | None = DEFAULT_READ_ONLY_KEY,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
    ) -> None:
        self.state = QTvoiceState(
            api_key, read_only_key, webhook_url=webhook_url, webhook_secret=webhook_secret
        )
        self.api = QTvoiceApi(self.state)
        self._server = BackgroundServer(self.api.app)
        self.url = f"{self._server.url}{API_PREFIX}"

    @property
    def api_key(self) -> str:
        return self.state.api_key

    def start(self) -> QTvoiceSandbox:
        self._server.start()
        return self

    def stop(self) -> None:
        self.state.clear_delays()
        self._server.stop()

    def __enter__(self) -> QTvoiceSandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
