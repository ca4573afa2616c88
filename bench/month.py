"""Cost as work grows: weeks of a busy office, a simulated day at a time, in minutes.

    .venv/bin/python bench/month.py [--days 42] [--calls 300] [--voicemails 80] [--texts 600]
                                    [--lines 10] [--people 40] [--contacts 5000] [--probes 4]
                                    [--database-url postgresql+psycopg://…/db_the_bench_may_empty]

`serve` (with its worker) runs against the QTvoice and Slack sandboxes. Each simulated day:
- QTvoice sends the day's webhooks (signed, over 16 connections): `--calls` missed calls,
  `--voicemails` voicemails (`voicemail.new`, then `voicemail.transcribed` with the same id)
  and `--texts` texts, across `--lines` lines, from callers drawn from `--contacts` contacts
  (all of them in QTvoice's directory); the bench waits until the worker delivered them all;
- `--probes` times each: `/qtvoice history <a caller>` (the command until its answer reaches
  the response URL), App Home opened by a linked person (until `views.publish` reaches
  Slack), and a reply in a text's thread (until the text reaches QTvoice's `POST /sms`);
- the clock moves one day: every stored time is moved one day back (the bot reads the wall
  clock, so the data ages instead; on PostgreSQL the rows this rewrites are then vacuumed).
  `serve`'s own leader then escalates what fell due (and sends reminders) as it does any
  day, and the bench waits until every due item is escalated (or given back until the next
  tick: no copy in Slack yet); the leader's jobs that follow the wall clock (the digest at
  `DIGEST_AT`, retention hourly) are run by the bench as the leader runs them. (Running
  escalation in the bench too made two processes race for each item's claim: SQLite's
  lock, not the work.)

The sandboxes stand in for a day, not for seconds: QTvoice's hourly request budget is given
a day's worth each simulated day (else the day's contact lookups, compressed into seconds, run
out of it and post bare numbers), and the Slack sandbox answers without Slack's 1 post a second
per channel (the bot paces a channel once Slack says 429): this bench is about what work costs
as it grows, not about either service's rates (`bench/drain.py` is about Slack's).

Retention keeps 30 days (the inbox, handled items), so the database grows for 30 simulated
days and must then stay flat: the default runs six weeks. Per simulated week it prints the
database's size, its largest tables (rows), `serve`'s RSS (web process + worker, now and peak)
and the p99 of each probe, then the wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import harness
from _common import exit_on_sigterm
from sqlalchemy import DateTime, create_engine, func, literal_column, or_, select, text, update
from sqlalchemy.exc import OperationalError

from bot.config import Settings, load_settings
from bot.delivery.digest import send_digests
from bot.delivery.followup import ESCALATION_HORIZON
from bot.runtime import Runtime
from bot.sandbox.qtvoice import DEFAULT_RATE_LIMIT, QTvoiceSandbox
from bot.sandbox.samples import fresh_id, sample_event
from bot.sandbox.slack import DEFAULT_CHANNELS, SlackDriver, SlackRecorder
from bot.scheduler import prune
from bot.store.db import sync_url
from bot.store.models import Base, InboxEvent, OpenItem, utcnow

SIGNING_SECRET = "bench"  # harness.bot_env's SLACK_SIGNING_SECRET

#: QTvoice's request budget is per hour (`DEFAULT_RATE_LIMIT`): a simulated day gets a day's.
HOURS_A_DAY = 24

ESCALATE_AFTER_MINUTES = 15

#: The admin who links the bench's people to extensions.
LINKING_ADMIN = "U0ADMIN"


def numbers(count: int, prefix: str) -> list[str]:
    """`count` distinct valid US numbers (NANP 555-01xx are fictional; area codes vary)."""
    areas = ["215", "267", "312", "415", "503", "617", "646", "702", "713", "919"]
    return [f"+1{areas[i % len(areas)]}{prefix}{i // len(areas):04d}" for i in range(count)]


def day_of_webhooks(args: argparse.Namespace, callers: list[str], lines: list[str]) -> list[Any]:
    """One day's envelopes in a shuffled order (a voicemail's transcript after its `new`)."""
    pick = random.choice
    first: list[dict[str, Any]] = []
    later: list[dict[str, Any]] = []
    for _ in range(args.calls):
        first.append(sample_event("call.missed", from_=pick(callers), to=pick(lines)))
    for _ in range(args.texts):
        first.append(sample_event("sms.received", from_=pick(callers), to=pick(lines)))
    for _ in range(args.voicemails):
        caller, line, voicemail = pick(callers), pick(lines), fresh_id("vm")
        first.append(sample_event("voicemail.new", id=voicemail, from_=caller, to=line))
        later.append(sample_event("voicemail.transcribed", id=voicemail, from_=caller, to=line))
    random.shuffle(first)
    return first + later


def pending(engine: Any) -> int:
    with engine.connect() as connection:
        return int(
            connection.scalar(
                select(func.count()).where(InboxEvent.state.in_(("pending", "claimed")))
            )
            or 0
        )


def wait_delivered(engine: Any, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while pending(engine) and time.monotonic() < deadline:
        time.sleep(0.2)


#: Tries at ageing the database, which PostgreSQL may end as a deadlock's victim.
AGEING_TRIES = 5


def age_one_day(engine: Any) -> None:
    """Move every stored time one day back: to the bot, one day passes. On PostgreSQL the
    whole-table updates can deadlock with `serve`'s leader claiming items (rows taken in
    another order); the loser is rolled back, and the ageing is tried again."""
    for attempt in range(1, AGEING_TRIES + 1):
        try:
            _age_one_day(engine)
            break
        except OperationalError as error:
            if "deadlock" not in str(error) or attempt == AGEING_TRIES:
                raise
            time.sleep(0.2 * attempt)
    if engine.dialect.name == "postgresql":
        vacuum(engine)


def vacuum(engine: Any) -> None:
    """PostgreSQL: make the row versions the ageing left dead reusable, as autovacuum would.

    The ageing rewrites every row of every table each simulated day, which no deployment does;
    on a server with autovacuum off (`SHOW autovacuum`) the database would grow by a full copy
    a day and its size would measure the bench, not the bot.
    """
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM"))


def _age_one_day(engine: Any) -> None:
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as connection:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if c.type._type_affinity is DateTime]
            if not columns:
                continue
            if postgres:
                moves = {c.name: c - literal_column("interval '1 day'") for c in columns}
            else:  # SQLAlchemy stores "YYYY-MM-DD HH:MM:SS.ffffff": keep the fraction
                moves = {
                    c.name: func.strftime("%Y-%m-%d %H:%M:%S", c, "-1 day").op("||")(
                        func.substr(c, 20)
                    )
                    for c in columns
                }
            connection.execute(update(table).values(moves))


def database_size(engine: Any, url: str) -> float:
    """MiB: the SQLite file and its WAL, or PostgreSQL's database size."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            size = connection.scalar(text("SELECT pg_database_size(current_database())"))
        return float(size) / 2**20
    path = Path(url.removeprefix("sqlite:///"))
    wal = path.with_name(path.name + "-wal")
    return (path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)) / 2**20


