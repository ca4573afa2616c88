"""How the sandbox bends its answers for a test: hourly rate-limit budgets, faults, delays.

None of these classes locks: `QTvoiceState` holds its one lock around every call, so the
server thread and the test always see the same picture.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

DEFAULT_RATE_LIMIT = 1000
"""Requests per key per window: the doc's "1,000 requests per hour"."""
RATE_WINDOW_SECONDS = 3600


def _applies(rule_method: str, rule_prefix: str, method: str, path: str) -> bool:
    return rule_method in {"*", method} and path.startswith(rule_prefix)


# --- rate limit ------------------------------------------------------------------------


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


class RateLimits:
    """Each key's budget in its current window; a window refills once its hour is over."""

    def __init__(self) -> None:
        self._windows: dict[str, _RateWindow] = {}

    def clear(self) -> None:
        self._windows.clear()

    def reshape(
        self, key: str, limit: int | None, remaining: int | None, reset_in: float | None
    ) -> None:
        """A new `limit` alone also refills `remaining`; `reset_in` is seconds from now."""
        window = self._window(key, time.monotonic())
        if limit is not None:
            window.limit = limit
            window.remaining = limit
        if remaining is not None:
            window.remaining = remaining
        if reset_in is not None:
            window.resets_at = time.monotonic() + reset_in

    def spend(self, key: str) -> RateStatus:
        """Charge one request to `key`; `allowed` is False once its budget is used up."""
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
        window = self._windows.get(key)
        if window is None:
            window = _RateWindow(DEFAULT_RATE_LIMIT, DEFAULT_RATE_LIMIT, now + RATE_WINDOW_SECONDS)
            self._windows[key] = window
        elif now >= window.resets_at:
            window.remaining = window.limit
            window.resets_at = now + RATE_WINDOW_SECONDS
        return window


# --- faults ----------------------------------------------------------------------------


@dataclass
class Fault:
    """The error the next `count` requests to a method and path prefix get instead of an answer."""

    method: str
    path_prefix: str
    status: int
    count: int
    retry_after: int


class Faults:
    """Armed faults, oldest first; each is used up one matching request at a time."""

    def __init__(self) -> None:
        self._armed: list[Fault] = []

    def arm(self, fault: Fault) -> None:
        self._armed.append(fault)

    def take(self, method: str, path: str) -> Fault | None:
        """The first fault armed for this request, used up by one."""
        for fault in self._armed:
            if _applies(fault.method, fault.path_prefix, method, path):
                fault.count -= 1
                if fault.count <= 0:
                    self._armed.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        self._armed.clear()


# --- delays ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Delay:
    """How long every request to a method and path prefix waits before it is answered."""

    method: str
    path_prefix: str
    seconds: float


class Delays:
    """Slow answers, and the event that lets the requests waiting one out go at once."""

    def __init__(self) -> None:
        self._delays: list[Delay] = []
        self._released = threading.Event()

    def add(self, delay: Delay) -> None:
        self._delays.append(delay)

    def release(self) -> None:
        """Drop every delay and wake whoever waits on the event `longest` handed out."""
        self._delays.clear()
        self._released.set()
        self._released = threading.Event()

    def longest(self, method: str, path: str) -> tuple[float, threading.Event]:
        """The longest delay that applies (0 for none), and the event that cuts it short."""
        seconds = max(
            (d.seconds for d in self._delays if _applies(d.method, d.path_prefix, method, path)),
            default=0.0,
        )
        return seconds, self._released
