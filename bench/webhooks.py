"""Webhook intake and delivery, measured beside a baseline in the same run.

    python bench/webhooks.py [--events 500] [--concurrency 20] [--database-url URL]

Sends signed `call.missed` webhooks to the real app (SQLite, worker in-process, both
sandboxes on loopback) and prints:
- intake: requests/s and p50/p95/p99 latency of POST /qtvoice/webhooks until the 200;
- baseline: the same requests against a bare Starlette endpoint that only reads the body,
  so the figures say what verifying and storing durably cost on this machine;
- delivery: seconds until every event reached the Slack recorder, and posts per second;
- the process's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.config import Settings
from bot.qtvoice.signing import sign
from bot.runtime import Runtime
from bot.sandbox.qtvoice import QTvoiceSandbox
from bot.sandbox.samples import sample_event
from bot.sandbox.server import BackgroundServer
from bot.sandbox.slack import SlackRecorder
from bot.store.db import is_sqlite
from bot.store.migrate import upgrade
from bot.web import create_app

SECRET = "whsec_bench"


def baseline_app() -> Starlette:
    async def receive(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"status": "accepted"})

    return Starlette(routes=[Route("/qtvoice/webhooks", receive, methods=["POST"])])


async def fire(url: str, events: int, concurrency: int) -> tuple[float, list[float]]:
    """Send `events` signed webhooks, `concurrency` at a time; (seconds, latencies)."""
    bodies = [json.dumps(sample_event("call.missed")).encode() for _ in range(events)]
    latencies: list[float] = []
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def one(body: bytes) -> None:
            async with gate:
                headers = {
                    "Content-Type": "application/json",
                    "X-QTvoice-Signature": sign(body, SECRET),
                    "X-QTvoice-Timestamp": str(int(time.time())),
                }
                started = time.perf_counter()
                response = await client.post(url, content=body, headers=headers)
                latencies.append(time.perf_counter() - started)
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(one(body) for body in bodies))
        return time.perf_counter() - started, latencies


def describe(name: str, seconds: float, latencies: list[float]) -> str:
    cuts = statistics.quantiles(latencies, n=100)
    return (
        f"{name:<26} {len(latencies) / seconds:8.0f} req/s   p50 {cuts[49] * 1000:6.1f} ms"
        f"   p95 {cuts[94] * 1000:6.1f} ms   p99 {cuts[98] * 1000:6.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument(
        "--database-url", help="an empty database to use (default: a throwaway SQLite file)"
    )
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory() as workdir,
        QTvoiceSandbox() as qtvoice,
        SlackRecorder(bot_token="xoxb-bench") as slack,
        BackgroundServer(baseline_app()) as baseline,
    ):
        database_url = args.database_url or f"sqlite:///{Path(workdir) / 'bench.db'}"
        upgrade(database_url)
        settings = Settings(
            _env_file=None,
            slack_bot_token="xoxb-bench",
            slack_signing_secret="bench",
            qtvoice_api_key=qtvoice.api_key,
            qtvoice_webhook_secret=SECRET,
            notify_channel="C0BENCH",
            slack_api_url=slack.api_url,
            qtvoice_api_url=qtvoice.url,
            database_url=database_url,
            reconcile_interval_seconds=0,
            log_level="WARNING",
        )
        with BackgroundServer(create_app(Runtime.create(settings))) as bot:
            engine = "SQLite" if is_sqlite(database_url) else "PostgreSQL"
            print(
                f"{args.events} signed call.missed webhooks, {args.concurrency} at a time, {engine}"
            )
            seconds, latencies = asyncio.run(
                fire(f"{baseline.url}/qtvoice/webhooks", args.events, args.concurrency)
            )
            print(describe("baseline (read body, 200)", seconds, latencies))
            started = time.perf_counter()
            seconds, latencies = asyncio.run(
                fire(f"{bot.url}/qtvoice/webhooks", args.events, args.concurrency)
            )
            print(describe("qtslack (verify + store)", seconds, latencies))
            slack.wait_for(
                lambda: len(slack.calls("chat.postMessage", ok=True)) >= args.events, timeout=300
            )
            delivered = time.perf_counter() - started
            print(
                f"{'delivery to Slack':<26} {args.events / delivered:8.0f} posts/s "
                f"({delivered:.1f} s until all {args.events} were posted)"
            )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'peak RSS (whole run)':<26} {peak:8.0f} MiB")


if __name__ == "__main__":
    main()
