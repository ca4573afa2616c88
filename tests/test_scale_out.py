"""Scale-out on PostgreSQL, and the database going away.

The big test runs the deployment the architecture describes: two `serve --no-worker` and three
`worker` processes (real subprocesses) on one PostgreSQL database, fed 1,000 signed webhooks
through both web processes while a worker is SIGKILLed five times and PostgreSQL restarts once.
It uses a PostgreSQL cluster of its own (initdb into a temporary directory, on a free port), so
restarting it disturbs nobody; it runs in CI's PostgreSQL pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import OperationalError

from bot.config import Settings
from bot.runtime import Runtime
from bot.sandbox.qtvoice import QTvoiceSandbox, send_webhook
from bot.sandbox.samples import fresh_id, sample_event
from bot.sandbox.server import free_port
from bot.sandbox.slack import DEFAULT_APP_TOKEN, RecordedCall, SlackDriver, SlackRecorder
from bot.scheduler import lead
from bot.seats import RETRY_SECONDS as SEAT_RETRY_SECONDS
from bot.store.db import sync_url
from bot.store.deliveries import DONE
from bot.store.migrate import upgrade
from bot.store.models import InboxEvent
from tests.conftest import (
    NOTIFY_CHANNEL,
    SIGNING_SECRET,
    WEBHOOK_SECRET,
    process_environment,
    start_bot,
)
from tests.helpers.cli import wait_for_health

# The database going away


@pytest.fixture
def unreachable_database_url(database_url: str, tmp_path: Path) -> str:
    """A URL of the same engine as the suite's, where no database answers."""
    if database_url.startswith("postgresql"):
        return f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/gone"
    return f"sqlite:///{tmp_path / 'no-such-directory' / 'qtslack.db'}"


def test_webhook_while_the_database_is_unreachable_is_503_with_retry_after(
    settings: Settings,
    slack: SlackRecorder,
    unreachable_database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    away = settings.model_copy(update={"database_url": unreachable_database_url})
    bot = start_bot(away, slack, run_worker=False)
    try:
        response = bot.send("call.missed")
        health = httpx.get(f"{bot.url}/healthz")
    finally:
        bot.stop()

    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert response.json()["code"] == "UNAVAILABLE"
    assert health.status_code == 503
    # Unreachable from the start: start-up says so once (bot.startup), not once per webhook.
    [line] = [r for r in caplog.records if r.name == "bot.startup" and r.levelno >= logging.WARNING]
    assert "cannot open" in line.getMessage()
    assert line.exc_info is None
    assert "Traceback" not in caplog.text


@pytest.mark.anyio
async def test_a_leader_whose_lock_connection_dropped_runs_no_more_jobs(
    settings: Settings, qtvoice: QTvoiceSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    # PostgreSQL frees the lock as the connection ends and a standby may take it at once:
    # the old leader must not run a job after that, not even until its next check.
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("leader election is PostgreSQL's advisory lock; SQLite has one process")
    caplog.set_level(logging.INFO, logger="bot.scheduler")
    runtime = Runtime.create(settings.model_copy(update={"reconcile_interval_seconds": 1}))
    stop = asyncio.Event()
    leader = asyncio.create_task(lead(runtime, stop))
    try:
        while len(qtvoice.state.requests(*RECONCILE)) < 2:
            assert not leader.done()
            await asyncio.sleep(0.05)
        async with runtime.engine.connect() as connection:
            terminated = await connection.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_locks"
                    " WHERE locktype = 'advisory' AND granted"
                    " AND database = (SELECT oid FROM pg_database"
                    "                 WHERE datname = current_database())"
                )
            )
        runs_when_dropped = len(qtvoice.state.requests(*RECONCILE))
        await asyncio.sleep(3.5)  # three and a half reconcile intervals
        runs_since = len(qtvoice.state.requests(*RECONCILE)) - runs_when_dropped
    finally:
        stop.set()
        await leader
        await runtime.close()

    assert terminated == 1
    assert runs_since <= 1  # one may have been running already
    assert "standing by" in caplog.text
    assert "Traceback" not in caplog.text


