"""`QTvoiceClient`: the one way the bot talks to the QTvoice REST API.

One `httpx.AsyncClient` serves the whole process: either the client builds its own
(`async with QTvoiceClient(url, key) as qtvoice:` in the app's lifespan) or the lifespan
passes one in as `http_client` and closes it itself.

Every method answers with the models of `bot.qtvoice.models` or raises `QTvoiceError`.

Requests come in two kinds. A *foreground* request has a person waiting in Slack, so it
keeps retrying for at most `foreground_max_wait` seconds after it started, then gives up with
an error the person can read. A *background* request (`background=True`: polling, cache
refresh) may keep at it for `background_max_wait`, and refuses to spend the last
`reserve_fraction` of the hourly request budget, so a busy reconcile loop can never lock
people out of click-to-call.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import IO, Any, TypeVar
from urllib.parse import quote, urlsplit

import httpx
from pydantic import SecretStr, ValidationError

from bot import metrics
from bot.qtvoice.errors import (
    BAD_RESPONSE,
    BUDGET_RESERVED,
    NOT_QTVOICE,
    TIMEOUT,
    TOO_LARGE,
    UNAVAILABLE,
    QTvoiceError,
    code_for_status,
)
from bot.qtvoice.models import (
    Call,
    CallInitiated,
    Contact,
    ContactLookup,
    Extension,
    Page,
    Pagination,
    QTvoiceModel,
    Sms,
    Voicemail,
)
from bot.tls import client_context

__all__ = ["QTvoiceClient", "QTvoiceError", "RateLimit"]

logger = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
"""QTvoice's documented ceiling for `limit`; walking every page uses it to spend fewer requests."""

RATE_LIMIT_WINDOW_SECONDS = 3600.0
"""QTvoice budgets requests per hour; assumed as the window when `X-RateLimit-Reset` is absent."""

_UNIX_TIME_FLOOR = 1_000_000_000
"""An `X-RateLimit-Reset` this large is a unix time, not "seconds until": no window is 30 years."""

_LONGEST_ERROR_TEXT = 200

ModelT = TypeVar("ModelT", bound=QTvoiceModel)
ItemT = TypeVar("ItemT", bound=QTvoiceModel)


@dataclass(frozen=True)
class RateLimit:
    """QTvoice's hourly request budget as of the latest answer.

    `reset_at` is on the `time.monotonic()` clock, so a wall-clock change cannot move it.
    """

    limit: int | None
    remaining: int | None
    reset_at: float

    def resets_in(self, now: float | None = None) -> float:
        """Seconds until the budget refills (0 once it has)."""
        current = time.monotonic() if now is None else now
        return max(0.0, self.reset_at - current)

    def in_reserve(self, fraction: float, now: float | None = None) -> bool:
        """Whether at most `fraction` of the budget is left and the window has not reset."""
        if self.remaining is None or self.limit is None or self.resets_in(now) == 0:
            return False
        return self.remaining <= self.limit * fraction


@dataclass(frozen=True)
class _Failure:
    """One failed attempt: the error to raise and whether trying again is safe and useful."""

    error: QTvoiceError
    retryable: bool
    wait_hint: float | None = None


