"""The bell between `serve`'s web process and its worker (bot/worker_process.py), over a pipe."""

from __future__ import annotations

import asyncio
import os

from bot.worker_process import Doorbell, listen


def test_each_store_rings_the_worker_and_the_parents_exit_stops_it() -> None:
    async def scenario() -> tuple[int, bool, bool]:
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)
        doorbell = Doorbell(write_fd)
        rung = asyncio.Event()
        rings = 0
        gone = asyncio.Event()

        def ring() -> None:
            nonlocal rings
            rings += 1
            rung.set()

        listen(read_fd, ring=ring, parent_gone=gone.set)
        doorbell.set()
        await asyncio.wait_for(rung.wait(), 10)
        gone_before_close = gone.is_set()
        os.close(write_fd)  # what the parent's death does to the pipe
        await asyncio.wait_for(gone.wait(), 10)
        os.close(read_fd)
        return rings, gone_before_close, gone.is_set()

    rings, gone_before_close, gone_after_close = asyncio.run(scenario())

    assert rings >= 1
    assert not gone_before_close
    assert gone_after_close


def test_ringing_a_full_pipe_never_blocks_the_door() -> None:
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    doorbell = Doorbell(write_fd)
    try:
        for _ in range(200_000):  # far more than a pipe holds (64 KiB on Linux)
            doorbell.set()
        assert len(os.read(read_fd, 1 << 20)) > 0
    finally:
        os.close(read_fd)
        os.close(write_fd)
