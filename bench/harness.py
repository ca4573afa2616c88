"""What the benchmarks share: server processes, a raw HTTP load generator, the sandboxes' view.

Every server under test runs in its own process (so its peak RSS is its own and it has a core
to itself as far as the machine allows), and so does the load generator:

    python bench/harness.py load --port P --events N --connections C   # JSON results on stdout
    python bench/harness.py floor --port P                               # the bare route
    python bench/harness.py naive --port P                               # posts inside the request
    python bench/harness.py top --profile FILE                           # a py-spy profile's top

Why a Python load generator and not wrk: it sends each of N distinct signed bodies exactly once
(wrk runs for a duration and its per-thread Lua states make "each body once" awkward), reports
per request which call was acknowledged (needed for lost/duplicated), and runs from a clean
clone with no system package. It writes pre-built request bytes on raw keep-alive sockets and
parses only the status line and Content-Length, so on this machine it drives the floor well
past what any server here can answer: the floor row in each run shows its ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SECRET = "whsec_bench"
BOT_TOKEN = "xoxb-bench"
NOTIFY_CHANNEL = "C0BENCH"
WEBHOOK_PATH = "/qtvoice/webhooks"


# -- requests


def signed_request(port: int, envelope: Mapping[str, Any], secret: str = SECRET) -> bytes:
    """The bytes of one POST of `envelope`, signed as QTvoice signs it, with a fresh delivery id."""
    from bot.qtvoice.signing import sign
    from bot.sandbox.samples import fresh_id

    body = json.dumps(envelope, separators=(",", ":")).encode()
    head = (
        f"POST {WEBHOOK_PATH} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        "Content-Type: application/json\r\n"
        "User-Agent: QTvoice-Webhooks/1.0\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"X-QTvoice-Signature: {sign(body, secret)}\r\n"
        f"X-QTvoice-Timestamp: {int(time.time())}\r\n"
        f"X-QTvoice-Delivery-ID: {fresh_id('dlv')}\r\n"
        "\r\n"
    )
    return head.encode() + body


def missed_calls(count: int, to_numbers: list[str] | None = None) -> list[dict[str, Any]]:
    """`count` distinct call.missed envelopes, round-robin over `to_numbers` when given."""
    from bot.sandbox.samples import sample_event

    envelopes = []
    for index in range(count):
        envelope = sample_event("call.missed")
        if to_numbers:
            envelope["data"]["to"] = to_numbers[index % len(to_numbers)]
        envelopes.append(envelope)
    return envelopes


async def _read_status(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(lines[0].split()[1])


async def hammer(
    port: int, requests: list[bytes], connections: int
) -> tuple[float, list[tuple[int, float]]]:
    """Send every request once over `connections` keep-alive sockets; (seconds, [(status, s)])."""
    results: list[tuple[int, float]] = [(0, 0.0)] * len(requests)
    indexes = iter(range(len(requests)))

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for index in indexes:
                started = time.perf_counter()
                writer.write(requests[index])
                status = await _read_status(reader)
                results[index] = (status, time.perf_counter() - started)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    return time.perf_counter() - started, results


async def paced(port: int, requests: list[bytes], per_second: float) -> list[tuple[int, float]]:
    """Send requests one at a time, `per_second`; [(status, when the answer came: time.time())]."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answers = []
    try:
        for request in requests:
            writer.write(request)
            status = await _read_status(reader)
            answers.append((status, time.time()))
            await asyncio.sleep(1 / per_second)
    finally:
        writer.close()
    return answers


