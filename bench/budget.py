"""A busy hour against QTvoice's 1,000 requests an hour: what does the bot spend?

    python bench/budget.py [--calls 300] [--numbers 50] [--texts 100] [--voicemails 40]
                           [--known 10] [--minutes 60] [--reconcile-interval 300] [--seed N]
                           [--database-url URL]

Starts `python -m bot serve` against the QTvoice and Slack sandboxes and plays one office hour
minute by minute: `--calls` missed calls, `--texts` texts and `--voicemails` voicemails (each a
`call.voicemail`, `voicemail.new`, then `voicemail.transcribed` with its transcript up to two
minutes later), all from `--numbers` callers of whom `--known` are QTvoice contacts, at random
moments of the hour. Each item is put in the QTvoice sandbox's history (so reconciliation finds
it) and sent as QTvoice's signed webhooks; each simulated minute ends when the worker has
delivered everything. At each `--reconcile-interval` the bench runs the bot's reconcile job,
the function and arguments the scheduler uses, as the scheduler would.

The clock is compressed, not driven: the bot reads the wall clock (`utcnow()`, APScheduler),
so the hour plays in a few minutes of real time, each simulated minute as long as its delivery
takes. The one figure that changes is reconciliation's window (`2 x interval` of real time),
which then covers the whole run instead of the last ten minutes: its paging over missed calls
(`GET /calls`, 100 a page) is an upper bound of the real hour's.

It prints the QTvoice requests the bot spent beside the target (under 100, never a 429), the
busiest minute, and where the requests went, by endpoint and by cause (delivery or
reconciliation). QTvoice's sandbox is the judge: it counts every request it answers.
The exit status is 0 when the target is met, 3 when it is not.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import shlex
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from _common import (
    WEBHOOK_SECRET,
    BotProcess,
    SandboxErrors,
    bot_environment,
    exit_on_sigterm,
    fresh_database,
)
from sqlalchemy import create_engine, text

from bot.config import Settings
from bot.qtvoice.signing import sign
from bot.reconcile import reconcile
from bot.runtime import Runtime
from bot.sandbox.qtvoice import API_PREFIX, DEFAULT_RATE_LIMIT, QTvoiceApi, QTvoiceState
from bot.sandbox.samples import MAIN_LINE, SAMPLE_TRANSCRIPTION, fresh_id, iso_timestamp
from bot.sandbox.server import BackgroundServer
from bot.sandbox.slack import SlackRecorder
from bot.store.db import sync_url

TARGET = 100
#: An id in a path (`/contacts/contact_3f9a…`) is grouped as `{id}`.
_ID_SEGMENT = re.compile(r"/(?:call|sms|vm|contact|ext)_[^/]+")


# --- the QTvoice sandbox, counted -----------------------------------------------------------


@dataclass(frozen=True)
class Spent:
    """One request QTvoice answered: when (simulated minute), why, what, and its status."""

    minute: int
    cause: str
    method: str
    path: str
    status: int


class Meter:
    """ASGI middleware around the sandbox's API: records each request with its status."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.minute = 0
        self.cause = "delivery"
        self.spent: list[Spent] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        minute, cause = self.minute, self.cause

        async def counted(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                path = _ID_SEGMENT.sub("/{id}", scope["path"].removeprefix(API_PREFIX))
                self.spent.append(Spent(minute, cause, scope["method"], path, message["status"]))
            await send(message)

        await self.app(scope, receive, counted)


# --- the hour -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Moment:
    """Something that happens at `second` of the hour: `kind` from `caller` (the nth of it)."""

    second: float
    kind: str  # "call", "text", "voicemail" or "transcript"
    caller: str
    nth: int


def plan_hour(args: argparse.Namespace, rng: random.Random) -> tuple[list[str], list[Moment]]:
    """The callers, and everything of the hour in order (a transcript after its voicemail)."""
    numbers = [f"+1267555{index:04d}" for index in range(args.numbers)]
    moments = []
    for kind, count in (("call", args.calls), ("text", args.texts), ("voicemail", args.voicemails)):
        for nth in range(count):
            second, caller = rng.uniform(0, args.minutes * 60 - 2), rng.choice(numbers)
            moments.append(Moment(second, kind, caller, nth))
            if kind == "voicemail":
                later = min(second + rng.uniform(20, 120), args.minutes * 60 - 1)
                moments.append(Moment(later, "transcript", caller, nth))
    return numbers, sorted(moments, key=lambda moment: moment.second)


class Office:
    """Plays each moment as QTvoice would: into its history first, then as signed webhooks."""

    def __init__(self, state: QTvoiceState, client: httpx.Client, url: str) -> None:
        self.state, self.client, self.url = state, client, url
        self.voicemails: dict[int, dict[str, Any]] = {}
        self.webhooks = 0

    def play(self, moment: Moment) -> None:
        state = self.state
        if moment.kind == "call":
            self.send("call.missed", state.add_call(moment.caller, MAIN_LINE, status="missed"))
        elif moment.kind == "text":
            text = f"Text {moment.nth}: are you open today?"
            self.send("sms.received", state.add_sms(moment.caller, MAIN_LINE, text))
        elif moment.kind == "voicemail":
            voicemail = state.add_voicemail(moment.caller, MAIN_LINE, duration=42)
            self.voicemails[moment.nth] = voicemail
            call = next(c for c in state.calls() if c["id"] == voicemail["callId"])
            self.send("call.voicemail", call)
            self.send("voicemail.new", voicemail)
        else:
            voicemail = {**self.voicemails[moment.nth], "transcription": SAMPLE_TRANSCRIPTION}
            with state.lock:  # the sandbox has no setter for a transcript that arrives later
                state.data.voicemails[voicemail["id"]]["transcription"] = SAMPLE_TRANSCRIPTION
            self.send("voicemail.transcribed", voicemail)

    def send(self, event: str, data: dict[str, Any]) -> None:
        envelope = {"event": event, "timestamp": iso_timestamp(), "data": data}
        body = json.dumps(envelope).encode()
        headers = {
            "Content-Type": "application/json",
            "X-QTvoice-Signature": sign(body, WEBHOOK_SECRET),
            "X-QTvoice-Timestamp": str(int(time.time())),
            "X-QTvoice-Delivery-ID": fresh_id("dlv"),
        }
        response = self.client.post(self.url, content=body, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"{event} answered {response.status_code}: {response.text}")
        self.webhooks += 1


def wait_drained(database_url: str, alive: Callable[[], bool], timeout: float = 60) -> None:
    """Until the worker has finished every stored event."""
    engine = create_engine(sync_url(database_url))
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as connection:
                pending = connection.scalar(
                    text("SELECT count(*) FROM inbox WHERE state = 'pending'")
                )
            if not pending:
                return
            if not alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{pending} events still pending after {timeout:.0f} s")
            time.sleep(0.05)
    finally:
        engine.dispose()


async def reconcile_once(settings: Settings, interval: int) -> int:
    """The scheduler's reconcile job, with the scheduler's arguments, run once."""
    runtime = Runtime.create(settings)
    try:
        return await reconcile(runtime.qtvoice, runtime.sessions, interval)
    finally:
        await runtime.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="missed calls")
    parser.add_argument("--numbers", type=int, default=50, help="distinct callers")
    parser.add_argument("--known", type=int, default=10, help="callers who are QTvoice contacts")
    parser.add_argument("--texts", type=int, default=100)
    parser.add_argument("--voicemails", type=int, default=40)
    parser.add_argument("--minutes", type=int, default=60, help="length of the busy spell")
    parser.add_argument("--reconcile-interval", type=int, default=300, help="seconds; 0: off")
    parser.add_argument("--seed", type=int, default=None, help="default: a new one, printed")
    parser.add_argument("--database-url", help="an empty database (default: a new SQLite file)")
    args = parser.parse_args()
    exit_on_sigterm()
    seed = args.seed if args.seed is not None else random.randrange(1, 10**6)
    command = ["python", "bench/budget.py", "--seed", str(seed)]
    for name in (
        "calls",
        "numbers",
        "known",
        "texts",
        "voicemails",
        "minutes",
        "reconcile_interval",
    ):
        if getattr(args, name) != parser.get_default(name):
            command += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    if args.database_url:
        command += ["--database-url", args.database_url]
    rng = random.Random(seed)

    state = QTvoiceState("qtv_bench_key", None)
    meter = Meter(QTvoiceApi(state).app)
    with (
        tempfile.TemporaryDirectory() as workdir,
        BackgroundServer(meter) as qtvoice_server,
        SlackRecorder(bot_token="xoxb-bench-token") as slack,
    ):
        sandbox_errors = SandboxErrors().install()
        database_url = fresh_database(args.database_url, Path(workdir))
        environment = bot_environment(
            database_url,
            f"{qtvoice_server.url}{API_PREFIX}",
            state.api_key,
            slack.api_url,
            reconcile_interval_seconds="0",  # the bench plays the scheduler (see above)
        )
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            **{name.lower(): value for name, value in environment.items()},
        )
        numbers, moments = plan_hour(args, rng)
        for index, number in enumerate(numbers[: args.known]):
            state.add_contact(f"Caller{index}", "Known", company="Acme Inc", phone=number)
        reconciled = 0
        started = time.monotonic()
        with BotProcess(environment, Path(workdir)) as bot, httpx.Client(timeout=30) as client:
            office = Office(state, client, f"{bot.url}/qtvoice/webhooks")
            # Starting the bot (its health checks) is not the bot's spending either.
            meter.spent.clear()
            pending = list(moments)
            for minute in range(args.minutes):
                meter.minute, meter.cause = minute, "delivery"
                while pending and pending[0].second < (minute + 1) * 60:
                    office.play(pending.pop(0))
                wait_drained(database_url, lambda: bot.alive)
                end = (minute + 1) * 60
                interval = args.reconcile_interval
                if interval and end % interval < 60 and end >= interval:
                    meter.cause = "reconcile"
                    reconciled += asyncio.run(reconcile_once(settings, interval))
                    meter.cause = "delivery"
                    wait_drained(database_url, lambda: bot.alive)
        seconds = time.monotonic() - started
        posts = len(slack.calls("chat.postMessage", ok=True))

    spent = meter.spent
    per_minute = Counter(item.minute for item in spent)
    peak_minute, peak = per_minute.most_common(1)[0] if per_minute else (0, 0)
    throttled = sum(1 for item in spent if item.status == 429)
    runs = args.minutes * 60 // args.reconcile_interval if args.reconcile_interval else 0
    print(
        f"{args.minutes} busy minutes: {args.calls} missed calls from {args.numbers} numbers ({args.known} known "
        f"contacts), {args.texts} texts, {args.voicemails} voicemails with transcripts; "
        f"reconcile every {args.reconcile_interval} s ({runs} runs); seed {seed}"
    )
    print(
        f"played in {seconds:.0f} s real time: {office.webhooks} webhooks, {posts} Slack posts, "
        f"{reconciled} events found only by reconciliation"
    )
    verdict = "met" if len(spent) < TARGET and not throttled else "NOT met"
    print(
        f"QTvoice requests spent: {len(spent)}   peak {peak} in one minute (minute {peak_minute})"
        f"   429s: {throttled}   target: under {TARGET}, no 429 ({verdict}; QTvoice allows "
        f"{DEFAULT_RATE_LIMIT} an hour per key)"
    )
    by_endpoint = Counter((item.cause, item.method, item.path) for item in spent)
    for (cause, method, path), count in sorted(by_endpoint.items(), key=lambda kv: -kv[1]):
        print(f"  {count:>5}  {method} {path}  ({cause})")
    print(sandbox_errors.summary())
    print(f"reproduce: {shlex.join(command)}")
    return 0 if verdict == "met" else 3


if __name__ == "__main__":
    sys.exit(main())