# Scale-out


def postgres_bin() -> Path | None:
    """The directory of PostgreSQL's server programs (initdb, pg_ctl), if installed."""
    found = shutil.which("pg_ctl")
    candidates = [Path(found).resolve().parent] if found else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    return next((path for path in candidates if (path / "initdb").exists()), None)


ON_POSTGRESQL = os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")

#: Generous: one to three minutes on two cores shared with other busy work.
DEADLINE_SECONDS = 300
WORKERS = 3
KILLS = 5
NUMBERS = [f"+1215555{2000 + n}" for n in range(30)]
MISSED_CALLS, VOICEMAILS, TEXTS = 300, 100, 400
REDELIVERED = 250  # a quarter of the 1,000 events
SENDERS = 8
SENDER_LIMITS = httpx.Limits(max_connections=SENDERS)
RECONCILE = ("GET", "/calls")


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own: a temporary directory, a free loopback port.

    As root, the server runs as the `postgres` user (it refuses to run as root).
    """

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="qtslack-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin_dir / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c max_connections=200"
        )
        log = str(self.root / "postgres.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    if not ON_POSTGRESQL:
        pytest.skip("scale-out runs in the PostgreSQL pass (TEST_DATABASE_URL=postgresql…)")
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL's server programs (initdb, pg_ctl) are not installed")
    cluster = PrivatePostgres(bin_dir)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


@dataclass
class BotProcess:
    """`python -m bot ARGS`, restartable; each run writes its own log file."""

    name: str
    args: list[str]
    env: dict[str, str]
    logs: Path
    runs: list[Path] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None
    _log: TextIO | None = None

    def start(self) -> None:
        path = self.logs / f"{self.name}-{len(self.runs)}.log"
        self.runs.append(path)
        self._log = path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", *self.args],
            env=self.env,
            cwd=self.logs,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)
        self._closed()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._closed()

    def _closed(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def output(self) -> str:
        return "".join(path.read_text(errors="replace") for path in self.runs)


def environment(database_url: str, slack: SlackRecorder, qtvoice: QTvoiceSandbox) -> dict[str, str]:
    return process_environment(
        database_url,
        qtvoice,
        slack,
        # The leader polls its QTvoice every other second: how the test sees who runs the jobs.
        RECONCILE_INTERVAL_SECONDS="2",
        # A killed worker's events come back after this long; a worker starved of CPU past
        # its lease gives its delivery up (inbox.renew), so this only bounds the test's wait.
        DELIVERY_LEASE_SECONDS="30",
        DELIVERY_RETRY_SECONDS="0.2",
        LOG_LEVEL="INFO",
    )


@dataclass
class Webhook:
    envelope: dict[str, Any]
    delivery_id: str = field(default_factory=lambda: fresh_id("dlv"))


@dataclass
class Traffic:
    """What was sent, and how the web processes answered (shared by the sender threads)."""

    urls: list[str]
    client: httpx.Client = field(default_factory=lambda: httpx.Client(limits=SENDER_LIMITS))
    lock: threading.Lock = field(default_factory=threading.Lock)
    accepted: int = 0
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    without_retry_after: int = 0
    errors: list[str] = field(default_factory=list)

    def send_until_accepted(self, webhook: Webhook, deadline: float) -> None:
        """Send as QTvoice does: again, to either web process, until one answers 200."""
        while time.monotonic() < deadline:
            url = random.choice(self.urls)
            try:
                response = send_webhook(
                    url,
                    webhook.envelope,
                    WEBHOOK_SECRET,
                    delivery_id=webhook.delivery_id,
                    client=self.client,
                )
            except httpx.TransportError as error:
                with self.lock:
                    self.errors.append(f"{url}: {type(error).__name__}")
                time.sleep(0.2)
                continue
            with self.lock:
                self.statuses[url, response.status_code] += 1
                if response.status_code == 503 and "retry-after" not in response.headers:
                    self.without_retry_after += 1
                if response.status_code == 200:
                    self.accepted += 1
                    return
            time.sleep(0.2)
        raise AssertionError(f"never accepted: {webhook.envelope['event']}")


def scenario() -> tuple[list[list[Webhook]], dict[str, Any]]:
    """The 1,000 events in chains sent one after another (a voicemail's three events, one
    number's texts), plus a quarter of them again under new delivery ids; and what Slack
    should end up showing."""
    chains: list[list[Webhook]] = []
    missed = []
    for n in range(MISSED_CALLS):
        envelope = sample_event("call.missed", from_=NUMBERS[n % len(NUMBERS)])
        missed.append(envelope["data"]["id"])
        chains.append([Webhook(envelope)])
    transcripts = {}
    for n in range(VOICEMAILS):
        call_id, voicemail_id = fresh_id("call"), fresh_id("vm")
        # Every event names the voicemail's own id, which decides its message.
        transcripts[f"vm:{voicemail_id}"] = f"Voicemail number {n}: please call me back."
        call = sample_event("call.voicemail", id=call_id, voicemailId=voicemail_id)
        new = sample_event("voicemail.new", id=voicemail_id, callId=call_id, transcription=None)
        transcribed = sample_event(
            "voicemail.transcribed",
            id=voicemail_id,
            callId=call_id,
            transcription=transcripts[f"vm:{voicemail_id}"],
        )
        # Half the transcripts come before the voicemail itself.
        order = [call, new, transcribed] if n % 2 else [transcribed, new, call]
        chains.append([Webhook(envelope) for envelope in order])
    texts: dict[str, str] = {}
    by_number: dict[str, list[Webhook]] = defaultdict(list)
    for n in range(TEXTS):
        number = NUMBERS[n % len(NUMBERS)]
        words = f"Text {n} from customer {n % len(NUMBERS)}"
        envelope = sample_event("sms.received", from_=number, message=words)
        texts[envelope["data"]["id"]] = number
        by_number[number].append(Webhook(envelope))
    chains += by_number.values()
    originals = [webhook for chain in chains for webhook in chain]
    for n, webhook in enumerate(random.sample(originals, REDELIVERED)):
        chain = next(chain for chain in chains if webhook in chain)
        again = dict(webhook.envelope)
        if n % 2:  # serialised again later, not only the same bytes under a new id
            again["timestamp"] = "2030-01-01T00:00:00Z"
        chain.append(Webhook(again))
    random.shuffle(chains)
    expected = {"missed": missed, "transcripts": transcripts, "texts": texts}
    return chains, expected


def ref(call: RecordedCall) -> str:
    return str(call.args["metadata"]["event_payload"]["ref"])


def undelivered(engine: Any) -> int | None:
    """Stored events not yet delivered, or None while the database is away."""
    try:
        with engine.connect() as connection:
            total = connection.scalar(select(func.count()).select_from(InboxEvent))
            done = connection.scalar(
                select(func.count()).select_from(InboxEvent).where(InboxEvent.state == DONE)
            )
    except OperationalError:
        return None
    return int(total or 0) - int(done or 0)


@pytest.mark.skipif(sys.platform != "linux", reason="runs PostgreSQL as the postgres user")
def test_two_web_and_three_worker_processes_deliver_everything_once_through_kills_and_a_restart(
    private_postgres: PrivatePostgres, slack: SlackRecorder, qtvoice: QTvoiceSandbox
) -> None:
    rng = random.Random()
    upgrade(private_postgres.url)
    logs = Path(tempfile.mkdtemp(prefix="qtslack-scale-"))
    # Each worker slot talks to a QTvoice of its own (unseeded: reconcile finds nothing), so
    # the requests each one receives show which process runs the scheduled jobs.
    slots = [QTvoiceSandbox().start() for _ in range(WORKERS)]
    for sandbox in slots:
        sandbox.state.reset(seed=False)
    urls = [f"http://127.0.0.1:{free_port()}" for _ in range(2)]
    webs = [
        BotProcess(
            f"web{n}",
            ["serve", "--no-worker", "--host", "127.0.0.1", "--port", url.rsplit(":", 1)[1]],
            environment(private_postgres.url, slack, qtvoice),
            logs,
        )
        for n, url in enumerate(urls)
    ]
    workers = [
        BotProcess(
            f"worker{n}", ["worker"], environment(private_postgres.url, slack, sandbox), logs
        )
        for n, sandbox in enumerate(slots)
    ]
    engine = create_engine(sync_url(private_postgres.url), pool_pre_ping=True)
    executor = ThreadPoolExecutor(SENDERS)
    traffic = Traffic([f"{url}/qtvoice/webhooks" for url in urls])
    try:
        for process in webs + workers:
            process.start()
        for url in urls:
            wait_for_health(f"{url}/healthz")
        chains, expected = scenario()
        total = sum(len(chain) for chain in chains)
        expected_posts = MISSED_CALLS + VOICEMAILS + len(NUMBERS) + TEXTS
        started = time.monotonic()
        deadline = started + DEADLINE_SECONDS

        def send(chain: list[Webhook]) -> None:
            for webhook in chain:
                traffic.send_until_accepted(webhook, deadline)

        sending = [executor.submit(send, chain) for chain in chains]

        kill_at = sorted(rng.uniform(0.05, 0.7) * expected_posts for _ in range(KILLS))
        leader_kill = rng.randrange(KILLS)
        restarts: list[tuple[float, BotProcess]] = []
        kills: list[tuple[float, str, bool]] = []
        reconcile_seen = [0] * WORKERS
        reconcile_runs: list[tuple[float, int]] = []
        outage: dict[str, Any] = {}
        probes: list[Webhook] = []

        while True:
            now = time.monotonic()
            assert now < deadline, (
                f"not delivered within {DEADLINE_SECONDS} s: {len(kills)} kills, "
                f"outage {bool(outage)}, accepted {traffic.accepted}/{total}, "
                f"undelivered {undelivered(engine)}"
            )
            for slot, sandbox in enumerate(slots):
                runs = len(sandbox.state.requests(*RECONCILE))
                if runs > reconcile_seen[slot]:
                    reconcile_seen[slot] = runs
                    reconcile_runs.append((now, slot))
            posted = len(slack.calls("chat.postMessage", ok=True))

            if not outage and traffic.accepted >= 0.4 * total:
                outage = restart_postgres(private_postgres, urls, traffic, probes)
            if len(kills) < KILLS and posted >= kill_at[len(kills)]:
                leading = reconcile_runs[-1][1] if reconcile_runs else None
                slot = leading if len(kills) == leader_kill and leading is not None else None
                slot = rng.randrange(WORKERS) if slot is None else slot
                victim = workers[slot]
                if victim.process is not None and victim.process.poll() is None:
                    victim.kill()
                    kills.append((now, victim.name, slot == leading))
                    restarts.append((now + rng.uniform(0.1, 1.0), victim))
            for when, process in list(restarts):
                if now >= when:
                    process.start()
                    restarts.remove((when, process))

            if (
                all(future.done() for future in sending)
                and outage
                and len(kills) == KILLS
                and not restarts
            ):
                for future in sending:
                    future.result()
                if undelivered(engine) == 0:
                    break
            time.sleep(0.25)
        drained_after = time.monotonic() - started
        # Long enough for a worker that would post twice to have done so.
        time.sleep(1.0)
        # The jobs go on after the restart and the kills: a leader was elected again.
        last_incident = max(outage["back_at"], kills[-1][0])
        while not any(t > last_incident for t, _ in reconcile_runs):
            assert time.monotonic() < deadline, f"no scheduled job ran after {last_incident}"
            reconcile_runs += reconcile_poll(slots, reconcile_seen)
            time.sleep(0.1)
        health = [httpx.get(f"{url}/healthz").status_code for url in urls]
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
        traffic.client.close()
        for process in webs + workers:
            process.stop()
        for sandbox in slots:
            sandbox.stop()
        engine.dispose()

    output = {process.name: process.output() for process in webs + workers}
    report = (
        f"drained in {drained_after:.1f} s; kills {kills}; outage {outage}; "
        f"answers {dict(traffic.statuses)}; logs in {logs}"
    )
    print(report)

    # The web processes: 503 with Retry-After while the database was away, never a 500.
    assert all(code in (200, 503) for _, code in traffic.statuses), report
    assert traffic.without_retry_after == 0
    assert outage["probes"] == [503, 503], report
    assert outage["health"] == [503, 503], report
    assert health == [200, 200]
    assert not traffic.errors, traffic.errors[:5]
    for name, written in output.items():
        assert "Traceback" not in written, f"{name} wrote a traceback:\n{written[-3000:]}"

    # Every event in Slack exactly once.
    posts = slack.calls("chat.postMessage", ok=True)
    refs = Counter(ref(post) for post in posts)
    assert all(count == 1 for count in refs.values()), [r for r, c in refs.items() if c > 1]
    probe_calls = [probe.envelope["data"]["id"] for probe in probes]
    assert {r for r in refs if r.startswith("missed_call:")} == {
        f"missed_call:{call}" for call in expected["missed"] + probe_calls
    }
    assert {r for r in refs if r.startswith("sms:")} == {f"sms:{sms}" for sms in expected["texts"]}
    assert len(posts) == expected_posts + len(probes)

    # Each voicemail is one message, and it shows its transcript.
    messages = slack.messages(NOTIFY_CHANNEL)
    voicemails = {ref_of(m): m for m in messages if ref_of(m).startswith("voicemail:")}
    assert len(voicemails) == VOICEMAILS
    for key, transcript in expected["transcripts"].items():
        assert transcript in shown(voicemails[f"voicemail:{key}"])

    # Each conversation is one thread, holding all of its texts and nothing else.
    replies = [m for m in messages if m["thread_ts"] not in (None, m["ts"])]
    threads: dict[str, set[str]] = defaultdict(set)
    for reply in replies:
        sms_id = ref_of(reply).removeprefix("sms:")
        threads[reply["thread_ts"]].add(expected["texts"][sms_id])
    assert len(threads) == len(NUMBERS)
    assert all(len(numbers) == 1 for numbers in threads.values())
    assert len(replies) == TEXTS

    # Scheduled jobs ran in one process at a time: the job runs pass from one worker to
    # another only when the leader was killed or the database restarted (two leaders at once
    # would alternate every second).
    handovers = sum(1 for a, b in itertools.pairwise(reconcile_runs) if a[1] != b[1])
    assert handovers <= KILLS + 1, (handovers, reconcile_runs)
    shutil.rmtree(logs, ignore_errors=True)


def shown(message: dict[str, Any]) -> str:
    """Everything a message shows and carries, to search in."""
    return json.dumps({key: message.get(key) for key in ("text", "blocks", "metadata")})


def ref_of(message: dict[str, Any]) -> str:
    """The bot's own reference on a message it posted (poster.py's metadata), else ""."""
    return str(((message.get("metadata") or {}).get("event_payload") or {}).get("ref", ""))


def reconcile_poll(slots: list[QTvoiceSandbox], seen: list[int]) -> list[tuple[float, int]]:
    """New reconcile runs since `seen` (updated), each as (when noticed, worker slot)."""
    runs = []
    for slot, sandbox in enumerate(slots):
        count = len(sandbox.state.requests(*RECONCILE))
        if count > seen[slot]:
            seen[slot] = count
            runs.append((time.monotonic(), slot))
    return runs


def restart_postgres(
    cluster: PrivatePostgres, urls: list[str], traffic: Traffic, probes: list[Webhook]
) -> dict[str, Any]:
    """Stop PostgreSQL, see what the web processes answer meanwhile, start it again."""
    down_at = time.monotonic()
    cluster.stop()
    answers, health = [], []
    for url in urls:
        probe = Webhook(sample_event("call.missed"))
        response = send_webhook(
            f"{url}/qtvoice/webhooks", probe.envelope, WEBHOOK_SECRET, delivery_id=probe.delivery_id
        )
        answers.append(response.status_code)
        health.append(httpx.get(f"{url}/healthz").status_code)
        if response.status_code != 200:
            probes.append(probe)
    time.sleep(max(0.0, 2.0 - (time.monotonic() - down_at)))
    cluster.start()
    back_at = time.monotonic()
    # QTvoice retries what was refused; the web processes take it without being restarted.
    for probe in probes:
        traffic.send_until_accepted(probe, back_at + 30)
    return {
        "probes": answers,
        "health": health,
        "down_seconds": round(back_at - down_at, 1),
        "back_at": back_at,
    }


# Socket Mode seats

#: Slash commands sent before and after a seat's holder is killed.
COMMANDS = 8
STARTUP_SECONDS = 120
SEAT_LINE = re.compile(r"Socket Mode: this process \(pid (\d+)\) holds seat")


def answered_once(driver: SlackDriver, slack: SlackRecorder) -> None:
    """`/qtvoice help` COMMANDS times over the sockets: each acked in time and answered once
    (in its ack or through its response_url)."""
    deliveries = [driver.slash_command("/qtvoice", "help") for _ in range(COMMANDS)]
    assert all(delivery.ack is not None for delivery in deliveries), "not acked within 3 s"

    def answers() -> list[int]:
        return [
            (1 if delivery.ack and delivery.ack.payload else 0)
            + len(slack.responses(delivery.response_url_key))
            for delivery in deliveries
        ]

    slack.wait_for(lambda: all(answers()))
    time.sleep(SEAT_RETRY_SECONDS)  # room for a second answer, were one coming
    assert answers() == [1] * COMMANDS


def seat_holders(serve: BotProcess) -> list[int]:
    """The pids that have said they hold a seat, in the order they said so."""
    return [int(pid) for pid in SEAT_LINE.findall(serve.output())]


def test_four_web_processes_and_two_workers_hold_at_most_two_sockets_and_one_is_taken_over(
    settings: Settings, slack: SlackRecorder, qtvoice: QTvoiceSandbox, tmp_path: Path
) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("seats are PostgreSQL advisory locks; on SQLite `serve` is one process")
    port = free_port()
    env = environment(settings.database_url, slack, qtvoice) | {
        "SLACK_APP_TOKEN": DEFAULT_APP_TOKEN,
        "WEB_CONCURRENCY": "4",
    }
    serve = BotProcess(
        "serve", ["serve", "--host", "127.0.0.1", "--port", str(port)], env, tmp_path
    )
    workers = [BotProcess(f"worker{n}", ["worker"], env, tmp_path) for n in range(2)]
    driver = SlackDriver(f"http://127.0.0.1:{port}", SIGNING_SECRET, slack, socket_mode=True)
    socket = slack.socket_mode
    try:
        for process in [serve, *workers]:
            process.start()
        # Generous: six processes start on two cores shared with other busy work.
        wait_for_health(f"http://127.0.0.1:{port}/healthz", timeout=STARTUP_SECONDS)
        slack.wait_for(lambda: socket.connections == 2, timeout=STARTUP_SECONDS)
        # Long enough for every standby to have tried for a seat a few times.
        time.sleep(3 * SEAT_RETRY_SECONDS)
        answered_once(driver, slack)
        assert socket.peak_connections == 2
        [first, second] = seat_holders(serve)

        os.kill(first, signal.SIGKILL)
        killed_at = time.monotonic()
        slack.wait_for(lambda: len(seat_holders(serve)) == 3, timeout=10)
        slack.wait_for(lambda: socket.connections == 2, timeout=10 - (time.monotonic() - killed_at))
        answered_once(driver, slack)
    finally:
        driver.close()
        for process in [serve, *workers]:
            process.stop()

    assert socket.peak_connections == 2
    assert seat_holders(serve)[2] not in (first, second)
    assert "Traceback" not in serve.output()
