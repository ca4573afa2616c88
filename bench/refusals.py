"""What a flood of refused webhooks costs the door, and what writing each refusal would cost.

    .venv/bin/python bench/refusals.py [--requests 5000] [--connections 64] [--writes 500]
                                       [--database-url postgresql+psycopg://…/db_the_bench_may_empty]

In one run, each figure beside its floor:
- the door under a flood: --requests webhooks signed with a wrong secret over --connections
  keep-alive connections, to the floor route (reads the body, answers) and to qtslack (`serve`
  on SQLite, and on PostgreSQL when --database-url is given): refused per second, p50/p99, and
  after the server stopped, what the refusal table holds (rows; whether the counts add up to
  the requests sent);
- `RefusalCounter.note()`, what counting one refusal costs the door: µs per call;
- the design not taken, one transaction per refusal: --writes single-refusal upserts
  (`refusals.add`) back to back on each database, per second. Writing each refusal would cap
  the door's refusals at about that rate and cost the database a commit per junk request.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
import tempfile
import time
from pathlib import Path

import harness
from sqlalchemy import create_engine, func, select

from bot.qtvoice.webhooks import BAD_SIGNATURE
from bot.sandbox.qtvoice import QTvoiceSandbox
from bot.sandbox.slack import DEFAULT_CHANNELS, SlackRecorder
from bot.store import refusals
from bot.store.db import create_engine as create_async_engine
from bot.store.db import create_sessionmaker, sync_url
from bot.store.models import WebhookRefusal, utcnow

WRONG_SECRET = "whsec_not_the_bots"


Door = tuple[str, float, float, float, int]


def flood(
    name: str, argv: list[str], env: dict[str, str], workdir: Path, args: argparse.Namespace
) -> Door:
    """(name, answered per second, p50 ms, p99 ms, answers neither 401 nor the floor's 200)."""
    with harness.server(argv, env, workdir) as process:
        envelopes = harness.missed_calls(args.requests)
        answer = harness.run_load(process.port, envelopes, args.connections, WRONG_SECRET)
        log = process.log_summary()
    results = answer["results"]
    refused = [seconds for status, seconds in results if status in (401, 200)]
    others = len(results) - len(refused)
    print(f"{name}: server {log}")
    return (
        name,
        len(refused) / answer["seconds"],
        harness.quantile(refused, 0.5) * 1000,
        harness.quantile(refused, 0.99) * 1000,
        others,
    )


def stored(url: str) -> tuple[int, int]:
    """Rows in the refusal table, and the sum of their counts."""
    engine = create_engine(sync_url(url))
    with engine.connect() as connection:
        rows = connection.scalar(select(func.count()).select_from(WebhookRefusal)) or 0
        total = connection.scalar(select(func.coalesce(func.sum(WebhookRefusal.count), 0)))
    engine.dispose()
    return int(rows), int(total or 0)


async def note_cost(url: str, notes: int) -> float:
    """Microseconds per `RefusalCounter.note()` call, the writes it starts left out."""
    engine = create_async_engine(url)
    counter = refusals.RefusalCounter(create_sessionmaker(engine))
    try:
        started = time.perf_counter()
        for _ in range(notes):
            counter.note(BAD_SIGNATURE)
        seconds = time.perf_counter() - started
        await counter.close()
    finally:
        await engine.dispose()
    return seconds / notes * 1e6


async def write_each(url: str, writes: int) -> float:
    """Single-refusal upsert transactions per second, back to back."""
    engine = create_async_engine(url)
    sessions = create_sessionmaker(engine)
    try:
        started = time.perf_counter()
        for _ in range(writes):
            now = utcnow()
            async with sessions() as session:
                await refusals.add(
                    session, {(BAD_SIGNATURE, refusals.hour_of(now)): refusals.Tally(1, now, None)}
                )
        return writes / (time.perf_counter() - started)
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--writes", type=int, default=500)
    parser.add_argument("--notes", type=int, default=200_000)
    parser.add_argument("--database-url", help="a PostgreSQL database the bench may empty")
    args = parser.parse_args()

    print("command:", shlex.join([".venv/bin/python", "bench/refusals.py", *sys.argv[1:]]))
    print("machine:", harness.machine())
    print(
        f"flood: {args.requests} webhooks signed with a wrong secret over"
        f" {args.connections} connections"
    )
    channels = {**DEFAULT_CHANNELS, harness.NOTIFY_CHANNEL: "bench"}
    doors: list[Door] = []
    tables: list[tuple[str, int, int]] = []
    writes: list[tuple[str, float]] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        QTvoiceSandbox() as qtvoice,
        SlackRecorder(harness.BOT_TOKEN, channels=channels) as slack,
    ):
        workdir = Path(tmp)
        floor_argv = harness.helper_argv("floor")
        doors.append(flood("floor (read body, 200)", floor_argv, {}, workdir, args))
        databases = [("SQLite", f"sqlite:///{workdir / 'bench.db'}")]
        if args.database_url:
            databases.append(("PostgreSQL", args.database_url))
        for label, url in databases:
            harness.prepare_database(url)
            env = harness.bot_env(url, slack.api_url, qtvoice.url, qtvoice.api_key)
            doors.append(flood(f"qtslack, {label}", harness.bot_argv(), env, workdir, args))
            tables.append((label, *stored(url)))
            harness.prepare_database(url)
            writes.append((label, asyncio.run(write_each(url, args.writes))))
        micros = asyncio.run(note_cost(databases[0][1], args.notes))

    floor = doors[0]
    print(f"\n{'door':<26} {'refused/s':>10} {'x floor':>7} {'p50':>8} {'p99':>8} {'other':>6}")
    for name, per_second, p50, p99, others in doors:
        print(
            f"{name:<26} {per_second:>10,.0f} {per_second / floor[1]:>7.2f}"
            f" {p50:>6,.1f}ms {p99:>6,.1f}ms {others:>6}"
        )
    print(f"\nRefusalCounter.note(): {micros:.2f} µs per refusal ({args.notes:,} calls)")
    for (label, rows, total), (_, per_second) in zip(tables, writes, strict=True):
        adds_up = "yes" if total == args.requests else f"no ({total} of {args.requests})"
        door = next(row[1] for row in doors if row[0].endswith(label))
        print(
            f"{label}: the flood left {rows} row(s), counts add up: {adds_up};"
            f" one transaction per refusal instead: {per_second:,.0f}/s"
            f" (the door refused {door / per_second:.1f}x that)"
        )


if __name__ == "__main__":
    main()
