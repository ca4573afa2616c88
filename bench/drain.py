"""How fast one worker process drains the inbox into Slack: flat out, and under Slack's rate limit.

    .venv/bin/python bench/drain.py [--events 2000] [--channels 20] [--database-url URL]

Both parts first store the events through the real door (`serve --no-worker`, signed
`call.missed` webhooks), then start one `serve` process (web and worker) and time it until every event reached
the Slack sandbox:
- flat out: Slack answers at once; every event goes to NOTIFY_CHANNEL. Rate = events per second
  between the first and the last post (the worker's start-up is printed apart).
- rate-limited: events spread over --channels routed channels, the Slack sandbox allowing one
  chat.postMessage per second per channel and answering 429 with Retry-After beyond that.
  The floor is what that rate allows, events / channels seconds; the target is within `TARGET`
  (1.05) times that, from the worker's first post (issue 19).
Lost and duplicated count what reached the Slack sandbox. "CPU per post" is the worker process's
CPU time (all its threads) from its first post to its last, per post: unlike posts/s it does
not depend on what else the machine runs, and 1,000 ms / it is what one free core would allow.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

import harness
from sqlalchemy import create_engine

from bot.sandbox.qtvoice import QTvoiceSandbox
from bot.sandbox.slack import DEFAULT_CHANNELS, SlackRecorder
from bot.store.db import sync_url
from bot.store.models import Route

#: The rate-limited drain's target: at most this many times what Slack's rate allows.
TARGET = 1.05
FIRST_ROUTED_NUMBER = 12155550200


def routed_numbers(channels: int) -> list[str]:
    return [f"+{FIRST_ROUTED_NUMBER + index}" for index in range(channels)]


def routed_channels(channels: int) -> dict[str, str]:
    return {f"C0ROUTE{index:03d}": f"route-{index}" for index in range(channels)}


def add_routes(database_url: str, channels: int) -> None:
    engine = create_engine(sync_url(database_url))
    with engine.begin() as connection:
        connection.execute(
            Route.__table__.insert(),
            [
                {"target": number, "channel_id": channel, "created_by": "U0BENCH"}
                for number, channel in zip(
                    routed_numbers(channels), routed_channels(channels), strict=True
                )
            ],
        )
    engine.dispose()


def cpu_seconds(process: harness.ServerProcess) -> float:
    """User + system CPU time of the server (the profiled child's, under py-spy) so far."""
    pid = process.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    if children:
        pid = int(children[0])
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drain(
    title: str,
    database_url: str,
    envelopes: list[dict],
    slack: SlackRecorder,
    qtvoice: QTvoiceSandbox,
    workdir: Path,
    timeout: float,
    profile: Path | None = None,
) -> tuple[float, float, float, int, int]:
    """Store `envelopes`, run one worker (under py-spy into `profile` when given) until all
    are posted.

    (seconds from its start, seconds from its first post, posts/s, lost, duplicated)
    """
    env = harness.bot_env(database_url, slack.api_url, qtvoice.url, qtvoice.api_key)
    with harness.server(harness.bot_argv("--no-worker"), env, workdir) as web:
        answer = harness.run_load(web.port, envelopes, 16)
    refused = sum(1 for status, _ in answer["results"] if status != 200)
    wanted = {f"missed_call:{envelope['data']['id']}" for envelope in envelopes}
    started = time.time()
    with harness.server(harness.bot_argv(profile=profile), env, workdir) as worker:
        deadline = time.monotonic() + timeout
        cpu_at_first: tuple[float, int] | None = None
        while (
            time.monotonic() < deadline
            and not wanted <= (posted := harness.posted_refs(slack)).keys()
        ):
            if cpu_at_first is None and posted:
                cpu_at_first = (cpu_seconds(worker), len(posted))
            time.sleep(0.2)
        finished = time.time()
        cpu_at_last = (cpu_seconds(worker), len(harness.posted_refs(slack)))
        time.sleep(1)  # a duplicate, if any, arrives now
        rss = worker.peak_rss_mib()
    counts = harness.posted_refs(slack)
    times = sorted(harness.post_times(slack)[ref] for ref in wanted if ref in counts)
    lost = sum(1 for ref in wanted if ref not in counts)
    duplicated = sum(counts[ref] - 1 for ref in wanted if counts[ref] > 1)
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else float("nan")
    cpu_ms = float("nan")
    if cpu_at_first is not None and cpu_at_last[1] > cpu_at_first[1]:
        cpu_ms = 1000 * (cpu_at_last[0] - cpu_at_first[0]) / (cpu_at_last[1] - cpu_at_first[1])
    print(f"  worker {worker.log_summary()}")
    print(
        f"{title}: {len(envelopes)} events ({refused} refused at the door): drained in"
        f" {finished - started:.1f} s (first post {times[0] - started:.1f} s after start),"
        f" {rate:,.0f} posts/s between first and last post; lost {lost}, duplicated {duplicated};"
        f" worker CPU per post {cpu_ms:.1f} ms; worker peak RSS {rss:.0f} MiB"
    )
    if profile is not None:
        print(harness.top_frames(profile, 25))
    return finished - started, finished - times[0], rate, lost, duplicated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--channels", type=int, default=20)
    parser.add_argument("--database-url", help="a database the bench may empty (default SQLite)")
    parser.add_argument("--only", default="fast,limited", help="parts to run")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument(
        "--profile", type=Path, help="run the worker under py-spy, raw stacks into this folder"
    )
    args = parser.parse_args()
    only = set(args.only.split(","))
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)

    print("command:", shlex.join([".venv/bin/python", "bench/drain.py", *sys.argv[1:]]))
    print("machine:", harness.machine())
    channels = {
        **DEFAULT_CHANNELS,
        harness.NOTIFY_CHANNEL: "bench",
        **routed_channels(args.channels),
    }
    with (
        tempfile.TemporaryDirectory() as tmp,
        QTvoiceSandbox() as qtvoice,
        SlackRecorder(harness.BOT_TOKEN, channels=channels) as slack,
    ):
        workdir = Path(tmp)
        database_url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
        engine = "PostgreSQL" if database_url.startswith("postgres") else "SQLite"
        if "fast" in only:
            harness.prepare_database(database_url)
            slack.reset()
            _, _, rate, _, _ = drain(
                f"flat out, instant Slack, {engine}",
                database_url,
                harness.missed_calls(args.events),
                slack,
                qtvoice,
                workdir,
                args.timeout,
                args.profile / f"fast-{engine}.txt" if args.profile else None,
            )
            print(f"  target >= 200 posts/s in one process: {'met' if rate >= 200 else 'MISSED'}")
        if "limited" in only:
            harness.prepare_database(database_url)
            add_routes(database_url, args.channels)
            slack.reset()
            slack.limit_per_channel("chat.postMessage", 1.0)
            allowed = args.events / args.channels
            seconds, posting, _, _, _ = drain(
                f"{args.channels} channels at 1 post/s each, {engine}",
                database_url,
                harness.missed_calls(args.events, routed_numbers(args.channels)),
                slack,
                qtvoice,
                workdir,
                args.timeout,
                args.profile / f"limited-{engine}.txt" if args.profile else None,
            )
            verdict = "met" if posting / allowed <= TARGET else "MISSED"
            print(
                f"  the rate allows {allowed:.0f} s; took {seconds / allowed:.2f}x from the"
                f" worker's start, {posting / allowed:.2f}x from its first post"
                f" (target <= {TARGET}x: {verdict})"
            )


if __name__ == "__main__":
    main()