def largest_tables(engine: Any, count: int = 4) -> str:
    with engine.connect() as connection:
        rows = {
            table.name: int(connection.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
        }
    top = sorted(rows.items(), key=lambda item: -item[1])[:count]
    return ", ".join(f"{name} {rows:,}" for name, rows in top)


def rss_mib(pid: int) -> tuple[float, float]:
    """(now, peak) resident MiB of `pid` and its children (serve's web process + worker)."""
    now = peak = 0
    for each in harness._process_tree(pid):
        for line in Path(f"/proc/{each}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                now += int(line.split()[1])
            elif line.startswith("VmHWM:"):
                peak += int(line.split()[1])
    return now / 1024, peak / 1024


def timed(start: Callable[[], Any], done: Callable[[], bool], timeout: float = 30) -> float:
    """Seconds from `start()` until `done()`; NaN if it never is."""
    began = time.perf_counter()
    start()
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            return float("nan")
        time.sleep(0.002)
    return time.perf_counter() - began


class Probes:
    """The three round trips a person notices, timed against the sandboxes."""

    def __init__(
        self,
        driver: SlackDriver,
        slack: SlackRecorder,
        qtvoice: QTvoiceSandbox,
        people: list[str],
        callers: list[str],
    ) -> None:
        self.driver, self.slack, self.qtvoice = driver, slack, qtvoice
        self.people, self.callers = people, callers
        self.times: dict[str, list[float]] = {"history": [], "home": [], "reply": []}

    def run(self, count: int) -> None:
        for _ in range(count):
            self.times["history"].append(self._history())
            self.times["home"].append(self._home())
            self.times["reply"].append(self._reply())

    def _history(self) -> float:
        answer: dict[str, Any] = {}

        def start() -> None:
            answer["key"] = self.driver.slash_command(
                "/qtvoice", f"history {random.choice(self.callers)}", user_id=self.people[0]
            ).response_url_key

        return timed(start, lambda: bool(self.slack.responses(answer.get("key"))))

    def _home(self) -> float:
        person = random.choice(self.people)
        before = len(self.slack.views_published(person))
        return timed(
            lambda: self.driver.app_home_opened(person),
            lambda: len(self.slack.views_published(person)) > before,
        )

    def _reply(self) -> float:
        texts = [
            call
            for call in self.slack.calls("chat.postMessage", ok=True)
            if not call.args.get("thread_ts")
            and str(
                ((call.args.get("metadata") or {}).get("event_payload") or {}).get("ref")
            ).startswith("sms_thread:")
        ]
        if not texts:
            return float("nan")
        parent = texts[-1]
        sent = len(self.qtvoice.state.requests("POST", "/sms"))
        return timed(
            lambda: self.driver.message_in_thread(
                parent.response["channel"],
                parent.response["ts"],
                "On our way :truck:",
                user_id=random.choice(self.people),
            ),
            lambda: len(self.qtvoice.state.requests("POST", "/sms")) > sent,
        )

    def week_p99(self) -> dict[str, float]:
        figures = {name: harness.quantile(times, 0.99) * 1000 for name, times in self.times.items()}
        for times in self.times.values():
            times.clear()
        return figures


def escalations_due(engine: Any) -> int:
    """Items `serve`'s leader is yet to escalate: nobody took, handled or escalated them, they
    arrived more than `ESCALATE_AFTER_MINUTES` (and less than the horizon) ago, and they are
    either free to claim or being escalated (not given back until the next tick: an item
    with no copy in Slack yet)."""
    now = utcnow()
    with engine.connect() as connection:
        return int(
            connection.scalar(
                select(func.count()).where(
                    OpenItem.escalated_at.is_(None),
                    OpenItem.handled_at.is_(None),
                    OpenItem.taken_at.is_(None),
                    OpenItem.arrived_at <= now - timedelta(minutes=ESCALATE_AFTER_MINUTES),
                    OpenItem.arrived_at > now - ESCALATION_HORIZON,
                    or_(
                        OpenItem.escalation_claimed_until.is_(None),
                        OpenItem.escalation_claimed_until < now,
                        OpenItem.escalation_claimed_by.is_not(None),
                    ),
                )
            )
            or 0
        )


def wait_escalated(engine: Any, timeout: float = 300) -> float:
    """Seconds until `serve`'s leader (it looks every `RECHECK_SECONDS`) escalated every item
    due or gave it back."""
    began = time.monotonic()
    while escalations_due(engine) and time.monotonic() - began < timeout:
        time.sleep(0.2)
    return time.monotonic() - began


def run_jobs(settings: Settings) -> dict[str, float]:
    """The leader's jobs on the wall clock (`DIGEST_AT`, hourly), as its scheduler runs them,
    once the day has moved on; the seconds each took."""
    spent: dict[str, float] = {}

    async def jobs() -> None:
        runtime = Runtime.create(settings)
        try:
            for job in (send_digests, prune):
                began = time.monotonic()
                await job(runtime)
                spent[job.__name__] = time.monotonic() - began
        finally:
            await runtime.close()

    asyncio.run(jobs())
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=42)
    parser.add_argument("--calls", type=int, default=300, help="missed calls a day")
    parser.add_argument("--voicemails", type=int, default=80, help="voicemails a day")
    parser.add_argument("--texts", type=int, default=600, help="texts a day")
    parser.add_argument("--lines", type=int, default=10)
    parser.add_argument("--people", type=int, default=40, help="linked Slack users")
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--probes", type=int, default=4, help="of each kind, per day")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--database-url", help="a PostgreSQL database the bench may empty")
    parser.add_argument("--verbose", action="store_true", help="a line per day: where it went")
    args = parser.parse_args()
    exit_on_sigterm()  # a stopped bench stops the bot it started
    random.seed(args.seed)
    print("command:", shlex.join([".venv/bin/python", "bench/month.py", *sys.argv[1:]]))
    print("machine:", harness.machine(), flush=True)
    started = time.monotonic()

    lines = numbers(args.lines, "555")
    callers = numbers(args.contacts, "556")
    people = [f"U0P{index:04d}" for index in range(args.people)]
    channels = {**DEFAULT_CHANNELS, harness.NOTIFY_CHANNEL: "bench"}
    with (
        tempfile.TemporaryDirectory() as tmp,
        QTvoiceSandbox() as qtvoice,
        SlackRecorder(harness.BOT_TOKEN, channels=channels) as slack,
    ):
        workdir = Path(tmp)
        url = args.database_url or f"sqlite:///{workdir / 'month.db'}"
        harness.prepare_database(url)
        engine = create_engine(sync_url(url))
        for index, number in enumerate(lines):
            qtvoice.state.add_extension(f"{101 + index}", f"Line {index}", phone=number)
        for index, number in enumerate(callers):
            qtvoice.state.add_contact(f"Caller{index}", "Bench", phone=number)
        env = {
            **harness.bot_env(url, slack.api_url, qtvoice.url, qtvoice.api_key),
            "DIGEST_AT": "08:00",
            "ESCALATE_AFTER_MINUTES": str(ESCALATE_AFTER_MINUTES),
            # An admin links the office's people: linking yourself needs QTvoice's extension to
            # carry your Slack email, which the bench's made-up people do not have.
            "ADMIN_USER_IDS": LINKING_ADMIN,
        }
        with harness.server(harness.bot_argv(), env, workdir) as server:
            bot_url = f"http://127.0.0.1:{server.port}"
            driver = SlackDriver(bot_url, SIGNING_SECRET, slack, timeout=30)
            for index, person in enumerate(people):
                extension = 101 + index % args.lines
                driver.slash_command(
                    "/qtvoice", f"link <@{person}> {extension}", user_id=LINKING_ADMIN
                )
            settings = bench_settings(env)
            probes = Probes(driver, slack, qtvoice, people, callers)
            print(
                f"{'week':>4} {'days':>5} {'DB MiB':>7} {'RSS MiB now/peak':>17}"
                f" {'history p99':>11} {'home p99':>9} {'reply p99':>9} {'wall s':>7}"
                "  largest tables (rows)",
                flush=True,
            )
            for day in range(1, args.days + 1):
                envelopes = day_of_webhooks(args, callers, lines)
                # QTvoice's budget is per hour; a simulated day is 24 of them.
                qtvoice.state.set_rate_limit(limit=HOURS_A_DAY * DEFAULT_RATE_LIMIT)
                steps = [time.monotonic()]
                answer = harness.run_load(server.port, envelopes, 16)
                refused = sum(1 for status, _ in answer["results"] if status != 200)
                steps.append(time.monotonic())
                wait_delivered(engine)
                steps.append(time.monotonic())
                probes.run(args.probes)
                steps.append(time.monotonic())
                age_one_day(engine)
                steps.append(time.monotonic())
                jobs = {"escalate": wait_escalated(engine), **run_jobs(settings)}
                steps.append(time.monotonic())
                if args.verbose:
                    spent = " / ".join(f"{b - a:.1f}" for a, b in itertools.pairwise(steps))
                    each = ", ".join(f"{name} {seconds:.1f}" for name, seconds in jobs.items())
                    print(
                        f"  day {day}: sent, delivered, probed, aged, jobs: {spent} s ({each})",
                        flush=True,
                    )
                if refused:
                    print(f"  day {day}: {refused} webhooks not accepted", flush=True)
                if day % 7 == 0 or day == args.days:
                    p99 = probes.week_p99()
                    now, peak = rss_mib(server.process.pid)
                    print(
                        f"{(day + 6) // 7:>4} {day:>5} {database_size(engine, url):>7.1f}"
                        f" {now:>8.0f}/{peak:<8.0f} {p99['history']:>9.0f}ms"
                        f" {p99['home']:>7.0f}ms {p99['reply']:>7.0f}ms"
                        f" {time.monotonic() - started:>7.0f}  {largest_tables(engine)}",
                        flush=True,
                    )
            driver.close()
        print(f"server: {server.log_summary()}")
        engine.dispose()
    print(f"wall time {time.monotonic() - started:.0f} s")


def bench_settings(env: dict[str, str]) -> Settings:
    """The bot's settings from the environment `serve` was given (for the jobs run here)."""
    import os

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        return load_settings(Settings)
    finally:
        os.environ.clear()
        os.environ.update(saved)


if __name__ == "__main__":
    main()