class QTvoiceClient:
    """Typed async access to QTvoice's calls, texts, contacts, voicemails and extensions.

    Retries. A request is retried (up to `max_retries` times, exponential backoff with full
    jitter, or exactly as long as QTvoice asks through `Retry-After` / `X-RateLimit-Reset`)
    when it was rate-limited (429), when QTvoice failed (5xx), or when the network failed.

    A POST is retried only when the request certainly never reached QTvoice: a 429 (QTvoice
    refused it before doing anything), or a connection that could not be opened. After a
    5xx or a read timeout QTvoice may already have placed the call or sent the text, and
    a retry would ring the customer twice or send them the same text twice; such a failure
    is raised at once with `outcome_unknown=True` so the user is told to check, not to
    repeat. GET, PUT and DELETE ask for the same end state every time, so repeating them
    is harmless.

    No retry starts later than `foreground_max_wait` (or `background_max_wait`) seconds
    after the first attempt: time spent waiting for a slow answer counts, so a person is
    not kept waiting through several timeouts in a row. When QTvoice asks for a wait that
    would end past that point, the client raises at once instead of sleeping part of it:
    retrying early only earns another 429.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | SecretStr,
        *,
        timeout: float = 10.0,
        max_retries: int = 3,
        reserve_fraction: float = 0.1,
        backoff_base: float = 0.5,
        foreground_max_wait: float = 3.0,
        background_max_wait: float = 30.0,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """`http_client` shares the process's client (its owner closes it); `transport`
        exists only for tests of wire behaviour a real server cannot easily produce."""
        if http_client is not None and transport is not None:
            raise ValueError("pass either http_client or transport, not both")
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key)
        self._timeout = httpx.Timeout(timeout)
        self._max_retries = max_retries
        self._reserve_fraction = reserve_fraction
        self._backoff_base = backoff_base
        self._foreground_max_wait = foreground_max_wait
        self._background_max_wait = background_max_wait
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(transport=transport, verify=client_context())
        self._rate_limit: RateLimit | None = None
        #: Whether QTvoice refused the key (401) at its last use; None before the first.
        self.key_refused: bool | None = None

    def __repr__(self) -> str:
        return f"QTvoiceClient(base_url={self._base_url!r})"

    async def __aenter__(self) -> QTvoiceClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client if this client created it."""
        if self._owns_http:
            await self._http.aclose()

    @property
    def rate_limit(self) -> RateLimit | None:
        """The budget QTvoice reported on its latest answer; None before the first."""
        return self._rate_limit

    # Calls

    async def list_calls(
        self,
        page: int = 1,
        limit: int = DEFAULT_PAGE_SIZE,
        direction: str | None = None,
        status: str | None = None,
        from_: str | None = None,
        to: str | None = None,
        start_date: datetime | date | str | None = None,
        end_date: datetime | date | str | None = None,
        *,
        background: bool = False,
    ) -> Page[Call]:
        params = {
            "page": page,
            "limit": limit,
            "direction": direction,
            "status": status,
            "from": from_,
            "to": to,
            "start_date": start_date,
            "end_date": end_date,
        }
        body = await self._request("GET", "/calls", params=params, background=background)
        return _parse_page(Call, body)

    def iter_calls(
        self,
        *,
        direction: str | None = None,
        status: str | None = None,
        from_: str | None = None,
        to: str | None = None,
        start_date: datetime | date | str | None = None,
        end_date: datetime | date | str | None = None,
        page_size: int = MAX_PAGE_SIZE,
        background: bool = False,
    ) -> AsyncIterator[Call]:
        """Every call matching the filters, fetched a page at a time as it is consumed."""
        return _walk_pages(
            lambda page: self.list_calls(
                page,
                page_size,
                direction,
                status,
                from_,
                to,
                start_date,
                end_date,
                background=background,
            )
        )

    async def create_call(
        self,
        to: str,
        *,
        from_: str | None = None,
        extension_id: str | None = None,
        background: bool = False,
    ) -> CallInitiated:
        """Click-to-call: QTvoice rings the extension, then dials `to`."""
        payload = {"to": to, "from": from_, "extension_id": extension_id}
        body = await self._request("POST", "/calls", json=payload, background=background)
        return _parse(CallInitiated, body, changes_state=True)

    async def get_call(self, call_id: str, *, background: bool = False) -> Call:
        body = await self._request("GET", f"/calls/{_segment(call_id)}", background=background)
        return _parse(Call, body)

    # SMS

    async def list_sms(
        self,
        page: int = 1,
        limit: int = DEFAULT_PAGE_SIZE,
        direction: str | None = None,
        from_: str | None = None,
        to: str | None = None,
        *,
        background: bool = False,
    ) -> Page[Sms]:
        params = {"page": page, "limit": limit, "direction": direction, "from": from_, "to": to}
        body = await self._request("GET", "/sms", params=params, background=background)
        return _parse_page(Sms, body)

    def iter_sms(
        self,
        *,
        direction: str | None = None,
        from_: str | None = None,
        to: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
        background: bool = False,
    ) -> AsyncIterator[Sms]:
        """Every text matching the filters, fetched a page at a time as it is consumed."""
        return _walk_pages(
            lambda page: self.list_sms(page, page_size, direction, from_, to, background=background)
        )

    async def send_sms(
        self, to: str, message: str, *, from_: str | None = None, background: bool = False
    ) -> Sms:
        payload = {"to": to, "message": message, "from": from_}
        body = await self._request("POST", "/sms", json=payload, background=background)
        return _parse(Sms, body, changes_state=True)

    # Contacts

    async def list_contacts(
        self,
        search: str | None = None,
        phone: str | None = None,
        page: int = 1,
        limit: int = DEFAULT_PAGE_SIZE,
        *,
        background: bool = False,
    ) -> Page[Contact]:
        params = {"search": search, "phone": phone, "page": page, "limit": limit}
        body = await self._request("GET", "/contacts", params=params, background=background)
        return _parse_page(Contact, body)

    def iter_contacts(
        self,
        *,
        search: str | None = None,
        phone: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
        background: bool = False,
    ) -> AsyncIterator[Contact]:
        """Every contact matching the filters, fetched a page at a time as it is consumed."""
        return _walk_pages(
            lambda page: self.list_contacts(search, phone, page, page_size, background=background)
        )

    async def search_contacts(
        self, words: str, *, limit: int = 20, background: bool = False
    ) -> list[Contact]:
        """The best `limit` contacts matching a name, company or email.

        Only the first page: a person picks from these, and a one-letter search must not
        walk the whole address book.
        """
        page = await self.list_contacts(search=words, limit=limit, background=background)
        return page.data

    async def lookup_contact(self, phone: str, *, background: bool = False) -> ContactLookup:
        """Screen pop: the contact owning `phone` and their recent calls.

        A 404 means "nobody has this number", which is an answer, not a failure.
        """
        try:
            body = await self._request(
                "GET", "/contacts/lookup", params={"phone": phone}, background=background
            )
        except QTvoiceError as error:
            if error.status == 404:
                return ContactLookup(found=False)
            raise
        return _parse(ContactLookup, body)

    async def create_contact(
        self,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        company: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        notes: str | None = None,
        background: bool = False,
    ) -> Contact:
        payload = {
            "first_name": first_name,
            "last_name": last_name,
            "company": company,
            "email": email,
            "phone": phone,
            "notes": notes,
        }
        body = await self._request("POST", "/contacts", json=payload, background=background)
        return _parse(Contact, body, changes_state=True)

    async def update_contact(
        self,
        contact_id: str,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        company: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        notes: str | None = None,
        background: bool = False,
    ) -> Contact:
        """Change the given fields; a field left as None is left as it is (send "" to clear)."""
        payload = {
            "first_name": first_name,
            "last_name": last_name,
            "company": company,
            "email": email,
            "phone": phone,
            "notes": notes,
        }
        body = await self._request(
            "PUT", f"/contacts/{_segment(contact_id)}", json=payload, background=background
        )
        return _parse(Contact, body)

    async def delete_contact(self, contact_id: str, *, background: bool = False) -> None:
        await self._request("DELETE", f"/contacts/{_segment(contact_id)}", background=background)

    # Voicemails and extensions

    async def list_voicemails(
        self,
        is_read: bool | None = None,
        from_: str | None = None,
        page: int = 1,
        limit: int = DEFAULT_PAGE_SIZE,
        *,
        background: bool = False,
    ) -> Page[Voicemail]:
        params = {"is_read": is_read, "from": from_, "page": page, "limit": limit}
        body = await self._request("GET", "/voicemails", params=params, background=background)
        return _parse_page(Voicemail, body)

    def iter_voicemails(
        self,
        *,
        is_read: bool | None = None,
        from_: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
        background: bool = False,
    ) -> AsyncIterator[Voicemail]:
        """Every voicemail matching the filters, fetched a page at a time as it is consumed."""
        return _walk_pages(
            lambda page: self.list_voicemails(
                is_read, from_, page, page_size, background=background
            )
        )

    async def list_extensions(self, *, background: bool = False) -> list[Extension]:
        """Every extension, across all pages."""

        async def fetch(page: int) -> Page[Extension]:
            params = {"page": page, "limit": MAX_PAGE_SIZE}
            body = await self._request("GET", "/extensions", params=params, background=background)
            return _parse_page(Extension, body)

        return [extension async for extension in _walk_pages(fetch)]

    async def may_write(self, path: str) -> bool:
        """Whether the key may `POST` to `path` ("/calls", "/sms"), asked without a side effect.

        The body is empty, so nothing is created: QTvoice answers 403 FORBIDDEN to a key
        without the permission ("Missing required permission", the seed's error table) and
        400 BAD_REQUEST to one that has it. Any other error is raised as `QTvoiceError`.
        """
        try:
            await self._request("POST", path, json={}, background=False)
        except QTvoiceError as error:
            if error.status == 403:
                return False
            if error.status == 400:
                return True
            raise
        raise QTvoiceError(200, "UNEXPECTED", f"POST {path} with an empty body was accepted")

    # Recordings

    async def download_recording(self, url: str, into: IO[bytes], *, max_bytes: int) -> int:
        """Stream the audio at a recording link into `into`, a chunk at a time (never the
        whole file in memory); how many bytes.

        The API key goes only to QTvoice: the API's own host or another host of its domain
        (`recordings.qtvoice.com` beside `api.qtvoice.com`); a link anywhere else is refused
        (`NOT_QTVOICE`) rather than handed the key. More than `max_bytes`, announced or
        received, stops the download (`TOO_LARGE`). Not retried here: the delivery that asks
        is retried as a whole (`bot.delivery.recordings`).
        """
        if not _is_qtvoice_host(url, self._base_url):
            raise QTvoiceError(400, NOT_QTVOICE, "the recording link is not on QTvoice's host")
        too_large = QTvoiceError(413, TOO_LARGE, f"the recording is over {max_bytes} bytes")
        try:
            async with self._http.stream(
                "GET", url, headers=self._headers() | {"Accept": "audio/*"}, timeout=self._timeout
            ) as response:
                if not response.is_success:
                    await response.aread()
                    raise self._error_from(response, outcome_unknown=False)
                announced = _int_header(response.headers, "Content-Length")
                if announced is not None and announced > max_bytes:
                    raise too_large
                received = 0
                async for chunk in response.aiter_bytes():
                    received += len(chunk)
                    if received > max_bytes:
                        raise too_large
                    into.write(chunk)
        except httpx.TransportError as exc:
            raise _transport_failure(exc, idempotent=True).error from exc
        return received

    # The request loop

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, object] | None = None,
        json: Mapping[str, object] | None = None,
        background: bool,
    ) -> Any:
        """Send one API request with the retry policy of the class docstring; the decoded body."""
        idempotent = method != "POST"
        patience = self._background_max_wait if background else self._foreground_max_wait
        give_up_at = time.monotonic() + patience
        query = _query(params or {})
        payload = None if json is None else {k: v for k, v in json.items() if v is not None}
        attempt = 0
        while True:
            if background:
                self._refuse_inside_reserve()
            outcome = await self._attempt(method, path, query, payload, idempotent=idempotent)
            if not isinstance(outcome, _Failure):
                return outcome
            delay = self._retry_delay(outcome, attempt, give_up_at - time.monotonic())
            if delay is None:
                raise outcome.error
            logger.info(
                "QTvoice %s %s failed (%s); retry %d in %.2fs",
                method,
                path,
                outcome.error.code,
                attempt + 1,
                delay,
            )
            await asyncio.sleep(delay)
            attempt += 1

    def _retry_delay(self, failure: _Failure, attempt: int, time_left: float) -> float | None:
        """How long to wait before the next attempt, or None to give up now."""
        if not failure.retryable or attempt >= self._max_retries or time_left <= 0:
            return None
        if failure.wait_hint is not None:
            return failure.wait_hint if failure.wait_hint <= time_left else None
        return min(random.uniform(0, self._backoff_base * 2**attempt), time_left)

    async def _attempt(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        payload: dict[str, object] | None,
        *,
        idempotent: bool,
    ) -> Any:
        """One try: the decoded body of a 2xx answer, else a `_Failure`."""
        started = time.monotonic()
        try:
            response = await self._http.request(
                method,
                self._base_url + path,
                params=query,
                json=payload,
                headers=self._headers(),
                timeout=self._timeout,
            )
        except httpx.TransportError as exc:
            logger.debug("QTvoice %s %s -> %s", method, path, type(exc).__name__)
            return _transport_failure(exc, idempotent=idempotent)
        logger.debug(
            "QTvoice %s %s -> %d in %.0f ms",
            method,
            path,
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        self._note_rate_limit(response.headers)
        status = response.status_code
        metrics.QTVOICE_CALLS.labels(
            "ok" if response.is_success else "rate_limited" if status == 429 else "error"
        ).inc()
        if status != 429:
            self.key_refused = status == 401
        if response.is_success:
            return self._decode(response, idempotent=idempotent)
        error = self._error_from(response, outcome_unknown=status >= 500 and not idempotent)
        return _Failure(
            error=error,
            retryable=status == 429 or (status >= 500 and idempotent),
            wait_hint=error.retry_after,
        )

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._api_key.get_secret_value()}",
            "Accept": "application/json",
        }

    def _decode(self, response: httpx.Response, *, idempotent: bool) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise QTvoiceError(
                502,
                BAD_RESPONSE,
                "QTvoice answered with something other than JSON",
                outcome_unknown=not idempotent,
            ) from exc

    def _error_from(self, response: httpx.Response, *, outcome_unknown: bool) -> QTvoiceError:
        """The documented `{"error", "code"}` body as an exception, whatever QTvoice sent."""
        status = response.status_code
        code, message = code_for_status(status), response.reason_phrase or f"HTTP {status}"
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            code = str(body.get("code") or code)
            message = str(body.get("error") or body.get("message") or message)
        elif response.text.strip():
            message = response.text.strip()
        return QTvoiceError(
            status,
            code,
            self._redact(message)[:_LONGEST_ERROR_TEXT],
            outcome_unknown=outcome_unknown,
            retry_after=_server_requested_wait(response, self._rate_limit),
        )

    def _redact(self, text: str) -> str:
        """Never let the key travel on inside an error, even if QTvoice echoes it back."""
        secret = self._api_key.get_secret_value()
        return text.replace(secret, "[redacted]") if secret else text

    # The hourly budget

    def _note_rate_limit(self, headers: httpx.Headers) -> None:
        remaining = _int_header(headers, "X-RateLimit-Remaining")
        if remaining is None:
            return
        metrics.QTVOICE_RATELIMIT_REMAINING.set(remaining)
        now = time.monotonic()
        reset = _float_header(headers, "X-RateLimit-Reset")
        if reset is None:
            reset_in = RATE_LIMIT_WINDOW_SECONDS
        elif reset >= _UNIX_TIME_FLOOR:
            reset_in = max(0.0, reset - time.time())
        else:
            reset_in = max(0.0, reset)
        self._rate_limit = RateLimit(
            limit=_int_header(headers, "X-RateLimit-Limit"),
            remaining=remaining,
            reset_at=now + reset_in,
        )

    def _refuse_inside_reserve(self) -> None:
        budget = self._rate_limit
        if budget is None or not budget.in_reserve(self._reserve_fraction):
            return
        wait = budget.resets_in()
        raise QTvoiceError(
            429,
            BUDGET_RESERVED,
            f"{budget.remaining} of {budget.limit} requests left this hour are kept for"
            f" people; background work resumes in {wait:.0f}s",
            retry_after=wait,
        )


