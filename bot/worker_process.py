"""`serve`'s delivery worker in a process of its own beside the web app, and the bell between them.

The web app (the door) and the worker used to share one event loop: during a burst each
delivery (a few ms of CPU: render, the Slack call, its writes) took the door's turn, and
webhooks waited behind deliveries. Now `serve` starts `python -m bot worker` as its child, so
the door's loop does nothing but answer requests and the two use two cores. `serve` is still
the one command to run, on SQLite as on PostgreSQL.

The door rings the worker through a pipe the child inherits (`Doorbell`): one byte whenever
it stores an event, so the worker claims it at once instead of at its next poll. The pipe
also tells the child that its parent has gone: the write end closes with the parent, the
child reads end-of-file and stops. A child that exits on its own (a crash, out of memory)
is started again after a pause that doubles up to `RESTART_MAX_SECONDS`; events it held come
back to the next claim when their leases run out, as after any worker's death.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable

logger = logging.getLogger(__name__)

#: How much lower the worker's CPU priority is than the web process's (`nice`): when the two
#: want more CPU than the machine has (a burst of webhooks), the door's answers go first and
#: deliveries take what is left; with a core to spare it changes nothing.
WORKER_NICENESS = 10
#: How long the worker is given to finish what it holds when `serve` stops (it needs ~10 s).
STOP_SECONDS = 15.0
#: Pauses between restarts of a worker that keeps exiting: 1 s, doubled, at most this.
RESTART_MAX_SECONDS = 30.0
#: A worker that ran this long before it exited is started again after the first pause.
RESTART_RESET_SECONDS = 300.0


class Doorbell(asyncio.Event):
    """`inbox_changed` in the door's process: `set()` also rings the worker in its process.

    Ringing never blocks: when the pipe is full, rings are already waiting to be read, and one
    more would wake the worker no sooner.
    """

    def __init__(self, write_fd: int) -> None:
        super().__init__()
        self.write_fd = write_fd

    def set(self) -> None:
        super().set()
        with contextlib.suppress(BlockingIOError, BrokenPipeError):
            os.write(self.write_fd, b"\x01")


def listen(read_fd: int, ring: Callable[[], None], parent_gone: Callable[[], None]) -> None:
    """In the worker: call `ring` for each batch of rings read, `parent_gone` at end of file.

    Call inside the running loop; the reader stays registered until end of file.
    """
    loop = asyncio.get_running_loop()
    os.set_blocking(read_fd, False)

    def readable() -> None:
        try:
            rung = os.read(read_fd, 4096)
        except BlockingIOError:
            return
        if rung:
            ring()
            return
        loop.remove_reader(read_fd)
        parent_gone()

    loop.add_reader(read_fd, readable)


class WorkerProcess:
    """`python -m bot worker --doorbell FD` as a child of this process, kept running.

    `doorbell` is what the door sets when it stored an event. The child reads its settings
    from the same environment (and `.env`) as this process, and writes to the same output.
    """

    def __init__(self) -> None:
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)
        self._read_fd = read_fd
        self.doorbell = Doorbell(write_fd)
        self._child: asyncio.subprocess.Process | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        await self._spawn()
        self._supervisor = asyncio.create_task(self._supervise(), name="worker-process")

    async def stop(self) -> None:
        """SIGTERM the worker, wait for it to finish what it holds, then kill it if it must."""
        self._stopping = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        child = self._child
        if child is not None and child.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(child.wait(), STOP_SECONDS)
            except TimeoutError:
                logger.warning("delivery worker did not stop in time; killed")
                with contextlib.suppress(ProcessLookupError):
                    child.kill()
                await child.wait()
        os.close(self._read_fd)
        os.close(self.doorbell.write_fd)

    @property
    def pid(self) -> int | None:
        return None if self._child is None else self._child.pid

    async def _spawn(self) -> None:
        self._child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "worker",
            "--doorbell",
            str(self._read_fd),
            pass_fds=(self._read_fd,),
        )
        # Whatever the door stored while no worker ran is claimed at the worker's start.

    async def _supervise(self) -> None:
        loop = asyncio.get_running_loop()
        pause = 1.0
        while not self._stopping:
            assert self._child is not None
            started = loop.time()
            code = await self._child.wait()
            if self._stopping:
                return
            if loop.time() - started > RESTART_RESET_SECONDS:
                pause = 1.0
            logger.error(
                "delivery worker (pid %s) exited with code %s; starting it again in %.0f s",
                self._child.pid,
                code,
                pause,
            )
            await asyncio.sleep(pause)
            pause = min(pause * 2, RESTART_MAX_SECONDS)
            await self._spawn()
