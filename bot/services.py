"""The work a process does besides answering HTTP: the delivery worker and the scheduled jobs.

`serve` runs these beside the web app unless told `--no-worker`; `worker` runs them alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.delivery.worker import Worker
from bot.runtime import Runtime
from bot.scheduler import lead

logger = logging.getLogger(__name__)


class BackgroundServices:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.worker = Worker(runtime)
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._stop.clear()
        self.runtime.reuse_slack_connections()
        self._tasks = [
            asyncio.create_task(self.worker.run(self._stop), name="delivery-worker"),
            asyncio.create_task(lead(self.runtime, self._stop), name="scheduler-leader"),
        ]

    async def stop(self) -> None:
        """Finish what is in hand and stop; unfinished events stay in the inbox for next time."""
        self._stop.set()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                try:
                    await asyncio.wait_for(task, timeout=10)
                except TimeoutError:
                    logger.warning("%s did not stop in time; its events will be retried", task)

    async def run_until(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set (the `worker` command)."""
        await self.start()
        await stop.wait()
        await self.stop()