def _transport_failure(exc: httpx.TransportError, *, idempotent: bool) -> _Failure:
    """A request that got no answer. Only a connection never opened certainly sent nothing."""
    never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    if isinstance(exc, httpx.TimeoutException):
        error = QTvoiceError(
            504,
            TIMEOUT,
            f"no answer from QTvoice in time ({type(exc).__name__})",
            outcome_unknown=not (idempotent or never_sent),
        )
    else:
        error = QTvoiceError(
            503,
            UNAVAILABLE,
            f"could not reach QTvoice ({type(exc).__name__})",
            outcome_unknown=not (idempotent or never_sent),
        )
    error.__cause__ = exc
    return _Failure(error=error, retryable=idempotent or never_sent)


def _server_requested_wait(response: httpx.Response, budget: RateLimit | None) -> float | None:
    """Seconds QTvoice asked us to wait: `Retry-After`, or on a 429 the budget's reset."""
    retry_after = response.headers.get("Retry-After")
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(retry_after).timestamp() - time.time())
            except (TypeError, ValueError):
                pass
    if response.status_code == 429 and budget is not None and budget.remaining == 0:
        return budget.resets_in()
    return None


def _int_header(headers: httpx.Headers, name: str) -> int | None:
    value = _float_header(headers, name)
    return None if value is None else int(value)