def run_load(
    port: int, envelopes: list[dict[str, Any]], connections: int, secret: str = SECRET
) -> dict[str, Any]:
    """Run the load generator in its own process; its JSON answer. A `secret` other than the
    bot's makes every request one the bot refuses (401)."""
    job = {"port": port, "envelopes": envelopes, "connections": connections, "secret": secret}
    done = subprocess.run(  # noqa: S603 - our own script, argv built here
        [sys.executable, __file__, "load"],
        input=json.dumps(job).encode(),
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the load generator failed:\n{done.stderr.decode(errors='replace')}")
    return dict(json.loads(done.stdout))


def _load_main() -> None:
    job = json.loads(sys.stdin.buffer.read())
    secret = job.get("secret", SECRET)
    requests = [signed_request(job["port"], envelope, secret) for envelope in job["envelopes"]]
    seconds, results = asyncio.run(hammer(job["port"], requests, job["connections"]))
    json.dump({"seconds": seconds, "results": results}, sys.stdout)


# -- servers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServerProcess:
    """A server in a child process on `port`; `peak_rss_mib()` reads its high-water mark."""

    def __init__(self, argv: list[str], port: int, env: Mapping[str, str], cwd: Path) -> None:
        self.port = port
        #: What the server logged (warnings and up): a pipe nobody reads would stall it.
        self.log = cwd / f"server-{port}.log"
        self._log_file = self.log.open("wb")
        self.process = subprocess.Popen(  # noqa: S603 - argv built by the bench itself
            argv,
            env={**os.environ, **env},
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=self._log_file,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.process.kill()
                    raise RuntimeError(f"{argv} did not start:\n{self.log.read_text()}") from None
                time.sleep(0.05)

    def peak_rss_mib(self) -> float:
        """The server's VmHWM; with several processes (WEB_CONCURRENCY) the sum of theirs.

        py-spy, when profiling, and multiprocessing's resource tracker are not the server.
        """
        total = 0
        for pid in _process_tree(self.process.pid):
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"py-spy" in command.split(b"\0")[0] or b"resource_tracker" in command:
                continue
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        return total / 1024 if total else float("nan")

    def stop(self) -> None:
        # SIGINT to the whole group: uvicorn shuts down, and py-spy (if any) writes its profile.
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self._log_file.close()

    def log_summary(self) -> str:
        """How many lines the server logged, and the last one."""
        lines = self.log.read_text(errors="replace").splitlines()
        return f"{len(lines)} log lines" + (f", last: {lines[-1][:200]}" if lines else "")


def _process_tree(pid: int) -> list[int]:
    """`pid` and every process under it."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid, *(grandchild for child in children for grandchild in _process_tree(int(child)))]


@contextmanager
def server(argv: list[str], env: Mapping[str, str], cwd: Path) -> Iterator[ServerProcess]:
    port = free_port()
    process = ServerProcess([arg.replace("{port}", str(port)) for arg in argv], port, env, cwd)
    try:
        yield process
    finally:
        process.stop()


def bot_argv(*extra: str, profile: Path | None = None) -> list[str]:
    """`serve` on {port}; under py-spy (collapsed stacks into `profile`) when given."""
    argv = [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", "{port}"]
    if profile is not None:
        py_spy = str(Path(sys.executable).with_name("py-spy"))
        argv = [
            py_spy,
            "record",
            # Sampling without stopping the server: stopping it 250 times a second slowed its
            # drain tenfold, so the profile described a different server.
            "--nonblocking",
            "--format",
            "raw",
            "--rate",
            "250",
            "-o",
            str(profile),
            "--",
            *argv,
        ]
    return [*argv, *extra]


def top_frames(collapsed: Path, count: int = 15) -> str:
    """Per process (`serve`, and any process under it), the functions with the most samples of
    its event loop's thread, inclusive and own.

    Only the loop's thread counts: py-spy also samples aiosqlite's and the inbox writer's
    threads while they block on their queues, which would drown everything else. With uvloop
    the loop itself is C: a coroutine's frames start at the coroutine, and the loop's own time
    (idle included) shows as `Runner.run`.
    """
    inclusive: dict[str, Counter[str]] = {}
    own: dict[str, Counter[str]] = {}
    totals: Counter[str] = Counter()
    for line in collapsed.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        frames = stack.split(";")
        if any("(threading.py" in frame for frame in frames):
            continue
        starts = [index for index, frame in enumerate(frames) if frame.startswith("process ")]
        process = "serve"
        if starts:
            process = "worker" if " worker " in frames[starts[-1]] else "serve"
            frames = frames[starts[-1] + 1 :] or ["?"]
        totals[process] += int(samples)
        own.setdefault(process, Counter())[frames[-1]] += int(samples)
        for frame in set(frames):
            inclusive.setdefault(process, Counter())[frame] += int(samples)
    lines = []
    for process, total in totals.items():
        lines.append(f"{process}: {total} samples of its event loop's thread; inclusive:")
        lines += [
            f"  {n / total:6.1%}  {frame}" for frame, n in inclusive[process].most_common(count)
        ]
        lines.append("own (leaf):")
        lines += [f"  {n / total:6.1%}  {frame}" for frame, n in own[process].most_common(count)]
    return "\n".join(lines)


def helper_argv(kind: str) -> list[str]:
    return [sys.executable, __file__, kind, "--port", "{port}"]


def bot_env(
    database_url: str, slack_api_url: str, qtvoice_url: str, api_key: str
) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": "bench",
        "SLACK_API_URL": slack_api_url,
        "QTVOICE_API_URL": qtvoice_url,
        "QTVOICE_API_KEY": api_key,
        "QTVOICE_WEBHOOK_SECRET": SECRET,
        "NOTIFY_CHANNEL": NOTIFY_CHANNEL,
        "RECONCILE_INTERVAL_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
    }


def prepare_database(url: str) -> None:
    """Bring the database to the latest schema and empty every table of ours."""
    from sqlalchemy import create_engine

    from bot.store.db import sync_url
    from bot.store.migrate import upgrade
    from bot.store.models import Base

    upgrade(url)
    engine = create_engine(sync_url(url))
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    engine.dispose()


def _floor_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def receive(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"status": "accepted"})

    return Starlette(routes=[Route(WEBHOOK_PATH, receive, methods=["POST"])])


def _naive_app() -> Any:
    """Verify, then post to Slack inside the request: what the bot is built not to be."""
    from slack_sdk.web.async_client import AsyncWebClient
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from bot.qtvoice.webhooks import read_webhook

    slack = AsyncWebClient(token=BOT_TOKEN, base_url=os.environ["SLACK_API_URL"])

    async def receive(request: Request) -> JSONResponse:
        webhook = read_webhook(
            await request.body(), request.headers, [SECRET], time.time(), tolerance_seconds=300
        )
        call_id = webhook.event.object_id
        await slack.chat_postMessage(
            channel=NOTIFY_CHANNEL,
            text=f"Missed call from {getattr(webhook.event, 'customer', None)}",
            metadata={
                "event_type": "qtslack_message",
                "event_payload": {"ref": f"missed_call:{call_id}"},
            },
        )
        return JSONResponse({"status": "accepted"})

    return Starlette(routes=[Route(WEBHOOK_PATH, receive, methods=["POST"])])


#: The helper servers. "floor-h11" is the floor on uvicorn's pure-Python HTTP parser and
#: asyncio's own loop, what uvicorn picks when httptools and uvloop are not installed.
HELPERS = {"floor": _floor_app, "floor-h11": _floor_app, "naive": _naive_app}


def _serve_main(kind: str, port: int) -> None:
    import uvicorn

    plain = {"http": "h11", "loop": "asyncio"} if kind == "floor-h11" else {}
    # The same uvicorn settings `serve` uses, so the floor differs from the bot only in the route.
    uvicorn.run(
        HELPERS[kind](),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        **plain,  # type: ignore[arg-type]
    )


# -- what reached Slack


def posted_refs(slack: Any) -> Counter[str]:
    """How many times each `kind:key` ref was posted (ok chat.postMessage calls)."""
    refs: Counter[str] = Counter()
    for call in slack.calls("chat.postMessage", ok=True):
        payload = (call.args.get("metadata") or {}).get("event_payload") or {}
        if "ref" in payload:
            refs[payload["ref"]] += 1
    return refs


def post_times(slack: Any) -> dict[str, float]:
    """When each ref's first successful post reached the Slack sandbox (`time.time()`)."""
    times: dict[str, float] = {}
    for call in slack.calls("chat.postMessage", ok=True):
        payload = (call.args.get("metadata") or {}).get("event_payload") or {}
        times.setdefault(payload.get("ref", ""), call.received_at)
    return times


def quantile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def machine() -> str:
    load = os.getloadavg()
    return (
        f"{os.cpu_count()} CPUs, load average {load[0]:.1f} at start, Python "
        f"{sys.version.split()[0]}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="benchmark helpers (run by ack.py and drain.py)")
    parser.add_argument("kind", choices=["load", "top", *HELPERS])
    parser.add_argument("--port", type=int)
    parser.add_argument("--profile", type=Path, help="for top: a py-spy raw profile")
    args = parser.parse_args()
    if args.kind == "load":
        _load_main()
    elif args.kind == "top":
        print(top_frames(args.profile))
    else:
        _serve_main(args.kind, args.port)


if __name__ == "__main__":
    main()
