"""Slack listeners still running, for a stopping app to let them finish before it closes.

Bolt acks an event, a click or a command and then runs its listener in a task of its own
(`process_before_response` off) that nothing awaits. A process stopping meanwhile closed the
database's engine under it, and the task, cancelled when the event loop ended, dropped its
session's connection without closing it (psycopg: "deleted while still open"). `running`
marks a listener's task while it runs (`bot.slack.requests` wraps every listener in it);
`settle` waits for those of the running event loop, for a while.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from typing import Any

#: Every process's listeners under way, of every event loop (a test runs several apps, each
#: on a loop in a thread of its own): hence the lock.
_RUNNING: set[asyncio.Task[Any]] = set()
_LOCK = threading.Lock()


@contextlib.contextmanager
def running() -> Iterator[None]:
    """Mark the current task as a listener under way until the block ends."""
    task = asyncio.current_task()
    if task is None:
        yield
        return
    with _LOCK:
        _RUNNING.add(task)
    try:
        yield
    finally:
        with _LOCK:
            _RUNNING.discard(task)


async def settle(seconds: float) -> None:
    """Wait up to `seconds` for this event loop's listeners under way to end."""
    loop = asyncio.get_running_loop()
    with _LOCK:
        here = [task for task in _RUNNING if task.get_loop() is loop]
    if here:
        await asyncio.wait(here, timeout=seconds)