def _float_header(headers: httpx.Headers, name: str) -> float | None:
    try:
        return float(headers[name])
    except (KeyError, ValueError):
        return None


def _is_qtvoice_host(url: str, base_url: str) -> bool:
    """Whether `url` is http(s) on the API's host or a sibling host of its domain."""
    try:
        target, base = urlsplit(url), urlsplit(base_url)
    except ValueError:
        return False
    host, api_host = (target.hostname or "").lower(), (base.hostname or "").lower()
    if target.scheme not in ("http", "https") or not host or not api_host:
        return False
    if host == api_host:
        return target.scheme == base.scheme and target.port == base.port
    domain = ".".join(api_host.split(".")[-2:])
    return "." in domain and not domain.replace(".", "").isdigit() and host.endswith("." + domain)


def _segment(identifier: str) -> str:
    """An id as one path segment, so an id like "../extensions" cannot reach another route."""
    return quote(identifier, safe="")


def _query(params: Mapping[str, object]) -> dict[str, str]:
    """Query parameters as QTvoice reads them; absent filters are left out entirely."""
    query: dict[str, str] = {}
    for name, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            query[name] = "true" if value else "false"
        elif isinstance(value, datetime | date):
            query[name] = value.isoformat()
        else:
            query[name] = str(value)
    return query


