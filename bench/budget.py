"""QTvoice requests spent in a simulated busy hour, beside the same hour without the copy.

    python bench/budget.py [--calls 300] [--numbers 50] [--texts 100] [--voicemails 40]

The real app (SQLite, worker in-process) against both sandboxes on loopback. In the hour:
`--calls` missed calls from `--numbers` distinct numbers (a few of them contacts),
`--texts` inbound texts and `--voicemails` voicemails arrive as webhooks and are in QTvoice's
lists too, and reconciliation runs every five minutes (its twelve ticks driven on a clock the
bench moves, so the hour takes seconds). Printed per run: requests by endpoint, the total,
and what was left of the hour's 1,000 (read from X-RateLimit-Remaining by one probe after
the hour; 0 would mean 429s); first with `CONTACT_SYNC_MINUTES=60` (the directory copied at
the top of the hour), then the baseline with it off (one lookup per new caller).
The issue's bar: under 100 requests and no 429 with the copy on.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections import Counter
from datetime import timedelta
from pathlib import Path

from bot.config import Settings
from bot.directory import sync_contacts
from bot.reconcile import reconcile
from bot.runtime import Runtime
from bot.sandbox.qtvoice import QTvoiceSandbox, send_webhook
from bot.sandbox.samples import MAIN_LINE, sample_event
from bot.sandbox.server import BackgroundServer
from bot.sandbox.slack import SlackRecorder
from bot.store.migrate import upgrade
from bot.store.models import utcnow
from bot.web import create_app

SECRET = "whsec_bench"
SIGNING = "bench_signing_secret"
TOKEN = "xoxb-bench"
CHANNEL = "C0BENCH"
RECONCILE_SECONDS = 300


def numbers(count: int) -> list[str]:
    return [f"+1267555{n:04d}" for n in range(count)]


async def busy_hour(args: argparse.Namespace, *, sync_minutes: int) -> tuple[Counter[str], int]:
    """Run the hour once; the QTvoice requests it cost by endpoint, and what was left."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        QTvoiceSandbox() as qtvoice,
        SlackRecorder(bot_token=TOKEN) as slack,
    ):
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        settings = Settings(
            _env_file=None,
            slack_bot_token=TOKEN,
            slack_signing_secret=SIGNING,
            qtvoice_api_key=qtvoice.api_key,
            qtvoice_webhook_secret=SECRET,
            notify_channel=CHANNEL,
            slack_api_url=slack.api_url,
            qtvoice_api_url=qtvoice.url,
            database_url=url,
            reconcile_interval_seconds=0,  # the bench ticks it, on its own clock
            contact_sync_minutes=sync_minutes,
        )
        start = utcnow()
        callers = numbers(args.numbers)
        for n, number in enumerate(callers[:5]):
            qtvoice.state.add_contact(f"Client{n}", "Bench", phone=number)
        runtime = Runtime.create(settings)
        server = BackgroundServer(create_app(Runtime.create(settings))).start()
        try:
            qtvoice.state.clear_requests()
            if sync_minutes:
                await sync_contacts(runtime, start)
            webhooks = f"{server.url}/qtvoice/webhooks"
            for n in range(args.calls):
                call = qtvoice.state.add_call(callers[n % len(callers)], MAIN_LINE, status="missed")
                send_webhook(webhooks, sample_event("call.missed", **call), SECRET)
            for n in range(args.texts):
                number = callers[n % len(callers)]
                sms = qtvoice.state.add_sms(number, MAIN_LINE, f"Text {n}")
                envelope = sample_event("sms.received", **sms)
                send_webhook(webhooks, envelope, SECRET)
            for n in range(args.voicemails):
                vm = qtvoice.state.add_voicemail(callers[n % len(callers)], MAIN_LINE)
                send_webhook(webhooks, sample_event("voicemail.new", **vm), SECRET)
            for tick in range(1, 3600 // RECONCILE_SECONDS + 1):
                now = start + timedelta(seconds=tick * RECONCILE_SECONDS)
                await reconcile(runtime.qtvoice, runtime.sessions, RECONCILE_SECONDS, now)
            threads = min(args.texts, len(callers))  # one conversation per number, then replies
            expected = args.calls + args.voicemails + args.texts + threads
            slack.wait_for(lambda: len(slack.calls("chat.postMessage", ok=True)) >= expected, 120)
            spent = Counter(_endpoint(request.path) for request in qtvoice.state.requests())
            await runtime.qtvoice.list_extensions()  # the probe
            budget = runtime.qtvoice.rate_limit
            left = (budget.remaining + 1) if budget and budget.remaining is not None else -1
        finally:
            server.stop()
            await runtime.close()
        return spent, left


def _endpoint(path: str) -> str:
    """`/contacts/lookup`, `/calls`: the path without ids."""
    parts = path.split("?")[0].strip("/").split("/")
    return "/" + "/".join(parts[:2] if parts[:2] == ["contacts", "lookup"] else parts[:1])


def report(title: str, result: tuple[Counter[str], int]) -> None:
    spent, left = result
    by_endpoint = ", ".join(f"{path} {count}" for path, count in sorted(spent.items()))
    print(f"{title}: {sum(spent.values())} requests ({by_endpoint}); {left} of 1000 left")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--numbers", type=int, default=50)
    parser.add_argument("--texts", type=int, default=100)
    parser.add_argument("--voicemails", type=int, default=40)
    args = parser.parse_args()
    report(
        "with the contact copy (CONTACT_SYNC_MINUTES=60)",
        asyncio.run(busy_hour(args, sync_minutes=60)),
    )
    report(
        "baseline, lookups per caller (CONTACT_SYNC_MINUTES=0)",
        asyncio.run(busy_hour(args, sync_minutes=0)),
    )


if __name__ == "__main__":
    main()
