"""What the sandbox holds, behind one lock: QTvoice's objects, the test controls, what it saw.

The server thread answers from `QTvoiceState` while the test thread seeds it, arms faults and
reads back requests, so every method takes `QTvoiceState.lock`.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.sandbox.qtvoice.account import (
    API_PREFIX,
    DEFAULT_API_KEY,
    DEFAULT_READ_ONLY_KEY,
    seed_office,
)
from bot.sandbox.qtvoice.errors import ERRORS
from bot.sandbox.qtvoice.limits import Delay, Delays, Fault, Faults, RateLimits, RateStatus
from bot.sandbox.samples import MAIN_LINE, fresh_id, iso_timestamp

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
    #: Recordings' audio by file name, served at `/api/v1/recordings/<name>`.
    recordings: dict[str, bytes] = field(default_factory=dict)

    def clear(self) -> None:
        # In place: handlers hold references to these dicts across a test's reset().
        for collection in (self.extensions, self.contacts, self.calls, self.voicemails, self.sms):
            collection.clear()
        self.recordings.clear()


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
        self._faults = Faults()
        self._delays = Delays()
        self._rate_limits = RateLimits()
        self._webhook_deliveries: list[WebhookDelivery] = []
        self.reset(seed=seed)

    def reset(self, *, seed: bool = True) -> None:
        """Back to a fresh sandbox: seed data (or none), no faults, full rate budgets."""
        with self.lock:
            self.data.clear()
            self._requests.clear()
            self._faults.clear()
            self._delays.release()
            self._rate_limits.clear()
            self._webhook_deliveries.clear()
        if seed:
            seed_office(self)

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

    def add_recording(self, name: str, audio: bytes) -> str:
        """Audio served (with the API key) at `/api/v1/recordings/<name>`; that path."""
        with self.lock:
            self.data.recordings[name] = audio
        return f"{API_PREFIX}/recordings/{name}"

    def recording(self, name: str) -> bytes | None:
        with self.lock:
            return self.data.recordings.get(name)

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

    def record_event(self, event: str, data: Mapping[str, Any]) -> None:
        """Keep the object a webhook of `event` describes, as QTvoice holds it: a webhook sent
        by hand (the demo's) then agrees with what the API lists (history, voicemails).

        Later events about the same id update it (a transcript, a call's end); a voicemail
        also records the call that left it, as `add_voicemail` does.
        """
        collections = {
            "call": self.data.calls,
            "voicemail": self.data.voicemails,
            "sms": self.data.sms,
            "contact": self.data.contacts,
        }
        collection = collections.get(event.split(".", 1)[0])
        if collection is None or not isinstance(data.get("id"), str):
            return
        with self.lock:
            known = collection.get(data["id"], {})
            collection[data["id"]] = known | {k: v for k, v in data.items() if v is not None}
            call_id = data.get("callId")
            if event == "voicemail.new" and isinstance(call_id, str):
                call = {
                    "id": call_id,
                    "from": data.get("from"),
                    "to": data.get("to"),
                    "direction": "inbound",
                    "status": "voicemail",
                    "duration": data.get("duration") or 0,
                    "createdAt": data.get("createdAt"),
                    "voicemailId": data["id"],
                }
                self.data.calls[call_id] = self.data.calls.get(call_id, {}) | call

    def finish_call(self, call_id: str, duration: int) -> dict[str, Any] | None:
        """A placed call answered and ended after `duration` seconds, as it is once over."""
        with self.lock:
            call = self.data.calls.get(call_id)
            if call is None:
                return None
            ended = datetime.now(UTC).replace(microsecond=0)
            call |= {
                "status": "completed",
                "duration": duration,
                "answeredAt": iso_timestamp(ended - timedelta(seconds=duration)),
                "endedAt": iso_timestamp(ended),
            }
            return dict(call)

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
            self._rate_limits.reshape(key or self.api_key, limit, remaining, reset_in)

    def spend(self, key: str) -> RateStatus:
        """Charge one request to `key`; `allowed` is False once its budget is used up."""
        with self.lock:
            return self._rate_limits.spend(key)

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
        fault = Fault(method.upper(), prefix, status, count, retry_after)
        with self.lock:
            self._faults.arm(fault)

    def take_fault(self, method: str, path: str) -> Fault | None:
        """The first fault armed for this request, used up by one."""
        with self.lock:
            return self._faults.take(method, path)

    def clear_faults(self) -> None:
        with self.lock:
            self._faults.clear()

    def delay(self, method: str, path_prefix: str, seconds: float) -> None:
        """Every matching request waits `seconds` before it is answered, until cleared."""
        with self.lock:
            prefix = path_prefix.removeprefix(API_PREFIX)
            self._delays.add(Delay(method.upper(), prefix, seconds))

    def clear_delays(self) -> None:
        """Drop every delay and release the requests that are waiting one out right now."""
        with self.lock:
            self._delays.release()

    async def wait_out_delay(self, method: str, path: str) -> None:
        """Sleep for the longest delay that applies, or until `clear_delays()` releases it.

        Releasable so that stopping the sandbox never waits for a slow-response test's delay.
        """
        with self.lock:
            seconds, released = self._delays.longest(method, path)
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