def _unwrap(body: Any) -> Any:
    """A single object, whether QTvoice sends it bare or inside `{"data": {...}}`."""
    if isinstance(body, dict) and "id" not in body and isinstance(body.get("data"), dict):
        return body["data"]
    return body


def _parse(model: type[ModelT], body: Any, *, changes_state: bool = False) -> ModelT:
    try:
        return model.model_validate(_unwrap(body))
    except ValidationError as exc:
        raise QTvoiceError(
            502,
            BAD_RESPONSE,
            f"QTvoice answered with an unreadable {model.__name__}",
            outcome_unknown=changes_state,
        ) from exc


def _parse_page(model: type[ItemT], body: Any) -> Page[ItemT]:
    """A page of `model`; a bare list is read as a single page.

    An item QTvoice sends without a readable id is skipped (and logged) rather than
    failing the whole listing.
    """
    if isinstance(body, list):
        body = {"data": body}
    if not isinstance(body, dict) or not isinstance(body.get("data", []), list):
        raise QTvoiceError(502, BAD_RESPONSE, f"QTvoice answered with no list of {model.__name__}")
    items: list[ItemT] = []
    for raw in body.get("data", []):
        try:
            items.append(model.model_validate(raw))
        except ValidationError:
            logger.warning("skipping a %s from QTvoice that has no readable id", model.__name__)
    pagination = body.get("pagination")
    return Page[model](  # type: ignore[valid-type]
        data=items,
        pagination=Pagination.model_validate(pagination if isinstance(pagination, dict) else {}),
    )


async def _walk_pages(
    fetch: Callable[[int], Awaitable[Page[ItemT]]],
) -> AsyncIterator[ItemT]:
    page_number = 1
    while True:
        page = await fetch(page_number)
        for item in page.data:
            yield item
        if not page.has_next:
            return
        page_number += 1
