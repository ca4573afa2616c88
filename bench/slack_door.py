"""What a huge body costs `/slack/events` before it is refused, beside a baseline that reads it.

    python bench/slack_door.py [--mib 256]

Streams a body of `--mib` MiB over a raw socket in 64 KiB chunks, stopping as soon as the
answer arrives, and prints for each case: the status, seconds until the answer, MiB the client
got to send before it, and how much the process's peak RSS grew (server and client share the
process; the client holds one chunk). Cases: unsigned with Content-Length; unsigned, chunked;
signed-looking headers with a wrong signature, chunked (the door must count while reading).
The baseline is a bare Starlette route doing `await request.body()`, as the route did before
the door (Bolt's adapter read the whole body, then verified).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.config import Settings
from bot.runtime import Runtime
from bot.sandbox.server import BackgroundServer
from bot.store.migrate import upgrade
from bot.web import create_app

CHUNK = b"x" * 65536


def baseline_app() -> Starlette:
    async def events(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"error": "invalid request"}, 401)

    return Starlette(routes=[Route("/slack/events", events, methods=["POST"])])


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def stream(port: int, size: int, headers: str, chunked: bool) -> tuple[str, float, float]:
    """Send a POST of `size` bytes until the server answers; (status, seconds, MiB sent)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    writer.write(
        f"POST /slack/events HTTP/1.1\r\nHost: bench\r\n{headers}{framing}\r\n\r\n".encode()
    )
    started = time.perf_counter()
    answer = asyncio.ensure_future(reader.readline())
    sent = 0
    try:
        while sent < size and not answer.done():
            piece = CHUNK[: min(len(CHUNK), size - sent)]
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            await writer.drain()
            sent += len(piece)
        if chunked and not answer.done():
            writer.write(b"0\r\n\r\n")
            await writer.drain()
    except ConnectionError:
        pass
    status_line = await answer
    seconds = time.perf_counter() - started
    writer.close()
    return status_line.decode().split(" ")[1], seconds, sent / 2**20


def report(name: str, port: int, size: int, headers: str, chunked: bool) -> None:
    before = peak_rss_mib()
    status, seconds, sent = asyncio.run(stream(port, size, headers, chunked))
    grown = peak_rss_mib() - before
    print(
        f"{name:<44} {status}  {seconds:7.3f} s  sent {sent:7.1f} MiB  peak RSS +{grown:6.1f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=256)
    size = parser.parse_args().mib * 2**20
    stale_looking = (
        f"X-Slack-Request-Timestamp: {int(time.time())}\r\nX-Slack-Signature: v0={'0' * 64}\r\n"
    )

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        settings = Settings(
            _env_file=None,
            slack_bot_token="xoxb-bench",
            slack_signing_secret="bench-signing-secret",
            qtvoice_api_key="qtv_bench",
            qtvoice_webhook_secret="whsec_bench",
            notify_channel="C0BENCH",
            database_url=url,
            reconcile_interval_seconds=0,
        )
        print(
            f"body {size / 2**20:.0f} MiB, streamed in 64 KiB chunks; starting RSS {peak_rss_mib():.0f} MiB"
        )
        with BackgroundServer(create_app(Runtime.create(settings), run_worker=False)) as bot:
            report("door: unsigned, Content-Length", bot.port, size, "", chunked=False)
            report("door: unsigned, chunked", bot.port, size, "", chunked=True)
            report("door: wrong signature, chunked", bot.port, size, stale_looking, chunked=True)
        with BackgroundServer(baseline_app()) as base:
            report("baseline: read whole, then refuse", base.port, size, "", chunked=False)


if __name__ == "__main__":
    main()
